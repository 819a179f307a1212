// The API's value of a freshly created tenant: every default, the provider settings a test gave, and any instant as
// createdAt/updatedAt — what `GET /api/tenants/{slug}` answers right after the create.
import { expect } from "vitest";

export const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The API proxy settings a tenant has until they are set. */
export const DEFAULT_API_SETTINGS = {
  apiAuthMode: "bearer",
  apiTokenHeader: "Authorization",
  apiCacheTTL: 60,
  previewBypassParam: "preview",
  transformApiUrls: true,
  apiTokenSet: false,
};

export function freshTenantValue(slug: string, settings: Record<string, unknown>, orgId: string | null = null) {
  return {
    slug,
    ...settings,
    cacheTTL: 86_400,
    websiteDomain: null,
    allowedTypes: null,
    apiOrigin: null,
    ...DEFAULT_API_SETTINGS,
    apiTokenUpdatedAt: null,
    cacheVersions: { api: 1, assets: 1 },
    proxyBase: `http://${slug}.localhost:8787`,
    orgId,
    createdAt: expect.stringMatching(ISO_INSTANT),
    updatedAt: expect.stringMatching(ISO_INSTANT),
  };
}
