// ALLOW_PRIVATE_ORIGINS=1 (local development and tests): private and loopback hosts and plain http are accepted as
// apiOrigin and as a generic tenant's originUrl/videoOrigin, while credentials and other schemes are still refused.
// The flag must be in process.env before any app module reads its settings: keep this import first.
import { restorePrivateOriginsEnv } from "#tests/fixtures/private-origins-mode.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as apiConfigRoute from "#app/routes/api.tenants.$slug.api-config.ts";
import * as tenantRoute from "#app/routes/api.tenants.$slug.ts";
import * as tenantsRoute from "#app/routes/api.tenants.ts";
import { env } from "#app/server/env.server.ts";
import { Tenant } from "#models/tenant.ts";
import { localCookie } from "#tests/fixtures/auth.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { call, read } from "#tests/fixtures/http.ts";
import { DEFAULT_API_SETTINGS } from "#tests/support/tenant-value.ts";

const JSON_TYPE = "application/json; charset=utf-8";
const invalid = (path: string, message: string) => ({
  error: { code: "invalid_request", message: "Invalid request body", issues: [{ path, message }] },
});

const GENERIC = "pvo-generic";
const CONFIG = "pvo-config";

let owner: string;

const create = (json: unknown) => call(tenantsRoute, "/api/tenants", { method: "POST", json, cookie: owner });
const getTenant = (slug: string) => call(tenantRoute, `/api/tenants/${slug}`, { params: { slug }, cookie: owner });
const putTenant = (slug: string, json: unknown) => call(tenantRoute, `/api/tenants/${slug}`, { method: "PUT", params: { slug }, json, cookie: owner });
const putConfig = (slug: string, json: unknown) =>
  call(apiConfigRoute, `/api/tenants/${slug}/api-config`, { method: "PUT", params: { slug }, json, cookie: owner });

async function valueOf(slug: string) {
  const res = await read(await getTenant(slug));
  expect(res.status).toBe(200);
  return res.body?.value as Record<string, unknown>;
}

function expectReply(res: Awaited<ReturnType<typeof read>>, status: number, body: unknown) {
  expect(res.status).toBe(status);
  expect(res.contentType).toBe(JSON_TYPE);
  expect(res.cacheControl).toBe("no-store");
  expect(res.body).toEqual(body);
}

beforeAll(async () => {
  await resetDb();
  owner = await localCookie({ userId: "pvo-owner", plan: "pro" });
  expect((await create({ slug: GENERIC, cms: "generic", originUrl: "https://assets.example.com" })).status).toBe(201);
  expect((await create({ slug: CONFIG, cms: "contentful", spaceId: "space1" })).status).toBe(201);
});

afterAll(() => {
  restorePrivateOriginsEnv();
});

/** Private, loopback and http origins a developer runs locally: accepted under the flag. */
const LOCAL_ORIGINS = ["http://127.0.0.1:8080", "https://localhost:4000", "http://localhost:4000/api", "https://[::1]:8443", "http://10.0.0.5"];

/** Still refused under the flag. */
const STILL_REFUSED: Array<[string, string]> = [
  ["http://u:p@127.0.0.1:8080", "must not contain credentials"],
  ["https://user@localhost:4000", "must not contain credentials"],
  ["http://:secret@127.0.0.1:8080", "must not contain credentials"],
  ["ftp://127.0.0.1/", "must be an http or https URL"],
  ["file:///etc/passwd", "must be an http or https URL"],
  ["gopher://127.0.0.1:70/_", "must be an http or https URL"],
  ["ws://127.0.0.1:8080", "must be an http or https URL"],
  ["wss://localhost:4000", "must be an http or https URL"],
  ["javascript:alert(1)", "must be an http or https URL"],
  ["data:text/plain,hello", "must be an http or https URL"],
  ["localhost:4000", "must be an http or https URL"],
  ["127.0.0.1:8080", "must be an absolute URL"],
];

it("runs with ALLOW_PRIVATE_ORIGINS on (the fixture came before the settings were parsed)", () => {
  expect(env.allowPrivateOrigins).toBe(true);
  expect(env.originRules).toEqual({ allowPrivate: true });
});

describe("apiOrigin", () => {
  it.each(LOCAL_ORIGINS)("accepts %s", async (apiOrigin) => {
    const res = await read(await putConfig(CONFIG, { apiOrigin: `${apiOrigin}/`, apiAuthMode: "bearer" }));
    expectReply(res, 200, { apiOrigin, ...DEFAULT_API_SETTINGS });
    expect((await valueOf(CONFIG)).apiOrigin).toBe(apiOrigin);
  });

  it.each(STILL_REFUSED)("still refuses %s", async (apiOrigin, message) => {
    const before = await valueOf(CONFIG);
    expectReply(await read(await putConfig(CONFIG, { apiOrigin, apiAuthMode: "bearer" })), 400, invalid("apiOrigin", message));
    expect(await valueOf(CONFIG)).toEqual(before);
  });
});

describe("a generic tenant's originUrl and videoOrigin", () => {
  let n = 0;
  const slug = () => `pvo-gen-${++n}`;

  it.each(LOCAL_ORIGINS)("accepts %s when creating", async (url) => {
    const s = slug();
    const res = await read(await create({ slug: s, cms: "generic", originUrl: url, videoOrigin: `${url}/videos/` }));
    expectReply(res, 201, { ok: true, key: `tenant:${s}`, proxyBase: `http://${s}.localhost:8787` });
    expect(await valueOf(s)).toMatchObject({ cms: "generic", originUrl: url, videoOrigin: `${url}/videos` });
  });

  it.each(LOCAL_ORIGINS)("accepts %s when updating", async (url) => {
    const res = await read(await putTenant(GENERIC, { originUrl: `${url}/`, videoOrigin: url }));
    expect(res.status).toBe(200);
    expect(res.body?.value).toMatchObject({ originUrl: url, videoOrigin: url });
    expect(await valueOf(GENERIC)).toEqual(res.body?.value);
  });

  it.each(STILL_REFUSED)("still refuses %s when creating", async (url, message) => {
    const s = slug();
    expectReply(await read(await create({ slug: s, cms: "generic", originUrl: url })), 400, invalid("originUrl", message));
    const video = { slug: s, cms: "generic", originUrl: "http://127.0.0.1:8080", videoOrigin: url };
    expectReply(await read(await create(video)), 400, invalid("videoOrigin", message));
    expect(await Tenant.countDocuments({ slug: s })).toBe(0);
  });

  it.each(STILL_REFUSED)("still refuses %s when updating", async (url, message) => {
    const before = await valueOf(GENERIC);
    expectReply(await read(await putTenant(GENERIC, { originUrl: url })), 400, invalid("originUrl", message));
    expectReply(await read(await putTenant(GENERIC, { videoOrigin: url })), 400, invalid("videoOrigin", message));
    expect(await valueOf(GENERIC)).toEqual(before);
  });
});
