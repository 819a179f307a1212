// The Tenants API contract for the foundation endpoints: conventions (§1), slugs (§2), the tenant value (§3),
// GET/POST /api/tenants, slug availability, GET/PUT/DELETE /api/tenants/{slug}, the API's 404.
import { beforeAll, describe, expect, it } from "vitest";
import * as apiNotFound from "#app/routes/api.$.ts";
import * as domainsRoute from "#app/routes/api.tenants.$slug.domains.ts";
import * as tenantRoute from "#app/routes/api.tenants.$slug.ts";
import * as availability from "#app/routes/api.tenants.slug-availability.ts";
import * as tenants from "#app/routes/api.tenants.ts";
import { tenantListSchema, tenantResponseSchema } from "#app/schemas/tenant.ts";
import { Domain } from "#models/domain.ts";
import { Tenant } from "#models/tenant.ts";
import { localCookie } from "#tests/fixtures/auth.ts";
import { call, read } from "#tests/fixtures/http.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { freshTenantValue } from "#tests/support/tenant-value.ts";

const JSON_TYPE = "application/json; charset=utf-8";
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let pro: string;
let free: string;

beforeAll(async () => {
  await resetDb();
  pro = await localCookie({ userId: "api-pro", plan: "pro" });
  free = await localCookie({ userId: "api-free", plan: "free" });
});

const create = (cookie: string, json: unknown) => call(tenants, "/api/tenants", { method: "POST", json, cookie });
const getTenant = (cookie: string, slug: string) => call(tenantRoute, `/api/tenants/${slug}`, { params: { slug }, cookie });
const putTenant = (cookie: string, slug: string, json: unknown) =>
  call(tenantRoute, `/api/tenants/${slug}`, { method: "PUT", params: { slug }, json, cookie });
const deleteTenant = (cookie: string, slug: string) =>
  call(tenantRoute, `/api/tenants/${slug}`, { method: "DELETE", params: { slug }, cookie });

function expectJsonHeaders(res: Awaited<ReturnType<typeof read>>) {
  expect(res.contentType).toBe(JSON_TYPE);
  expect(res.cacheControl).toBe("no-store");
}

const defaultsFor = (slug: string, extra: Record<string, unknown>) => freshTenantValue(slug, extra);

describe("conventions", () => {
  it("answers 401 JSON (never a redirect) on every endpoint without a session", async () => {
    const attempts = [
      call(tenants, "/api/tenants"),
      create("", { slug: "nobody", cms: "contentful", spaceId: "x" }),
      call(availability, "/api/tenants/slug-availability?slug=abc"),
      getTenant("", "abc"),
      putTenant("", "abc", { cacheTTL: 60 }),
      deleteTenant("", "abc"),
    ];
    for (const res of await Promise.all(attempts.map(async (p) => read(await p)))) {
      expect(res.status).toBe(401);
      expectJsonHeaders(res);
      expect(res.body).toEqual({
        error: { code: "unauthorized", message: "Sign in, or send a session token as Authorization: Bearer <token>" },
      });
    }
  });

  it("rejects a signed cookie whose signature was tampered with", async () => {
    // The genuine cookie is accepted: only the tampering makes the difference.
    expect((await read(await call(tenants, "/api/tenants", { cookie: pro }))).status).toBe(200);
    const res = await read(await call(tenants, "/api/tenants", { cookie: `${pro.slice(0, -3)}xyz` }));
    expect(res.status).toBe(401);
    expectJsonHeaders(res);
    expect(res.headers.get("location")).toBeNull();
    expect(res.body).toEqual({
      error: { code: "unauthorized", message: "Sign in, or send a session token as Authorization: Bearer <token>" },
    });
  });

  it("answers 415 for a body that is not application/json", async () => {
    const res = await read(
      await call(tenants, "/api/tenants", {
        method: "POST",
        body: "slug=acme",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        cookie: pro,
      }),
    );
    expect(res.status).toBe(415);
    expectJsonHeaders(res);
    expect(res.body).toEqual({ error: { code: "unsupported_media_type", message: "Request bodies must be application/json" } });
  });

  it("answers 413 for a body over 64 KiB, declared or streamed", async () => {
    const big = JSON.stringify({ slug: "big-one", cms: "contentful", spaceId: "x".repeat(70 * 1024) });
    const declared = await read(await create(pro, JSON.parse(big)));
    expect(declared.status).toBe(413);
    expect(declared.body).toEqual({ error: { code: "payload_too_large", message: "Request bodies are limited to 64 KiB" } });
    // Without a trustworthy Content-Length the body is counted as it arrives.
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const request = new Request("http://localhost/api/tenants", {
      method: "POST",
      body: stream,
      headers: { "Content-Type": "application/json", Cookie: pro },
      duplex: "half",
    } as RequestInit);
    const streamed = await read((await tenants.action({ request, params: {}, context: {} })) as Response);
    expect(streamed.status).toBe(413);
    expect(await Tenant.countDocuments({ slug: "big-one" })).toBe(0);
  });

  it("answers 413 on a declared Content-Length over 64 KiB without waiting for the body", async () => {
    // A client that declares a large body and has not sent it (yet): the header alone must decide.
    const never = new ReadableStream<Uint8Array>({ start() {} });
    const request = new Request("http://localhost/api/tenants", {
      method: "POST",
      body: never,
      headers: { "Content-Type": "application/json", "Content-Length": String(64 * 1024 + 1), Cookie: pro },
      duplex: "half",
    } as RequestInit);
    const answer = Promise.resolve(tenants.action({ request, params: {}, context: {} }) as Promise<Response>);
    const waited = new Promise<"still reading the body">((resolve) => setTimeout(() => resolve("still reading the body"), 2_000).unref());
    const res = await Promise.race([answer, waited]);
    expect(res).toBeInstanceOf(Response);
    const reply = await read(res as Response);
    expect(reply.status).toBe(413);
    expectJsonHeaders(reply);
    expect(reply.body).toEqual({ error: { code: "payload_too_large", message: "Request bodies are limited to 64 KiB" } });
  });

  describe("the 64 KiB limit, to the byte", () => {
    const LIMIT = 64 * 1024;
    let cookie: string;
    beforeAll(async () => {
      cookie = await localCookie({ userId: "api-body-limit", plan: "pro" });
    });

    /** A valid create body for `slug`, padded with trailing whitespace (still valid JSON) to exactly `bytes` bytes. */
    const bodyOf = (slug: string, bytes: number) => {
      const json = JSON.stringify({ slug, cms: "storyblok" });
      return json + " ".repeat(bytes - Buffer.byteLength(json));
    };
    const post = async (body: string, how: "declared" | "streamed") => {
      const bytes = new TextEncoder().encode(body);
      const headers: Record<string, string> = { "Content-Type": "application/json", Cookie: cookie };
      if (how === "declared") headers["Content-Length"] = String(bytes.byteLength);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          // In two chunks, as a body arrives over the network.
          controller.enqueue(bytes.subarray(0, 1000));
          controller.enqueue(bytes.subarray(1000));
          controller.close();
        },
      });
      const request = new Request("http://localhost/api/tenants", { method: "POST", body: stream, headers, duplex: "half" } as RequestInit);
      return read((await tenants.action({ request, params: {}, context: {} })) as Response);
    };

    it.each(["declared", "streamed"] as const)("accepts a body of exactly 65,536 bytes (%s)", async (how) => {
      const slug = `limit-exact-${how}`;
      const body = bodyOf(slug, LIMIT);
      expect(Buffer.byteLength(body)).toBe(65_536);
      const res = await post(body, how);
      expect(res.status).toBe(201);
      expectJsonHeaders(res);
      expect(res.headers.get("location")).toBe(`/api/tenants/${slug}`);
      expect(res.body).toEqual({ ok: true, key: `tenant:${slug}`, proxyBase: `http://${slug}.localhost:8787` });
    });

    it.each(["declared", "streamed"] as const)("refuses a body of 65,537 bytes (%s) and creates nothing", async (how) => {
      const slug = `limit-over-${how}`;
      const body = bodyOf(slug, LIMIT + 1);
      expect(Buffer.byteLength(body)).toBe(65_537);
      const res = await post(body, how);
      expect(res.status).toBe(413);
      expectJsonHeaders(res);
      expect(res.body).toEqual({ error: { code: "payload_too_large", message: "Request bodies are limited to 64 KiB" } });
      expect(await Tenant.countDocuments({ slug })).toBe(0);
    });
  });

  it("answers 400 for malformed JSON", async () => {
    const res = await read(
      await call(tenants, "/api/tenants", { method: "POST", body: '{"slug": "acme",', headers: { "Content-Type": "application/json" }, cookie: pro }),
    );
    expect(res.status).toBe(400);
    expectJsonHeaders(res);
    expect(res.body).toEqual({ error: { code: "invalid_request", message: "The request body is not valid JSON" } });
  });

  it("rejects unknown fields instead of dropping them", async () => {
    const res = await read(await create(pro, { slug: "unknown-field", cms: "contentful", spaceId: "abc", colour: "blue" }));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: { code: "invalid_request", message: "Invalid request body", issues: [{ path: "colour", message: "is not a known field" }] },
    });
  });

  it("answers 405 with Allow for methods a route does not serve", async () => {
    const cases: Array<[Parameters<typeof call>[0], string, string, string]> = [
      [tenants, "/api/tenants", "PATCH", "GET, HEAD, POST"],
      [tenants, "/api/tenants", "DELETE", "GET, HEAD, POST"],
      [availability, "/api/tenants/slug-availability?slug=abc", "POST", "GET, HEAD"],
      [tenantRoute, "/api/tenants/abc", "POST", "GET, HEAD, PUT, DELETE"],
      [tenantRoute, "/api/tenants/abc", "PATCH", "GET, HEAD, PUT, DELETE"],
    ];
    for (const [route, url, method, allow] of cases) {
      const res = await read(await call(route, url, { method, cookie: pro, params: { slug: "abc" } }));
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
      expectJsonHeaders(res);
      expect(res.body).toEqual({ error: { code: "method_not_allowed", message: `${method} is not allowed here` } });
    }
  });

  it("answers unknown API paths with the JSON 404", async () => {
    const res = await read(await call(apiNotFound, "/api/tenants/acme/nonsense/deeper", { cookie: pro }));
    expect(res.status).toBe(404);
    expectJsonHeaders(res);
    expect(res.body).toEqual({ error: { code: "not_found", message: "No endpoint /api/tenants/acme/nonsense/deeper" } });
  });
});

describe("POST /api/tenants", () => {
  const providers: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ["contentful", { spaceId: "abc123xyz" }, { spaceId: "abc123xyz" }],
    ["sanity", { projectId: "p1x2" }, { projectId: "p1x2", dataset: "production" }],
    ["prismic", { repositoryName: "my-repo" }, { repositoryName: "my-repo" }],
    ["storyblok", {}, { region: "eu" }],
    ["shopify", { storeDomain: "Shop.Example.com" }, { storeDomain: "shop.example.com" }],
    ["cloudinary", { cloudName: "demo" }, { cloudName: "demo" }],
    ["imgix", { imgixDomain: "acme.imgix.net" }, { imgixDomain: "acme.imgix.net" }],
    ["generic", { originUrl: "https://assets.example.com/media/" }, { originUrl: "https://assets.example.com/media" }],
  ];

  it.each(providers)("creates a %s tenant with its defaults", async (cms, fields, stored) => {
    const slug = `create-${cms}`;
    const res = await read(await create(pro, { slug, cms, ...fields }));
    expect(res.status).toBe(201);
    expectJsonHeaders(res);
    expect(res.headers.get("location")).toBe(`/api/tenants/${slug}`);
    expect(res.body).toEqual({ ok: true, key: `tenant:${slug}`, proxyBase: `http://${slug}.localhost:8787` });

    const got = await read(await getTenant(pro, slug));
    expect(got.status).toBe(200);
    expectJsonHeaders(got);
    expect(got.body).toEqual({ key: `tenant:${slug}`, value: defaultsFor(slug, { cms, ...stored }) });
    expect(tenantResponseSchema.safeParse(got.body).success).toBe(true);
  });

  it("stores the optional settings as given", async () => {
    const res = await create(pro, {
      slug: "with-settings",
      cms: "sanity",
      projectId: "abc",
      dataset: "staging",
      cacheTTL: 3600,
      websiteDomain: "https://www.Example.com",
      allowedTypes: ["JPG", ".webp", "jpg", "mp4"],
    });
    expect(res.status).toBe(201);
    const { body } = await read(await getTenant(pro, "with-settings"));
    expect(body?.value).toEqual({
      ...defaultsFor("with-settings", { cms: "sanity", projectId: "abc", dataset: "staging" }),
      cacheTTL: 3600,
      websiteDomain: "https://www.example.com",
      allowedTypes: ["jpg", "webp", "mp4"],
    });
  });

  it.each([
    ["contentful", {}, "spaceId"],
    ["sanity", {}, "projectId"],
    ["prismic", {}, "repositoryName"],
    ["shopify", {}, "storeDomain"],
    ["cloudinary", {}, "cloudName"],
    ["imgix", {}, "imgixDomain"],
    ["generic", {}, "originUrl"],
  ])("requires %s's own fields", async (cms, fields, missing) => {
    const res = await read(await create(pro, { slug: `missing-${cms}`, cms, ...fields }));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: { code: "invalid_request", message: "Invalid request body", issues: [{ path: missing, message: "is required" }] },
    });
  });

  it.each([
    ["contentful", { spaceId: "abc", projectId: "p" }, "projectId"],
    ["sanity", { projectId: "p", spaceId: "abc" }, "spaceId"],
    ["storyblok", { originUrl: "https://a.example.com" }, "originUrl"],
    ["generic", { originUrl: "https://a.example.com", cloudName: "demo" }, "cloudName"],
    ["imgix", { imgixDomain: "a.imgix.net", region: "eu" }, "region"],
  ])("rejects another provider's field on %s", async (cms, fields, foreign) => {
    const res = await read(await create(pro, { slug: `foreign-${cms}`, cms, ...fields }));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: { code: "invalid_request", message: "Invalid request body", issues: [{ path: foreign, message: "is not a known field" }] },
    });
  });

  it.each([
    [{ slug: "x1", cms: "cms-unknown" }, "cms", "must be one of contentful, sanity, prismic, storyblok, shopify, cloudinary, imgix, generic"],
    [{ slug: "no-cms" }, "cms", "is required"],
    [{ slug: "story", cms: "storyblok", region: "mars" }, "region", "must be one of eu, us, ap, ca, cn"],
    [{ slug: "ttl-low", cms: "storyblok", cacheTTL: 59 }, "cacheTTL", "must be at least 60 seconds"],
    [{ slug: "ttl-high", cms: "storyblok", cacheTTL: 31_536_001 }, "cacheTTL", "must be at most 31536000 seconds (a year)"],
    [{ slug: "ttl-frac", cms: "storyblok", cacheTTL: 60.5 }, "cacheTTL", "must be a whole number of seconds"],
    [{ slug: "web-bad", cms: "storyblok", websiteDomain: "ftp://x.example.com" }, "websiteDomain", "must be a hostname (www.example.com) or an https URL"],
    [{ slug: "types-bad", cms: "storyblok", allowedTypes: ["jpg", "no/slash"] }, "allowedTypes.1", "must be a file extension such as jpg or mp4"],
    [{ slug: "types-empty", cms: "storyblok", allowedTypes: [] }, "allowedTypes", "must list at least one extension (or be null for the default list)"],
    [{ slug: "shop-bad", cms: "shopify", storeDomain: "https://shop.example.com" }, "storeDomain", "must be a store hostname such as shop.example.com (no scheme or path)"],
    [{ slug: "gen-http", cms: "generic", originUrl: "http://assets.example.com" }, "originUrl", "must be an https URL"],
    [{ slug: "gen-local", cms: "generic", originUrl: "https://localhost/x" }, "originUrl", "must point at a public host"],
    [{ slug: "gen-v4", cms: "generic", originUrl: "https://127.1/" }, "originUrl", "must point at a public host"],
    [{ slug: "gen-v6", cms: "generic", originUrl: "https://[::ffff:10.0.0.1]/" }, "originUrl", "must point at a public host"],
    [{ slug: "gen-meta", cms: "generic", originUrl: "https://169.254.169.254/latest" }, "originUrl", "must point at a public host"],
    [{ slug: "gen-cred", cms: "generic", originUrl: "https://user:pw@assets.example.com" }, "originUrl", "must not contain credentials"],
    [{ slug: "gen-video", cms: "generic", originUrl: "https://a.example.com", videoOrigin: "https://10.1.2.3" }, "videoOrigin", "must point at a public host"],
  ])("validates %j", async (body, path, message) => {
    const res = await read(await create(pro, body));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: "invalid_request", message: "Invalid request body", issues: [{ path, message }] } });
  });

  it.each([
    ["ab", "must be at least 3 characters"],
    ["a".repeat(64), "must be at most 63 characters"],
    ["Acme", "may contain only a-z, 0-9 and hyphens, and must start with a letter"],
    ["1acme", "may contain only a-z, 0-9 and hyphens, and must start with a letter"],
    ["acme_co", "may contain only a-z, 0-9 and hyphens, and must start with a letter"],
    ["acme-", "must not end with a hyphen"],
    ["ac--me", "must not contain two hyphens in a row"],
    ["usage", "is reserved"],
    ["slug-availability", "is reserved"],
    ["sign-in", "is reserved"],
    ["www", "is reserved"],
  ])("rejects the slug %j", async (slug, message) => {
    const res = await read(await create(pro, { slug, cms: "storyblok" }));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: "invalid_request", message: "Invalid request body", issues: [{ path: "slug", message }] } });
  });

  // Every reserved slug the contract names (§2).
  const CONTRACT_RESERVED = [
    "usage", "slug-availability", "new", "api", "edge", "www", "admin", "app", "assets", "static",
    "cdn", "proxy", "dashboard", "docs", "status", "billing", "settings", "sign-in", "sign-out",
  ];

  it.each(CONTRACT_RESERVED)("refuses the reserved slug %j on create, and slug-availability reports it reserved", async (slug) => {
    const res = await read(await create(pro, { slug, cms: "storyblok" }));
    expect(res.status).toBe(400);
    expectJsonHeaders(res);
    expect(res.body).toEqual({ error: { code: "invalid_request", message: "Invalid request body", issues: [{ path: "slug", message: "is reserved" }] } });
    expect(await Tenant.countDocuments({ slug })).toBe(0);

    const available = await read(await call(availability, `/api/tenants/slug-availability?slug=${slug}`, { cookie: pro }));
    expect(available.status).toBe(200);
    expectJsonHeaders(available);
    expect(available.body).toEqual({ slug, available: false, reason: "reserved" });
  });

  it.each([
    [60, 31_536_000],
    [31_536_000, 60],
  ])("accepts cacheTTL %i (a bound) on create, and the other bound %i on update", async (cacheTTL, updated) => {
    const slug = `ttl-bound-${cacheTTL}`;
    const res = await read(await create(pro, { slug, cms: "storyblok", cacheTTL }));
    expect(res.status).toBe(201);
    expectJsonHeaders(res);
    expect(res.body).toEqual({ ok: true, key: `tenant:${slug}`, proxyBase: `http://${slug}.localhost:8787` });
    const got = await read(await getTenant(pro, slug));
    expect(got.status).toBe(200);
    const value = { ...defaultsFor(slug, { cms: "storyblok", region: "eu" }), cacheTTL };
    expect(got.body).toEqual({ key: `tenant:${slug}`, value });

    const put = await read(await putTenant(pro, slug, { cacheTTL: updated }));
    expect(put.status).toBe(200);
    expectJsonHeaders(put);
    expect(put.body).toEqual({ key: `tenant:${slug}`, value: { ...value, cacheTTL: updated } });
  });

  it("accepts the longest and shortest valid slugs", async () => {
    for (const slug of ["abc", `a${"b1-".repeat(20)}xy`]) {
      expect(slug.length === 3 || slug.length === 63).toBe(true);
      expect((await create(pro, { slug, cms: "storyblok" })).status).toBe(201);
    }
  });

  it("answers 409 slug_taken for a slug anyone already has", async () => {
    const other = await localCookie({ userId: "api-other", plan: "pro" });
    expect((await create(pro, { slug: "taken-slug", cms: "storyblok" })).status).toBe(201);
    const res = await read(await create(other, { slug: "taken-slug", cms: "cloudinary", cloudName: "c" }));
    expect(res.status).toBe(409);
    expectJsonHeaders(res);
    expect(res.body).toEqual({ error: { code: "slug_taken", message: 'The slug "taken-slug" is taken' } });
  });

  it("answers 403 plan_limit with the plan and its limit when a free account already has a tenant", async () => {
    expect((await create(free, { slug: "free-first", cms: "storyblok" })).status).toBe(201);
    const res = await read(await create(free, { slug: "free-second", cms: "storyblok" }));
    expect(res.status).toBe(403);
    expectJsonHeaders(res);
    expect(res.body).toEqual({ error: { code: "plan_limit", message: "The free plan allows 1 tenant", plan: "free", limit: 1 } });
    expect(await Tenant.countDocuments({ slug: "free-second" })).toBe(0);
  });

  it("lets exactly one of 20 parallel creates of one slug win", async () => {
    const cookies = await Promise.all(Array.from({ length: 20 }, (_, i) => localCookie({ userId: `racer-${i}`, plan: "pro" })));
    const results = await Promise.all(cookies.map((c) => create(c, { slug: "race-slug", cms: "storyblok" })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    expect(await Tenant.countDocuments({ slug: "race-slug" })).toBe(1);
  });

  it("never lets a free account past its limit, however many creates race", async () => {
    const cookie = await localCookie({ userId: "free-racer", plan: "free" });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => create(cookie, { slug: `free-race-${i}`, cms: "storyblok" })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 403)).toHaveLength(9);
    expect(await Tenant.countDocuments({ ownerId: "free-racer" })).toBe(1);
  });

  it("gives the slot back when the insert fails (a taken slug does not use up a free plan)", async () => {
    const cookie = await localCookie({ userId: "free-unlucky", plan: "free" });
    expect((await create(cookie, { slug: "taken-slug", cms: "storyblok" })).status).toBe(409);
    expect((await create(cookie, { slug: "free-unlucky-1", cms: "storyblok" })).status).toBe(201);
  });
});

describe("GET /api/tenants", () => {
  it("lists the caller's tenants newest first, with their domain counts", async () => {
    const cookie = await localCookie({ userId: "lister", plan: "pro" });
    for (const slug of ["list-one", "list-two", "list-three"]) {
      expect((await create(cookie, { slug, cms: "cloudinary", cloudName: "demo" })).status).toBe(201);
    }
    for (const hostname of ["cdn.list-two.com", "img.list-two.com"]) {
      const added = await call(domainsRoute, "/api/tenants/list-two/domains", { method: "POST", json: { hostname }, params: { slug: "list-two" }, cookie });
      expect(added.status).toBe(201);
    }
    const res = await read(await call(tenants, "/api/tenants", { cookie }));
    expect(res.status).toBe(200);
    expectJsonHeaders(res);
    const item = (slug: string, domains: number) => ({
      slug,
      cms: "cloudinary",
      proxyBase: `http://${slug}.localhost:8787`,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
      domains,
    });
    expect(res.body).toEqual({ total: 3, tenants: [item("list-three", 0), item("list-two", 2), item("list-one", 0)] });
    expect(tenantListSchema.safeParse(res.body).success).toBe(true);
  });

  it("lists nothing for a new user", async () => {
    const res = await read(await call(tenants, "/api/tenants", { cookie: await localCookie({ userId: "newcomer" }) }));
    expect(res.body).toEqual({ total: 0, tenants: [] });
  });
});

describe("GET /api/tenants/slug-availability", () => {
  const check = async (slug: string | undefined) =>
    read(await call(availability, `/api/tenants/slug-availability${slug === undefined ? "" : `?slug=${encodeURIComponent(slug)}`}`, { cookie: pro }));

  it("says available, taken or reserved", async () => {
    expect((await check("fresh-slug")).body).toEqual({ slug: "fresh-slug", available: true });
    expect((await check("taken-slug")).body).toEqual({ slug: "taken-slug", available: false, reason: "taken" });
    const reserved = await check("dashboard");
    expect(reserved.status).toBe(200);
    expectJsonHeaders(reserved);
    expect(reserved.body).toEqual({ slug: "dashboard", available: false, reason: "reserved" });
  });

  it.each([
    [undefined, [{ path: "slug", message: "is required" }]],
    [
      "AB",
      [
        { path: "slug", message: "must be at least 3 characters" },
        { path: "slug", message: "may contain only a-z, 0-9 and hyphens, and must start with a letter" },
      ],
    ],
    ["bad_slug", [{ path: "slug", message: "may contain only a-z, 0-9 and hyphens, and must start with a letter" }]],
  ])("answers 400 for %j", async (slug, issues) => {
    const res = await check(slug);
    expect(res.status).toBe(400);
    expectJsonHeaders(res);
    expect(res.body).toEqual({ error: { code: "invalid_request", message: "Invalid query", issues } });
  });

  it("rejects unknown query parameters", async () => {
    const res = await read(await call(availability, "/api/tenants/slug-availability?slug=abc&x=1", { cookie: pro }));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: { code: "invalid_request", message: "Invalid query", issues: [{ path: "x", message: "is not a known field" }] },
    });
  });
});

describe("GET /api/tenants/{slug}", () => {
  it("answers 404 not_found for a slug that does not exist", async () => {
    const res = await read(await getTenant(pro, "no-such-tenant"));
    expect(res.status).toBe(404);
    expectJsonHeaders(res);
    expect(res.body).toEqual({ error: { code: "not_found", message: 'No tenant "no-such-tenant"' } });
  });
});

describe("PUT /api/tenants/{slug}", () => {
  beforeAll(async () => {
    expect((await create(pro, { slug: "edit-me", cms: "contentful", spaceId: "space1", websiteDomain: "www.example.com" })).status).toBe(201);
  });

  it("changes only the given fields and returns the whole updated value", async () => {
    const before = (await read(await getTenant(pro, "edit-me"))).body?.value as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, 5));
    const res = await read(await putTenant(pro, "edit-me", { cacheTTL: 600, allowedTypes: ["png"], spaceId: "space2" }));
    expect(res.status).toBe(200);
    expectJsonHeaders(res);
    expect(res.body).toEqual({
      key: "tenant:edit-me",
      value: { ...before, cacheTTL: 600, allowedTypes: ["png"], spaceId: "space2", updatedAt: expect.stringMatching(ISO) },
    });
    expect((res.body?.value as { updatedAt: string }).updatedAt > (before.updatedAt as string)).toBe(true);
    expect((await read(await getTenant(pro, "edit-me"))).body).toEqual(res.body);
  });

  it("clears websiteDomain and allowedTypes with null", async () => {
    const res = await read(await putTenant(pro, "edit-me", { websiteDomain: null, allowedTypes: null }));
    expect(res.status).toBe(200);
    expect(res.body?.value).toMatchObject({ websiteDomain: null, allowedTypes: null });
  });

  it("switches provider only with the new provider's required fields, and drops the old provider's", async () => {
    const missing = await read(await putTenant(pro, "edit-me", { cms: "sanity" }));
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      error: { code: "invalid_request", message: "Invalid request body", issues: [{ path: "projectId", message: "is required" }] },
    });
    const switched = await read(await putTenant(pro, "edit-me", { cms: "sanity", projectId: "proj9" }));
    expect(switched.status).toBe(200);
    const value = switched.body?.value as Record<string, unknown>;
    expect(value).toMatchObject({ cms: "sanity", projectId: "proj9", dataset: "production" });
    expect(value).not.toHaveProperty("spaceId");
    const stored = await Tenant.findOne({ slug: "edit-me" }).lean();
    expect(stored?.spaceId).toBeUndefined();
  });

  it.each([
    [{ spaceId: "x" }, [{ path: "spaceId", message: "is not a field of sanity" }]],
    [{ cms: "imgix", imgixDomain: "a.imgix.net", projectId: "p" }, [{ path: "projectId", message: "is not a field of imgix" }]],
    [{ slug: "renamed" }, [{ path: "slug", message: "is not a known field" }]],
    [{ cacheVersions: { api: 9, assets: 9 } }, [{ path: "cacheVersions", message: "is not a known field" }]],
    [{ proxyBase: "http://x" }, [{ path: "proxyBase", message: "is not a known field" }]],
    [{ apiTokenSet: true }, [{ path: "apiTokenSet", message: "is not a known field" }]],
    [{ orgId: "org_x" }, [{ path: "orgId", message: "is not a known field" }]],
    [{ createdAt: "2020-01-01T00:00:00.000Z" }, [{ path: "createdAt", message: "is not a known field" }]],
    [{ apiOrigin: "https://api.example.com" }, [{ path: "apiOrigin", message: "is not a known field" }]],
    [{}, [{ path: "", message: "must change at least one field" }]],
    [{ cacheTTL: 10 }, [{ path: "cacheTTL", message: "must be at least 60 seconds" }]],
  ])("rejects %j with 400 and changes nothing", async (body, issues) => {
    const before = (await read(await getTenant(pro, "edit-me"))).body;
    const res = await read(await putTenant(pro, "edit-me", body));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: "invalid_request", message: "Invalid request body", issues } });
    expect((await read(await getTenant(pro, "edit-me"))).body).toEqual(before);
  });

  it("answers 404 for a tenant that does not exist", async () => {
    const res = await read(await putTenant(pro, "no-such-tenant", { cacheTTL: 120 }));
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: "not_found", message: 'No tenant "no-such-tenant"' } });
  });
});

describe("DELETE /api/tenants/{slug}", () => {
  it("deletes the tenant and its domains, frees the slug and the plan slot", async () => {
    const cookie = await localCookie({ userId: "deleter", plan: "free" });
    expect((await create(cookie, { slug: "short-lived", cms: "storyblok" })).status).toBe(201);
    const t = await Tenant.findOne({ slug: "short-lived" }).lean();
    await Domain.create({ tenant: t?._id, hostname: "cdn.short-lived.example", token: "t" });

    const res = await read(await deleteTenant(cookie, "short-lived"));
    expect(res.status).toBe(200);
    expectJsonHeaders(res);
    expect(res.body).toEqual({ ok: true, key: "tenant:short-lived" });
    expect((await read(await getTenant(cookie, "short-lived"))).status).toBe(404);
    expect(await Domain.countDocuments({ tenant: t?._id })).toBe(0);

    const again = await read(await call(availability, "/api/tenants/slug-availability?slug=short-lived", { cookie }));
    expect(again.body).toEqual({ slug: "short-lived", available: true });
    // The free plan's one slot is free again, and the slug can be taken again.
    expect((await create(cookie, { slug: "short-lived", cms: "cloudinary", cloudName: "c" })).status).toBe(201);
  });

  it("answers 404 for a tenant that does not exist, or was just deleted", async () => {
    expect((await read(await deleteTenant(pro, "no-such-tenant"))).status).toBe(404);
    expect((await create(pro, { slug: "delete-twice", cms: "storyblok" })).status).toBe(201);
    const [a, b] = await Promise.all([deleteTenant(pro, "delete-twice"), deleteTenant(pro, "delete-twice")]);
    expect([a.status, b.status].sort()).toEqual([200, 404]);
  });
});
