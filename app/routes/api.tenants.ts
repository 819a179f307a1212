// GET /api/tenants (list) and POST /api/tenants (create).
import { createTenantSchema, tenantKey } from "#app/schemas/tenant.ts";
import { requireApiCaller } from "#app/server/auth.server.ts";
import { env } from "#app/server/env.server.ts";
import { apiRoute, json, readJson } from "#app/server/http.server.ts";
import { createTenant, listTenants } from "#app/server/tenants.server.ts";

const route = apiRoute({
  async GET(args) {
    const who = await requireApiCaller(args);
    const { total, tenants } = await listTenants(who);
    return json({ total, tenants: tenants.map(({ id: _id, ...t }) => t) });
  },
  async POST(args) {
    const who = await requireApiCaller(args);
    const input = await readJson(args.request, createTenantSchema(env.originRules));
    const created = await createTenant(who, input);
    return json(
      { ok: true, key: tenantKey(created.slug), proxyBase: created.proxyBase },
      { status: 201, headers: { Location: `/api/tenants/${created.slug}` } },
    );
  },
});

export const loader = route.loader;
export const action = route.action;
