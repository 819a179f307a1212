// Clerk mode, offline: session tokens verified with CLERK_JWT_KEY, as a Bearer header (API) or as Clerk's browser
// cookies (pages); the organization and the plan taken from the token's claims.
// Clerk mode must be on before any app module reads its settings: keep this import first.
import "#tests/fixtures/clerk-mode.ts";
import { beforeAll, describe, expect, it } from "vitest";
import * as home from "#app/routes/_index.tsx";
import * as tenantRoute from "#app/routes/api.tenants.$slug.ts";
import * as tenantsRoute from "#app/routes/api.tenants.ts";
import * as signIn from "#app/routes/sign-in.$.tsx";
import { planWithoutSession } from "#app/server/billing.server.ts";
import { env } from "#app/server/env.server.ts";
import { Account } from "#models/account.ts";
import {
  CLERK_FRONTEND_API,
  clerkBrowserCookies,
  clerkEnv,
  decodeClaims,
  documentRequestHeaders,
  generateSigningKeyPair,
  mintSessionToken,
} from "#tests/fixtures/clerk.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { call, read } from "#tests/fixtures/http.ts";
import { freshTenantValue } from "#tests/support/tenant-value.ts";

const JSON_API = { contentType: "application/json; charset=utf-8", cacheControl: "no-store" };
const UNAUTHORIZED = {
  error: { code: "unauthorized", message: "Sign in, or send a session token as Authorization: Bearer <token>" },
};
const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function listAs(token: string) {
  return read(await call(tenantsRoute, "/api/tenants", { headers: bearer(token) }));
}

async function createAs(token: string, slug: string) {
  return read(await call(tenantsRoute, "/api/tenants", { headers: bearer(token), json: { slug, cms: "contentful", spaceId: "space1" } }));
}

async function getAs(token: string, slug: string) {
  return read(await call(tenantRoute, `/api/tenants/${slug}`, { headers: bearer(token), params: { slug } }));
}

const created = (slug: string) => ({ ok: true, key: `tenant:${slug}`, proxyBase: `http://${slug}.localhost:8787` });

const listed = (slug: string) => ({
  slug,
  cms: "contentful",
  proxyBase: `http://${slug}.localhost:8787`,
  createdAt: ISO,
  updatedAt: ISO,
  domains: 0,
});

/** A tenant as the home page lists it: the API's entry plus this month's traffic. */
const onHome = (slug: string) => ({ ...listed(slug), month: { requests: 0, bandwidthBytes: 0 } });

/** The plan box of the home page for a billing subject without traffic. */
const homePlan = (name: "free" | "pro", tenants: number) => ({
  name,
  limits: name === "free" ? { tenants: 1, requests: 500_000, bandwidthBytes: 5_000_000_000 } : { tenants: 100, requests: 5_000_000, bandwidthBytes: 200_000_000_000 },
  used: { tenants, requests: 0, bandwidthBytes: 0 },
});

const tenantValue = (slug: string, orgId: string | null) => ({
  key: `tenant:${slug}`,
  value: freshTenantValue(slug, { cms: "contentful", spaceId: "space1" }, orgId),
});

const notFound = (slug: string) => ({ error: { code: "not_found", message: `No tenant "${slug}"` } });

beforeAll(async () => {
  await resetDb();
});

describe("Clerk mode", () => {
  it("is on: the settings were read after clerk-mode.ts applied the keys", () => {
    expect(env.authMode).toBe("clerk");
    expect(env.clerk).toEqual({
      publishableKey: clerkEnv.CLERK_PUBLISHABLE_KEY,
      secretKey: clerkEnv.CLERK_SECRET_KEY,
      jwtKey: clerkEnv.CLERK_JWT_KEY.trim(),
    });
  });
});

describe("a valid Bearer session token", () => {
  const token = mintSessionToken({ userId: "user_clerk_bearer" });

  it("lists no tenants for a fresh user", async () => {
    const res = await listAs(token);
    expect(res).toMatchObject({ status: 200, ...JSON_API });
    expect(res.body).toEqual({ total: 0, tenants: [] });
  });

  it("creates a tenant that the same user then lists and reads, with no organization", async () => {
    const slug = "clerk-bearer-one";
    const post = await createAs(token, slug);
    expect(post).toMatchObject({ status: 201, ...JSON_API });
    expect(post.headers.get("location")).toBe(`/api/tenants/${slug}`);
    expect(post.body).toEqual(created(slug));

    const list = await listAs(token);
    expect(list).toMatchObject({ status: 200, ...JSON_API });
    expect(list.body).toEqual({ total: 1, tenants: [listed(slug)] });

    const one = await getAs(token, slug);
    expect(one).toMatchObject({ status: 200, ...JSON_API });
    expect(one.body).toEqual(tenantValue(slug, null));
  });

  it("does not let another user see that tenant", async () => {
    const other = mintSessionToken({ userId: "user_clerk_bearer_other" });
    const list = await listAs(other);
    expect(list).toMatchObject({ status: 200, ...JSON_API });
    expect(list.body).toEqual({ total: 0, tenants: [] });
    const one = await getAs(other, "clerk-bearer-one");
    expect(one).toMatchObject({ status: 404, ...JSON_API });
    expect(one.body).toEqual(notFound("clerk-bearer-one"));
  });
});

describe("a valid __session cookie (with __client_uat) on the JSON API", () => {
  const userId = "user_clerk_cookie_api";
  const slug = "clerk-cookie-one";
  const cookieOf = () => clerkBrowserCookies(mintSessionToken({ userId }));

  it("lists the user's tenants on GET /api/tenants, as a browser's fetch sends it", async () => {
    const empty = await read(await call(tenantsRoute, "/api/tenants", { cookie: cookieOf() }));
    expect(empty).toMatchObject({ status: 200, ...JSON_API });
    expect(empty.headers.get("location")).toBeNull();
    expect(empty.body).toEqual({ total: 0, tenants: [] });

    // Made with a Bearer token of the same user: the cookie names the same caller.
    expect((await createAs(mintSessionToken({ userId }), slug)).status).toBe(201);
    const res = await read(await call(tenantsRoute, "/api/tenants", { headers: { Accept: "application/json", "Sec-Fetch-Dest": "empty" }, cookie: cookieOf() }));
    expect(res).toMatchObject({ status: 200, ...JSON_API });
    expect(res.headers.get("location")).toBeNull();
    expect(res.body).toEqual({ total: 1, tenants: [listed(slug)] });
  });

  it("reads the user's tenant, and holds the cookie's caller to the user's free plan", async () => {
    const cookie = cookieOf();
    const post = await read(
      await call(tenantsRoute, "/api/tenants", { cookie, json: { slug: "clerk-cookie-two", cms: "contentful", spaceId: "space1" } }),
    );
    // The free plan's one tenant is already taken by the first test: the cookie's caller is billed like the token's.
    expect(post).toMatchObject({ status: 403, ...JSON_API });
    expect(post.body).toEqual({ error: { code: "plan_limit", message: "The free plan allows 1 tenant", plan: "free", limit: 1 } });
    const one = await read(await call(tenantRoute, `/api/tenants/${slug}`, { cookie, params: { slug } }));
    expect(one).toMatchObject({ status: 200, ...JSON_API });
    expect(one.body).toEqual(tenantValue(slug, null));
  });

  it("carries the organization and the plan of the cookie's token", async () => {
    const cookie = clerkBrowserCookies(mintSessionToken({ userId, orgId: "org_clerk_cookie", plan: "pro" }));
    const post = await read(await call(tenantsRoute, "/api/tenants", { cookie, json: { slug: "clerk-cookie-org", cms: "contentful", spaceId: "space1" } }));
    expect(post).toMatchObject({ status: 201, ...JSON_API });
    expect(post.headers.get("location")).toBe("/api/tenants/clerk-cookie-org");
    expect(post.body).toEqual(created("clerk-cookie-org"));
    const one = await read(await call(tenantRoute, "/api/tenants/clerk-cookie-org", { cookie, params: { slug: "clerk-cookie-org" } }));
    expect(one).toMatchObject({ status: 200, ...JSON_API });
    expect(one.body).toEqual(tenantValue("clerk-cookie-org", "org_clerk_cookie"));
  });
});

describe("requests without a valid session token", () => {
  const userId = "user_clerk_rejected";
  const cases: Array<[string, string | null]> = [
    ["no token", null],
    ["a token that is not a JWT", "not-a-jwt"],
    ["a token of three parts that are not JSON", "abc.def.ghi"],
    ["an expired token", mintSessionToken({ userId, expiresInSeconds: -60 })],
    ["a token not valid yet", mintSessionToken({ userId, notBeforeOffset: 120 })],
    ["a token signed by another key", mintSessionToken({ userId, signWith: generateSigningKeyPair().privateKey })],
    [
      "a token whose claims were altered after signing",
      (() => {
        const genuine = mintSessionToken({ userId });
        const [header, , signature] = genuine.split(".");
        const forged = Buffer.from(JSON.stringify({ ...decodeClaims(genuine), sub: "user_someone_else" })).toString("base64url");
        return `${header}.${forged}.${signature}`;
      })(),
    ],
  ];

  for (const [name, token] of cases) {
    for (const method of ["GET", "POST"] as const) {
      it(`${method} /api/tenants with ${name}: 401 unauthorized`, async () => {
        const response = await call(tenantsRoute, "/api/tenants", {
          method,
          headers: token ? bearer(token) : {},
          json: method === "POST" ? { slug: "clerk-rejected", cms: "contentful", spaceId: "space1" } : undefined,
        });
        const text = await response.clone().text();
        const res = await read(response);
        expect(res).toMatchObject({ status: 401, ...JSON_API });
        expect(res.headers.get("location")).toBeNull();
        expect(res.body).toEqual(UNAUTHORIZED);
        if (token) expect(text).not.toContain(token);
      });
    }
  }

  it("answers 401 (not Clerk's handshake redirect) to a browser navigation with an expired session cookie", async () => {
    const token = mintSessionToken({ userId, expiresInSeconds: -60 });
    const res = await read(
      await call(tenantsRoute, "/api/tenants", { headers: { ...documentRequestHeaders }, cookie: clerkBrowserCookies(token) }),
    );
    expect(res).toMatchObject({ status: 401, ...JSON_API });
    expect(res.headers.get("location")).toBeNull();
    expect(res.body).toEqual(UNAUTHORIZED);
  });

  it("answers 401 to a browser navigation with an expired Bearer token", async () => {
    const token = mintSessionToken({ userId, expiresInSeconds: -60 });
    const res = await read(await call(tenantsRoute, "/api/tenants", { headers: { ...documentRequestHeaders, ...bearer(token) } }));
    expect(res).toMatchObject({ status: 401, ...JSON_API });
    expect(res.headers.get("location")).toBeNull();
    expect(res.body).toEqual(UNAUTHORIZED);
  });

  it("created nothing", async () => {
    const res = await listAs(mintSessionToken({ userId: "user_clerk_rejected" }));
    expect(res.body).toEqual({ total: 0, tenants: [] });
    const one = await getAs(mintSessionToken({ userId: "user_clerk_rejected" }), "clerk-rejected");
    expect(one.status).toBe(404);
  });
});

describe("the organization from the token", () => {
  const slug = "clerk-org-one";
  const owner = mintSessionToken({ userId: "user_clerk_org_owner", orgId: "org_1", orgRole: "admin" });

  beforeAll(async () => {
    const post = await createAs(owner, slug);
    expect(post.status).toBe(201);
  });

  it("is recorded on a tenant created in it", async () => {
    const res = await getAs(owner, slug);
    expect(res).toMatchObject({ status: 200, ...JSON_API });
    expect(res.body).toEqual(tenantValue(slug, "org_1"));
  });

  it("lets another member of that organization read and list the tenant", async () => {
    const member = mintSessionToken({ userId: "user_clerk_org_member", orgId: "org_1", orgRole: "member" });
    const res = await getAs(member, slug);
    expect(res).toMatchObject({ status: 200, ...JSON_API });
    expect(res.body).toEqual(tenantValue(slug, "org_1"));
    const list = await listAs(member);
    expect(list).toMatchObject({ status: 200, ...JSON_API });
    expect(list.body).toEqual({ total: 1, tenants: [listed(slug)] });
  });

  it("hides the tenant from a user in another organization", async () => {
    const outsider = mintSessionToken({ userId: "user_clerk_org_outsider", orgId: "org_2" });
    const res = await getAs(outsider, slug);
    expect(res).toMatchObject({ status: 404, ...JSON_API });
    expect(res.body).toEqual(notFound(slug));
    expect((await listAs(outsider)).body).toEqual({ total: 0, tenants: [] });
  });

  it("hides the tenant from a user with no active organization", async () => {
    const loner = mintSessionToken({ userId: "user_clerk_org_outsider" });
    const res = await getAs(loner, slug);
    expect(res).toMatchObject({ status: 404, ...JSON_API });
    expect(res.body).toEqual(notFound(slug));
    expect((await listAs(loner)).body).toEqual({ total: 0, tenants: [] });
  });
});

describe("the plan from the metadata.plan claim", () => {
  it("lets a pro session create a second tenant", async () => {
    const pro = mintSessionToken({ userId: "user_clerk_pro", plan: "pro" });
    for (const slug of ["clerk-pro-one", "clerk-pro-two"]) {
      const res = await createAs(pro, slug);
      expect(res).toMatchObject({ status: 201, ...JSON_API });
      expect(res.headers.get("location")).toBe(`/api/tenants/${slug}`);
      expect(res.body).toEqual(created(slug));
    }
    expect((await listAs(pro)).body).toEqual({ total: 2, tenants: [listed("clerk-pro-two"), listed("clerk-pro-one")] });
  });

  it("holds a session without the claim (and no Account) to the free plan's one tenant", async () => {
    expect(await Account.findOne({ subject: "user:user_clerk_free" }).lean()).toBeNull();
    const free = mintSessionToken({ userId: "user_clerk_free" });
    const first = await createAs(free, "clerk-free-one");
    expect(first).toMatchObject({ status: 201, ...JSON_API });
    expect(first.body).toEqual(created("clerk-free-one"));

    const second = await createAs(free, "clerk-free-two");
    expect(second).toMatchObject({ status: 403, ...JSON_API });
    expect(second.headers.get("location")).toBeNull();
    expect(second.body).toEqual({ error: { code: "plan_limit", message: "The free plan allows 1 tenant", plan: "free", limit: 1 } });
    expect((await getAs(free, "clerk-free-two")).status).toBe(404);
    expect((await listAs(free)).body).toEqual({ total: 1, tenants: [listed("clerk-free-one")] });
  });

  it("counts an unknown plan claim as no claim (free)", async () => {
    const odd = mintSessionToken({ userId: "user_clerk_odd_plan", plan: "enterprise" });
    expect((await createAs(odd, "clerk-odd-one")).status).toBe(201);
    const second = await createAs(odd, "clerk-odd-two");
    expect(second).toMatchObject({ status: 403, ...JSON_API });
    expect(second.body).toEqual({ error: { code: "plan_limit", message: "The free plan allows 1 tenant", plan: "free", limit: 1 } });
  });

  it("falls back to the subject's Account plan when the session has no claim", async () => {
    await Account.create({ subject: "user:user_clerk_account_pro", plan: "pro" });
    const token = mintSessionToken({ userId: "user_clerk_account_pro" });
    for (const slug of ["clerk-account-one", "clerk-account-two"]) {
      const res = await createAs(token, slug);
      expect(res).toMatchObject({ status: 201, ...JSON_API });
      expect(res.body).toEqual(created(slug));
    }
  });

  it("keeps the claim on the subject's Account, where the edge reads the plan without a session, and lets go of it with the claim", async () => {
    const subject = "user:user_clerk_edge_plan";
    const account = () => Account.findOne({ subject }, { _id: 0, subject: 1, plan: 1, claimedPlan: 1, tenantCount: 1, updatedAt: 1 }).lean();
    expect(await planWithoutSession(subject)).toBe("free");
    // Requests at once, with no Account yet: one is made (the unique index), holding the claim.
    const pro = mintSessionToken({ userId: "user_clerk_edge_plan", plan: "pro" });
    const lists = await Promise.all(Array.from({ length: 8 }, () => listAs(pro)));
    expect(lists.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(await Account.countDocuments({ subject })).toBe(1);
    const made = await account();
    expect(made).toEqual({ subject, plan: null, claimedPlan: "pro", tenantCount: 0, updatedAt: expect.any(Date) });
    expect(await planWithoutSession(subject)).toBe("pro");
    // The claim gone: the Account's own plan (an operator's) applies, and the claim's record never dates the Account.
    await Account.updateOne({ subject }, { $set: { plan: "pro" } }, { timestamps: false });
    expect((await listAs(mintSessionToken({ userId: "user_clerk_edge_plan" }))).status).toBe(200);
    expect(await account()).toEqual({ ...made, plan: "pro", claimedPlan: null });
    expect(await planWithoutSession(subject)).toBe("pro");
    await Account.updateOne({ subject }, { $set: { plan: null } }, { timestamps: false });
    expect(await planWithoutSession(subject)).toBe("free");
    // A session without a claim and without an Account makes none.
    expect((await listAs(mintSessionToken({ userId: "user_clerk_edge_plan_none" }))).status).toBe(200);
    expect(await Account.findOne({ subject: "user:user_clerk_edge_plan_none" }).lean()).toBeNull();
  });

  it("bills the active organization: two free users in one organization share its single tenant slot", async () => {
    const first = mintSessionToken({ userId: "user_clerk_billing_a", orgId: "org_clerk_billing" });
    const second = mintSessionToken({ userId: "user_clerk_billing_b", orgId: "org_clerk_billing" });

    const a = await createAs(first, "clerk-billing-a");
    expect(a).toMatchObject({ status: 201, ...JSON_API });
    expect(a.body).toEqual(created("clerk-billing-a"));

    const b = await createAs(second, "clerk-billing-b");
    expect(b).toMatchObject({ status: 403, ...JSON_API });
    expect(b.body).toEqual({ error: { code: "plan_limit", message: "The free plan allows 1 tenant", plan: "free", limit: 1 } });
    expect((await listAs(second)).body).toEqual({ total: 1, tenants: [listed("clerk-billing-a")] });

    // Without the organization, the same user is billed on their own (free) slot.
    const personal = await createAs(mintSessionToken({ userId: "user_clerk_billing_b" }), "clerk-billing-b");
    expect(personal).toMatchObject({ status: 201, ...JSON_API });
    expect(personal.body).toEqual(created("clerk-billing-b"));
    expect((await getAs(mintSessionToken({ userId: "user_clerk_billing_b" }), "clerk-billing-b")).body).toEqual(
      tenantValue("clerk-billing-b", null),
    );
  });
});

describe("the home page with Clerk's browser cookies", () => {
  const userId = "user_clerk_browser";
  const slug = "clerk-browser-one";
  const orgSlug = "clerk-browser-org";

  beforeAll(async () => {
    expect((await createAs(mintSessionToken({ userId }), slug)).status).toBe(201);
    const colleague = mintSessionToken({ userId: "user_clerk_browser_colleague", orgId: "org_clerk_browser", plan: "pro" });
    expect((await createAs(colleague, orgSlug)).status).toBe(201);
  });

  it("lists the signed-in user's tenants on a document request", async () => {
    const cookie = clerkBrowserCookies(mintSessionToken({ userId }));
    const res = await read(await call(home, "/", { headers: { ...documentRequestHeaders }, cookie }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userId, total: 1, tenants: [onHome(slug)], plan: homePlan("free", 1) });
  });

  it("shows the active organization's tenants too", async () => {
    const cookie = clerkBrowserCookies(mintSessionToken({ userId, orgId: "org_clerk_browser", orgRole: "member" }));
    const res = await read(await call(home, "/", { headers: { ...documentRequestHeaders }, cookie }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userId, total: 2, tenants: [onHome(orgSlug), onHome(slug)], plan: homePlan("free", 1) });
  });

  it("hands a browser with an expired session to Clerk's handshake (a redirect, not an error)", async () => {
    const cookie = clerkBrowserCookies(mintSessionToken({ userId, expiresInSeconds: -60 }));
    const res = await call(home, "/", { headers: { ...documentRequestHeaders }, cookie });
    expect(res.status).toBe(307);
    const location = new URL(res.headers.get("location") ?? "");
    expect(location.origin).toBe(`https://${CLERK_FRONTEND_API}`);
    expect(location.pathname).toBe("/v1/client/handshake");
    expect(location.searchParams.get("redirect_url")).toBe("http://localhost/");
  });

  it("redirects to the sign-in page without cookies", async () => {
    const res = await call(home, "/?tab=all", { headers: { ...documentRequestHeaders } });
    expect([302, 307]).toContain(res.status);
    expect(res.headers.get("location")).toBe("/sign-in?redirectTo=%2F%3Ftab%3Dall");
  });
});

describe("Clerk mode: the sign-in page", () => {
  it("renders Clerk's component at each of its steps below /sign-in, sending the visitor on to redirectTo (a path here)", async () => {
    const at = async (url: string, step: string) => {
      const res = await call(signIn, url, { headers: { ...documentRequestHeaders }, params: step ? { "*": step } : {} });
      return [res.status, await res.json()];
    };
    expect(await at("/sign-in?redirectTo=%2Ftenants%2Fx%3Ftab%3Dall", "")).toEqual([200, { authMode: "clerk", redirectTo: "/tenants/x?tab=all" }]);
    expect(await at("/sign-in/factor-one?redirectTo=%2Fusage", "factor-one")).toEqual([200, { authMode: "clerk", redirectTo: "/usage" }]);
    expect(await at("/sign-in/sso-callback?redirectTo=%2F%2Fevil.example", "sso-callback")).toEqual([200, { authMode: "clerk", redirectTo: "/" }]);
  });

  it("has no local form to post to: 404", async () => {
    const body = new URLSearchParams({ userId: "user_clerk_form", plan: "pro" }).toString();
    const res = await call(signIn, "/sign-in", { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("set-cookie")).toBeNull();
  });
});
