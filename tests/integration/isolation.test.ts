// Tenant isolation: every (session, tenant) pair on every endpoint that takes a tenant slug, as a matrix.
//
// The contract (spec §1): a caller may access a tenant it owns, or one that belongs to an organization that is the
// caller's active organization. A tenant the caller cannot access answers exactly like one that does not exist:
// 404 not_found, with the same message a missing slug gets (no existence leak), and nothing changes.
//
// Adding a per-tenant endpoint is one line in TENANT_ENDPOINTS; adding a session or a tenant is one line in
// SESSIONS / TENANTS plus its row or column in ACCESS (which a test checks against the contract rule).
// The DNS server on loopback comes first: domain verification must not reach for the network.
import "#tests/fixtures/dns-server.ts";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import * as analyticsRoute from "#app/routes/api.tenants.$slug.analytics.ts";
import * as apiConfigRoute from "#app/routes/api.tenants.$slug.api-config.ts";
import * as apiTokenRoute from "#app/routes/api.tenants.$slug.api-token.ts";
import * as bandwidthRoute from "#app/routes/api.tenants.$slug.bandwidth-daily.ts";
import * as domainsRoute from "#app/routes/api.tenants.$slug.domains.ts";
import * as verifyRoute from "#app/routes/api.tenants.$slug.domains.verify.ts";
import * as logsRoute from "#app/routes/api.tenants.$slug.logs.ts";
import * as refreshRoute from "#app/routes/api.tenants.$slug.refresh-cache.ts";
import * as tenantRoute from "#app/routes/api.tenants.$slug.ts";
import * as tenantUsageRoute from "#app/routes/api.tenants.$slug.usage.ts";
import * as accountUsageRoute from "#app/routes/api.tenants.usage.ts";
import * as slugAvailabilityRoute from "#app/routes/api.tenants.slug-availability.ts";
import * as tenantsRoute from "#app/routes/api.tenants.ts";
import type { TenantValue } from "#app/schemas/tenant.ts";
import { Account } from "#models/account.ts";
import { type Who, localCookie } from "#tests/fixtures/auth.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { type RouteModule, call, read } from "#tests/fixtures/http.ts";

// ---- who is calling ----------------------------------------------------------------------------------------

const SESSIONS = {
  alice: { userId: "user_alice", plan: "pro" },
  aliceInOrgOne: { userId: "user_alice", orgId: "org_one", plan: "pro" },
  bob: { userId: "user_bob", plan: "pro" },
  bobInOrgOne: { userId: "user_bob", orgId: "org_one", plan: "pro" },
  bobInOrgTwo: { userId: "user_bob", orgId: "org_two", plan: "pro" },
  carol: { userId: "user_carol", plan: "pro" },
} as const satisfies Record<string, Who>;
type SessionName = keyof typeof SESSIONS;
const SESSION_NAMES = Object.keys(SESSIONS) as SessionName[];

// ---- the tenants, each created by its owner's session (with an active organization it belongs to that org) ---

const TENANTS = [
  { slug: "iso-alice", owner: "alice", create: { cms: "contentful", spaceId: "alice-space" } },
  { slug: "iso-alice-org", owner: "aliceInOrgOne", create: { cms: "sanity", projectId: "alice-org-project" } },
  { slug: "iso-bob", owner: "bob", create: { cms: "cloudinary", cloudName: "bob-cloud" } },
] as const satisfies ReadonlyArray<{ slug: string; owner: SessionName; create: Record<string, unknown> }>;
type Seed = (typeof TENANTS)[number];
type Slug = Seed["slug"];

/** A slug no tenant has: what "does not exist" looks like, to compare refusals against. */
const MISSING = "iso-nobody-has-this";

// ---- the matrix: may this session access this tenant? -------------------------------------------------------

const ACCESS: Record<SessionName, Record<Slug, boolean>> = {
  //               own personal tenant      own org tenant / org member   someone else's
  alice: { "iso-alice": true, "iso-alice-org": true, "iso-bob": false },
  aliceInOrgOne: { "iso-alice": true, "iso-alice-org": true, "iso-bob": false },
  bob: { "iso-alice": false, "iso-alice-org": false, "iso-bob": true },
  bobInOrgOne: { "iso-alice": false, "iso-alice-org": true, "iso-bob": true },
  bobInOrgTwo: { "iso-alice": false, "iso-alice-org": false, "iso-bob": true },
  carol: { "iso-alice": false, "iso-alice-org": false, "iso-bob": false },
};

/** The contract's rule: the owner always; members when the tenant's organization is the session's active one. */
function contractAllows(session: Who, tenant: Seed): boolean {
  const owner: Who = SESSIONS[tenant.owner];
  const tenantOrg = owner.orgId ?? null;
  return session.userId === owner.userId || (tenantOrg !== null && session.orgId === tenantOrg);
}

// ---- every endpoint that takes a tenant slug ------------------------------------------------------------------

type Reply = Awaited<ReturnType<typeof read>>;

interface TenantEndpoint {
  name: string;
  route: RouteModule;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: (slug: string) => string;
  /** A valid JSON body, when the method takes one. */
  body?: unknown;
  okStatus: number;
  /** Further checks of an allowed answer (`before` is the tenant as its owner read it just before the call). */
  checkOk?: (res: Reply, ctx: { slug: Slug; before: TenantValue }) => Promise<void> | void;
  /** What the tenant needs before the case (run as its owner), so that a refusal can only come from access. */
  setup?: (slug: Slug) => Promise<void>;
}

/** Adds a custom domain to a tenant as its owner (already there is fine). */
async function ownerAddsDomain(slug: Slug, hostname: string) {
  const res = await call(domainsRoute, `/api/tenants/${slug}/domains`, {
    method: "POST",
    json: { hostname },
    params: { slug },
    cookie: cookies[seedOf(slug).owner],
  });
  expect([201, 409], `adding ${hostname} to ${slug}`).toContain(res.status);
}

const domainOf = (slug: string) => `cdn.${slug}.com`;

const TENANT_ENDPOINTS: TenantEndpoint[] = [
  {
    name: "GET /api/tenants/{slug}",
    route: tenantRoute,
    method: "GET",
    url: (slug) => `/api/tenants/${slug}`,
    okStatus: 200,
    checkOk: (res, { slug, before }) => expect(res.body).toEqual({ key: `tenant:${slug}`, value: before }),
  },
  {
    name: "PUT /api/tenants/{slug}",
    route: tenantRoute,
    method: "PUT",
    url: (slug) => `/api/tenants/${slug}`,
    body: { cacheTTL: 120 },
    okStatus: 200,
    checkOk: async (res, { slug, before }) => {
      expect(res.body).toEqual({ key: `tenant:${slug}`, value: { ...before, cacheTTL: 120, updatedAt: expect.any(String) } });
      expect(await readAsOwner(slug)).toEqual((res.body as { value: TenantValue }).value);
    },
  },
  {
    name: "DELETE /api/tenants/{slug}",
    route: tenantRoute,
    method: "DELETE",
    url: (slug) => `/api/tenants/${slug}`,
    okStatus: 200,
    checkOk: async (res, { slug }) => {
      expect(res.body).toEqual({ ok: true, key: `tenant:${slug}` });
      expect(await readAsOwner(slug)).toBeNull();
    },
  },
  { name: "GET …/analytics", route: analyticsRoute, method: "GET", url: (s) => `/api/tenants/${s}/analytics?period=7d`, okStatus: 200 },
  { name: "GET …/bandwidth-daily", route: bandwidthRoute, method: "GET", url: (s) => `/api/tenants/${s}/bandwidth-daily`, okStatus: 200 },
  { name: "GET …/usage", route: tenantUsageRoute, method: "GET", url: (s) => `/api/tenants/${s}/usage?period=30d`, okStatus: 200 },
  { name: "GET …/logs", route: logsRoute, method: "GET", url: (s) => `/api/tenants/${s}/logs?limit=5`, okStatus: 200 },
  {
    name: "POST …/refresh-cache",
    route: refreshRoute,
    method: "POST",
    url: (s) => `/api/tenants/${s}/refresh-cache`,
    body: { type: "all" },
    okStatus: 200,
    checkOk: (res, { before }) =>
      expect(res.body).toEqual({ ok: true, versions: { api: before.cacheVersions.api + 1, assets: before.cacheVersions.assets + 1 } }),
  },
  {
    name: "PUT …/api-config",
    route: apiConfigRoute,
    method: "PUT",
    url: (s) => `/api/tenants/${s}/api-config`,
    body: { apiOrigin: "https://cdn.contentful.com", apiAuthMode: "token" },
    okStatus: 200,
    checkOk: async (res, { slug }) => {
      expect(res.body).toMatchObject({ apiOrigin: "https://cdn.contentful.com", apiAuthMode: "token" });
      expect(await readAsOwner(slug)).toMatchObject({ apiOrigin: "https://cdn.contentful.com", apiAuthMode: "token" });
    },
  },
  {
    name: "PUT …/api-token",
    route: apiTokenRoute,
    method: "PUT",
    url: (s) => `/api/tenants/${s}/api-token`,
    body: { token: "isolation-secret-token" },
    okStatus: 200,
    checkOk: async (res, { slug }) => expect(await readAsOwner(slug)).toMatchObject({ apiTokenSet: true }),
  },
  {
    name: "GET …/domains",
    route: domainsRoute,
    method: "GET",
    url: (s) => `/api/tenants/${s}/domains`,
    okStatus: 200,
    setup: (slug) => ownerAddsDomain(slug, domainOf(slug)),
    checkOk: (res, { slug }) => expect((res.body as { domains: Array<{ hostname: string }> }).domains.map((d) => d.hostname)).toEqual([domainOf(slug)]),
  },
  {
    name: "POST …/domains",
    route: domainsRoute,
    method: "POST",
    url: (s) => `/api/tenants/${s}/domains`,
    body: { hostname: "www.isolation-added.com" },
    okStatus: 201,
  },
  {
    name: "DELETE …/domains",
    route: domainsRoute,
    method: "DELETE",
    url: (s) => `/api/tenants/${s}/domains?hostname=${domainOf(s)}`,
    okStatus: 200,
    setup: (slug) => ownerAddsDomain(slug, domainOf(slug)),
  },
  {
    name: "POST …/domains/verify",
    route: verifyRoute,
    method: "POST",
    url: (s) => `/api/tenants/${s}/domains/verify?hostname=${domainOf(s)}`,
    okStatus: 200,
    setup: (slug) => ownerAddsDomain(slug, domainOf(slug)),
    checkOk: (res, { slug }) => expect(res.body).toMatchObject({ hostname: domainOf(slug), status: "pending" }),
  },
];

// ---- helpers ---------------------------------------------------------------------------------------------------

const cookies = {} as Record<SessionName, string>;

function send(endpoint: TenantEndpoint, slug: string, session: SessionName) {
  return call(endpoint.route, endpoint.url(slug), {
    method: endpoint.method,
    json: endpoint.body,
    params: { slug },
    cookie: cookies[session],
  });
}

const seedOf = (slug: string) => TENANTS.find((t) => t.slug === slug) as Seed;

/** The tenant as its owner sees it, or null when it does not exist. */
async function readAsOwner(slug: string): Promise<TenantValue | null> {
  const res = await read(await call(tenantRoute, `/api/tenants/${slug}`, { params: { slug }, cookie: cookies[seedOf(slug).owner] }));
  if (res.status === 404) return null;
  expect(res.status, `reading ${slug} as its owner`).toBe(200);
  return (res.body as { value: TenantValue }).value;
}

async function snapshot(): Promise<Record<Slug, TenantValue | null>> {
  const values = await Promise.all(TENANTS.map((t) => readAsOwner(t.slug)));
  return Object.fromEntries(TENANTS.map((t, i) => [t.slug, values[i]])) as Record<Slug, TenantValue | null>;
}

/** Waits until the clock has moved on, so that tenants created one after another have distinct createdAt. */
async function nextMillisecond() {
  const start = Date.now();
  while (Date.now() === start) await new Promise((r) => setTimeout(r, 1));
}

/** Creates the tenant as its owner (deleting it first if it exists), so it is exactly as seeded. */
async function recreate(seed: Seed) {
  const cookie = cookies[seed.owner];
  const path = `/api/tenants/${seed.slug}`;
  const removed = await call(tenantRoute, path, { method: "DELETE", params: { slug: seed.slug }, cookie });
  expect([200, 404]).toContain(removed.status);
  await nextMillisecond();
  const created = await read(await call(tenantsRoute, "/api/tenants", { method: "POST", json: { slug: seed.slug, ...seed.create }, cookie }));
  expect(created.status, `creating ${seed.slug}: ${JSON.stringify(created.body)}`).toBe(201);
  await nextMillisecond();
}

beforeAll(async () => {
  await resetDb();
  // Every billing subject is on pro by its Account too: a plan limit applies with whoever calls, so that a session
  // allowed into another subject's tenant (an org member in a personal tenant, say) is not stopped by it.
  const subjects = ["user:user_alice", "user:user_bob", "user:user_carol", "org:org_one", "org:org_two"];
  await Account.insertMany(subjects.map((subject) => ({ subject, plan: "pro" as const })));
  for (const name of SESSION_NAMES) cookies[name] = await localCookie(SESSIONS[name]);
  for (const seed of TENANTS) await recreate(seed);
});

// ---- the tests -------------------------------------------------------------------------------------------------

describe("the access table", () => {
  it("agrees with the contract's rule for every (session, tenant) pair", () => {
    const derived = Object.fromEntries(
      SESSION_NAMES.map((s) => [s, Object.fromEntries(TENANTS.map((t) => [t.slug, contractAllows(SESSIONS[s], t)]))]),
    );
    expect(ACCESS).toEqual(derived);
  });

  it("matches the tenants as seeded: owned by their creator, in the organization active at creation", async () => {
    const values = await snapshot();
    for (const seed of TENANTS) {
      const value = values[seed.slug];
      expect(value, seed.slug).not.toBeNull();
      const owner: Who = SESSIONS[seed.owner];
      expect(value?.orgId, seed.slug).toBe(owner.orgId ?? null);
    }
  });
});

describe.each(TENANT_ENDPOINTS)("$name", (endpoint) => {
  // An allowed call that may change the tenant leaves it changed: put it back as seeded so cases stay independent.
  // Any tenant that went missing (an allowed DELETE, or a refused one that was not refused) is recreated too.
  let touched: Slug | null = null;
  afterEach(async () => {
    const values = await snapshot();
    for (const seed of TENANTS) {
      if (seed.slug === touched || values[seed.slug] === null) await recreate(seed);
    }
    touched = null;
  });

  for (const session of SESSION_NAMES) {
    for (const tenant of TENANTS) {
      const allowed = ACCESS[session][tenant.slug];
      const title = `${tenant.slug} as ${session}: ${allowed ? `allowed, ${endpoint.okStatus}` : "404 exactly as if missing"}`;

      it(title, async () => {
        await endpoint.setup?.(tenant.slug);
        const before = await snapshot();
        const target = before[tenant.slug] as TenantValue;
        expect(target, `${tenant.slug} exists before the case`).not.toBeNull();

        const reference = await read(await send(endpoint, MISSING, session));
        if (endpoint.method !== "GET" && allowed) touched = tenant.slug;
        const res = await read(await send(endpoint, tenant.slug, session));
        const after = await snapshot();

        if (allowed) {
          expect(res.status, JSON.stringify(res.body)).toBe(endpoint.okStatus);
          await endpoint.checkOk?.(res, { slug: tenant.slug, before: target });
        } else {
          // What a slug that does not exist gets, with the slug substituted.
          expect(reference.status).toBe(404);
          expect((reference.body as { error?: { code?: string } }).error?.code).toBe("not_found");
          const expected = JSON.parse(JSON.stringify(reference.body).replaceAll(MISSING, tenant.slug)) as {
            error: { message: string };
          };
          expect(res.status).toBe(404);
          expect(res.body).toEqual({ error: { code: "not_found", message: expected.error.message } });
          expect(res.body).toEqual(expected);
          expect({ contentType: res.contentType, cacheControl: res.cacheControl }).toEqual({
            contentType: reference.contentType,
            cacheControl: reference.cacheControl,
          });
          // Unchanged, down to cacheTTL and updatedAt; after a refused DELETE it still exists.
          expect(after[tenant.slug]).toEqual(target);
        }
        // Whatever happened to the target, the other tenants are untouched.
        for (const other of TENANTS) {
          if (other.slug !== tenant.slug) expect(after[other.slug], other.slug).toEqual(before[other.slug]);
        }
      });
    }
  }
});

describe("GET /api/tenants", () => {
  for (const session of SESSION_NAMES) {
    it(`as ${session}: exactly the accessible tenants, newest first`, async () => {
      const values = await snapshot();
      const expected = TENANTS.filter((t) => ACCESS[session][t.slug])
        .map((t) => values[t.slug] as TenantValue)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
        .map((v) => ({ slug: v.slug, cms: v.cms, proxyBase: v.proxyBase, createdAt: v.createdAt, updatedAt: v.updatedAt, domains: expect.any(Number) }));
      expect(new Set(expected.map((t) => t.createdAt)).size, "distinct creation times").toBe(expected.length);

      const res = await read(await call(tenantsRoute, "/api/tenants", { cookie: cookies[session] }));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ total: expected.length, tenants: expected });
    });
  }
});

describe("GET /api/tenants/slug-availability", () => {
  // Slugs are global: a slug someone else holds is taken for everyone. That is not an existence leak.
  for (const session of SESSION_NAMES) {
    it(`as ${session}: every tenant's slug is taken, a free one is available`, async () => {
      for (const slug of [...TENANTS.map((t) => t.slug), MISSING]) {
        const res = await read(
          await call(slugAvailabilityRoute, `/api/tenants/slug-availability?slug=${slug}`, { cookie: cookies[session] }),
        );
        expect(res.status, slug).toBe(200);
        expect(res.body, slug).toEqual(slug === MISSING ? { slug, available: true } : { slug, available: false, reason: "taken" });
      }
    });
  }
});

describe("GET /api/tenants/usage", () => {
  // Account usage is the caller's billing subject's: its own tenants, or its active organization's.
  const SUBJECT_TENANTS: Record<SessionName, Slug[]> = {
    alice: ["iso-alice"],
    aliceInOrgOne: ["iso-alice-org"],
    bob: ["iso-bob"],
    bobInOrgOne: ["iso-alice-org"],
    bobInOrgTwo: [],
    carol: [],
  };
  for (const session of SESSION_NAMES) {
    it(`as ${session}: only its billing subject's tenants`, async () => {
      const res = await read(await call(accountUsageRoute, "/api/tenants/usage", { cookie: cookies[session] }));
      expect(res.status).toBe(200);
      const listed = (res.body as { tenants: Array<{ slug: string }> }).tenants.map((t) => t.slug).sort();
      expect(listed).toEqual([...SUBJECT_TENANTS[session]].sort());
    });
  }
});
