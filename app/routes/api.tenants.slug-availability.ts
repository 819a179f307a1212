// GET /api/tenants/slug-availability?slug=
import { slugAvailabilityQuerySchema } from "#app/schemas/tenant.ts";
import { requireApiCaller } from "#app/server/auth.server.ts";
import { apiRoute, json, queryOf, validate } from "#app/server/http.server.ts";
import { slugAvailability } from "#app/server/tenants.server.ts";

const route = apiRoute({
  async GET(args) {
    await requireApiCaller(args);
    const { slug } = validate(slugAvailabilityQuerySchema, queryOf(args.request), "Invalid query");
    return json(await slugAvailability(slug));
  },
});

export const loader = route.loader;
export const action = route.action;
