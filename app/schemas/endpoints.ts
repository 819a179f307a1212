// The catalog of JSON endpoints: paths, methods, parameters and the zod schemas of their bodies and responses.
// The OpenAPI document is generated from it; each entry's schemas are the ones its route validates with.
import { z } from "zod";
import { errorSchema, healthSchema } from "./common.ts";
import {
  createTenantSchema,
  createdTenantSchema,
  deletedTenantSchema,
  slugAvailabilityQuerySchema,
  slugAvailabilitySchema,
  tenantListSchema,
  tenantResponseSchema,
  updateTenantSchema,
} from "./tenant.ts";
import {
  apiConfigBodySchema,
  apiConfigSchema,
  apiTokenBodySchema,
  apiTokenSchema,
  refreshCacheBodySchema,
  refreshCacheSchema,
} from "./api-proxy.ts";
import { deletedDomainSchema, domainHostnameBodySchema, domainHostnameQuerySchema, domainListSchema, domainSchema } from "./domain.ts";
import { logsQuerySchema, logsSchema } from "./logs.ts";
import {
  accountUsageSchema,
  analyticsSchema,
  bandwidthQuerySchema,
  bandwidthSchema,
  ingestBodySchema,
  ingestResultSchema,
  periodQuerySchema,
  tenantUsageSchema,
} from "./usage.ts";

export type HttpMethod = "get" | "post" | "put" | "delete";

export interface Endpoint {
  method: HttpMethod;
  /** OpenAPI path, parameters in braces. */
  path: string;
  summary: string;
  auth: "session" | "ingest-key" | "none";
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The body may be left out (its fields can come in the query instead). */
  bodyOptional?: boolean;
  ok: { status: number; description: string; schema: z.ZodType };
  /** The error statuses the contract names for this endpoint. */
  errors: number[];
}

const documented = { allowPrivate: false };

export const errorResponseSchema = errorSchema;

export const apiIndexSchema = z.object({ name: z.string(), description: z.string(), openapi: z.string(), tenants: z.string() });

export const endpoints: Endpoint[] = [
  {
    method: "get",
    path: "/api",
    summary: "Where the API is described",
    auth: "none",
    ok: { status: 200, description: "Links to the OpenAPI document and the tenants collection", schema: apiIndexSchema },
    errors: [],
  },
  {
    method: "get",
    path: "/api/tenants",
    summary: "List the caller's tenants, newest first",
    auth: "session",
    ok: { status: 200, description: "The tenants the caller can access", schema: tenantListSchema },
    errors: [401],
  },
  {
    method: "post",
    path: "/api/tenants",
    summary: "Create a tenant",
    auth: "session",
    body: createTenantSchema(documented),
    ok: { status: 201, description: "Created; Location names the tenant", schema: createdTenantSchema },
    errors: [400, 401, 403, 409, 413, 415],
  },
  {
    method: "get",
    path: "/api/tenants/slug-availability",
    summary: "Whether a slug can be used",
    auth: "session",
    query: slugAvailabilityQuerySchema,
    ok: { status: 200, description: "Availability, with the reason when not available", schema: slugAvailabilitySchema },
    errors: [400, 401],
  },
  {
    method: "get",
    path: "/api/tenants/{slug}",
    summary: "Read a tenant",
    auth: "session",
    ok: { status: 200, description: "The tenant", schema: tenantResponseSchema },
    errors: [401, 404],
  },
  {
    method: "put",
    path: "/api/tenants/{slug}",
    summary: "Change some of a tenant's settings",
    auth: "session",
    body: updateTenantSchema(documented),
    ok: { status: 200, description: "The updated tenant", schema: tenantResponseSchema },
    errors: [400, 401, 404, 413, 415],
  },
  {
    method: "delete",
    path: "/api/tenants/{slug}",
    summary: "Delete a tenant, its domains and its request logs",
    auth: "session",
    ok: { status: 200, description: "Deleted", schema: deletedTenantSchema },
    errors: [401, 404],
  },
  {
    method: "get",
    path: "/api/tenants/usage",
    summary: "Usage of the caller's billing subject across its tenants, against its plan",
    auth: "session",
    query: periodQuerySchema,
    ok: { status: 200, description: "Totals (deleted tenants included), per tenant, and the plan's limits and use this month", schema: accountUsageSchema },
    errors: [400, 401],
  },
  {
    method: "get",
    path: "/api/tenants/{slug}/analytics",
    summary: "Traffic analytics of a tenant for a period",
    auth: "session",
    query: periodQuerySchema,
    ok: { status: 200, description: "Totals, ratios, splits, status classes, top paths and a zero-filled daily series", schema: analyticsSchema },
    errors: [400, 401, 404],
  },
  {
    method: "get",
    path: "/api/tenants/{slug}/bandwidth-daily",
    summary: "Daily bandwidth of a tenant (default: the last 30 days including today)",
    auth: "session",
    query: bandwidthQuerySchema,
    ok: { status: 200, description: "One point per day, zero-filled", schema: bandwidthSchema },
    errors: [400, 401, 404],
  },
  {
    method: "get",
    path: "/api/tenants/{slug}/domains",
    summary: "A tenant's custom domains, oldest first",
    auth: "session",
    ok: { status: 200, description: "The domains with their status, the DNS records to create and the last checks", schema: domainListSchema },
    errors: [401, 404],
  },
  {
    method: "post",
    path: "/api/tenants/{slug}/domains",
    summary: "Add a custom domain (pending until verified)",
    auth: "session",
    body: domainHostnameBodySchema,
    ok: { status: 201, description: "The domain, pending, with the CNAME and TXT records to create", schema: domainSchema },
    errors: [400, 401, 403, 404, 409, 413, 415],
  },
  {
    method: "delete",
    path: "/api/tenants/{slug}/domains",
    summary: "Remove a custom domain (hostname in the query or the body)",
    auth: "session",
    query: domainHostnameQuerySchema.partial(),
    body: domainHostnameBodySchema,
    bodyOptional: true,
    ok: { status: 200, description: "Removed", schema: deletedDomainSchema },
    errors: [400, 401, 404, 413, 415],
  },
  {
    method: "post",
    path: "/api/tenants/{slug}/domains/verify",
    summary: "Run a custom domain's DNS checks now (hostname in the body or the query)",
    auth: "session",
    query: domainHostnameQuerySchema.partial(),
    body: domainHostnameBodySchema,
    bodyOptional: true,
    ok: { status: 200, description: "The domain with its new status and what each check expected and found", schema: domainSchema },
    errors: [400, 401, 404, 413, 415],
  },
  {
    method: "get",
    path: "/api/tenants/{slug}/logs",
    summary: "Request logs of a tenant, newest first",
    auth: "session",
    query: logsQuerySchema,
    ok: { status: 200, description: "A page of logs and the cursor of the next one", schema: logsSchema },
    errors: [400, 401, 404],
  },
  {
    method: "post",
    path: "/api/tenants/{slug}/refresh-cache",
    summary: "Bump the tenant's API, asset or both cache versions",
    auth: "session",
    body: refreshCacheBodySchema,
    ok: { status: 200, description: "The cache versions now in use", schema: refreshCacheSchema },
    errors: [400, 401, 404, 413, 415],
  },
  {
    method: "put",
    path: "/api/tenants/{slug}/api-config",
    summary: "Configure the tenant's CMS API proxy",
    auth: "session",
    body: apiConfigBodySchema(documented),
    ok: { status: 200, description: "The API proxy configuration", schema: apiConfigSchema },
    errors: [400, 401, 404, 413, 415],
  },
  {
    method: "put",
    path: "/api/tenants/{slug}/api-token",
    summary: "Store the CMS API token (write-only, encrypted)",
    auth: "session",
    body: apiTokenBodySchema,
    ok: { status: 200, description: "Stored; the token is never returned", schema: apiTokenSchema },
    errors: [400, 401, 404, 413, 415],
  },
  {
    method: "get",
    path: "/api/tenants/{slug}/usage",
    summary: "A tenant's requests and bandwidth in a period and in the period before",
    auth: "session",
    query: periodQuerySchema,
    ok: { status: 200, description: "Current and previous windows", schema: tenantUsageSchema },
    errors: [400, 401, 404],
  },
  {
    method: "post",
    path: "/api/usage/ingest",
    summary: "Report traffic from an edge running elsewhere",
    auth: "ingest-key",
    body: ingestBodySchema,
    ok: { status: 200, description: "How many events were recorded and how many were not (unknown tenant, too old, in the future)", schema: ingestResultSchema },
    errors: [400, 401, 413, 415],
  },
  {
    method: "get",
    path: "/healthz",
    summary: "Liveness and database reachability",
    auth: "none",
    ok: { status: 200, description: "Up (503 with db: down when the database is unreachable)", schema: healthSchema },
    errors: [503],
  },
];
