// Tenants: create (slug uniqueness and plan limits under concurrency), list, read, partial update, delete, slug
// availability, and the tenant value the API and pages show.
import { DailyPathUsage } from "#models/daily-path-usage.ts";
import { Domain } from "#models/domain.ts";
import { RequestLogBucket } from "#models/request-log.ts";
import { Tenant, type TenantDoc } from "#models/tenant.ts";
import {
  type CreateTenantInput,
  DEFAULT_CACHE_TTL,
  PROVIDER_FIELDS,
  RESERVED_SLUGS,
  type TenantValue,
  type UpdateTenantInput,
  resolveTenantUpdate,
  tenantKey,
} from "#app/schemas/tenant.ts";
import { type Caller, accessFilter, canAccess } from "./auth.server";
import { PLANS, releaseTenantSlot, reserveTenantSlot, resolvePlan } from "./billing.server";
import { connectDb } from "./db.server";
import { env } from "./env.server";
import { ApiError, invalid, notFound } from "./http.server";

export const proxyBaseFor = (slug: string) => env.proxyBaseUrl.replaceAll("{slug}", slug);

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

/** The tenant document as the API shows it (§3): flat provider fields, never the token. */
export function toTenantValue(doc: TenantDoc): TenantValue {
  const provider: Record<string, string> = {};
  for (const field of PROVIDER_FIELDS[doc.cms as keyof typeof PROVIDER_FIELDS] ?? []) {
    const v = (doc as unknown as Record<string, unknown>)[field];
    if (typeof v === "string") provider[field] = v;
  }
  return {
    slug: doc.slug,
    cms: doc.cms as TenantValue["cms"],
    ...provider,
    cacheTTL: doc.cacheTTL,
    websiteDomain: doc.websiteDomain ?? null,
    allowedTypes: doc.allowedTypes ?? null,
    apiOrigin: doc.apiOrigin ?? null,
    apiAuthMode: (doc.apiAuthMode ?? "bearer") as TenantValue["apiAuthMode"],
    apiTokenHeader: doc.apiTokenHeader ?? "Authorization",
    apiCacheTTL: doc.apiCacheTTL ?? 60,
    previewBypassParam: doc.previewBypassParam ?? "preview",
    transformApiUrls: doc.transformApiUrls ?? true,
    apiTokenSet: Boolean(doc.apiToken),
    apiTokenUpdatedAt: iso(doc.apiTokenUpdatedAt),
    cacheVersions: { api: doc.cacheVersions?.api ?? 1, assets: doc.cacheVersions?.assets ?? 1 },
    proxyBase: proxyBaseFor(doc.slug),
    orgId: doc.orgId ?? null,
    createdAt: iso(doc.createdAt) as string,
    updatedAt: iso(doc.updatedAt) as string,
  } as TenantValue;
}

/**
 * The tenant, if the caller may access it; otherwise exactly what a missing tenant looks like. Looked up by its
 * unique slug alone (one index probe) and checked here, with the same rule as `accessFilter`.
 */
export async function findAccessibleTenant(who: Caller, slug: string): Promise<TenantDoc> {
  await connectDb();
  const doc = await Tenant.findOne({ slug }).lean<TenantDoc>();
  if (!doc || !canAccess(who, doc)) throw notFound(`No tenant "${slug}"`);
  return doc;
}

export async function listTenants(who: Caller) {
  await connectDb();
  // domainCount is kept with every add and remove of a domain (it is the plan slot counter): no second query.
  const docs = await Tenant.find(accessFilter(who), { slug: 1, cms: 1, createdAt: 1, updatedAt: 1, domainCount: 1 })
    .sort({ createdAt: -1, _id: -1 })
    .lean<TenantDoc[]>();
  return {
    total: docs.length,
    tenants: docs.map((d) => ({
      id: d._id,
      slug: d.slug,
      cms: d.cms as TenantValue["cms"],
      proxyBase: proxyBaseFor(d.slug),
      createdAt: iso(d.createdAt) as string,
      updatedAt: iso(d.updatedAt) as string,
      domains: d.domainCount ?? 0,
    })),
  };
}

/**
 * Creates a tenant: a slot is reserved on the billing subject's Account first (403 at the plan limit), then the
 * insert relies on the unique slug index (409); a failed insert gives the slot back.
 */
export async function createTenant(who: Caller, input: CreateTenantInput) {
  await connectDb();
  const plan = await resolvePlan(who.billingSubject, who.claimedPlan);
  const limit = PLANS[plan].tenants;
  if (!(await reserveTenantSlot(who.billingSubject, limit))) {
    throw new ApiError("plan_limit", `The ${plan} plan allows ${limit} tenant${limit === 1 ? "" : "s"}`, {
      extra: { plan, limit },
    });
  }
  const { slug, cms, cacheTTL, websiteDomain, allowedTypes, ...provider } = input;
  try {
    await Tenant.create({
      slug,
      cms,
      ...provider,
      ownerId: who.userId,
      orgId: who.orgId,
      billingSubject: who.billingSubject,
      cacheTTL: cacheTTL ?? DEFAULT_CACHE_TTL,
      websiteDomain: websiteDomain ?? null,
      allowedTypes: allowedTypes ?? null,
    });
  } catch (err) {
    await releaseTenantSlot(who.billingSubject);
    if ((err as { code?: number }).code === 11000) throw new ApiError("slug_taken", `The slug "${slug}" is taken`);
    throw err;
  }
  return { slug, key: tenantKey(slug), proxyBase: proxyBaseFor(slug) };
}

export async function getTenant(who: Caller, slug: string): Promise<TenantValue> {
  return toTenantValue(await findAccessibleTenant(who, slug));
}

/**
 * Runs a write conditional on the tenant as read (`write` answers null when its condition no longer held), reading it
 * again when another write came between. Every miss means another write landed since the read: a caller among n
 * concurrent writers lands within n attempts.
 */
export async function updateAsRead<T>(who: Caller, slug: string, write: (current: TenantDoc) => Promise<T | null>): Promise<T> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const done = await write(await findAccessibleTenant(who, slug));
    if (done !== null) return done;
  }
  throw new ApiError("internal", "The tenant kept changing during the update; try again");
}

/** Applies a partial update; the provider check depends on the tenant's provider, so the write is conditional on it. */
export function updateTenant(who: Caller, slug: string, body: UpdateTenantInput): Promise<TenantValue> {
  return updateAsRead(who, slug, async (current) => {
    const resolved = resolveTenantUpdate(current.cms as Parameters<typeof resolveTenantUpdate>[0], body, env.originRules);
    if ("issues" in resolved) throw invalid("Invalid request body", resolved.issues);
    const { set, unset } = resolved.changes;
    const update: Record<string, unknown> = { $set: set };
    if (unset.length) update.$unset = Object.fromEntries(unset.map((f) => [f, 1]));
    const doc = await Tenant.findOneAndUpdate({ _id: current._id, cms: current.cms }, update, {
      returnDocument: "after",
    }).lean<TenantDoc>();
    return doc ? toTenantValue(doc) : null;
  });
}

/** Deletes the tenant, its domains and its request logs (its daily usage stays: quotas and billing outlive a tenant). */
export async function deleteTenant(who: Caller, slug: string) {
  const current = await findAccessibleTenant(who, slug);
  const { deletedCount } = await Tenant.deleteOne({ _id: current._id });
  if (deletedCount !== 1) throw notFound(`No tenant "${slug}"`);
  await releaseTenantSlot(current.billingSubject);
  await Promise.all([
    Domain.deleteMany({ tenant: current._id }),
    RequestLogBucket.deleteMany({ tenant: current._id }),
    DailyPathUsage.deleteMany({ tenant: current._id }),
  ]);
  return { key: tenantKey(slug) };
}

export async function slugAvailability(slug: string) {
  if (RESERVED_SLUGS.has(slug)) return { slug, available: false, reason: "reserved" as const };
  await connectDb();
  const taken = await Tenant.exists({ slug });
  return taken ? { slug, available: false, reason: "taken" as const } : { slug, available: true };
}
