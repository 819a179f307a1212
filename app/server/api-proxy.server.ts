// A tenant's CMS API proxy settings, its write-only token (stored encrypted) and its cache versions.
import { Tenant, type TenantDoc } from "#models/tenant.ts";
import type { z } from "zod";
import type { apiConfigBodySchema } from "#app/schemas/api-proxy.ts";
import { type Caller, accessFilter } from "./auth.server.ts";
import { encryptToken } from "./crypto.server.ts";
import { connectDb } from "./db.server.ts";
import { notFound } from "./http.server.ts";
import { findAccessibleTenant } from "./tenants.server.ts";

export type ApiConfigInput = z.infer<ReturnType<typeof apiConfigBodySchema>>;

export function apiConfigOf(doc: TenantDoc) {
  return {
    apiOrigin: doc.apiOrigin ?? null,
    apiAuthMode: (doc.apiAuthMode ?? "bearer") as "bearer" | "basic" | "token" | "none",
    apiTokenHeader: doc.apiTokenHeader ?? "Authorization",
    apiCacheTTL: doc.apiCacheTTL ?? 60,
    previewBypassParam: doc.previewBypassParam ?? "preview",
    transformApiUrls: doc.transformApiUrls ?? true,
    apiTokenSet: Boolean(doc.apiToken),
  };
}

/** Replaces the API proxy configuration (fields left out take their defaults, as a PUT does). */
export async function setApiConfig(who: Caller, slug: string, input: ApiConfigInput) {
  await connectDb();
  const { token: _never, ...config } = input;
  const doc = await Tenant.findOneAndUpdate({ slug, ...accessFilter(who) }, { $set: config }, { returnDocument: "after" }).lean<TenantDoc>();
  if (!doc) throw notFound(`No tenant "${slug}"`);
  return apiConfigOf(doc);
}

/** Stores the API token encrypted (bound to this tenant); it is never returned. */
export async function setApiToken(who: Caller, slug: string, token: string) {
  const tenant = await findAccessibleTenant(who, slug);
  const updatedAt = new Date();
  const res = await Tenant.updateOne(
    { _id: tenant._id, ...accessFilter(who) },
    { $set: { apiToken: encryptToken(token, tenant._id.toHexString()), apiTokenUpdatedAt: updatedAt } },
  );
  if (res.matchedCount !== 1) throw notFound(`No tenant "${slug}"`);
  return { updatedAt: updatedAt.toISOString() };
}

const VERSION_FIELDS = { api: ["cacheVersions.api"], assets: ["cacheVersions.assets"], all: ["cacheVersions.api", "cacheVersions.assets"] };

/** Bumps the cache version(s) with one atomic $inc: every refresh counts, however many run at once. */
export async function refreshCache(who: Caller, slug: string, type: keyof typeof VERSION_FIELDS) {
  await connectDb();
  const inc = Object.fromEntries(VERSION_FIELDS[type].map((f) => [f, 1]));
  const doc = await Tenant.findOneAndUpdate({ slug, ...accessFilter(who) }, { $inc: inc }, { returnDocument: "after" }).lean<TenantDoc>();
  if (!doc) throw notFound(`No tenant "${slug}"`);
  return { api: doc.cacheVersions?.api ?? 1, assets: doc.cacheVersions?.assets ?? 1 };
}
