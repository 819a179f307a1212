// GET, PUT (partial update) and DELETE /api/tenants/{slug}.
import { tenantKey, updateTenantSchema } from "#app/schemas/tenant.ts";
import { requireApiCaller } from "#app/server/auth.server.ts";
import { env } from "#app/server/env.server.ts";
import { apiRoute, json, readJson } from "#app/server/http.server.ts";
import { deleteTenant, getTenant, updateTenant } from "#app/server/tenants.server.ts";

const route = apiRoute({
  async GET(args) {
    const who = await requireApiCaller(args);
    const slug = args.params.slug as string;
    return json({ key: tenantKey(slug), value: await getTenant(who, slug) });
  },
  async PUT(args) {
    const who = await requireApiCaller(args);
    const slug = args.params.slug as string;
    const body = await readJson(args.request, updateTenantSchema(env.originRules));
    return json({ key: tenantKey(slug), value: await updateTenant(who, slug, body) });
  },
  async DELETE(args) {
    const who = await requireApiCaller(args);
    const { key } = await deleteTenant(who, args.params.slug as string);
    return json({ ok: true, key });
  },
});

export const loader = route.loader;
export const action = route.action;
