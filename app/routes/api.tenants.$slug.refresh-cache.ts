// POST /api/tenants/{slug}/refresh-cache: bump the API, asset or both cache versions.
import { refreshCacheBodySchema } from "#app/schemas/api-proxy.ts";
import { refreshCache } from "#app/server/api-proxy.server.ts";
import { requireApiCaller } from "#app/server/auth.server.ts";
import { apiRoute, json, readJson } from "#app/server/http.server.ts";

const route = apiRoute({
  async POST(args) {
    const who = await requireApiCaller(args);
    const { type } = await readJson(args.request, refreshCacheBodySchema);
    return json({ ok: true, versions: await refreshCache(who, args.params.slug as string, type) });
  },
});

export const loader = route.loader;
export const action = route.action;
