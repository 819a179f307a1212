// GET (list, oldest first), POST (add) and DELETE (remove) /api/tenants/{slug}/domains.
import { domainHostnameBodySchema, domainHostnameQuerySchema } from "#app/schemas/domain.ts";
import { requireApiCaller } from "#app/server/auth.server.ts";
import { addDomain, listDomains, removeDomain } from "#app/server/domains.server.ts";
import { apiRoute, json, readJson, readJsonOrQuery } from "#app/server/http.server.ts";
import { findAccessibleTenant } from "#app/server/tenants.server.ts";

const route = apiRoute({
  async GET(args) {
    const who = await requireApiCaller(args);
    const tenant = await findAccessibleTenant(who, args.params.slug as string);
    return json(await listDomains(tenant));
  },
  async POST(args) {
    const who = await requireApiCaller(args);
    const tenant = await findAccessibleTenant(who, args.params.slug as string);
    const { hostname } = await readJson(args.request, domainHostnameBodySchema);
    return json(await addDomain(who, tenant, hostname), { status: 201 });
  },
  async DELETE(args) {
    const who = await requireApiCaller(args);
    const tenant = await findAccessibleTenant(who, args.params.slug as string);
    const { hostname } = await readJsonOrQuery(args.request, domainHostnameBodySchema, domainHostnameQuerySchema);
    await removeDomain(tenant, hostname);
    return json({ ok: true });
  },
});

export const loader = route.loader;
export const action = route.action;
