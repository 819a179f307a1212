// GET /api/tenants/usage?period=: the billing subject's usage across its tenants, against its plan.
import { resolvePeriod } from "#app/schemas/period.ts";
import { periodQuerySchema } from "#app/schemas/usage.ts";
import { requireApiCaller } from "#app/server/auth.server.ts";
import { apiRoute, json, queryOf, validate } from "#app/server/http.server.ts";
import { accountUsage } from "#app/server/usage.server.ts";

const route = apiRoute({
  async GET(args) {
    const who = await requireApiCaller(args);
    const { period } = validate(periodQuerySchema, queryOf(args.request), "Invalid query");
    return json(await accountUsage(who, resolvePeriod(period)));
  },
});

export const loader = route.loader;
export const action = route.action;
