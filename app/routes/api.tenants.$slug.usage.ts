// GET /api/tenants/{slug}/usage?period=: this period against the one before.
import { resolvePeriod } from "#app/schemas/period.ts";
import { periodQuerySchema } from "#app/schemas/usage.ts";
import { requireApiCaller } from "#app/server/auth.server.ts";
import { apiRoute, json, queryOf, validate } from "#app/server/http.server.ts";
import { tenantUsage } from "#app/server/usage.server.ts";

const route = apiRoute({
  async GET(args) {
    const who = await requireApiCaller(args);
    const { period } = validate(periodQuerySchema, queryOf(args.request), "Invalid query");
    return json(await tenantUsage(who, args.params.slug as string, resolvePeriod(period)));
  },
});

export const loader = route.loader;
export const action = route.action;
