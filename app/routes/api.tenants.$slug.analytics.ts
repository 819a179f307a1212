// GET /api/tenants/{slug}/analytics?period=
import { resolvePeriod } from "#app/schemas/period.ts";
import { periodQuerySchema } from "#app/schemas/usage.ts";
import { tenantAnalytics } from "#app/server/analytics.server.ts";
import { requireApiCaller } from "#app/server/auth.server.ts";
import { apiRoute, json, queryOf, validate } from "#app/server/http.server.ts";

const route = apiRoute({
  async GET(args) {
    const who = await requireApiCaller(args);
    const { period } = validate(periodQuerySchema, queryOf(args.request), "Invalid query");
    return json(await tenantAnalytics(who, args.params.slug as string, resolvePeriod(period)));
  },
});

export const loader = route.loader;
export const action = route.action;
