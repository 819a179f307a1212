// The CMS API proxy endpoints of the contract (§4): POST /api/tenants/{slug}/refresh-cache,
// PUT /api/tenants/{slug}/api-config (with the SSRF rules, also for a generic tenant's originUrl and videoOrigin) and
// PUT /api/tenants/{slug}/api-token; and §3's rule that the stored API token, in any form, never appears in any
// response, log line or error message: every response of this file and everything printed while it runs is checked.
import { randomBytes } from "node:crypto";
import { format } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as apiConfigRoute from "#app/routes/api.tenants.$slug.api-config.ts";
import * as apiTokenRoute from "#app/routes/api.tenants.$slug.api-token.ts";
import * as refreshRoute from "#app/routes/api.tenants.$slug.refresh-cache.ts";
import * as tenantRoute from "#app/routes/api.tenants.$slug.ts";
import * as tenantsRoute from "#app/routes/api.tenants.ts";
import { apiConfigSchema } from "#app/schemas/api-proxy.ts";
import { tenantResponseSchema } from "#app/schemas/tenant.ts";
import { type EncryptedToken, decryptToken, keyIdOf } from "#app/server/crypto.server.ts";
import { env } from "#app/server/env.server.ts";
import { allModels } from "#models/index.ts";
import { Tenant } from "#models/tenant.ts";
import { localCookie } from "#tests/fixtures/auth.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { type CallOptions, type RouteModule, call, read } from "#tests/fixtures/http.ts";

const JSON_TYPE = "application/json; charset=utf-8";
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const INVALID = "Invalid request body";
const UNAUTHORIZED = { error: { code: "unauthorized", message: "Sign in, or send a session token as Authorization: Bearer <token>" } };
const UNSUPPORTED = { error: { code: "unsupported_media_type", message: "Request bodies must be application/json" } };
const TOO_LARGE = { error: { code: "payload_too_large", message: "Request bodies are limited to 64 KiB" } };
const MALFORMED = { error: { code: "invalid_request", message: "The request body is not valid JSON" } };
const notFound = (slug: string) => ({ error: { code: "not_found", message: `No tenant "${slug}"` } });
const invalid = (issues: Array<{ path: string; message: string }>) => ({ error: { code: "invalid_request", message: INVALID, issues } });

// ---- the token, and every form of it that must never be seen ------------------------------------------------

/** A token nobody could produce by accident: any sighting of it (or of an encoding of it) is a leak. */
const TOKEN = `tok_${randomBytes(16).toString("hex")}`;

/**
 * The token and its base64, base64url and hex encodings. A base64 text holding the token at any byte offset contains,
 * for one of the three alignments, the encoding of the token's whole 3-byte groups: those are the needles.
 */
function needlesOf(secret: string): Array<[string, string]> {
  const raw = Buffer.from(secret, "utf8");
  const found: Array<[string, string]> = [
    ["the token", secret],
    ["the token in hex", raw.toString("hex")],
  ];
  for (const shift of [0, 1, 2]) {
    const bytes = Buffer.concat([Buffer.alloc(shift), raw]);
    const whole = bytes.subarray(0, Math.floor(bytes.length / 3) * 3);
    const skip = shift === 0 ? 0 : 4; // the first group mixes in bytes that are not the token's
    for (const enc of ["base64", "base64url"] as const) {
      found.push([`the token in ${enc} (offset ${shift})`, whole.toString(enc).slice(skip)]);
    }
  }
  return found;
}
const NEEDLES = needlesOf(TOKEN);

/** What in `text` gives the token away, if anything. */
const leaksIn = (text: string) => NEEDLES.filter(([, needle]) => text.includes(needle)).map(([what]) => what);

// ---- everything printed while this file runs ----------------------------------------------------------------

const SELF_CHECK = "[api-proxy output capture self-check]";
const printed: Array<{ stream: string; text: string }> = [];
const restorers: Array<() => void> = [];

/**
 * Plain pass-through wrappers (not vi.spyOn: the per-test console.error spy of tests/setup/env.ts would unwrap a vitest
 * spy and restore the original behind it, while it wraps and then restores a plain function, keeping this capture live).
 */
function captureOutput(): void {
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    const original = console[level];
    console[level] = (...args: unknown[]) => {
      const text = format(...args);
      printed.push({ stream: `console.${level}`, text });
      if (!text.startsWith(SELF_CHECK)) original.apply(console, args);
    };
    restorers.push(() => {
      console[level] = original;
    });
  }
  for (const name of ["stdout", "stderr"] as const) {
    const stream = process[name];
    const original = stream.write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
      printed.push({ stream: `process.${name}.write`, text });
      if (text.startsWith(SELF_CHECK)) return true;
      return (original as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
    }) as typeof stream.write;
    restorers.push(() => {
      stream.write = original;
    });
  }
}

// ---- requests: every response is kept for the leak check ------------------------------------------------------

const responses: Array<{ what: string; text: string }> = [];
let checkedResponses = 0;
let printedChecked = 0;

type Reply = Awaited<ReturnType<typeof read>>;

async function send(route: RouteModule, url: string, opts: CallOptions = {}): Promise<Reply> {
  const res = await call(route, url, opts);
  const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
  responses.push({ what: `${opts.method ?? "GET"} ${url} → ${res.status}`, text: `${headers}\n\n${await res.clone().text()}` });
  return read(res);
}

let owner: string;
let stranger: string;

const create = (json: unknown, cookie = owner) => send(tenantsRoute, "/api/tenants", { method: "POST", json, cookie });
const getTenant = (slug: string, cookie = owner) => send(tenantRoute, `/api/tenants/${slug}`, { params: { slug }, cookie });
const putTenant = (slug: string, json: unknown, cookie = owner) =>
  send(tenantRoute, `/api/tenants/${slug}`, { method: "PUT", params: { slug }, json, cookie });
const refresh = (slug: string, json: unknown, opts: CallOptions = {}) =>
  send(refreshRoute, `/api/tenants/${slug}/refresh-cache`, { method: "POST", params: { slug }, json, cookie: owner, ...opts });
const putConfig = (slug: string, json: unknown, opts: CallOptions = {}) =>
  send(apiConfigRoute, `/api/tenants/${slug}/api-config`, { method: "PUT", params: { slug }, json, cookie: owner, ...opts });
const putToken = (slug: string, json: unknown, opts: CallOptions = {}) =>
  send(apiTokenRoute, `/api/tenants/${slug}/api-token`, { method: "PUT", params: { slug }, json, cookie: owner, ...opts });

/** A raw body (for malformed JSON, other content types and big bodies). */
const raw = (body: string, type = "application/json") => ({ json: undefined, body, headers: { "Content-Type": type } });

function expectJsonHeaders(res: Reply) {
  expect(res.contentType).toBe(JSON_TYPE);
  expect(res.cacheControl).toBe("no-store");
}

function expectReply(res: Reply, status: number, body: unknown) {
  expect(res.status).toBe(status);
  expectJsonHeaders(res);
  expect(res.body).toEqual(body);
}

async function valueOf(slug: string): Promise<Record<string, unknown>> {
  const res = await getTenant(slug);
  expect(res.status).toBe(200);
  return res.body?.value as Record<string, unknown>;
}

async function storedDoc(slug: string) {
  const doc = await Tenant.findOne({ slug }).lean();
  if (!doc) throw new Error(`no tenant ${slug} in the database`);
  return doc;
}

const API_FIELDS = ["apiOrigin", "apiAuthMode", "apiTokenHeader", "apiCacheTTL", "previewBypassParam", "transformApiUrls", "apiTokenSet"];
const apiPart = (value: Record<string, unknown>) => Object.fromEntries(API_FIELDS.map((f) => [f, value[f]]));

// Slugs of this file all start with "apx-".
const CACHE = "apx-cache";
const CONFIG = "apx-config";
const TOKEN_SLUG = "apx-token";
const GENERIC = "apx-generic";
const STRANGERS = "apx-strangers";

beforeAll(async () => {
  captureOutput();
  console.log(`${SELF_CHECK} log`);
  console.info(`${SELF_CHECK} info`);
  console.warn(`${SELF_CHECK} warn`);
  console.error(`${SELF_CHECK} error`);
  console.debug(`${SELF_CHECK} debug`);
  process.stdout.write(`${SELF_CHECK} stdout\n`);
  process.stderr.write(`${SELF_CHECK} stderr\n`);

  await resetDb();
  owner = await localCookie({ userId: "apx-owner", plan: "pro" });
  stranger = await localCookie({ userId: "apx-stranger", plan: "pro" });
  for (const [body, cookie] of [
    [{ slug: CACHE, cms: "storyblok" }, owner],
    [{ slug: CONFIG, cms: "contentful", spaceId: "space1" }, owner],
    [{ slug: TOKEN_SLUG, cms: "sanity", projectId: "proj1" }, owner],
    [{ slug: GENERIC, cms: "generic", originUrl: "https://assets.example.com/media", videoOrigin: "https://video.example.com" }, owner],
    [{ slug: STRANGERS, cms: "cloudinary", cloudName: "demo" }, stranger],
  ] as const) {
    expect((await create(body, cookie)).status).toBe(201);
  }
});

afterEach(() => {
  // Checked after every test, so that a leak fails the test that caused it.
  for (const r of responses.splice(0)) {
    expect(leaksIn(r.text), `the response of ${r.what} gives the token away`).toEqual([]);
    checkedResponses++;
  }
  for (const p of printed.slice(printedChecked)) expect(leaksIn(p.text), `${p.stream} printed the token`).toEqual([]);
  printedChecked = printed.length;
});

afterAll(() => {
  for (const restore of restorers.splice(0)) restore();
});

it("captures every console level and both output streams for the whole file", () => {
  const streams = printed.filter((p) => p.text.startsWith(SELF_CHECK)).map((p) => p.stream);
  expect(streams).toEqual([
    "console.log",
    "console.info",
    "console.warn",
    "console.error",
    "console.debug",
    "process.stdout.write",
    "process.stderr.write",
  ]);
  // The needles really do find the token in each of its encodings, wherever it sits.
  for (const prefix of ["", "a", "ab"]) {
    const text = `${prefix}${TOKEN}!`;
    expect(leaksIn(Buffer.from(text).toString("base64"))).not.toEqual([]);
    expect(leaksIn(Buffer.from(text).toString("base64url"))).not.toEqual([]);
    expect(leaksIn(Buffer.from(text).toString("hex"))).not.toEqual([]);
  }
  expect(leaksIn("nothing to see")).toEqual([]);
});

// ---- POST /api/tenants/{slug}/refresh-cache ----------------------------------------------------------------------

describe("POST /api/tenants/{slug}/refresh-cache", () => {
  it("starts at version 1 for both caches", async () => {
    expect((await valueOf(CACHE)).cacheVersions).toEqual({ api: 1, assets: 1 });
  });

  it.each([
    ["api", { api: 1, assets: 0 }],
    ["assets", { api: 0, assets: 1 }],
    ["all", { api: 1, assets: 1 }],
  ])("type %s bumps exactly the named version(s)", async (type, step) => {
    const before = (await valueOf(CACHE)).cacheVersions as { api: number; assets: number };
    const res = await refresh(CACHE, { type });
    const versions = { api: before.api + step.api, assets: before.assets + step.assets };
    expectReply(res, 200, { ok: true, versions });
    expect((await valueOf(CACHE)).cacheVersions).toEqual(versions);
  });

  it("counts each of 20 concurrent refreshes of type all", async () => {
    const before = (await valueOf(CACHE)).cacheVersions as { api: number; assets: number };
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(CACHE, { type: "all" })));
    for (const res of results) {
      expect(res.status).toBe(200);
      expectJsonHeaders(res);
    }
    // Every refresh saw its own increment: the versions it answered are exactly before+1 … before+20.
    const seen = results.map((r) => (r.body?.versions as { api: number }).api).sort((a, b) => a - b);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => before.api + i + 1));
    const seenAssets = results.map((r) => (r.body?.versions as { assets: number }).assets).sort((a, b) => a - b);
    expect(seenAssets).toEqual(Array.from({ length: 20 }, (_, i) => before.assets + i + 1));
    expect((await valueOf(CACHE)).cacheVersions).toEqual({ api: before.api + 20, assets: before.assets + 20 });
  });

  it.each([
    [{}, [{ path: "type", message: "is required" }]],
    [{ type: "everything" }, [{ path: "type", message: "must be one of api, assets, all" }]],
    [{ type: "API" }, [{ path: "type", message: "must be one of api, assets, all" }]],
    [{ type: 1 }, [{ path: "type", message: "must be one of api, assets, all" }]],
    [{ type: "all", force: true }, [{ path: "force", message: "is not a known field" }]],
  ])("answers 400 for %j and bumps nothing", async (body, issues) => {
    const before = (await valueOf(CACHE)).cacheVersions;
    expectReply(await refresh(CACHE, body), 400, invalid(issues));
    expect((await valueOf(CACHE)).cacheVersions).toEqual(before);
  });

  it("answers 401 without a session", async () => {
    const before = (await valueOf(CACHE)).cacheVersions;
    expectReply(await refresh(CACHE, { type: "all" }, { cookie: undefined }), 401, UNAUTHORIZED);
    expect((await valueOf(CACHE)).cacheVersions).toEqual(before);
  });

  it("answers 404 for a missing tenant and, identically, for another user's", async () => {
    expectReply(await refresh("apx-nowhere", { type: "all" }), 404, notFound("apx-nowhere"));
    expectReply(await refresh(STRANGERS, { type: "all" }), 404, notFound(STRANGERS));
    const theirs = await getTenant(STRANGERS, stranger);
    expect((theirs.body?.value as { cacheVersions: unknown }).cacheVersions).toEqual({ api: 1, assets: 1 });
  });

  it("answers 405 with Allow: POST for GET (and other methods)", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const res = await send(refreshRoute, `/api/tenants/${CACHE}/refresh-cache`, { method, params: { slug: CACHE }, cookie: owner });
      expectReply(res, 405, { error: { code: "method_not_allowed", message: `${method} is not allowed here` } });
      expect(res.headers.get("allow")).toBe("POST");
    }
  });

  it("answers 400 naming the type for a request without a body, and bumps nothing", async () => {
    const before = (await valueOf(CACHE)).cacheVersions;
    for (const opts of [{}, raw(""), raw("", "text/plain")]) {
      expectReply(await refresh(CACHE, undefined, opts), 400, invalid([{ path: "type", message: "is required" }]));
    }
    expect((await valueOf(CACHE)).cacheVersions).toEqual(before);
  });

  it("answers 415 for a body that is not application/json", async () => {
    const before = (await valueOf(CACHE)).cacheVersions;
    expectReply(await refresh(CACHE, undefined, raw("type=all", "application/x-www-form-urlencoded")), 415, UNSUPPORTED);
    expectReply(await refresh(CACHE, undefined, raw('{"type":"all"}', "text/plain")), 415, UNSUPPORTED);
    expect((await valueOf(CACHE)).cacheVersions).toEqual(before);
  });
});

// ---- PUT /api/tenants/{slug}/api-config --------------------------------------------------------------------------

const DEFAULT_CONFIG = {
  apiTokenHeader: "Authorization",
  apiCacheTTL: 60,
  previewBypassParam: "preview",
  transformApiUrls: true,
};

/** Every notation of an origin the edge must never be pointed at, with the reason given. */
const REFUSED_ORIGINS: Array<[string, string]> = [
  ["http://api.example.com", "must be an https URL"],
  ["https://u:p@api.example.com", "must not contain credentials"],
  ["https://u@api.example.com", "must not contain credentials"],
  ["https://localhost", "must point at a public host"],
  ["https://foo.localhost", "must point at a public host"],
  ["https://127.0.0.1", "must point at a public host"],
  ["https://127.1", "must point at a public host"],
  ["https://2130706433", "must point at a public host"],
  ["https://0x7f000001", "must point at a public host"],
  ["https://0177.0.0.1", "must point at a public host"],
  ["https://0.0.0.0", "must point at a public host"],
  ["https://[::1]", "must point at a public host"],
  ["https://[::]", "must point at a public host"],
  ["https://[::ffff:127.0.0.1]", "must point at a public host"],
  ["https://[::ffff:7f00:1]", "must point at a public host"],
  ["https://[fd00::1]", "must point at a public host"],
  ["https://[fe80::1]", "must point at a public host"],
  ["https://10.0.0.1", "must point at a public host"],
  ["https://172.16.5.4", "must point at a public host"],
  ["https://192.168.0.1", "must point at a public host"],
  ["https://100.64.0.1", "must point at a public host"],
  ["https://169.254.169.254", "must point at a public host"],
  ["https://metadata.google.internal", "must point at a public host"],
  ["https://224.0.0.1", "must point at a public host"],
];

const PUBLIC_ORIGINS = ["https://cdn.contentful.com", "https://api.storyblok.com/v2/cdn", "https://[2606:4700:4700::1111]", "https://93.184.216.34"];

describe("PUT /api/tenants/{slug}/api-config", () => {
  it("stores a full body and answers the whole config; the tenant value reflects it", async () => {
    const before = await valueOf(CONFIG);
    const res = await putConfig(CONFIG, {
      apiOrigin: "https://cdn.contentful.com/spaces/space1/",
      apiAuthMode: "token",
      apiTokenHeader: "X-Api-Key",
      apiCacheTTL: 300,
      previewBypassParam: "draft_mode",
      transformApiUrls: false,
    });
    const config = {
      apiOrigin: "https://cdn.contentful.com/spaces/space1",
      apiAuthMode: "token",
      apiTokenHeader: "X-Api-Key",
      apiCacheTTL: 300,
      previewBypassParam: "draft_mode",
      transformApiUrls: false,
      apiTokenSet: false,
    };
    expectReply(res, 200, config);
    expect(apiConfigSchema.safeParse(res.body).success).toBe(true);
    const after = await valueOf(CONFIG);
    expect(after).toEqual({ ...before, ...config, updatedAt: expect.stringMatching(ISO) });
    expect(tenantResponseSchema.safeParse({ key: `tenant:${CONFIG}`, value: after }).success).toBe(true);
  });

  it("gives a minimal body (apiOrigin + apiAuthMode) every default, replacing what was there", async () => {
    const before = await valueOf(CONFIG);
    expect(before.apiTokenHeader).toBe("X-Api-Key"); // from the previous test: a PUT replaces it
    const res = await putConfig(CONFIG, { apiOrigin: "https://api.storyblok.com/v2/cdn", apiAuthMode: "basic" });
    const config = { apiOrigin: "https://api.storyblok.com/v2/cdn", apiAuthMode: "basic", ...DEFAULT_CONFIG, apiTokenSet: false };
    expectReply(res, 200, config);
    expect(await valueOf(CONFIG)).toEqual({ ...before, ...config, updatedAt: expect.stringMatching(ISO) });
  });

  it.each([
    ["https://api.example.com/", "https://api.example.com"],
    ["https://api.example.com/v1///", "https://api.example.com/v1"],
    ["  https://api.example.com/v2/  ", "https://api.example.com/v2"],
  ])("trims the trailing slash of %j", async (apiOrigin, stored) => {
    expectReply(await putConfig(CONFIG, { apiOrigin, apiAuthMode: "bearer" }), 200, {
      apiOrigin: stored,
      apiAuthMode: "bearer",
      ...DEFAULT_CONFIG,
      apiTokenSet: false,
    });
    expect((await valueOf(CONFIG)).apiOrigin).toBe(stored);
  });

  it.each(["bearer", "basic", "token", "none"])("accepts the auth mode %s", async (apiAuthMode) => {
    const body = { apiOrigin: "https://api.example.com", apiAuthMode, apiTokenHeader: "X-Token", apiCacheTTL: 10 };
    const config = { ...DEFAULT_CONFIG, ...body, apiTokenSet: false };
    expectReply(await putConfig(CONFIG, body), 200, config);
    expect(apiPart(await valueOf(CONFIG))).toEqual(config);
  });

  it("accepts the TTL bounds 10 and 3600", async () => {
    for (const apiCacheTTL of [10, 3600]) {
      const res = await putConfig(CONFIG, { apiOrigin: "https://api.example.com", apiAuthMode: "none", apiCacheTTL });
      expectReply(res, 200, { apiOrigin: "https://api.example.com", apiAuthMode: "none", ...DEFAULT_CONFIG, apiCacheTTL, apiTokenSet: false });
    }
  });

  const base = { apiOrigin: "https://api.example.com", apiAuthMode: "bearer" };
  const FORBIDDEN = "must not be one of host, content-length, transfer-encoding, connection, cookie, upgrade";
  const HEADER = "must be a valid header name";
  const PARAM = "must be a query parameter name (letters, digits, _ . ~ -)";
  const forbiddenHeaders = ["Host", "content-length", "Transfer-Encoding", "Connection", "Cookie", "Upgrade"].flatMap((h) => [
    h,
    h.toLowerCase(),
    h.toUpperCase(),
    [...h].map((c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase())).join(""),
  ]);

  type Issues = Array<{ path: string; message: string }>;
  const badConfigs: Array<[Record<string, unknown>, Issues]> = [
    [{ apiAuthMode: "bearer" }, [{ path: "apiOrigin", message: "is required" }]],
    [{ apiOrigin: "https://api.example.com" }, [{ path: "apiAuthMode", message: "is required" }]],
    [{}, [{ path: "apiOrigin", message: "is required" }, { path: "apiAuthMode", message: "is required" }]],
    [{ ...base, apiAuthMode: "oauth2" }, [{ path: "apiAuthMode", message: "must be one of bearer, basic, token, none" }]],
    [{ ...base, apiAuthMode: "Bearer" }, [{ path: "apiAuthMode", message: "must be one of bearer, basic, token, none" }]],
    [{ ...base, apiOrigin: 42 }, [{ path: "apiOrigin", message: "must be a string" }]],
    [{ ...base, apiOrigin: "api.example.com" }, [{ path: "apiOrigin", message: "must be an absolute URL" }]],
    [{ ...base, apiTokenHeader: "X Bad" }, [{ path: "apiTokenHeader", message: HEADER }]],
    [{ ...base, apiTokenHeader: "" }, [{ path: "apiTokenHeader", message: HEADER }]],
    [{ ...base, apiTokenHeader: "X-Token:" }, [{ path: "apiTokenHeader", message: HEADER }]],
    [{ ...base, apiTokenHeader: "X-Token\r\nX-Evil" }, [{ path: "apiTokenHeader", message: HEADER }]],
    ...forbiddenHeaders.map((h): [Record<string, unknown>, Issues] => [{ ...base, apiTokenHeader: h }, [{ path: "apiTokenHeader", message: FORBIDDEN }]]),
    [{ ...base, apiCacheTTL: 9 }, [{ path: "apiCacheTTL", message: "must be at least 10 seconds" }]],
    [{ ...base, apiCacheTTL: 3601 }, [{ path: "apiCacheTTL", message: "must be at most 3600 seconds" }]],
    [{ ...base, apiCacheTTL: 10.5 }, [{ path: "apiCacheTTL", message: "must be a whole number of seconds" }]],
    [{ ...base, previewBypassParam: "pre view" }, [{ path: "previewBypassParam", message: PARAM }]],
    [{ ...base, previewBypassParam: "a&b=c" }, [{ path: "previewBypassParam", message: PARAM }]],
    [{ ...base, previewBypassParam: "" }, [{ path: "previewBypassParam", message: PARAM }]],
    [{ ...base, colour: "blue" }, [{ path: "colour", message: "is not a known field" }]],
    [{ ...base, apiTokenSet: true }, [{ path: "apiTokenSet", message: "is not a known field" }]],
  ];
  it.each(badConfigs)("answers 400 for %j and changes nothing", async (body, issues) => {
    const before = await valueOf(CONFIG);
    expectReply(await putConfig(CONFIG, body), 400, invalid(issues));
    expect(await valueOf(CONFIG)).toEqual(before);
  });

  describe("the SSRF rules for apiOrigin", () => {
    it.each(REFUSED_ORIGINS)("refuses %s", async (apiOrigin, message) => {
      const before = await valueOf(CONFIG);
      expectReply(await putConfig(CONFIG, { apiOrigin, apiAuthMode: "bearer" }), 400, invalid([{ path: "apiOrigin", message }]));
      // The same with a path and a trailing slash.
      expectReply(await putConfig(CONFIG, { apiOrigin: `${apiOrigin}/v1/`, apiAuthMode: "bearer" }), 400, invalid([{ path: "apiOrigin", message }]));
      expect(await valueOf(CONFIG)).toEqual(before);
    });

    it.each(PUBLIC_ORIGINS)("accepts %s", async (apiOrigin) => {
      expectReply(await putConfig(CONFIG, { apiOrigin: `${apiOrigin}/`, apiAuthMode: "bearer" }), 200, {
        apiOrigin,
        apiAuthMode: "bearer",
        ...DEFAULT_CONFIG,
        apiTokenSet: false,
      });
      expect((await valueOf(CONFIG)).apiOrigin).toBe(apiOrigin);
    });
  });

  it("answers 401 without a session", async () => {
    expectReply(await putConfig(CONFIG, base, { cookie: undefined }), 401, UNAUTHORIZED);
  });

  it("answers 404 for a missing tenant and, identically, for another user's", async () => {
    expectReply(await putConfig("apx-nowhere", base), 404, notFound("apx-nowhere"));
    expectReply(await putConfig(STRANGERS, base), 404, notFound(STRANGERS));
    const theirs = await getTenant(STRANGERS, stranger);
    expect((theirs.body?.value as { apiOrigin: unknown }).apiOrigin).toBeNull();
  });

  it("answers 405 with Allow: PUT for other methods", async () => {
    for (const method of ["GET", "POST"]) {
      const res = await send(apiConfigRoute, `/api/tenants/${CONFIG}/api-config`, { method, params: { slug: CONFIG }, cookie: owner });
      expectReply(res, 405, { error: { code: "method_not_allowed", message: `${method} is not allowed here` } });
      expect(res.headers.get("allow")).toBe("PUT");
    }
  });

  it("answers 415 for a body that is not application/json, 413 over 64 KiB, 400 for malformed JSON", async () => {
    const before = await valueOf(CONFIG);
    expectReply(await putConfig(CONFIG, undefined, raw(JSON.stringify(base), "text/plain")), 415, UNSUPPORTED);
    const big = JSON.stringify({ ...base, previewBypassParam: "p".repeat(65 * 1024) });
    expectReply(await putConfig(CONFIG, undefined, raw(big)), 413, TOO_LARGE);
    expectReply(await putConfig(CONFIG, undefined, raw('{"apiOrigin": "https://api.example.com",')), 400, MALFORMED);
    expect(await valueOf(CONFIG)).toEqual(before);
  });
});

describe("the SSRF rules for a generic tenant's originUrl and videoOrigin", () => {
  let n = 0;
  const slug = () => `apx-gen-${++n}`;

  describe("POST /api/tenants", () => {
    it.each(REFUSED_ORIGINS)("refuses the originUrl %s", async (url, message) => {
      const s = slug();
      expectReply(await create({ slug: s, cms: "generic", originUrl: url }), 400, invalid([{ path: "originUrl", message }]));
      expect(await Tenant.countDocuments({ slug: s })).toBe(0);
    });

    it.each(REFUSED_ORIGINS)("refuses the videoOrigin %s", async (url, message) => {
      const s = slug();
      const body = { slug: s, cms: "generic", originUrl: "https://assets.example.com", videoOrigin: `${url}/videos` };
      expectReply(await create(body), 400, invalid([{ path: "videoOrigin", message }]));
      expect(await Tenant.countDocuments({ slug: s })).toBe(0);
    });

    it.each(PUBLIC_ORIGINS)("accepts %s as originUrl and as videoOrigin", async (url) => {
      const s = slug();
      const res = await create({ slug: s, cms: "generic", originUrl: `${url}/`, videoOrigin: `${url}/` });
      expectReply(res, 201, { ok: true, key: `tenant:${s}`, proxyBase: `http://${s}.localhost:8787` });
      expect(await valueOf(s)).toMatchObject({ cms: "generic", originUrl: url, videoOrigin: url });
    });
  });

  describe("PUT /api/tenants/{slug}", () => {
    it.each(REFUSED_ORIGINS)("refuses %s as originUrl and as videoOrigin, changing nothing", async (url, message) => {
      const before = await valueOf(GENERIC);
      expectReply(await putTenant(GENERIC, { originUrl: url }), 400, invalid([{ path: "originUrl", message }]));
      expectReply(await putTenant(GENERIC, { videoOrigin: url }), 400, invalid([{ path: "videoOrigin", message }]));
      expect(await valueOf(GENERIC)).toEqual(before);
    });

    it.each(PUBLIC_ORIGINS)("accepts %s as originUrl and as videoOrigin", async (url) => {
      const res = await putTenant(GENERIC, { originUrl: `${url}/`, videoOrigin: `${url}/` });
      expect(res.status).toBe(200);
      expectJsonHeaders(res);
      expect(res.body?.value).toMatchObject({ originUrl: url, videoOrigin: url });
      expect(await valueOf(GENERIC)).toEqual(res.body?.value);
    });
  });
});

// ---- PUT /api/tenants/{slug}/api-token ---------------------------------------------------------------------------

describe("PUT /api/tenants/{slug}/api-token", () => {
  it("stores the token encrypted and answers { ok, updatedAt }; the tenant value says it is set", async () => {
    const before = await valueOf(TOKEN_SLUG);
    expect(before).toMatchObject({ apiTokenSet: false, apiTokenUpdatedAt: null });
    const started = Date.now();
    const res = await putToken(TOKEN_SLUG, { token: TOKEN });
    expectReply(res, 200, { ok: true, updatedAt: expect.stringMatching(ISO) });
    const updatedAt = res.body?.updatedAt as string;
    expect(Date.parse(updatedAt)).toBeGreaterThanOrEqual(started - 5);
    expect(Date.parse(updatedAt)).toBeLessThanOrEqual(Date.now());

    const after = await valueOf(TOKEN_SLUG);
    expect(after).toEqual({ ...before, apiTokenSet: true, apiTokenUpdatedAt: updatedAt, updatedAt: expect.stringMatching(ISO) });

    const doc = await storedDoc(TOKEN_SLUG);
    const stored = doc.apiToken as EncryptedToken;
    expect(Object.keys(stored).sort()).toEqual(["ciphertext", "iv", "keyId", "tag"]);
    expect(stored.keyId).toBe(keyIdOf(env.tokenEncryptionKeys[0]));
    expect(Buffer.from(stored.iv, "base64")).toHaveLength(12);
    expect(Buffer.from(stored.tag, "base64")).toHaveLength(16);
    expect(doc.apiTokenUpdatedAt?.toISOString()).toBe(updatedAt);
    expect(leaksIn(JSON.stringify(doc))).toEqual([]);
    expect(decryptToken(stored, doc._id.toHexString())).toBe(TOKEN);
  });

  it("uses a new IV (and so a new ciphertext) for every write of the same token", async () => {
    const writes: EncryptedToken[] = [];
    for (let i = 0; i < 2; i++) {
      expect((await putToken(TOKEN_SLUG, { token: TOKEN })).status).toBe(200);
      writes.push((await storedDoc(TOKEN_SLUG)).apiToken as EncryptedToken);
    }
    const [a, b] = writes;
    expect(a.keyId).toBe(b.keyId);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    const id = (await storedDoc(TOKEN_SLUG))._id.toHexString();
    expect([decryptToken(a, id), decryptToken(b, id)]).toEqual([TOKEN, TOKEN]);
  });

  it("accepts a token of exactly 4096 characters", async () => {
    const long = TOKEN + "x".repeat(4096 - TOKEN.length);
    expectReply(await putToken(TOKEN_SLUG, { token: long }), 200, { ok: true, updatedAt: expect.stringMatching(ISO) });
    const doc = await storedDoc(TOKEN_SLUG);
    expect(decryptToken(doc.apiToken as EncryptedToken, doc._id.toHexString())).toBe(long);
    // Back to the plain token for what follows.
    expect((await putToken(TOKEN_SLUG, { token: TOKEN })).status).toBe(200);
  });

  const CONTROL = "must not contain control characters (such as CR or LF)";
  it.each([
    ["missing", {}, [{ path: "token", message: "is required" }]],
    ["empty", { token: "" }, [{ path: "token", message: "must not be empty" }]],
    ["a number", { token: 12345 }, [{ path: "token", message: "must be a string" }]],
    ["null", { token: null }, [{ path: "token", message: "must be a string" }]],
    ["an array", { token: [TOKEN] }, [{ path: "token", message: "must be a string" }]],
    ["an object", { token: { value: TOKEN } }, [{ path: "token", message: "must be a string" }]],
    ["4097 characters", { token: TOKEN + "x".repeat(4097 - TOKEN.length) }, [{ path: "token", message: "must be at most 4096 characters" }]],
    ["a CR", { token: `${TOKEN}\r` }, [{ path: "token", message: CONTROL }]],
    ["a LF", { token: `${TOKEN}\n` }, [{ path: "token", message: CONTROL }]],
    ["a NUL", { token: `${TOKEN}\u0000` }, [{ path: "token", message: CONTROL }]],
    ["a header injection", { token: `${TOKEN}\r\nX-Injected: 1` }, [{ path: "token", message: CONTROL }]],
    ["a tab", { token: `Bearer\t${TOKEN}` }, [{ path: "token", message: CONTROL }]],
    ["DEL", { token: `${TOKEN}\u007f` }, [{ path: "token", message: CONTROL }]],
    ["a NEL (U+0085, a C1 line break)", { token: `${TOKEN}\u0085` }, [{ path: "token", message: CONTROL }]],
    ["a C1 control (U+009F)", { token: `\u009f${TOKEN}` }, [{ path: "token", message: CONTROL }]],
    ["an extra field", { token: TOKEN, apiTokenHeader: "X-Api-Key" }, [{ path: "apiTokenHeader", message: "is not a known field" }]],
  ])("answers 400 for a token that is %s, and keeps the stored one", async (_what, body, issues) => {
    const before = await storedDoc(TOKEN_SLUG);
    expectReply(await putToken(TOKEN_SLUG, body), 400, invalid(issues));
    const after = await storedDoc(TOKEN_SLUG);
    expect(after.apiToken).toEqual(before.apiToken);
    expect(after.apiTokenUpdatedAt).toEqual(before.apiTokenUpdatedAt);
  });

  it("answers 401 without a session", async () => {
    expectReply(await putToken(TOKEN_SLUG, { token: TOKEN }, { cookie: undefined }), 401, UNAUTHORIZED);
  });

  it("answers 404 for a missing tenant and, identically, for another user's (storing nothing there)", async () => {
    expectReply(await putToken("apx-nowhere", { token: TOKEN }), 404, notFound("apx-nowhere"));
    expectReply(await putToken(STRANGERS, { token: TOKEN }), 404, notFound(STRANGERS));
    expect((await storedDoc(STRANGERS)).apiToken).toBeNull();
  });

  it("answers 405 with Allow: PUT for other methods", async () => {
    for (const method of ["GET", "POST", "DELETE"]) {
      const res = await send(apiTokenRoute, `/api/tenants/${TOKEN_SLUG}/api-token`, { method, params: { slug: TOKEN_SLUG }, cookie: owner });
      expectReply(res, 405, { error: { code: "method_not_allowed", message: `${method} is not allowed here` } });
      expect(res.headers.get("allow")).toBe("PUT");
    }
  });

  it("answers 400 naming the token for a request without a body (none, or an empty one whatever its type), and keeps the stored one", async () => {
    const before = await storedDoc(TOKEN_SLUG);
    for (const opts of [{}, raw(""), raw("", "text/plain")]) {
      expectReply(await putToken(TOKEN_SLUG, undefined, opts), 400, invalid([{ path: "token", message: "is required" }]));
    }
    expect((await storedDoc(TOKEN_SLUG)).apiToken).toEqual(before.apiToken);
  });

  it("answers 415 for a body that is not application/json", async () => {
    expectReply(await putToken(TOKEN_SLUG, undefined, raw(`token=${TOKEN}`, "application/x-www-form-urlencoded")), 415, UNSUPPORTED);
    expectReply(await putToken(TOKEN_SLUG, undefined, raw(JSON.stringify({ token: TOKEN }), "text/plain")), 415, UNSUPPORTED);
  });
});

// ---- the token never appears ---------------------------------------------------------------------------------------

describe("the stored token never appears in a response, a log line or an error message", () => {
  it("is not echoed by any api-token failure that carries it", async () => {
    const before = await storedDoc(TOKEN_SLUG);
    const big = JSON.stringify({ token: TOKEN, padding: TOKEN.repeat(2000) });
    expect(big.length).toBeGreaterThan(64 * 1024);
    expectReply(await putToken(TOKEN_SLUG, undefined, raw(big)), 413, TOO_LARGE);
    expectReply(await putToken(TOKEN_SLUG, undefined, raw(`{"token": "${TOKEN}"`)), 400, MALFORMED);
    expectReply(await putToken(TOKEN_SLUG, undefined, raw(`{"token": "${TOKEN}",}`)), 400, MALFORMED);
    expectReply(await putToken(TOKEN_SLUG, undefined, raw(`{"token": ${TOKEN}}`)), 400, MALFORMED);
    expectReply(await putToken(TOKEN_SLUG, undefined, raw(`token: ${TOKEN}`)), 400, MALFORMED);
    expectReply(await putToken("apx-nowhere", undefined, raw(big)), 413, TOO_LARGE);
    expectReply(await putToken(TOKEN_SLUG, undefined, { ...raw(big), cookie: undefined }), 401, UNAUTHORIZED);
    expect((await storedDoc(TOKEN_SLUG)).apiToken).toEqual(before.apiToken);
  });

  it("is refused as an api-config field, and by api-config failures that carry it, without being echoed or stored", async () => {
    const before = await valueOf(CONFIG);
    const notHere = "is not accepted here: set it with PUT /api/tenants/{slug}/api-token";
    expectReply(await putConfig(CONFIG, { ...{ apiOrigin: "https://api.example.com", apiAuthMode: "bearer" }, token: TOKEN }), 400, invalid([
      { path: "token", message: notHere },
    ]));
    expectReply(await putConfig(CONFIG, { apiOrigin: "https://api.example.com", apiAuthMode: "bearer", token: "" }), 400, invalid([
      { path: "token", message: notHere },
    ]));
    expectReply(await putConfig(CONFIG, { apiOrigin: "https://api.example.com", apiAuthMode: "bearer", token: null }), 400, invalid([
      { path: "token", message: notHere },
    ]));
    // A token put where a URL or a header name goes.
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ apiOrigin: `https://user:${TOKEN}@api.example.com` }, "apiOrigin", "must not contain credentials"],
      [{ apiOrigin: `https://${TOKEN}@api.example.com` }, "apiOrigin", "must not contain credentials"],
      [{ apiOrigin: `https://api.example.com/?access_token=${TOKEN}` }, "apiOrigin", "must not contain a query or fragment"],
      [{ apiOrigin: `https://api.example.com/#${TOKEN}` }, "apiOrigin", "must not contain a query or fragment"],
      [{ apiTokenHeader: `Bearer ${TOKEN}` }, "apiTokenHeader", "must be a valid header name"],
      [{ apiTokenHeader: `Authorization: Bearer ${TOKEN}` }, "apiTokenHeader", "must be a valid header name"],
    ];
    for (const [fields, path, message] of cases) {
      const res = await putConfig(CONFIG, { apiOrigin: "https://api.example.com", apiAuthMode: "bearer", ...fields });
      expectReply(res, 400, invalid([{ path, message }]));
    }
    const withToken = { apiOrigin: "https://api.example.com", apiAuthMode: "bearer", token: TOKEN };
    const big = JSON.stringify({ ...withToken, padding: TOKEN.repeat(2000) });
    expectReply(await putConfig(CONFIG, undefined, raw(big)), 413, TOO_LARGE);
    expectReply(await putConfig(CONFIG, undefined, raw(`{"apiOrigin": "https://api.example.com", "token": "${TOKEN}"`)), 400, MALFORMED);
    expectReply(await putConfig(CONFIG, undefined, raw(JSON.stringify(withToken), "text/plain")), 415, UNSUPPORTED);
    expectReply(await putConfig(CONFIG, withToken, { cookie: undefined }), 401, UNAUTHORIZED);
    expectReply(await putConfig("apx-nowhere", withToken), 400, invalid([{ path: "token", message: notHere }]));
    expect(await valueOf(CONFIG)).toEqual(before);
    expect(leaksIn(JSON.stringify(await storedDoc(CONFIG)))).toEqual([]);
  });

  it("is not in GET /api/tenants/{slug}, GET /api/tenants, PUT api-config or PUT /api/tenants/{slug} once set", async () => {
    expect((await putToken(TOKEN_SLUG, { token: TOKEN })).status).toBe(200);
    const doc = await storedDoc(TOKEN_SLUG);
    const stored = doc.apiToken as EncryptedToken;
    expect(decryptToken(stored, doc._id.toHexString())).toBe(TOKEN);
    // Nor is the stored (encrypted) form.
    const encrypted = [stored.ciphertext, stored.iv, stored.tag];

    const replies = [
      await getTenant(TOKEN_SLUG),
      await send(tenantsRoute, "/api/tenants", { cookie: owner }),
      await putConfig(TOKEN_SLUG, { apiOrigin: "https://api.example.com", apiAuthMode: "token", apiTokenHeader: "X-Api-Key" }),
      await putTenant(TOKEN_SLUG, { cacheTTL: 3600 }),
      await getTenant(TOKEN_SLUG),
    ];
    for (const res of replies) {
      expect(res.status).toBe(200);
      expectJsonHeaders(res);
      const text = JSON.stringify(res.body);
      for (const piece of encrypted) expect(text).not.toContain(piece);
    }
    expect(replies[0].body?.value).toMatchObject({ apiTokenSet: true, apiTokenUpdatedAt: doc.apiTokenUpdatedAt?.toISOString() });
    expect(replies[2].body).toEqual({
      apiOrigin: "https://api.example.com",
      apiAuthMode: "token",
      apiTokenHeader: "X-Api-Key",
      apiCacheTTL: 60,
      previewBypassParam: "preview",
      transformApiUrls: true,
      apiTokenSet: true,
    });
    expect(replies[4].body?.value).toMatchObject({ apiTokenSet: true, apiAuthMode: "token", cacheTTL: 3600 });
    // Setting the config leaves the token alone.
    expect((await storedDoc(TOKEN_SLUG)).apiToken).toEqual(stored);
  });

  it("is stored nowhere in the clear: no document of any collection holds it", async () => {
    for (const model of allModels) {
      const docs = await model.collection.find({}).toArray();
      expect(leaksIn(JSON.stringify(docs)), `the ${model.collection.collectionName} collection`).toEqual([]);
    }
  });

  it("was never printed, and every response of this file was checked", () => {
    // afterEach checks each test's responses and the output so far; this names the whole-file result explicitly.
    expect(printed.filter((p) => leaksIn(p.text).length > 0)).toEqual([]);
    expect(printed.length).toBeGreaterThanOrEqual(7);
    expect(checkedResponses).toBeGreaterThan(300);
  });
});
