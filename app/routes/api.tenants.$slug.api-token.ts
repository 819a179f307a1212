// PUT /api/tenants/{slug}/api-token: the CMS API token, write-only.
import { apiTokenBodySchema } from "#app/schemas/api-proxy.ts";
import { setApiToken } from "#app/server/api-proxy.server.ts";
import { requireApiCaller } from "#app/server/auth.server.ts";
import { apiRoute, json, readJson } from "#app/server/http.server.ts";

const route = apiRoute({
  async PUT(args) {
    const who = await requireApiCaller(args);
    const { token } = await readJson(args.request, apiTokenBodySchema);
    return json({ ok: true, ...(await setApiToken(who, args.params.slug as string, token)) });
  },
});

export const loader = route.loader;
export const action = route.action;
