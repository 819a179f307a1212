// The OpenAPI 3.1 document, generated from the endpoint catalog and its zod schemas (never written by hand).
import { z } from "zod";
import { type Endpoint, endpoints, errorResponseSchema } from "#app/schemas/endpoints.ts";

const STATUS_TEXT: Record<number, string> = {
  400: "Invalid request (validation issues listed in error.issues)",
  401: "No valid session",
  403: "Plan limit reached (error.plan and error.limit say which)",
  404: "Not found, or not accessible to the caller",
  405: "Method not allowed (see the Allow header)",
  409: "Conflict: the slug or hostname is taken",
  413: "Body over 64 KiB",
  415: "Body is not application/json",
  429: "Rate limited",
  500: "Internal error",
  503: "Database unreachable",
};

function jsonSchema(schema: z.ZodType, io: "input" | "output") {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
}

function operation(e: Endpoint) {
  const parameters: unknown[] = [];
  for (const match of e.path.matchAll(/\{(\w+)\}/g)) {
    parameters.push({ name: match[1], in: "path", required: true, schema: { type: "string" } });
  }
  if (e.query) {
    const shape = jsonSchema(e.query, "input") as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, schema] of Object.entries(shape.properties ?? {})) {
      parameters.push({ name, in: "query", required: shape.required?.includes(name) ?? false, schema });
    }
  }
  const responses: Record<string, unknown> = {
    [e.ok.status]: { description: e.ok.description, content: { "application/json": { schema: jsonSchema(e.ok.schema, "output") } } },
  };
  for (const status of e.errors) {
    responses[status] =
      e.path === "/healthz"
        ? { description: STATUS_TEXT[status], content: { "application/json": { schema: jsonSchema(e.ok.schema, "output") } } }
        : { description: STATUS_TEXT[status], content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
  }
  const op: Record<string, unknown> = {
    summary: e.summary,
    operationId: `${e.method}${e.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ""))}`,
    parameters,
    responses,
  };
  if (e.body) op.requestBody = { required: !e.bodyOptional, content: { "application/json": { schema: jsonSchema(e.body, "input") } } };
  if (e.auth === "session") op.security = [{ bearerSession: [] }, { sessionCookie: [] }];
  if (e.auth === "ingest-key") op.security = [{ ingestKey: [] }];
  if (e.auth === "none") op.security = [];
  return op;
}

let cached: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const e of endpoints) {
    paths[e.path] ??= {};
    paths[e.path][e.method] = operation(e);
  }
  cached = {
    openapi: "3.1.0",
    info: {
      title: "Tenants API",
      version: "1.0.0",
      description:
        "Configure tenants of the CMS edge. JSON in and out, Cache-Control: no-store, one error shape. Bodies are validated strictly: unknown fields are rejected.",
    },
    servers: [{ url: "/" }],
    paths,
    components: {
      schemas: { Error: jsonSchema(errorResponseSchema, "output") },
      securitySchemes: {
        bearerSession: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "A Clerk session token" },
        sessionCookie: { type: "apiKey", in: "cookie", name: "__session", description: "The browser session cookie" },
        ingestKey: { type: "apiKey", in: "header", name: "X-Ingest-Key" },
      },
    },
  };
  return cached;
}
