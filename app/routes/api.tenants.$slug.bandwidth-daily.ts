// GET /api/tenants/{slug}/bandwidth-daily?from=YYYY-MM-DD&to=YYYY-MM-DD
import { bandwidthQuerySchema } from "#app/schemas/usage.ts";
import { bandwidthDaily } from "#app/server/analytics.server.ts";
import { requireApiCaller } from "#app/server/auth.server.ts";
import { apiRoute, json, queryOf, validate } from "#app/server/http.server.ts";

const route = apiRoute({
  async GET(args) {
    const who = await requireApiCaller(args);
    const range = validate(bandwidthQuerySchema, queryOf(args.request), "Invalid query");
    return json(await bandwidthDaily(who, args.params.slug as string, range));
  },
});

export const loader = route.loader;
export const action = route.action;
