// PUT /api/tenants/{slug}/api-config: the CMS API proxy's origin, auth mode and caching.
import { apiConfigBodySchema } from "#app/schemas/api-proxy.ts";
import { setApiConfig } from "#app/server/api-proxy.server.ts";
import { requireApiCaller } from "#app/server/auth.server.ts";
import { env } from "#app/server/env.server.ts";
import { apiRoute, json, readJson } from "#app/server/http.server.ts";

const route = apiRoute({
  async PUT(args) {
    const who = await requireApiCaller(args);
    const input = await readJson(args.request, apiConfigBodySchema(env.originRules));
    return json((await setApiConfig(who, args.params.slug as string, input)).config);
  },
});

export const loader = route.loader;
export const action = route.action;
