// GET /api/openapi.json: an OpenAPI 3.1 document of every endpoint, generated from the same zod schemas the routes
// validate with.
import { describe, expect, it } from "vitest";
import * as openapi from "#app/routes/api.openapi[.]json.ts";
import { endpoints } from "#app/schemas/endpoints.ts";
import { call, read } from "#tests/fixtures/http.ts";

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};

async function fetchDoc(): Promise<Doc> {
  const res = await read(await call(openapi, "/api/openapi.json"));
  expect(res.status).toBe(200);
  expect(res.contentType).toBe("application/json; charset=utf-8");
  expect(res.cacheControl).toBe("no-store");
  return res.body as unknown as Doc;
}

describe("GET /api/openapi.json", () => {
  it("is OpenAPI 3.1 and lists every endpoint of the catalog with its method", async () => {
    const doc = await fetchDoc();
    expect(doc.openapi).toBe("3.1.0");
    const listed = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(listed.sort()).toEqual(endpoints.map((e) => `${e.method.toUpperCase()} ${e.path}`).sort());
    expect(listed).toEqual(
      expect.arrayContaining([
        "GET /api/tenants",
        "POST /api/tenants",
        "GET /api/tenants/slug-availability",
        "GET /api/tenants/{slug}",
        "PUT /api/tenants/{slug}",
        "DELETE /api/tenants/{slug}",
        "GET /healthz",
        "GET /api",
        "GET /api/tenants/usage",
        "GET /api/tenants/{slug}/analytics",
        "GET /api/tenants/{slug}/bandwidth-daily",
        "GET /api/tenants/{slug}/domains",
        "POST /api/tenants/{slug}/domains",
        "DELETE /api/tenants/{slug}/domains",
        "POST /api/tenants/{slug}/domains/verify",
        "GET /api/tenants/{slug}/logs",
        "POST /api/tenants/{slug}/refresh-cache",
        "PUT /api/tenants/{slug}/api-config",
        "PUT /api/tenants/{slug}/api-token",
        "GET /api/tenants/{slug}/usage",
        "POST /api/usage/ingest",
      ]),
    );
  });

  it("derives the create body from the zod schema: one strict variant per provider", async () => {
    const doc = await fetchDoc();
    const body = doc.paths["/api/tenants"].post.requestBody as {
      content: { "application/json": { schema: { oneOf: Array<Record<string, unknown>> } } };
    };
    const variants = body.content["application/json"].schema.oneOf;
    expect(variants.map((v) => (v.properties as { cms: { const: string } }).cms.const)).toEqual([
      "contentful",
      "sanity",
      "prismic",
      "storyblok",
      "shopify",
      "cloudinary",
      "imgix",
      "generic",
    ]);
    const contentful = variants[0] as { required: string[]; additionalProperties: boolean; properties: Record<string, Record<string, unknown>> };
    expect(contentful.additionalProperties).toBe(false);
    expect(contentful.required.sort()).toEqual(["cms", "slug", "spaceId"]);
    expect(contentful.properties.slug).toMatchObject({ type: "string", minLength: 3, maxLength: 63 });
    expect(contentful.properties.cacheTTL).toMatchObject({ type: "integer", minimum: 60, maximum: 31536000 });
    const storyblok = variants[3] as { properties: Record<string, Record<string, unknown>> };
    expect(storyblok.properties.region).toMatchObject({ enum: ["eu", "us", "ap", "ca", "cn"], default: "eu" });
  });

  it("documents parameters, responses, errors and security", async () => {
    const doc = await fetchDoc();
    const get = doc.paths["/api/tenants/{slug}"].get as {
      parameters: unknown[];
      responses: Record<string, { content: { "application/json": { schema: Record<string, unknown> } } }>;
      security: unknown[];
    };
    expect(get.parameters).toEqual([{ name: "slug", in: "path", required: true, schema: { type: "string" } }]);
    expect(Object.keys(get.responses).sort()).toEqual(["200", "401", "404"]);
    expect(get.responses["404"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
    const value = get.responses["200"].content["application/json"].schema as { properties: { value: { required: string[] } } };
    expect(value.properties.value.required).toEqual(expect.arrayContaining(["slug", "cms", "cacheVersions", "proxyBase", "apiTokenSet"]));
    expect(get.security).toEqual([{ bearerSession: [] }, { sessionCookie: [] }]);

    const availability = doc.paths["/api/tenants/slug-availability"].get as { parameters: Array<Record<string, unknown>> };
    expect(availability.parameters).toEqual([
      { name: "slug", in: "query", required: true, schema: expect.objectContaining({ type: "string", minLength: 3 }) },
    ]);
    const post = doc.paths["/api/tenants"].post as { responses: Record<string, unknown> };
    expect(Object.keys(post.responses).sort()).toEqual(["201", "400", "401", "403", "409", "413", "415"]);
    expect(doc.components.schemas.Error).toMatchObject({
      type: "object",
      properties: { error: { properties: { code: { enum: expect.arrayContaining(["unauthorized", "plan_limit", "slug_taken"]) } } } },
    });
    expect((doc.paths["/healthz"].get as { security: unknown[] }).security).toEqual([]);
    expect((doc.paths["/api/usage/ingest"].post as { security: unknown[] }).security).toEqual([{ ingestKey: [] }]);
    const logs = doc.paths["/api/tenants/{slug}/logs"].get as { parameters: Array<{ name: string }> };
    expect(logs.parameters.map((p) => p.name)).toEqual(["slug", "limit", "cursor", "status", "cache", "kind", "path", "from", "to"]);
    const config = doc.paths["/api/tenants/{slug}/api-config"].put as {
      requestBody: { content: { "application/json": { schema: { properties: Record<string, unknown>; required: string[] } } } };
    };
    expect(config.requestBody.content["application/json"].schema.required.sort()).toEqual(["apiAuthMode", "apiOrigin"]);
    expect(config.requestBody.content["application/json"].schema.properties.token).toEqual({ not: {} });
    const verify = doc.paths["/api/tenants/{slug}/domains/verify"].post as { requestBody: { required: boolean } };
    expect(verify.requestBody.required).toBe(false);
  });

  it("gives every operation a unique operationId", async () => {
    const doc = await fetchDoc();
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain("getApiTenantsSlug");
  });
});

describe("GET /api", () => {
  it("points at the OpenAPI document", async () => {
    const index = await import("#app/routes/api._index.ts");
    const res = await read(await call(index, "/api"));
    expect(res.status).toBe(200);
    expect(res.cacheControl).toBe("no-store");
    expect(res.body).toEqual({ name: "cms-edge", description: "Tenants API of the CMS edge", openapi: "/api/openapi.json", tenants: "/api/tenants" });
  });
});
