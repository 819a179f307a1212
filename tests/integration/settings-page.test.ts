// The Settings tab of a tenant (routes/tenants.$slug.settings.tsx): its loader and its one action (tenant settings,
// API proxy, API token, cache refresh, deletion, told apart by `intent`) driven with form-encoded Requests as a
// browser without JavaScript sends them, on the embedded store. Every response of this file is kept and searched
// for the API token at the end: it must never come back, in a body or a header.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as settingsPage from "#app/routes/tenants.$slug.settings.tsx";
import type { CreateTenantInput, TenantValue } from "#app/schemas/tenant.ts";
import type { Caller } from "#app/server/auth.server.ts";
import { billingSubjectOf } from "#app/server/billing.server.ts";
import { ApiError } from "#app/server/http.server.ts";
import { createTenant, getTenant } from "#app/server/tenants.server.ts";
import { takeToast } from "#app/server/toast.server.ts";
import { localCookie } from "#tests/fixtures/auth.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { call, read } from "#tests/fixtures/http.ts";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** A token nobody could produce by accident: any sighting of it is a leak. */
const TOKEN = `tok_${randomBytes(16).toString("hex")}`;

const OWNER = "set-owner";
const STRANGER = "set-stranger";
let owner: string;
let stranger: string;

const callerOf = (userId: string): Caller => ({ userId, orgId: null, orgRole: null, claimedPlan: "pro", billingSubject: billingSubjectOf(userId, null) });
const who = callerOf(OWNER);

// ---- requests, and everything they answered -----------------------------------------------------------------

const seen: Array<{ what: string; text: string }> = [];

async function keep(what: string, res: Response): Promise<Response> {
  const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
  seen.push({ what, text: `${res.status}\n${headers}\n\n${await res.clone().text()}` });
  return res;
}

const pageUrl = (slug: string) => `/tenants/${slug}/settings`;

const load = async (cookie: string, slug: string) => keep(`GET ${slug}`, await call(settingsPage, pageUrl(slug), { params: { slug }, cookie }));

async function loadTenant(slug: string): Promise<TenantValue> {
  const res = await read(await load(owner, slug));
  expect(res.status, `loading ${slug}`).toBe(200);
  return (res.body as { tenant: TenantValue }).tenant;
}

/** Posts a form the way a browser does, JavaScript or not: application/x-www-form-urlencoded. */
async function submit(cookie: string, slug: string, fields: Record<string, string>) {
  const res = await call(settingsPage, pageUrl(slug), {
    method: "POST",
    params: { slug },
    cookie,
    body: new URLSearchParams(fields).toString(),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  return keep(`POST ${slug} ${JSON.stringify(fields)}`, res);
}

/** A success: back to the settings page (or elsewhere), with the toast the next page shows. */
async function expectRedirect(res: Response, to: string) {
  expect(res.status).toBe(302);
  expect(res.headers.get("location")).toBe(to);
  const setCookie = res.headers.get("set-cookie");
  expect(setCookie, "a toast cookie").toMatch(/^__toast=/);
  const { toast } = await takeToast(new Request("http://localhost/", { headers: { Cookie: (setCookie as string).split(";")[0] } }));
  return toast;
}

interface Reply {
  intent: string;
  result: { status?: string; initialValue?: Record<string, unknown>; error?: Record<string, string[] | null> };
}

/** A failure: the page again (200), with the conform reply of the form that was sent. */
async function expectReply(res: Response, intent: string): Promise<Reply["result"]> {
  const body = await read(res);
  expect(body.status, "a failed submission re-renders the page with the reply").toBe(200);
  const reply = body.body as unknown as Reply;
  expect(reply.intent).toBe(intent);
  expect(reply.result.status).toBe("error");
  return reply.result;
}

async function expectNotFound(res: Response) {
  expect(res.status).toBe(404);
}

async function make(input: CreateTenantInput, as: Caller = who) {
  await createTenant(as, input);
}

beforeAll(async () => {
  await resetDb();
  owner = await localCookie({ userId: OWNER, plan: "pro" });
  stranger = await localCookie({ userId: STRANGER, plan: "pro" });
});

afterAll(() => {
  expect(seen.length).toBeGreaterThan(20);
  const leaks = seen.filter(({ text }) => text.includes(TOKEN)).map(({ what }) => what);
  expect(leaks, "responses that gave the API token away").toEqual([]);
});

// ---- the page --------------------------------------------------------------------------------------------------

describe("loader", () => {
  it("shows the tenant's settings, its token state and cache versions", async () => {
    await make({ slug: "set-load", cms: "contentful", spaceId: "space1", websiteDomain: "www.example.com", allowedTypes: ["jpg", "png"] });
    const res = await read(await load(owner, "set-load"));
    expect(res.status).toBe(200);
    const { tenant } = res.body as { tenant: TenantValue };
    expect(tenant).toMatchObject({
      slug: "set-load",
      cms: "contentful",
      spaceId: "space1",
      cacheTTL: 86400,
      websiteDomain: "www.example.com",
      allowedTypes: ["jpg", "png"],
      apiTokenSet: false,
      apiTokenUpdatedAt: null,
      cacheVersions: { api: 1, assets: 1 },
    });
  });

  it("is the 404 page for another user's tenant, and for no tenant at all", async () => {
    await make({ slug: "set-theirs", cms: "contentful", spaceId: "theirs" }, callerOf(STRANGER));
    await expectNotFound(await load(owner, "set-theirs"));
    await expectNotFound(await load(owner, "set-nobody"));
    expect((await load(stranger, "set-theirs")).status).toBe(200);
  });

  it("sends a visitor without a session to sign in", async () => {
    const res = await call(settingsPage, pageUrl("set-load"), { params: { slug: "set-load" } });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`/sign-in?redirectTo=${encodeURIComponent(pageUrl("set-load"))}`);
  });
});

describe("the tenant settings form (intent=settings)", () => {
  const slug = "set-tenant";
  beforeAll(() => make({ slug, cms: "contentful", spaceId: "space1" }));

  it("saves the provider field, cache TTL, website domain and allowed types, and comes back with a toast", async () => {
    const res = await submit(owner, slug, {
      intent: "settings",
      spaceId: "space2",
      cacheTTL: "3600",
      websiteDomain: "WWW.Example.com",
      allowedTypes: "jpg, PNG .webp jpg",
    });
    expect(await expectRedirect(res, pageUrl(slug))).toEqual({ kind: "success", message: "Settings saved" });
    expect(await getTenant(who, slug)).toMatchObject({
      spaceId: "space2",
      cacheTTL: 3600,
      websiteDomain: "www.example.com",
      allowedTypes: ["jpg", "png", "webp"],
    });
  });

  it.each([
    [" HTTPS://Shop.Example.COM/Landing/Page?Ref=Edge#Top ", "https://shop.example.com/Landing/Page?Ref=Edge#Top"],
    ["https://Shop.Example.com\\Landing", "https://shop.example.com/Landing"],
    ["https:/Shop.Example.com/Landing", "https://shop.example.com/Landing"],
    ["https://Shop.Example.com:443/", "https://shop.example.com"],
    ["https://Shop.Example.com:8443", "https://shop.example.com:8443"],
  ])("keeps a website URL as a browser sends it as the Referer, its path's case kept: %j", async (given, stored) => {
    const res = await submit(owner, slug, { intent: "settings", spaceId: "space2", cacheTTL: "3600", websiteDomain: given, allowedTypes: "" });
    expect(await expectRedirect(res, pageUrl(slug))).toEqual({ kind: "success", message: "Settings saved" });
    expect((await getTenant(who, slug)).websiteDomain).toBe(stored);
  });

  it("clears the website domain and allowed types when they are left empty", async () => {
    const res = await submit(owner, slug, { intent: "settings", spaceId: "space2", cacheTTL: "3600", websiteDomain: "", allowedTypes: " , " });
    await expectRedirect(res, pageUrl(slug));
    expect(await getTenant(who, slug)).toMatchObject({ spaceId: "space2", cacheTTL: 3600, websiteDomain: null, allowedTypes: null });
  });

  it("answers field errors and changes nothing", async () => {
    const before = await getTenant(who, slug);
    const result = await expectReply(
      await submit(owner, slug, { intent: "settings", spaceId: "", cacheTTL: "10", websiteDomain: "ftp://nope", allowedTypes: "jpg, b@d" }),
      "settings",
    );
    expect(result.error).toMatchObject({
      spaceId: ["is required"],
      cacheTTL: ["must be at least 60 seconds"],
      websiteDomain: ["must be a hostname (www.example.com) or an https URL"],
      allowedTypes: ["must be a file extension such as jpg or mp4"],
    });
    // In the order the fields are shown: the first error is the one that gets the focus.
    expect(Object.keys(result.error ?? {})).toEqual(["spaceId", "cacheTTL", "websiteDomain", "allowedTypes"]);
    // The form comes back as it was sent (without JavaScript, the page re-renders with it).
    expect(result.initialValue).toMatchObject({ cacheTTL: "10", allowedTypes: "jpg, b@d" });
    expect(await getTenant(who, slug)).toEqual(before);
  });

  it("needs a cache TTL, as a number", async () => {
    for (const cacheTTL of ["", "soon"]) {
      const result = await expectReply(await submit(owner, slug, { intent: "settings", spaceId: "space2", cacheTTL }), "settings");
      expect(result.error?.cacheTTL).toEqual([cacheTTL ? "must be a whole number of seconds" : "is required"]);
    }
  });

  it("only reads the tenant's own provider fields", async () => {
    const res = await submit(owner, slug, { intent: "settings", spaceId: "space3", cacheTTL: "3600", projectId: "sneaky", cms: "sanity" });
    await expectRedirect(res, pageUrl(slug));
    const tenant = await getTenant(who, slug);
    expect(tenant).toMatchObject({ cms: "contentful", spaceId: "space3" });
    expect(tenant).not.toHaveProperty("projectId");
  });

  it("checks a generic tenant's origins, and keeps a video origin that cannot be removed", async () => {
    const generic = "set-generic";
    await make({ slug: generic, cms: "generic", originUrl: "https://assets.example.com", videoOrigin: "https://video.example.com" });
    const result = await expectReply(
      await submit(owner, generic, { intent: "settings", originUrl: "http://127.0.0.1/", videoOrigin: "", cacheTTL: "86400" }),
      "settings",
    );
    expect(result.error?.originUrl?.[0]).toMatch(/./);
    expect(result.error?.videoOrigin).toEqual(["cannot be removed, only changed"]);
    const res = await submit(owner, generic, { intent: "settings", originUrl: "https://cdn.example.com/", videoOrigin: "https://media.example.com", cacheTTL: "86400" });
    await expectRedirect(res, pageUrl(generic));
    expect(await getTenant(who, generic)).toMatchObject({ originUrl: "https://cdn.example.com", videoOrigin: "https://media.example.com" });
  });
});

describe("the API proxy form (intent=api-config)", () => {
  const slug = "set-api";
  beforeAll(() => make({ slug, cms: "sanity", projectId: "proj1", dataset: "production" }));

  it("saves the configuration; an unchecked box is false", async () => {
    const res = await submit(owner, slug, {
      intent: "api-config",
      apiOrigin: "https://api.example.com/",
      apiAuthMode: "token",
      apiTokenHeader: "X-Api-Key",
      apiCacheTTL: "120",
      previewBypassParam: "draft",
    });
    expect(await expectRedirect(res, pageUrl(slug))).toEqual({ kind: "success", message: "API proxy settings saved" });
    expect(await getTenant(who, slug)).toMatchObject({
      apiOrigin: "https://api.example.com",
      apiAuthMode: "token",
      apiTokenHeader: "X-Api-Key",
      apiCacheTTL: 120,
      previewBypassParam: "draft",
      transformApiUrls: false,
    });
  });

  it("takes the defaults for the optional fields left empty, and a checked box", async () => {
    const res = await submit(owner, slug, {
      intent: "api-config",
      apiOrigin: "https://api.example.com",
      apiAuthMode: "bearer",
      apiTokenHeader: "",
      apiCacheTTL: "",
      previewBypassParam: "",
      transformApiUrls: "on",
    });
    await expectRedirect(res, pageUrl(slug));
    expect(await getTenant(who, slug)).toMatchObject({
      apiAuthMode: "bearer",
      apiTokenHeader: "Authorization",
      apiCacheTTL: 60,
      previewBypassParam: "preview",
      transformApiUrls: true,
    });
  });

  it("answers field errors and changes nothing", async () => {
    const before = await getTenant(who, slug);
    const result = await expectReply(
      await submit(owner, slug, {
        intent: "api-config",
        apiOrigin: "http://localhost:8080",
        apiAuthMode: "magic",
        apiTokenHeader: "Cookie",
        apiCacheTTL: "5",
        previewBypassParam: "a b",
      }),
      "api-config",
    );
    expect(Object.keys(result.error ?? {}).sort()).toEqual(["apiAuthMode", "apiCacheTTL", "apiOrigin", "apiTokenHeader", "previewBypassParam"]);
    expect(result.error).toMatchObject({
      apiAuthMode: ["must be one of bearer, basic, token, none"],
      apiCacheTTL: ["must be at least 10 seconds"],
      previewBypassParam: ["must be a query parameter name (letters, digits, _ . ~ -)"],
    });
    expect(await getTenant(who, slug)).toEqual(before);
  });

  it("needs an API origin", async () => {
    const result = await expectReply(await submit(owner, slug, { intent: "api-config", apiOrigin: "", apiAuthMode: "none", apiCacheTTL: "soon" }), "api-config");
    expect(result.error).toEqual({ apiOrigin: ["is required"], apiCacheTTL: ["must be a whole number of seconds"] });
  });
});

describe("the API token form (intent=api-token)", () => {
  const slug = "set-token";
  beforeAll(() => make({ slug, cms: "prismic", repositoryName: "repo1" }));

  it("does not accept a token that would break a header, and never sends it back", async () => {
    const result = await expectReply(await submit(owner, slug, { intent: "api-token", token: `${TOKEN}\r\nX-Evil: 1` }), "api-token");
    expect(result.error?.token).toEqual(["must not contain control characters (such as CR or LF)"]);
    expect(result.initialValue ?? {}).not.toHaveProperty("token");
    expect(await getTenant(who, slug)).toMatchObject({ apiTokenSet: false, apiTokenUpdatedAt: null });
  });

  it("needs a token", async () => {
    const result = await expectReply(await submit(owner, slug, { intent: "api-token", token: "" }), "api-token");
    expect(result.error?.token).toEqual(["is required"]);
  });

  it("stores the token and shows only when it was set", async () => {
    const res = await submit(owner, slug, { intent: "api-token", token: TOKEN });
    expect(await expectRedirect(res, pageUrl(slug))).toEqual({ kind: "success", message: "API token saved" });
    const tenant = await loadTenant(slug);
    expect(tenant.apiTokenSet).toBe(true);
    expect(tenant.apiTokenUpdatedAt).toMatch(ISO);
  });

  it("does not echo a token sent with another form either", async () => {
    const result = await expectReply(await submit(owner, slug, { intent: "api-config", apiOrigin: "", apiAuthMode: "none", token: TOKEN }), "api-config");
    expect(result.initialValue ?? {}).not.toHaveProperty("token");
    const settings = await expectReply(await submit(owner, slug, { intent: "settings", repositoryName: "", cacheTTL: "60", token: TOKEN }), "settings");
    expect(settings.initialValue ?? {}).not.toHaveProperty("token");
  });
});

describe("the cache refresh buttons (intent=refresh-cache)", () => {
  const slug = "set-cache";
  beforeAll(() => make({ slug, cms: "cloudinary", cloudName: "cloud1" }));

  it("bumps the version of the button pressed and says the new versions", async () => {
    const steps: Array<[string, { api: number; assets: number }]> = [
      ["api", { api: 2, assets: 1 }],
      ["assets", { api: 2, assets: 2 }],
      ["all", { api: 3, assets: 3 }],
    ];
    for (const [type, versions] of steps) {
      const res = await submit(owner, slug, { intent: "refresh-cache", type });
      expect(await expectRedirect(res, pageUrl(slug))).toEqual({
        kind: "success",
        message: `Cache versions now api ${versions.api}, assets ${versions.assets}`,
      });
      expect((await loadTenant(slug)).cacheVersions).toEqual(versions);
    }
  });

  it("refuses an unknown cache (a form error: there is no field to sit beside) and bumps nothing", async () => {
    for (const fields of [{ intent: "refresh-cache", type: "everything" }, { intent: "refresh-cache" }] as Array<Record<string, string>>) {
      const result = await expectReply(await submit(owner, slug, fields), "refresh-cache");
      expect(result.error?.[""]).toEqual(["Choose which cache to refresh: api, assets or all"]);
    }
    expect((await getTenant(who, slug)).cacheVersions).toEqual({ api: 3, assets: 3 });
  });
});

describe("the danger zone (intent=delete)", () => {
  const slug = "set-doomed";
  beforeAll(() => make({ slug, cms: "imgix", imgixDomain: "doomed.imgix.net" }));

  it("refuses unless the slug is typed again", async () => {
    const wrong = await expectReply(await submit(owner, slug, { intent: "delete", confirm: "set-doome" }), "delete");
    expect(wrong.error?.confirm).toEqual([`does not match the slug (${slug})`]);
    const empty = await expectReply(await submit(owner, slug, { intent: "delete", confirm: "" }), "delete");
    expect(empty.error?.confirm).toEqual([`Type ${slug} to confirm`]);
    const another = await expectReply(await submit(owner, slug, { intent: "delete", confirm: "set-tenant" }), "delete");
    expect(another.error?.confirm).toEqual([`does not match the slug (${slug})`]);
    expect(await getTenant(who, slug)).toMatchObject({ slug });
    expect(await getTenant(who, "set-tenant")).toMatchObject({ slug: "set-tenant" });
  });

  it("deletes the tenant and goes home with a toast", async () => {
    const res = await submit(owner, slug, { intent: "delete", confirm: slug });
    expect(await expectRedirect(res, "/")).toEqual({ kind: "success", message: `Tenant ${slug} deleted` });
    await expect(getTenant(who, slug)).rejects.toMatchObject({ code: "not_found" } satisfies Partial<ApiError>);
    await expectNotFound(await load(owner, slug));
  });
});

describe("the action", () => {
  it("is a 404 for another user's tenant, whatever the form, and changes nothing", async () => {
    const theirs = "set-theirs";
    const them = callerOf(STRANGER);
    const before = await getTenant(them, theirs);
    for (const fields of [
      { intent: "settings", spaceId: "mine", cacheTTL: "60" },
      { intent: "api-config", apiOrigin: "https://api.example.com", apiAuthMode: "none" },
      { intent: "api-token", token: TOKEN },
      { intent: "refresh-cache", type: "all" },
      { intent: "delete", confirm: theirs },
    ] as Array<Record<string, string>>) {
      await expectNotFound(await submit(owner, theirs, fields));
    }
    expect(await getTenant(them, theirs)).toEqual(before);
  });

  it("is a 400 for a form it does not know", async () => {
    for (const intent of ["rename", "constructor", ""]) {
      expect((await submit(owner, "set-tenant", { intent })).status).toBe(400);
    }
  });
});
