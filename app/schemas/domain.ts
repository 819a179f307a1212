// Custom domains: the hostname a request names (body or query), and the Domain the API returns. Shared by the API
// routes, the forms and the OpenAPI document; the hostname rules that need the service's settings are server-side.
import { z } from "zod";

export const DOMAIN_STATUSES = ["pending", "active", "failed"] as const;
export type DomainStatus = (typeof DOMAIN_STATUSES)[number];

/** The label under the hostname where the ownership token is published as a TXT record. */
export const CHALLENGE_LABEL = "_cmsassets-challenge";
export const challengeName = (hostname: string) => `${CHALLENGE_LABEL}.${hostname}`;

/**
 * A hostname as typed. Only its presence and size are checked here: normalization (case, trailing dot, IDN) and
 * the rules that depend on the public suffix list and the service's own domains run on the server.
 */
export const hostnameInputSchema = z
  .string({ error: (i) => (i.input === undefined ? "is required" : "must be a string") })
  .trim()
  .min(1, "is required")
  .max(512, "is too long to be a hostname");

/** POST /api/tenants/{slug}/domains, and the optional body of DELETE and verify. */
export const domainHostnameBodySchema = z.strictObject({ hostname: hostnameInputSchema });
export type DomainHostnameBody = z.infer<typeof domainHostnameBodySchema>;

/** `?hostname=` of DELETE /api/tenants/{slug}/domains and POST …/domains/verify. */
export const domainHostnameQuerySchema = z.strictObject({ hostname: hostnameInputSchema });

/** A DNS record the tenant's owner creates. */
export const domainRecordSchema = z.object({ type: z.enum(["CNAME", "TXT"]), name: z.string(), value: z.string() });

/** What one verification lookup expected and found. */
export const domainCheckSchema = z.object({
  type: z.enum(["CNAME", "TXT"]),
  name: z.string(),
  expected: z.string(),
  found: z.array(z.string()),
  ok: z.boolean(),
});
export type DomainCheck = z.infer<typeof domainCheckSchema>;

export const domainSchema = z.object({
  hostname: z.string(),
  status: z.enum(DOMAIN_STATUSES),
  /** The CNAME to the edge, then the TXT ownership record. */
  verification: z.tuple([
    domainRecordSchema.extend({ type: z.literal("CNAME") }),
    domainRecordSchema.extend({ type: z.literal("TXT") }),
  ]),
  checks: z.array(domainCheckSchema),
  error: z.string().nullable(),
  lastCheckedAt: z.iso.datetime().nullable(),
  verifiedAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
});
export type DomainValue = z.infer<typeof domainSchema>;

export const domainListSchema = z.object({ domains: z.array(domainSchema) });

export const deletedDomainSchema = z.object({ ok: z.literal(true) });
