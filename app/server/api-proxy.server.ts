// A tenant's CMS API proxy settings, its write-only token (stored encrypted) and its cache versions.
import { Tenant, type TenantDoc } from "#models/tenant.ts";
import type { z } from "zod";
import type { apiConfigBodySchema } from "#app/schemas/api-proxy.ts";
import { type Caller, accessFilter } from "./auth.server.ts";
import { encryptToken } from "./crypto.server.ts";
import { connectDb } from "./db.server.ts";
import { invalid, notFound } from "./http.server.ts";
import { updateAsRead } from "./tenants.server.ts";

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

/** The scheme, host and port of an origin URL (null for none, or one that does not parse). */
function originOf(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/**
 * Replaces the API proxy configuration (fields left out take their defaults, as a PUT does). The stored token goes
 * only to the origin it was entered for: an API origin moved to another scheme, host or port removes it
 * (decision 024), so whoever may edit the settings cannot have the write-only token sent to a server of theirs. The write is
 * conditional on the origin read, so a concurrent change of origin is never missed.
 */
export function setApiConfig(who: Caller, slug: string, input: ApiConfigInput): Promise<{ config: ReturnType<typeof apiConfigOf>; tokenRemoved: boolean }> {
  const { token: _never, ...config } = input;
  return updateAsRead(who, slug, async (current) => {
    const before = current.apiOrigin ?? null;
    // The first origin keeps a token put before it through the API (`PUT api-token`, then `api-config`: nothing was
    // sent anywhere with it yet); the settings form takes a token only once an origin is set.
    const moved = before !== null && originOf(before) !== originOf(config.apiOrigin);
    const update = { $set: moved ? { ...config, apiToken: null, apiTokenUpdatedAt: null } : config };
    // A move also waits for the token as read: one saved meanwhile is read again, and reported as removed.
    const filter = { _id: current._id, apiOrigin: before, ...(moved ? { apiTokenUpdatedAt: current.apiTokenUpdatedAt ?? null } : {}), ...accessFilter(who) };
    const doc = await Tenant.findOneAndUpdate(filter, update, { returnDocument: "after" }).lean<TenantDoc>();
    return doc ? { config: apiConfigOf(doc), tokenRemoved: moved && Boolean(current.apiToken) } : null;
  });
}

/**
 * Stores the API token encrypted (bound to this tenant); it is never returned. It is for the API origin set when it
 * is stored (written on condition that the origin is still the one read). A form passes the origin its page showed
 * (`shownOrigin`): if the origin has moved since, the token is refused rather than sent somewhere its user never saw.
 */
export function setApiToken(who: Caller, slug: string, token: string, shownOrigin?: string | null) {
  return updateAsRead(who, slug, async (tenant) => {
    const origin = tenant.apiOrigin ?? null;
    if (shownOrigin !== undefined) {
      const refused = (message: string) => invalid("Invalid request body", [{ path: "token", message }]);
      if (origin === null && shownOrigin === null) throw refused("set the API origin first: the token is sent only to it");
      if (shownOrigin !== origin) {
        throw refused(`the API origin changed since this page was loaded (now ${origin ?? "none"}, the page showed ${shownOrigin ?? "none"}): check it, then enter the token again`);
      }
    }
    const updatedAt = new Date();
    const res = await Tenant.updateOne(
      { _id: tenant._id, apiOrigin: origin, ...accessFilter(who) },
      { $set: { apiToken: encryptToken(token, tenant._id.toHexString()), apiTokenUpdatedAt: updatedAt } },
    );
    return res.matchedCount === 1 ? { updatedAt: updatedAt.toISOString() } : null;
  });
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
