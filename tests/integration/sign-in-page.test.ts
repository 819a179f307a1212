// The sign-in page: its destination after signing in (`redirectTo`), a path on this site or the home page — never
// another site however the value is spelled, and never a failure; and its form (and sign-out's) refused from other sites.
import { describe, expect, it } from "vitest";
import * as signIn from "#app/routes/sign-in.$.tsx";
import * as signOut from "#app/routes/sign-out.tsx";
import * as domainsPage from "#app/routes/tenants.$slug.domains.tsx";
import * as settingsPage from "#app/routes/tenants.$slug.settings.tsx";
import * as newTenantPage from "#app/routes/tenants.new.tsx";
import { getTenant } from "#app/server/tenants.server.ts";
import { Domain } from "#models/domain.ts";
import { type Caller, safeRedirect } from "#app/server/auth.server.ts";
import { billingSubjectOf } from "#app/server/billing.server.ts";
import { localCookie } from "#tests/fixtures/auth.ts";
import { call, type RouteModule } from "#tests/fixtures/http.ts";

/** Values that name another site, or that no header may carry, each as a browser would be handed it. */
const HOSTILE = [
  "https://evil.example/",
  "//evil.example",
  "/\\evil.example",
  "/\t/evil.example",
  "/\n/evil.example",
  "/\r\n/evil.example",
  " /evil",
  "/ /evil.example",
  "/a\nb",
  "/a\u0085b",
  "/\u0000",
  "/.//evil.example",
  "/a/..//evil.example",
  "/%2e//evil.example",
  "/./\\evil.example",
  "evil.example",
  "",
];

describe("safeRedirect", () => {
  it("keeps a path on this site, serialized as the URL parser does, and falls back for anything else", () => {
    expect(safeRedirect("/tenants/acme/logs?kind=api&status=5xx#top")).toBe("/tenants/acme/logs?kind=api&status=5xx#top");
    expect(safeRedirect("/tenants/日本")).toBe("/tenants/%E6%97%A5%E6%9C%AC");
    expect(safeRedirect("/a/../b")).toBe("/b");
    for (const to of HOSTILE) expect(safeRedirect(to), JSON.stringify(to)).toBe("/");
    expect(safeRedirect(undefined)).toBe("/");
    expect(safeRedirect(["/a"])).toBe("/");
    expect(safeRedirect("//evil.example", "/tenants")).toBe("/tenants");
  });
});

describe("the sign-in page", () => {
  it("sends a step below /sign-in (Clerk's, in Clerk mode) back to /sign-in in local mode, keeping its query", async () => {
    const res = await call(signIn, "/sign-in/factor-one?redirectTo=%2Fusage", { params: { "*": "factor-one" } });
    expect([res.status, res.headers.get("location")]).toEqual([302, "/sign-in?redirectTo=%2Fusage"]);
    const body = new URLSearchParams({ userId: "sign-in-step-user", plan: "free" }).toString();
    const posted = await call(signIn, "/sign-in/factor-one", {
      method: "POST",
      body,
      params: { "*": "factor-one" },
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect([posted.status, posted.headers.get("set-cookie")]).toEqual([404, null]);
  });

  it("sends a signed-in visitor to redirectTo when it is a path on this site, else home, never failing", async () => {
    const cookie = await localCookie({ userId: "sign-in-user" });
    const visit = async (to: string) => {
      const res = await call(signIn, `/sign-in?redirectTo=${encodeURIComponent(to)}`, { cookie });
      return [res.status, res.headers.get("location")];
    };
    expect(await visit("/tenants/x?tab=all")).toEqual([302, "/tenants/x?tab=all"]);
    for (const to of HOSTILE) expect(await visit(to), JSON.stringify(to)).toEqual([302, "/"]);
  });

  it("signs in with the local form and goes to redirectTo when it is a path on this site, else home", async () => {
    const submit = async (redirectTo: string) => {
      const body = new URLSearchParams({ userId: "sign-in-form-user", plan: "free", redirectTo }).toString();
      const res = await call(signIn, "/sign-in", { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
      return [res.status, res.headers.get("location"), (res.headers.get("set-cookie") ?? "").startsWith("__local_session=")];
    };
    expect(await submit("/tenants/new")).toEqual([302, "/tenants/new", true]);
    for (const to of HOSTILE.filter(Boolean)) expect(await submit(to), JSON.stringify(to)).toEqual([302, "/", true]);
  });
});

describe("forms that set or end a session, posted from another site (login CSRF)", () => {
  const form = new URLSearchParams({ userId: "csrf-attacker", plan: "pro", redirectTo: "/" }).toString();
  const post = (route: typeof signIn | typeof signOut, path: string, headers: Record<string, string>) =>
    call(route, path, { method: "POST", body: form, headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers } });

  it.each([
    ["Sec-Fetch-Site: cross-site", { "Sec-Fetch-Site": "cross-site", Origin: "https://evil.example" }],
    ["Sec-Fetch-Site: same-site (a sibling subdomain)", { "Sec-Fetch-Site": "same-site", Origin: "http://evil.localhost" }],
    ["an Origin on another host, no Sec-Fetch-Site", { Origin: "https://evil.example" }],
    ["Origin: null, no Sec-Fetch-Site", { Origin: "null" }],
  ])("refuses a sign-in with %s: 403, no session cookie", async (_what, headers) => {
    // (Thrown from a page's action: Remix renders it with the error page, status and all.)
    const res = await post(signIn, "/sign-in", headers);
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("refuses a sign-out posted from another site, in plain text (it has no page)", async () => {
    const res = await post(signOut, "/sign-out", { "Sec-Fetch-Site": "cross-site" });
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await res.text()).toBe("Forms of this site are only accepted from this site.");
  });

  it.each([
    ["Sec-Fetch-Site: same-origin", { "Sec-Fetch-Site": "same-origin", Origin: "http://localhost" }],
    ["Sec-Fetch-Site: none (typed or bookmarked)", { "Sec-Fetch-Site": "none" }],
    ["this site's Origin, no Sec-Fetch-Site", { Origin: "http://localhost" }],
    ["the Origin a proxy forwards as X-Forwarded-Host, no Sec-Fetch-Site", { Origin: "https://app.example.com", "X-Forwarded-Host": "app.example.com" }],
    ["the Origin a proxy forwards with its port, no Sec-Fetch-Site", { Origin: "https://app.example.com", "X-Forwarded-Host": "app.example.com:443" }],
    ["neither header (not a browser's form)", {}],
  ])("signs in with %s", async (_what, headers) => {
    const res = await post(signIn, "/sign-in", headers);
    expect(res.status).toBe(302);
    expect(res.headers.get("set-cookie")).toMatch(/^__local_session=/);
  });
});

describe("the dashboard's forms, posted from another site", () => {
  const OWNER = "csrf-page-owner";
  const who: Caller = { userId: OWNER, orgId: null, orgRole: null, claimedPlan: "pro", billingSubject: billingSubjectOf(OWNER, null) };
  const send = async (route: RouteModule, path: string, slug: string | undefined, fields: Record<string, string>, headers: Record<string, string>) =>
    call(route, path, {
      method: "POST",
      params: slug ? { slug } : {},
      cookie: await localCookie({ userId: OWNER, plan: "pro" }),
      body: new URLSearchParams(fields).toString(),
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    });
  const CROSS = [
    ["Sec-Fetch-Site: cross-site", { "Sec-Fetch-Site": "cross-site", Origin: "https://evil.example" }],
    ["Sec-Fetch-Site: same-site (a sibling subdomain)", { "Sec-Fetch-Site": "same-site", Origin: "http://evil.localhost" }],
    ["an Origin on another host, no Sec-Fetch-Site", { Origin: "https://evil.example" }],
  ] as const;

  it.each(CROSS)("are refused with %s: 403, and nothing is created, changed or deleted", async (_what, headers) => {
    const made = await send(newTenantPage, "/tenants/new", undefined, { slug: "csrf-made", cms: "storyblok", region: "eu" }, headers);
    expect([made.status, await made.text()]).toEqual([403, "Forms of this site are only accepted from this site."]);
    await expect(getTenant(who, "csrf-made")).rejects.toMatchObject({ code: "not_found" });

    const kept = await send(newTenantPage, "/tenants/new", undefined, { slug: "csrf-kept", cms: "storyblok", region: "eu" }, { "Sec-Fetch-Site": "same-origin" });
    expect(kept.status).toBe(302);
    const moved = await send(settingsPage, "/tenants/csrf-kept/settings", "csrf-kept", { intent: "settings", cacheTTL: "60", websiteDomain: "", allowedTypes: "" }, headers);
    expect(moved.status).toBe(403);
    const removed = await send(settingsPage, "/tenants/csrf-kept/settings", "csrf-kept", { intent: "delete", confirm: "csrf-kept" }, headers);
    expect(removed.status).toBe(403);
    const added = await send(domainsPage, "/tenants/csrf-kept/domains", "csrf-kept", { intent: "add", hostname: "csrf.example.com" }, headers);
    expect(added.status).toBe(403);
    expect((await getTenant(who, "csrf-kept")).cacheTTL).toBe(86400);
    expect(await Domain.countDocuments({ hostname: "csrf.example.com" })).toBe(0);
    await send(settingsPage, "/tenants/csrf-kept/settings", "csrf-kept", { intent: "delete", confirm: "csrf-kept" }, { "Sec-Fetch-Site": "same-origin" });
  });
});
