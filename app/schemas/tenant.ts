// The tenant: slugs, providers and their fields, the create and update bodies, and the tenant value the API
// returns. Shared by the API routes, the forms and the OpenAPI document.
import { z } from "zod";
import { type OriginRules, originProblem } from "./public-origin";

/** A string field whose absence and wrong type read differently. */
const requiredString = () => z.string({ error: (i) => (i.input === undefined ? "is required" : "must be a string") });

// ---- slugs -------------------------------------------------------------------------------------------------

/** Every static path segment the API and the UI use, and names that would confuse people or the edge. */
export const RESERVED_SLUGS = new Set([
  "usage",
  "slug-availability",
  "new",
  "api",
  "edge",
  "www",
  "admin",
  "app",
  "assets",
  "static",
  "cdn",
  "proxy",
  "dashboard",
  "docs",
  "status",
  "billing",
  "settings",
  "sign-in",
  "sign-out",
  "sign-up",
  "login",
  "logout",
  "signup",
  "tenants",
  "healthz",
  "openapi",
  "build",
  "public",
  "favicon",
  "robots",
  "account",
  "accounts",
  "help",
  "support",
  "mail",
  "email",
  "ftp",
  "ns",
  "ns1",
  "ns2",
  "root",
  "system",
  "internal",
  "localhost",
]);

/** Format only (no reserved check): 3–63 of a–z 0–9 -, starting with a letter, no trailing or double hyphen. */
export const slugFormat = requiredString()
  .min(3, "must be at least 3 characters")
  .max(63, "must be at most 63 characters")
  .regex(/^[a-z][a-z0-9-]*$/, "may contain only a-z, 0-9 and hyphens, and must start with a letter")
  .refine((s) => !s.endsWith("-"), "must not end with a hyphen")
  .refine((s) => !s.includes("--"), "must not contain two hyphens in a row");

export const slugSchema = slugFormat.refine((s) => !RESERVED_SLUGS.has(s), "is reserved");

export const tenantKey = (slug: string) => `tenant:${slug}`;

// ---- providers ---------------------------------------------------------------------------------------------

export const CMS_PROVIDERS = ["contentful", "sanity", "prismic", "storyblok", "shopify", "cloudinary", "imgix", "generic"] as const;
export type Cms = (typeof CMS_PROVIDERS)[number];

export const STORYBLOK_REGIONS = ["eu", "us", "ap", "ca", "cn"] as const;

const hostnamePattern = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const hostname = (what: string) =>
  requiredString()
    .trim()
    .toLowerCase()
    .regex(hostnamePattern, `must be a ${what} hostname such as shop.example.com (no scheme or path)`);
const identifier = (pattern: RegExp, hint: string) =>
  requiredString().trim().min(1, "is required").max(64, "must be at most 64 characters").regex(pattern, hint);

function originUrl(rules: OriginRules) {
  return requiredString()
    .trim()
    .max(2048, "must be at most 2048 characters")
    .superRefine((v, ctx) => {
      const problem = originProblem(v, rules);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .transform((v) => v.replace(/\/+$/, ""));
}

/** Each provider's own fields (required ones required, defaults applied), as a strict object. */
export function providerFieldSchemas(rules: OriginRules) {
  return {
    contentful: { spaceId: identifier(/^[A-Za-z0-9_-]+$/, "must be a Contentful space id (letters, digits, - and _)") },
    sanity: {
      projectId: identifier(/^[a-z0-9-]+$/, "must be a Sanity project id (a-z, 0-9 and -)"),
      dataset: identifier(/^[a-z0-9_-]+$/, "must be a Sanity dataset name (a-z, 0-9, _ and -)").default("production"),
    },
    prismic: {
      repositoryName: identifier(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i, "must be a Prismic repository name (letters, digits and -)"),
    },
    storyblok: { region: z.enum(STORYBLOK_REGIONS, { error: `must be one of ${STORYBLOK_REGIONS.join(", ")}` }).default("eu") },
    shopify: { storeDomain: hostname("store") },
    cloudinary: { cloudName: identifier(/^[A-Za-z0-9_-]+$/, "must be a Cloudinary cloud name (letters, digits, - and _)") },
    imgix: { imgixDomain: hostname("imgix source") },
    generic: { originUrl: originUrl(rules), videoOrigin: originUrl(rules).optional() },
  } satisfies Record<Cms, z.ZodRawShape>;
}

export const PROVIDER_FIELDS: Record<Cms, string[]> = Object.fromEntries(
  Object.entries(providerFieldSchemas({ allowPrivate: false })).map(([cms, shape]) => [cms, Object.keys(shape)]),
) as Record<Cms, string[]>;

export const ALL_PROVIDER_FIELDS = [...new Set(Object.values(PROVIDER_FIELDS).flat())];

// ---- common settings ---------------------------------------------------------------------------------------

export const DEFAULT_ALLOWED_TYPES = ["jpeg", "jpg", "png", "gif", "webp", "avif", "svg", "pdf", "mp4", "webm", "mov", "m4v"];
export const DEFAULT_CACHE_TTL = 86_400;

export const cacheTTLSchema = z
  .number({ error: "must be a whole number of seconds" })
  .int("must be a whole number of seconds")
  .min(60, "must be at least 60 seconds")
  .max(31_536_000, "must be at most 31536000 seconds (a year)");

export const websiteDomainSchema = z
  .string()
  .trim()
  .max(2048, "must be at most 2048 characters")
  // Kept as a browser would send it as the Referer: a hostname lowercased; a URL as the URL parser writes it (scheme
  // and host lowercased, `\` as `/`, its path's case kept), without the lone `/` of a URL that has no path.
  .transform((v, ctx) => {
    const lower = v.toLowerCase();
    if (hostnamePattern.test(lower)) return lower;
    const u = URL.canParse(v) ? new URL(v) : null;
    if (u && u.protocol === "https:" && hostnamePattern.test(u.hostname) && !u.username && !u.password) {
      return u.pathname === "/" && !u.search && !u.hash ? u.origin : u.href;
    }
    ctx.addIssue({ code: "custom", message: "must be a hostname (www.example.com) or an https URL" });
    return z.NEVER;
  })
  .nullable();

export const allowedTypesSchema = z
  .array(
    z
      .string()
      .trim()
      .toLowerCase()
      .transform((v) => v.replace(/^\./, ""))
      .pipe(z.string().regex(/^[a-z0-9]{1,10}$/, "must be a file extension such as jpg or mp4")),
  )
  .min(1, "must list at least one extension (or be null for the default list)")
  .max(50, "must list at most 50 extensions")
  .transform((list) => [...new Set(list)])
  .nullable();

const commonCreateFields = {
  cacheTTL: cacheTTLSchema.optional(),
  websiteDomain: websiteDomainSchema.optional(),
  allowedTypes: allowedTypesSchema.optional(),
};

/** POST /api/tenants: slug, cms and that provider's fields, optional settings; anything else is rejected. */
export function createTenantSchema(rules: OriginRules) {
  const fields = providerFieldSchemas(rules);
  const variant = <C extends Cms>(cms: C) =>
    z.strictObject({ slug: slugSchema, cms: z.literal(cms), ...fields[cms], ...commonCreateFields });
  return z.discriminatedUnion(
    "cms",
    [
      variant("contentful"),
      variant("sanity"),
      variant("prismic"),
      variant("storyblok"),
      variant("shopify"),
      variant("cloudinary"),
      variant("imgix"),
      variant("generic"),
    ],
    {
      error: (i) =>
        (i.input as { cms?: unknown } | undefined)?.cms === undefined ? "is required" : `must be one of ${CMS_PROVIDERS.join(", ")}`,
    },
  );
}
export type CreateTenantInput = z.infer<ReturnType<typeof createTenantSchema>>;

/**
 * PUT /api/tenants/{slug}: any settings and provider fields (each validated on its own here; which provider they
 * must belong to depends on the tenant, see `resolveTenantUpdate`). Read-only fields and the slug are unknown here.
 */
export function updateTenantSchema(rules: OriginRules) {
  const fields = providerFieldSchemas(rules);
  const providerShape: Record<string, z.ZodType> = {};
  for (const shape of Object.values(fields)) {
    for (const [name, schema] of Object.entries(shape)) {
      // Defaults belong to creation; in a partial update an absent field means "unchanged".
      const base = schema instanceof z.ZodDefault ? schema.unwrap() : schema;
      providerShape[name] = base instanceof z.ZodOptional ? base : (base as z.ZodType).optional();
    }
  }
  return z
    .strictObject({
      cms: z.enum(CMS_PROVIDERS, { error: `must be one of ${CMS_PROVIDERS.join(", ")}` }).optional(),
      cacheTTL: cacheTTLSchema.optional(),
      websiteDomain: websiteDomainSchema.optional(),
      allowedTypes: allowedTypesSchema.optional(),
      ...providerShape,
    })
    .refine((body) => Object.keys(body).length > 0, {
      message: "must change at least one field",
      // Only when nothing else is wrong: an unknown field is its own (and the only) complaint.
      when: (payload) => payload.issues.length === 0,
    });
}
export type UpdateTenantInput = z.infer<ReturnType<typeof updateTenantSchema>>;

export interface TenantChanges {
  set: Record<string, unknown>;
  unset: string[];
}

/**
 * Turns a validated update body into the changes for a tenant currently on `currentCms`: provider fields must
 * belong to the (new) provider, a new provider needs its required fields, and the old provider's fields go.
 */
export function resolveTenantUpdate(
  currentCms: Cms,
  body: UpdateTenantInput,
  rules: OriginRules,
): { changes: TenantChanges } | { issues: Array<{ path: string; message: string }> } {
  const targetCms = (body.cms as Cms | undefined) ?? currentCms;
  const own = new Set(PROVIDER_FIELDS[targetCms]);
  const issues: Array<{ path: string; message: string }> = [];
  for (const key of Object.keys(body)) {
    if (ALL_PROVIDER_FIELDS.includes(key) && !own.has(key)) issues.push({ path: key, message: `is not a field of ${targetCms}` });
  }
  const set: Record<string, unknown> = {};
  const unset: string[] = [];
  for (const [k, v] of Object.entries(body)) if (!ALL_PROVIDER_FIELDS.includes(k) && v !== undefined) set[k] = v;
  const providerInput = Object.fromEntries(Object.entries(body).filter(([k]) => own.has(k)));
  if (targetCms !== currentCms) {
    const full = z.strictObject(providerFieldSchemas(rules)[targetCms]).safeParse(providerInput);
    if (!full.success) {
      for (const i of full.error.issues) issues.push({ path: i.path.join("."), message: i.message });
    } else {
      Object.assign(set, full.data);
      for (const field of ALL_PROVIDER_FIELDS) if (!own.has(field)) unset.push(field);
    }
  } else {
    Object.assign(set, providerInput);
  }
  return issues.length ? { issues } : { changes: { set, unset } };
}

// ---- the tenant value ----------------------------------------------------------------------------------------

export const API_AUTH_MODES = ["bearer", "basic", "token", "none"] as const;

export const cacheVersionsSchema = z.object({ api: z.number().int(), assets: z.number().int() });

/** The tenant document the API returns (§3 of the contract). */
export const tenantValueSchema = z.object({
  slug: z.string(),
  cms: z.enum(CMS_PROVIDERS),
  spaceId: z.string().optional(),
  projectId: z.string().optional(),
  dataset: z.string().optional(),
  repositoryName: z.string().optional(),
  region: z.enum(STORYBLOK_REGIONS).optional(),
  storeDomain: z.string().optional(),
  cloudName: z.string().optional(),
  imgixDomain: z.string().optional(),
  originUrl: z.string().optional(),
  videoOrigin: z.string().optional(),
  cacheTTL: z.number().int(),
  websiteDomain: z.string().nullable(),
  allowedTypes: z.array(z.string()).nullable(),
  apiOrigin: z.string().nullable(),
  apiAuthMode: z.enum(API_AUTH_MODES),
  apiTokenHeader: z.string(),
  apiCacheTTL: z.number().int(),
  previewBypassParam: z.string(),
  transformApiUrls: z.boolean(),
  apiTokenSet: z.boolean(),
  apiTokenUpdatedAt: z.iso.datetime().nullable(),
  cacheVersions: cacheVersionsSchema,
  proxyBase: z.string(),
  orgId: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type TenantValue = z.infer<typeof tenantValueSchema>;

export const tenantResponseSchema = z.object({ key: z.string(), value: tenantValueSchema });

export const tenantListSchema = z.object({
  total: z.number().int(),
  tenants: z.array(
    z.object({
      slug: z.string(),
      cms: z.enum(CMS_PROVIDERS),
      proxyBase: z.string(),
      createdAt: z.iso.datetime(),
      updatedAt: z.iso.datetime(),
      domains: z.number().int(),
    }),
  ),
});

export const createdTenantSchema = z.object({ ok: z.literal(true), key: z.string(), proxyBase: z.string() });
export const deletedTenantSchema = z.object({ ok: z.literal(true), key: z.string() });

export const slugAvailabilityQuerySchema = z.strictObject({ slug: slugFormat });
export const slugAvailabilitySchema = z.object({
  slug: z.string(),
  available: z.boolean(),
  reason: z.enum(["taken", "reserved"]).optional(),
});
