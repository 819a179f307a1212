// The catalog of JSON endpoints: paths, methods, parameters and the zod schemas of their bodies and responses.
// The OpenAPI document is generated from it; each entry's schemas are the ones its route validates with.
import type { z } from "zod";
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

export type HttpMethod = "get" | "post" | "put" | "delete";

export interface Endpoint {
  method: HttpMethod;
  /** OpenAPI path, parameters in braces. */
  path: string;
  summary: string;
  auth: "session" | "ingest-key" | "none";
  query?: z.ZodObject;
  body?: z.ZodType;
  ok: { status: number; description: string; schema: z.ZodType };
  /** The error statuses the contract names for this endpoint. */
  errors: number[];
}

const documented = { allowPrivate: false };

export const errorResponseSchema = errorSchema;

export const endpoints: Endpoint[] = [
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
    path: "/healthz",
    summary: "Liveness and database reachability",
    auth: "none",
    ok: { status: 200, description: "Up (503 with db: down when the database is unreachable)", schema: healthSchema },
    errors: [503],
  },
];
