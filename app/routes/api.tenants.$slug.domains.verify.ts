// POST /api/tenants/{slug}/domains/verify: run a custom domain's DNS checks now and return the stored outcome.
import { domainHostnameBodySchema, domainHostnameQuerySchema } from "#app/schemas/domain.ts";
import { requireApiCaller } from "#app/server/auth.server.ts";
import { verifyDomain } from "#app/server/domains.server.ts";
import { apiRoute, json, readJsonOrQuery } from "#app/server/http.server.ts";
import { findAccessibleTenant } from "#app/server/tenants.server.ts";

const route = apiRoute({
  async POST(args) {
    const who = await requireApiCaller(args);
    const tenant = await findAccessibleTenant(who, args.params.slug as string);
    const { hostname } = await readJsonOrQuery(args.request, domainHostnameBodySchema, domainHostnameQuerySchema);
    return json(await verifyDomain(tenant, hostname));
  },
});

export const loader = route.loader;
export const action = route.action;
