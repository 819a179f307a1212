// The API's routes as Remix serves them: the real route modules behind Remix's own request handler (the one
// remix-serve runs), in a server build that names only them. What the handler adds to our loaders and actions shows
// here and not when a loader is called directly: HEAD is answered by the loader and then stripped of its body, and
// OPTIONS reaches the loader (where the API answers 405).
import { type ServerBuild, createRequestHandler } from "@remix-run/node";
import { beforeAll, describe, expect, it } from "vitest";
import * as tenantRoute from "#app/routes/api.tenants.$slug.ts";
import * as logsRoute from "#app/routes/api.tenants.$slug.logs.ts";
import * as tenantsRoute from "#app/routes/api.tenants.ts";
import * as accountUsageRoute from "#app/routes/api.tenants.usage.ts";
import { localCookie } from "#tests/fixtures/auth.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { call } from "#tests/fixtures/http.ts";

/** A route of the build as the Remix compiler makes it from a flat-routes file name. */
const route = (file: string, path: string, module: object) => ({
  [`routes/${file}`]: { id: `routes/${file}`, parentId: "root", path, index: undefined, caseSensitive: undefined, module },
});

const build = {
  mode: "production",
  future: { v3_fetcherPersist: true, v3_relativeSplatPath: true, v3_throwAbortReason: true, v3_lazyRouteDiscovery: true, v3_singleFetch: false },
  basename: undefined,
  publicPath: "/build/",
  assetsBuildDirectory: "public/build",
  isSpaMode: false,
  assets: { version: "test", url: "/build/manifest-test.js", entry: { module: "/build/entry.client.js", imports: [] }, routes: {} },
  // Only resource routes are asked for here: no document is ever rendered.
  entry: { module: { default: () => new Response("no documents here", { status: 500 }) } },
  routes: {
    root: { id: "root", path: "", index: undefined, caseSensitive: undefined, module: { default: () => null } },
    ...route("api.tenants", "api/tenants", tenantsRoute),
    ...route("api.tenants.usage", "api/tenants/usage", accountUsageRoute),
    ...route("api.tenants.$slug", "api/tenants/:slug", tenantRoute),
    ...route("api.tenants.$slug.logs", "api/tenants/:slug/logs", logsRoute),
  },
} as unknown as ServerBuild;

const handle = createRequestHandler(build, "production");
let cookie = "";

const send = (method: string, path: string, headers: Record<string, string> = { Cookie: cookie }) =>
  handle(new Request(new URL(path, "http://localhost"), { method, headers }));
const headersOf = (res: Response) => [...res.headers];

beforeAll(async () => {
  await resetDb();
  cookie = await localCookie({ userId: "dispatch-owner", plan: "pro" });
  const made = await call(tenantsRoute, "/api/tenants", { method: "POST", json: { slug: "dispatch-one", cms: "storyblok" }, cookie });
  expect(made.status).toBe(201);
});

describe("HEAD", () => {
  it.each(["/api/tenants", "/api/tenants/usage?period=7d", "/api/tenants/dispatch-one", "/api/tenants/dispatch-one/logs?limit=5"])(
    "%s answers GET's status and headers, without a body",
    async (path) => {
      const get = await send("GET", path);
      expect(get.status).toBe(200);
      expect(get.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(get.headers.get("cache-control")).toBe("no-store");
      expect((await get.text()).length).toBeGreaterThan(0);

      const head = await send("HEAD", path);
      expect(head.status).toBe(200);
      expect(headersOf(head)).toEqual(headersOf(get));
      expect(head.body).toBeNull();
      expect(await head.text()).toBe("");
    },
  );

  it("answers a tenant the caller cannot see with GET's 404 headers, without a body", async () => {
    const get = await send("GET", "/api/tenants/no-such-tenant");
    expect(get.status).toBe(404);
    expect(await get.json()).toEqual({ error: { code: "not_found", message: 'No tenant "no-such-tenant"' } });
    const head = await send("HEAD", "/api/tenants/no-such-tenant");
    expect(head.status).toBe(404);
    expect(headersOf(head)).toEqual(headersOf(get));
    expect(await head.text()).toBe("");
  });

  it("answers 401 without a session, with the JSON headers and no body", async () => {
    const head = await send("HEAD", "/api/tenants", {});
    expect(head.status).toBe(401);
    expect(head.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(head.headers.get("cache-control")).toBe("no-store");
    expect(head.headers.get("location")).toBeNull();
    expect(await head.text()).toBe("");
  });
});

describe("methods a route does not serve, through Remix", () => {
  it.each([
    ["OPTIONS", "/api/tenants", "GET, HEAD, POST"],
    ["PATCH", "/api/tenants", "GET, HEAD, POST"],
    ["OPTIONS", "/api/tenants/dispatch-one", "GET, HEAD, PUT, DELETE"],
    ["POST", "/api/tenants/usage", "GET, HEAD"],
    ["DELETE", "/api/tenants/dispatch-one/logs", "GET, HEAD"],
  ])("%s %s answers 405 with Allow and the error JSON", async (method, path, allow) => {
    const res = await send(method, path);
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe(allow);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({ error: { code: "method_not_allowed", message: `${method} is not allowed here` } });
  });
});
