// Custom domains (contract §4: GET/POST/DELETE /api/tenants/{slug}/domains, POST …/domains/verify), verified
// against a real DNS server on loopback whose zone each test sets, on the embedded store.
import { dnsServerAddress, questions, stopDnsServer, zone } from "#tests/fixtures/dns-server.ts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as domainsRoute from "#app/routes/api.tenants.$slug.domains.ts";
import * as verifyRoute from "#app/routes/api.tenants.$slug.domains.verify.ts";
import * as tenantRoute from "#app/routes/api.tenants.$slug.ts";
import * as tenantsRoute from "#app/routes/api.tenants.ts";
import { type DomainValue, domainListSchema, domainSchema } from "#app/schemas/domain.ts";
import { env } from "#app/server/env.server.ts";
import { Account } from "#models/account.ts";
import { Domain } from "#models/domain.ts";
import { Tenant } from "#models/tenant.ts";
import { localCookie } from "#tests/fixtures/auth.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { call, read } from "#tests/fixtures/http.ts";

const JSON_TYPE = "application/json; charset=utf-8";
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const TOKEN = /^[A-Za-z0-9_-]{32}$/;
const TARGET = "edge.example.net";
const UNAUTHORIZED = { error: { code: "unauthorized", message: "Sign in, or send a session token as Authorization: Bearer <token>" } };

type Reply = Awaited<ReturnType<typeof read>>;

let owner: string;
let stranger: string;
let freeUser: string;

// ---- requests ------------------------------------------------------------------------------------------------

const domainsUrl = (slug: string, hostname?: string) =>
  `/api/tenants/${slug}/domains${hostname === undefined ? "" : `?hostname=${encodeURIComponent(hostname)}`}`;

const list = async (cookie: string, slug: string) => read(await call(domainsRoute, domainsUrl(slug), { params: { slug }, cookie }));

const add = async (cookie: string, slug: string, hostname: unknown) =>
  read(await call(domainsRoute, domainsUrl(slug), { method: "POST", params: { slug }, json: { hostname }, cookie }));

/** DELETE with the hostname in the query (the default) or in a JSON body. */
const remove = async (cookie: string, slug: string, hostname?: string, via: "query" | "body" = "query") =>
  read(
    await call(domainsRoute, domainsUrl(slug, via === "query" ? hostname : undefined), {
      method: "DELETE",
      params: { slug },
      json: via === "body" ? { hostname } : undefined,
      cookie,
    }),
  );

/** POST …/verify with the hostname in a JSON body (the default) or in the query. */
const verify = async (cookie: string, slug: string, hostname?: string, via: "body" | "query" = "body") =>
  read(
    await call(verifyRoute, `/api/tenants/${slug}/domains/verify${via === "query" && hostname ? `?hostname=${encodeURIComponent(hostname)}` : ""}`, {
      method: "POST",
      params: { slug },
      json: via === "body" && hostname !== undefined ? { hostname } : undefined,
      cookie,
    }),
  );

async function createTenant(cookie: string, slug: string) {
  const res = await call(tenantsRoute, "/api/tenants", { method: "POST", json: { slug, cms: "storyblok" }, cookie });
  expect(res.status, `creating ${slug}`).toBe(201);
}

/** Adds a domain that must be accepted, and returns it. */
/**
 * The 404s of an action on a domain: a hostname the tenant does not have, another tenant's domain (added here by the
 * stranger on "dom-other"), and tenants the owner cannot reach — each with its message, nothing else said.
 */
async function expectDomainNotFound(
  act: (slug: string, hostname: string) => Promise<Awaited<ReturnType<typeof read>>>,
  slug: string,
  unknownHost: string,
  theirHost: string,
): Promise<void> {
  const unknown = await act(slug, unknownHost);
  expect(unknown.status).toBe(404);
  expectJsonHeaders(unknown);
  expect(unknown.body).toEqual({ error: { code: "not_found", message: `No domain "${unknownHost}" on tenant "${slug}"` } });

  await added(stranger, "dom-other", theirHost);
  const theirs = await act(slug, theirHost);
  expect(theirs.body).toEqual({ error: { code: "not_found", message: `No domain "${theirHost}" on tenant "${slug}"` } });

  for (const other of ["dom-nobody", "dom-other"]) {
    const res = await act(other, theirHost);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: "not_found", message: `No tenant "${other}"` } });
  }
}

async function added(cookie: string, slug: string, hostname: string): Promise<DomainValue> {
  const res = await add(cookie, slug, hostname);
  expect(res.status, `adding ${hostname}`).toBe(201);
  return res.body as unknown as DomainValue;
}

const tokenOf = (domain: DomainValue) => domain.verification[1].value;
const domainCount = async (slug: string) => (await Tenant.findOne({ slug }).lean())?.domainCount;

// ---- expected bodies ---------------------------------------------------------------------------------------------

const challenge = (hostname: string) => `_cmsassets-challenge.${hostname}`;

function expectJsonHeaders(res: Reply) {
  expect(res.contentType).toBe(JSON_TYPE);
  expect(res.cacheControl).toBe("no-store");
}

/** A Domain as the API shows it: freshly added unless `state` says otherwise. */
function domainBody(hostname: string, token: string | unknown, state: Partial<Record<keyof DomainValue, unknown>> = {}) {
  return {
    hostname,
    status: "pending",
    verification: [
      { type: "CNAME", name: hostname, value: TARGET },
      { type: "TXT", name: challenge(hostname), value: token },
    ],
    checks: [],
    error: null,
    lastCheckedAt: null,
    verifiedAt: null,
    createdAt: expect.stringMatching(ISO),
    ...state,
  };
}

/** The two checks of a verification: what was found for the CNAME and the TXT record, and whether each matched. */
function checks(hostname: string, token: string, cname: [string[], boolean], txt: [string[], boolean]) {
  return [
    { type: "CNAME", name: hostname, expected: TARGET, found: cname[0], ok: cname[1] },
    { type: "TXT", name: challenge(hostname), expected: token, found: txt[0], ok: txt[1] },
  ];
}

// ---- the DNS zone ------------------------------------------------------------------------------------------------

/** Publishes what a tenant's owner would create at their DNS provider (replacing what was there). */
function publish(hostname: string, records: { cname?: string[]; txt?: string[][] }) {
  zone.delete(hostname);
  zone.delete(challenge(hostname));
  if (records.cname) zone.set(hostname, { CNAME: records.cname });
  if (records.txt) zone.set(challenge(hostname), { TXT: records.txt });
}

/** The records the API asked for, exactly. The token is split in two chunks, as a long TXT value arrives. */
function publishCorrect(hostname: string, token: string) {
  publish(hostname, { cname: [TARGET], txt: [[token.slice(0, 10), token.slice(10)]] });
}

beforeAll(async () => {
  await resetDb();
  owner = await localCookie({ userId: "dom-owner", plan: "pro" });
  stranger = await localCookie({ userId: "dom-stranger", plan: "pro" });
  freeUser = await localCookie({ userId: "dom-free-user", plan: "free" });
  await createTenant(owner, "dom-main");
  await createTenant(stranger, "dom-other");
  await createTenant(freeUser, "dom-free");
});

beforeEach(() => {
  zone.clear();
});

afterAll(async () => {
  await stopDnsServer();
});

// ---- conventions -------------------------------------------------------------------------------------------------

describe("conventions", () => {
  it("points the app at the loopback DNS server", () => {
    expect(env.dnsServers).toEqual([dnsServerAddress]);
  });

  it("answers 401 JSON on every domain endpoint without a session", async () => {
    const replies = await Promise.all([
      list("", "dom-main"),
      add("", "dom-main", "cdn.acme-shop.com"),
      remove("", "dom-main", "cdn.acme-shop.com"),
      verify("", "dom-main", "cdn.acme-shop.com"),
    ]);
    for (const res of replies) {
      expect(res.status).toBe(401);
      expectJsonHeaders(res);
      expect(res.body).toEqual(UNAUTHORIZED);
    }
  });

  it("answers 405 with Allow for methods the routes do not serve", async () => {
    const cases: Array<[Parameters<typeof call>[0], string, string, string]> = [
      [domainsRoute, "/api/tenants/dom-main/domains", "PUT", "GET, HEAD, POST, DELETE"],
      [domainsRoute, "/api/tenants/dom-main/domains", "PATCH", "GET, HEAD, POST, DELETE"],
      [verifyRoute, "/api/tenants/dom-main/domains/verify", "GET", "POST"],
      [verifyRoute, "/api/tenants/dom-main/domains/verify", "DELETE", "POST"],
    ];
    for (const [route, url, method, allow] of cases) {
      const res = await read(await call(route, url, { method, params: { slug: "dom-main" }, cookie: owner }));
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
      expectJsonHeaders(res);
      expect(res.body).toEqual({ error: { code: "method_not_allowed", message: `${method} is not allowed here` } });
    }
  });

  it("answers 415 for a body that is not application/json", async () => {
    const res = await read(
      await call(domainsRoute, "/api/tenants/dom-main/domains", {
        method: "POST",
        params: { slug: "dom-main" },
        body: "hostname=cdn.acme-shop.com",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        cookie: owner,
      }),
    );
    expect(res.status).toBe(415);
    expectJsonHeaders(res);
    expect(res.body).toEqual({ error: { code: "unsupported_media_type", message: "Request bodies must be application/json" } });
  });
});

// ---- POST ------------------------------------------------------------------------------------------------------------

describe("POST /api/tenants/{slug}/domains", () => {
  it("adds a pending domain with the records to create and a fresh token", async () => {
    const res = await add(owner, "dom-main", "cdn.acme-shop.com");
    expect(res.status).toBe(201);
    expectJsonHeaders(res);
    expect(res.body).toEqual(domainBody("cdn.acme-shop.com", expect.stringMatching(TOKEN)));
    expect(domainSchema.safeParse(res.body).success).toBe(true);

    const stored = await Domain.findOne({ hostname: "cdn.acme-shop.com" }).lean();
    expect(stored?.token).toBe(tokenOf(res.body as unknown as DomainValue));
    expect(stored?.status).toBe("pending");
    expect(await domainCount("dom-main")).toBe(1);
  });

  it("gives every domain its own token", async () => {
    const a = await added(owner, "dom-main", "img1.acme-shop.com");
    const b = await added(owner, "dom-main", "img2.acme-shop.com");
    expect(tokenOf(a)).not.toBe(tokenOf(b));
  });

  it("normalizes case, surrounding spaces and the trailing dot", async () => {
    const res = await add(owner, "dom-main", "  Assets.ACME-Shop.com.  ");
    expect(res.status).toBe(201);
    expect(res.body).toEqual(domainBody("assets.acme-shop.com", expect.stringMatching(TOKEN)));
  });

  it("stores an internationalized hostname in punycode", async () => {
    const res = await add(owner, "dom-main", "Bilder.Bücher.de");
    expect(res.status).toBe(201);
    expect(res.body).toEqual(domainBody("bilder.xn--bcher-kva.de", expect.stringMatching(TOKEN)));
    expect(await Domain.countDocuments({ hostname: "bilder.xn--bcher-kva.de" })).toBe(1);
    // The Unicode spelling names the same domain everywhere.
    const again = await add(owner, "dom-main", "bilder.bücher.de");
    expect(again.status).toBe(409);
  });

  it("accepts a subdomain under a multi-label public suffix and under a private-section suffix", async () => {
    expect((await add(owner, "dom-main", "media.acme.co.uk")).body).toMatchObject({ hostname: "media.acme.co.uk" });
    // ICANN section only: github.io is a registrable domain, so a name under it is a subdomain.
    expect((await add(owner, "dom-main", "static.github.io")).body).toMatchObject({ hostname: "static.github.io" });
  });

  const apex = "must be a subdomain such as cdn.example.com: an apex domain cannot have a CNAME record";
  const ip = "must be a hostname, not an IP address";
  const suffix = "must end in a known public suffix such as .com or .co.uk";
  const labels = "must be a valid hostname: labels of letters, digits and inner hyphens, separated by dots";
  it.each([
    ["acme-shop.com", apex],
    ["Acme.Co.UK.", apex],
    ["co.uk", "must be a subdomain of a registrable domain, not a public suffix"],
    ["203.0.113.7", ip],
    ["127.1", ip],
    ["2130706433", ip],
    ["2001:db8::1", ip],
    ["[2001:db8::1]", ip],
    ["[::1]:443", ip],
    ["*.acme-shop.com", "must be a single hostname, not a wildcard"],
    ["cdn.*.acme-shop.com", "must be a single hostname, not a wildcard"],
    ["cdn.acme-shop.com:8443", "must not include a port"],
    ["https://cdn.acme-shop.com", "must be a hostname without a scheme (cdn.example.com, not https://…)"],
    ["cdn.acme-shop.com/images", "must be a hostname without a path, query or fragment"],
    ["cdn.acme-shop.com?x=1", "must be a hostname without a path, query or fragment"],
    ["localhost", "must not be localhost"],
    ["cdn.localhost", "must not be localhost"],
    ["edge.example.net", "must not be the CNAME target itself"],
    ["cdn.example.net", "must not be under example.net, the service's own domain"],
    ["a.b.edge.example.net", "must not be under example.net, the service's own domain"],
    ["cdn.acme.notatld", suffix],
    ["cdn.acme.test", suffix],
    ["intranet", suffix],
    ["cdn.example.com", "must be a public hostname, not a special-use name (such as .test, .onion or example.com)"],
    ["cdn.hidden.onion", "must be a public hostname, not a special-use name (such as .test, .onion or example.com)"],
    ["cdn_1.acme-shop.com", labels],
    ["-cdn.acme-shop.com", labels],
    ["cdn..acme-shop.com", labels],
    [`${"a".repeat(64)}.acme-shop.com`, labels],
    [`${"a".repeat(60)}.${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(60)}.acme-shop.com`, "must be at most 253 characters"],
    ["cdn acme-shop.com", "must be a valid hostname"],
    ["user@cdn.acme-shop.com", "must be a valid hostname"],
    ["xn--zz.acme-shop.com", "must be a valid hostname"],
    ["", "is required"],
    ["   ", "is required"],
    [42, "must be a string"],
    [undefined, "is required"],
  ])("refuses %j with 400", async (hostname, message) => {
    const before = await Domain.countDocuments();
    const res = await add(owner, "dom-main", hostname);
    expect(res.status).toBe(400);
    expectJsonHeaders(res);
    expect(res.body).toEqual({ error: { code: "invalid_request", message: "Invalid request body", issues: [{ path: "hostname", message }] } });
    expect(await Domain.countDocuments()).toBe(before);
  });

  it("rejects unknown fields", async () => {
    const res = await read(
      await call(domainsRoute, domainsUrl("dom-main"), {
        method: "POST",
        params: { slug: "dom-main" },
        json: { hostname: "extra.acme-shop.com", tenant: "dom-other" },
        cookie: owner,
      }),
    );
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: { code: "invalid_request", message: "Invalid request body", issues: [{ path: "tenant", message: "is not a known field" }] },
    });
  });

  it("answers 403 plan_limit on a free tenant (no custom domains), with the plan and its limit", async () => {
    const res = await add(freeUser, "dom-free", "cdn.free-shop.com");
    expect(res.status).toBe(403);
    expectJsonHeaders(res);
    expect(res.body).toEqual({ error: { code: "plan_limit", message: "The free plan allows 0 custom domains per tenant", plan: "free", limit: 0 } });
    expect(await Domain.countDocuments({ hostname: "cdn.free-shop.com" })).toBe(0);
    expect(await domainCount("dom-free")).toBe(0);
  });

  it("answers 403 plan_limit for a pro tenant's 11th domain", async () => {
    await createTenant(owner, "dom-full");
    for (let i = 1; i <= 10; i++) await added(owner, "dom-full", `n${i}.full-shop.com`);
    const res = await add(owner, "dom-full", "n11.full-shop.com");
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: { code: "plan_limit", message: "The pro plan allows 10 custom domains per tenant", plan: "pro", limit: 10 } });
    expect(await domainCount("dom-full")).toBe(10);
    expect((await list(owner, "dom-full")).body?.domains).toHaveLength(10);
  });

  it("counts against the plan of the tenant's billing subject, as its own sessions last claimed it, not the caller's own", async () => {
    const inOrg = (plan: "free" | "pro") => localCookie({ userId: "dom-org-owner", orgId: "org_dom", plan });
    const personal = await localCookie({ userId: "dom-org-owner", plan: "pro" });
    await createTenant(await inOrg("pro"), "dom-org");
    // With the organization active, the session's plan claim is the organization's.
    expect((await add(await inOrg("pro"), "dom-org", "one.org-shop.com")).status).toBe(201);
    // Without it, the organization's plan is the one its sessions last claimed (as the edge applies it).
    expect((await add(personal, "dom-org", "two.org-shop.com")).status).toBe(201);
    // Once a session of the organization claims free, the owner's personal pro claim says nothing for it.
    expect((await list(await inOrg("free"), "dom-org")).status).toBe(200);
    const refused = await add(personal, "dom-org", "three.org-shop.com");
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ error: { code: "plan_limit", message: "The free plan allows 0 custom domains per tenant", plan: "free", limit: 0 } });
    expect(await domainCount("dom-org")).toBe(2);
  });

  it("reads the Account's plan for a tenant's billing subject whose sessions claim none", async () => {
    await Tenant.create({ slug: "dom-unclaimed", ownerId: "dom-org-owner", orgId: "org_unclaimed", billingSubject: "org:org_unclaimed", cms: "contentful", spaceId: "sp1", cacheTTL: 3600 });
    const personal = await localCookie({ userId: "dom-org-owner", orgId: undefined, plan: "pro" });
    const refused = await add(personal, "dom-unclaimed", "one.unclaimed-shop.com");
    expect(refused.body).toEqual({ error: { code: "plan_limit", message: "The free plan allows 0 custom domains per tenant", plan: "free", limit: 0 } });
    await Account.create({ subject: "org:org_unclaimed", plan: "pro" });
    expect((await add(personal, "dom-unclaimed", "one.unclaimed-shop.com")).status).toBe(201);
  });

  it("never exceeds the limit, however many adds race: 10 parallel adds with 3 slots left make exactly 3", async () => {
    await createTenant(owner, "dom-race");
    for (let i = 1; i <= 7; i++) await added(owner, "dom-race", `pre${i}.race-shop.com`);
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => add(owner, "dom-race", `race${i}.race-shop.com`)));
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s === 403)).toHaveLength(7);
    for (const r of replies.filter((r) => r.status === 403)) {
      expect(r.body).toEqual({ error: { code: "plan_limit", message: "The pro plan allows 10 custom domains per tenant", plan: "pro", limit: 10 } });
    }
    const tenant = await Tenant.findOne({ slug: "dom-race" }).lean();
    expect(await Domain.countDocuments({ tenant: tenant?._id })).toBe(10);
    expect(tenant?.domainCount).toBe(10);
  });

  it("corrects a slot count left too high by a crash, once no add has touched the tenant for a minute", async () => {
    await createTenant(owner, "dom-leak");
    // As if ten adds had reserved their slots and crashed before inserting: the count says full, no domain exists.
    await Tenant.collection.updateOne({ slug: "dom-leak" }, { $set: { domainCount: 10, updatedAt: new Date() } });
    expect((await add(owner, "dom-leak", "a.leak-shop.com")).status).toBe(403);
    // A minute later nothing can still be in flight: the count is set to the domains that exist, and the add goes on.
    await Tenant.collection.updateOne({ slug: "dom-leak" }, { $set: { updatedAt: new Date(Date.now() - 61_000) } });
    expect((await add(owner, "dom-leak", "a.leak-shop.com")).status).toBe(201);
    expect(await domainCount("dom-leak")).toBe(1);
  });

  it("answers 409 domain_taken for a hostname another tenant has, in any spelling, and gives the slot back", async () => {
    await added(stranger, "dom-other", "shared.acme-shop.com");
    const before = await domainCount("dom-main");
    for (const spelling of ["shared.acme-shop.com", "SHARED.Acme-Shop.COM", "shared.acme-shop.com."]) {
      const res = await add(owner, "dom-main", spelling);
      expect(res.status).toBe(409);
      expectJsonHeaders(res);
      expect(res.body).toEqual({ error: { code: "domain_taken", message: 'The hostname "shared.acme-shop.com" is taken' } });
    }
    // The tenant that has it cannot add it twice either.
    expect((await add(stranger, "dom-other", "Shared.acme-shop.com")).status).toBe(409);
    expect(await domainCount("dom-main")).toBe(before);
    expect(await Domain.countDocuments({ hostname: "shared.acme-shop.com" })).toBe(1);
  });

  it("lets exactly one of several tenants racing for one hostname have it", async () => {
    const cookies = await Promise.all(Array.from({ length: 6 }, (_, i) => localCookie({ userId: `dom-racer-${i}`, plan: "pro" })));
    await Promise.all(cookies.map((c, i) => createTenant(c, `dom-racer-${i}`)));
    const replies = await Promise.all(cookies.map((c, i) => add(c, `dom-racer-${i}`, "contested.acme-shop.com")));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
    const counts = await Promise.all(cookies.map((_, i) => domainCount(`dom-racer-${i}`)));
    expect(counts.reduce((a, b) => (a ?? 0) + (b ?? 0), 0)).toBe(1);
  });

  it("answers 404 for a tenant that does not exist or belongs to someone else, and adds nothing", async () => {
    for (const slug of ["dom-nobody", "dom-other"]) {
      const res = await add(owner, slug, "sneaky.acme-shop.com");
      expect(res.status).toBe(404);
      expectJsonHeaders(res);
      expect(res.body).toEqual({ error: { code: "not_found", message: `No tenant "${slug}"` } });
    }
    expect(await Domain.countDocuments({ hostname: "sneaky.acme-shop.com" })).toBe(0);
  });

  it("checks tenant access before the body", async () => {
    const res = await add(owner, "dom-other", "https://not-even-a-hostname/");
    expect(res.status).toBe(404);
  });
});

// ---- GET ---------------------------------------------------------------------------------------------------------------

describe("GET /api/tenants/{slug}/domains", () => {
  it("lists a tenant's domains oldest first, as whole Domains", async () => {
    await createTenant(owner, "dom-list");
    const first = await added(owner, "dom-list", "b.list-shop.com");
    const second = await added(owner, "dom-list", "a.list-shop.com");
    const third = await added(owner, "dom-list", "c.list-shop.com");
    const res = await list(owner, "dom-list");
    expect(res.status).toBe(200);
    expectJsonHeaders(res);
    expect(res.body).toEqual({
      domains: [
        domainBody("b.list-shop.com", tokenOf(first), { createdAt: first.createdAt }),
        domainBody("a.list-shop.com", tokenOf(second), { createdAt: second.createdAt }),
        domainBody("c.list-shop.com", tokenOf(third), { createdAt: third.createdAt }),
      ],
    });
    expect(domainListSchema.safeParse(res.body).success).toBe(true);
    // The tenants list counts them.
    const tenants = await read(await call(tenantsRoute, "/api/tenants", { cookie: owner }));
    expect((tenants.body?.tenants as Array<{ slug: string; domains: number }>).find((t) => t.slug === "dom-list")?.domains).toBe(3);
  });

  it("lists nothing for a tenant without domains", async () => {
    const res = await list(freeUser, "dom-free");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ domains: [] });
  });

  it("answers 404 for a tenant that does not exist or belongs to someone else", async () => {
    for (const slug of ["dom-nobody", "dom-other"]) {
      const res = await list(owner, slug);
      expect(res.status).toBe(404);
      expectJsonHeaders(res);
      expect(res.body).toEqual({ error: { code: "not_found", message: `No tenant "${slug}"` } });
    }
  });
});

// ---- verify --------------------------------------------------------------------------------------------------------------

describe("POST /api/tenants/{slug}/domains/verify", () => {
  let seq = 0;
  /** The tenant each test domain is on: a tenant of its own, as a pro tenant holds at most 10 domains. */
  const tenantOf = new Map<string, string>();

  /** A new domain on a new tenant, and its token. */
  async function fresh(): Promise<{ hostname: string; token: string; createdAt: string }> {
    const slug = `dom-verify-${++seq}`;
    await createTenant(owner, slug);
    const domain = await added(owner, slug, `v${seq}.verify-shop.com`);
    tenantOf.set(domain.hostname, slug);
    return { hostname: domain.hostname, token: tokenOf(domain), createdAt: domain.createdAt };
  }

  beforeAll(async () => {
    await createTenant(owner, "dom-verify");
  });

  /** Verifies, expects 200 JSON, and checks that what was answered is what is stored. */
  async function verified(hostname: string, via: "body" | "query" = "body"): Promise<Reply> {
    const slug = tenantOf.get(hostname.toLowerCase().replace(/\.$/, "")) as string;
    const res = await verify(owner, slug, hostname, via);
    expect(res.status).toBe(200);
    expectJsonHeaders(res);
    expect(domainSchema.safeParse(res.body).success).toBe(true);
    const listed = (await list(owner, slug)).body?.domains as DomainValue[];
    expect(listed).toEqual([res.body]);
    return res;
  }

  it("stays pending while nothing is published (NXDOMAIN for the CNAME, no TXT records)", async () => {
    const { hostname, token, createdAt } = await fresh();
    zone.set(challenge(hostname), {});
    const res = await verified(hostname);
    expect(res.body).toEqual(
      domainBody(hostname, token, {
        createdAt,
        checks: checks(hostname, token, [[], false], [[], false]),
        lastCheckedAt: expect.stringMatching(ISO),
      }),
    );
    // The app asked the loopback server, for both records.
    expect(questions).toEqual(expect.arrayContaining([`CNAME ${hostname}`, `TXT ${challenge(hostname)}`]));
  });

  it("stays pending when neither name exists (NXDOMAIN for both)", async () => {
    const { hostname, token, createdAt } = await fresh();
    const res = await verified(hostname);
    expect(res.body).toEqual(
      domainBody(hostname, token, {
        createdAt,
        checks: checks(hostname, token, [[], false], [[], false]),
        lastCheckedAt: expect.stringMatching(ISO),
      }),
    );
  });

  it("stays pending when only one record is there yet", async () => {
    const { hostname, token } = await fresh();
    publish(hostname, { cname: [TARGET] });
    const res = await verified(hostname);
    expect(res.body).toMatchObject({ status: "pending", checks: checks(hostname, token, [[TARGET], true], [[], false]), error: null });
  });

  it("becomes active when the CNAME points at the target and the TXT holds the token (chunks joined)", async () => {
    const { hostname, token, createdAt } = await fresh();
    publishCorrect(hostname, token);
    const res = await verified(hostname);
    const body = res.body as unknown as DomainValue;
    expect(body).toEqual(
      domainBody(hostname, token, {
        createdAt,
        status: "active",
        checks: checks(hostname, token, [[TARGET], true], [[token], true]),
        lastCheckedAt: expect.stringMatching(ISO),
        verifiedAt: body.lastCheckedAt,
      }),
    );
  });

  it("compares the CNAME without regard to case or a trailing dot", async () => {
    const { hostname, token } = await fresh();
    publish(hostname, { cname: ["EDGE.Example.NET."], txt: [[token]] });
    const res = await verified(hostname);
    expect(res.body).toMatchObject({ status: "active", checks: checks(hostname, token, [[TARGET], true], [[token], true]) });
  });

  it("fails when the CNAME points elsewhere", async () => {
    const { hostname, token, createdAt } = await fresh();
    publish(hostname, { cname: ["cdn.other-provider.net"], txt: [[token]] });
    const res = await verified(hostname);
    expect(res.body).toEqual(
      domainBody(hostname, token, {
        createdAt,
        status: "failed",
        checks: checks(hostname, token, [["cdn.other-provider.net"], false], [[token], true]),
        lastCheckedAt: expect.stringMatching(ISO),
      }),
    );
  });

  it("fails when the TXT record holds another value (and says every value it found)", async () => {
    const { hostname, token, createdAt } = await fresh();
    publish(hostname, { cname: [TARGET], txt: [["wrong-token"], ["v=spf1 -all"]] });
    const res = await verified(hostname);
    expect(res.body).toEqual(
      domainBody(hostname, token, {
        createdAt,
        status: "failed",
        checks: checks(hostname, token, [[TARGET], true], [["wrong-token", "v=spf1 -all"], false]),
        lastCheckedAt: expect.stringMatching(ISO),
      }),
    );
  });

  it("accepts the token among other TXT records", async () => {
    const { hostname, token } = await fresh();
    publish(hostname, { cname: [TARGET], txt: [["old-token"], [token]] });
    expect((await verified(hostname)).body).toMatchObject({ status: "active" });
  });

  it.each([
    ["SERVFAIL", "the DNS server could not answer (SERVFAIL)"],
    ["REFUSED", "the DNS server refused the query"],
  ] as const)("stays pending with an error when the DNS server answers %s", async (rcode, why) => {
    const { hostname, token, createdAt } = await fresh();
    zone.set(hostname, { rcode });
    zone.set(challenge(hostname), { rcode });
    const res = await verified(hostname);
    expect(res.body).toEqual(
      domainBody(hostname, token, {
        createdAt,
        checks: checks(hostname, token, [[], false], [[], false]),
        error: `CNAME lookup of ${hostname} failed: ${why}; TXT lookup of ${challenge(hostname)} failed: ${why}`,
        lastCheckedAt: expect.stringMatching(ISO),
      }),
    );
  });

  it("stays pending with an error, within 5 s, when the DNS server never answers", async () => {
    const { hostname, token, createdAt } = await fresh();
    zone.set(hostname, { silent: true });
    zone.set(challenge(hostname), { silent: true });
    const started = Date.now();
    const res = await verified(hostname);
    expect(Date.now() - started).toBeLessThan(5_000);
    const why = "the DNS server did not answer in time";
    expect(res.body).toEqual(
      domainBody(hostname, token, {
        createdAt,
        checks: checks(hostname, token, [[], false], [[], false]),
        error: `CNAME lookup of ${hostname} failed: ${why}; TXT lookup of ${challenge(hostname)} failed: ${why}`,
        lastCheckedAt: expect.stringMatching(ISO),
      }),
    );
  });

  it("keeps a live domain active through DNS failures, and clears the error once DNS answers again", async () => {
    const { hostname, token } = await fresh();
    publishCorrect(hostname, token);
    const live = (await verified(hostname)).body as unknown as DomainValue;
    expect(live.status).toBe("active");

    zone.set(hostname, { rcode: "SERVFAIL" });
    const servfail = (await verified(hostname)).body as unknown as DomainValue;
    expect(servfail).toEqual({
      ...live,
      checks: checks(hostname, token, [[], false], [[token], true]),
      error: `CNAME lookup of ${hostname} failed: the DNS server could not answer (SERVFAIL)`,
      lastCheckedAt: expect.stringMatching(ISO),
    });
    expect(servfail.verifiedAt).toBe(live.verifiedAt);

    zone.set(challenge(hostname), { silent: true });
    const started = Date.now();
    const silent = (await verified(hostname)).body as unknown as DomainValue;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(silent).toMatchObject({ status: "active", verifiedAt: live.verifiedAt });
    expect(silent.error).toBe(
      `CNAME lookup of ${hostname} failed: the DNS server could not answer (SERVFAIL); ` +
        `TXT lookup of ${challenge(hostname)} failed: the DNS server did not answer in time`,
    );

    publishCorrect(hostname, token);
    const back = (await verified(hostname)).body as unknown as DomainValue;
    expect(back).toEqual({ ...live, lastCheckedAt: expect.stringMatching(ISO) });
    expect(back.lastCheckedAt! > live.lastCheckedAt!).toBe(true);
  });

  it("can be re-verified any number of times, following the records", async () => {
    const { hostname, token } = await fresh();
    const steps: Array<[() => void, string]> = [
      [() => undefined, "pending"],
      [() => publishCorrect(hostname, token), "active"],
      [() => undefined, "active"],
      [() => publish(hostname, { cname: ["elsewhere.other-provider.net"], txt: [[token]] }), "failed"],
      [() => publish(hostname, {}), "pending"],
      [() => publish(hostname, { cname: [TARGET], txt: [["stale"]] }), "failed"],
      [() => publishCorrect(hostname, token), "active"],
    ];
    let previous: DomainValue | undefined;
    let firstActive: string | null = null;
    for (const [change, status] of steps) {
      change();
      const body = (await verified(hostname)).body as unknown as DomainValue;
      expect(body.status).toBe(status);
      if (previous) expect(body.lastCheckedAt! >= previous.lastCheckedAt!).toBe(true);
      if (status === "active") {
        // Re-verifying a live domain keeps the moment it went live; leaving and coming back starts anew.
        if (previous?.status === "active") expect(body.verifiedAt).toBe(firstActive);
        else expect(body.verifiedAt).toBe(body.lastCheckedAt);
        firstActive = body.verifiedAt;
      } else {
        expect(body.verifiedAt).toBeNull();
      }
      previous = body;
      await new Promise((r) => setTimeout(r, 2));
    }
  });

  it("handles concurrent verifies of one domain: each answers, and the newest outcome is the one stored", async () => {
    const { hostname, token } = await fresh();
    publishCorrect(hostname, token);
    const slug = tenantOf.get(hostname) as string;
    const replies = await Promise.all(Array.from({ length: 8 }, () => verify(owner, slug, hostname)));
    for (const res of replies) {
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ hostname, status: "active", error: null, checks: checks(hostname, token, [[TARGET], true], [[token], true]) });
    }
    const stored = (await list(owner, slug)).body?.domains as DomainValue[];
    const mine = stored.find((d) => d.hostname === hostname) as DomainValue;
    const newest = replies.map((r) => (r.body as unknown as DomainValue).lastCheckedAt as string).sort().at(-1);
    expect(mine.lastCheckedAt).toBe(newest);
    expect(mine.status).toBe("active");
    expect(mine.verifiedAt).not.toBeNull();
  });

  it("takes the hostname from the query too, in any spelling", async () => {
    const { hostname, token } = await fresh();
    publishCorrect(hostname, token);
    const res = await verified(`${hostname.toUpperCase()}.`, "query");
    expect(res.body).toMatchObject({ hostname, status: "active" });
  });

  it("answers 400 without a hostname, or with one in both the body and the query", async () => {
    const missing = await verify(owner, "dom-verify");
    expect(missing.status).toBe(400);
    expectJsonHeaders(missing);
    expect(missing.body).toEqual({ error: { code: "invalid_request", message: "Invalid query", issues: [{ path: "hostname", message: "is required" }] } });

    const empty = await verify(owner, "dom-verify", "  ");
    expect(empty.body).toEqual({
      error: { code: "invalid_request", message: "Invalid request body", issues: [{ path: "hostname", message: "is required" }] },
    });

    const both = await read(
      await call(verifyRoute, "/api/tenants/dom-verify/domains/verify?hostname=a.verify-shop.com", {
        method: "POST",
        params: { slug: "dom-verify" },
        json: { hostname: "b.verify-shop.com" },
        cookie: owner,
      }),
    );
    expect(both.status).toBe(400);
    expect(both.body).toEqual({
      error: { code: "invalid_request", message: "Invalid request", issues: [{ path: "hostname", message: "must be given in the body or in the query, not both" }] },
    });
  });

  it("answers 404 for an unknown domain, another tenant's domain, or a tenant the caller cannot access", async () => {
    await expectDomainNotFound((slug, hostname) => verify(owner, slug, hostname), "dom-verify", "nope.verify-shop.com", "theirs.other-shop.com");
    expect((await Domain.findOne({ hostname: "theirs.other-shop.com" }).lean())?.lastCheckedAt).toBeNull();
  });
});

// ---- DELETE ------------------------------------------------------------------------------------------------------------

describe("DELETE /api/tenants/{slug}/domains", () => {
  beforeAll(async () => {
    await createTenant(owner, "dom-delete");
  });

  it("removes a domain named in the query, gives its slot back and frees the hostname", async () => {
    await added(owner, "dom-delete", "gone.delete-shop.com");
    const kept = await added(owner, "dom-delete", "kept.delete-shop.com");
    expect(await domainCount("dom-delete")).toBe(2);

    const res = await remove(owner, "dom-delete", "gone.delete-shop.com");
    expect(res.status).toBe(200);
    expectJsonHeaders(res);
    expect(res.body).toEqual({ ok: true });
    expect((await list(owner, "dom-delete")).body).toEqual({ domains: [domainBody("kept.delete-shop.com", tokenOf(kept), { createdAt: kept.createdAt })] });
    expect(await domainCount("dom-delete")).toBe(1);
    // Any tenant may now claim the hostname.
    expect((await add(stranger, "dom-other", "gone.delete-shop.com")).status).toBe(201);
  });

  it("removes a domain named in a JSON body, in any spelling", async () => {
    await added(owner, "dom-delete", "body.delete-shop.com");
    const res = await remove(owner, "dom-delete", "Body.Delete-Shop.com.", "body");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
    expect(await Domain.countDocuments({ hostname: "body.delete-shop.com" })).toBe(0);
  });

  it("takes the hostname from the query when the body is empty, whatever Content-Type the client sets on every request", async () => {
    for (const [i, type] of ["application/json", "text/plain"].entries()) {
      const hostname = `empty-body-${i}.delete-shop.com`;
      await added(owner, "dom-delete", hostname);
      const res = await read(
        await call(domainsRoute, domainsUrl("dom-delete", hostname), { method: "DELETE", params: { slug: "dom-delete" }, body: "", headers: { "Content-Type": type }, cookie: owner }),
      );
      expect([res.status, res.body]).toEqual([200, { ok: true }]);
      expect(await Domain.countDocuments({ hostname })).toBe(0);
    }
  });

  it("frees a plan slot: a full pro tenant can add a domain again", async () => {
    expect((await add(owner, "dom-full", "n11.full-shop.com")).status).toBe(403);
    expect((await remove(owner, "dom-full", "n3.full-shop.com")).status).toBe(200);
    expect((await add(owner, "dom-full", "n11.full-shop.com")).status).toBe(201);
    expect(await domainCount("dom-full")).toBe(10);
  });

  it("answers 400 without a hostname", async () => {
    const res = await remove(owner, "dom-delete");
    expect(res.status).toBe(400);
    expectJsonHeaders(res);
    expect(res.body).toEqual({ error: { code: "invalid_request", message: "Invalid query", issues: [{ path: "hostname", message: "is required" }] } });
    const emptyBody = await remove(owner, "dom-delete", undefined, "body");
    expect(emptyBody.body).toEqual({
      error: { code: "invalid_request", message: "Invalid request body", issues: [{ path: "hostname", message: "is required" }] },
    });
  });

  it("answers 404 for an unknown domain, another tenant's domain, or a tenant the caller cannot access", async () => {
    await expectDomainNotFound((slug, hostname) => remove(owner, slug, hostname), "dom-delete", "nope.delete-shop.com", "kept-by-them.other-shop.com");
    expect(await Domain.countDocuments({ hostname: "kept-by-them.other-shop.com" })).toBe(1);
  });

  it("removes a domain once when two deletes race, and gives back one slot", async () => {
    await added(owner, "dom-delete", "twice.delete-shop.com");
    const before = await domainCount("dom-delete");
    const replies = await Promise.all([remove(owner, "dom-delete", "twice.delete-shop.com"), remove(owner, "dom-delete", "twice.delete-shop.com")]);
    expect(replies.map((r) => r.status).sort()).toEqual([200, 404]);
    expect(await domainCount("dom-delete")).toBe((before ?? 0) - 1);
  });
});

// ---- the tenant's deletion -------------------------------------------------------------------------------------------

describe("deleting a tenant", () => {
  it("deletes its domains and frees their hostnames", async () => {
    await createTenant(owner, "dom-doomed");
    await added(owner, "dom-doomed", "a.doomed-shop.com");
    await added(owner, "dom-doomed", "b.doomed-shop.com");
    const tenant = await Tenant.findOne({ slug: "dom-doomed" }).lean();

    const res = await call(tenantRoute, "/api/tenants/dom-doomed", { method: "DELETE", params: { slug: "dom-doomed" }, cookie: owner });
    expect(res.status).toBe(200);
    expect(await Domain.countDocuments({ tenant: tenant?._id })).toBe(0);
    expect((await list(owner, "dom-doomed")).status).toBe(404);
    expect((await add(stranger, "dom-other", "a.doomed-shop.com")).status).toBe(201);
  });

  it("frees a hostname a delete cut short left behind (its tenant gone, its domain not), and only such a one", async () => {
    await createTenant(owner, "dom-cut-short");
    await added(owner, "dom-cut-short", "left.cut-shop.com");
    await added(owner, "dom-cut-short", "kept.cut-shop.com");
    const tenant = await Tenant.findOne({ slug: "dom-cut-short" }).lean();
    // What a process that stops between the tenant's delete and its domains' leaves in the database.
    await Tenant.deleteOne({ _id: tenant?._id });
    expect(await Domain.countDocuments({ tenant: tenant?._id })).toBe(2);

    const before = await domainCount("dom-other");
    const res = await add(stranger, "dom-other", "left.cut-shop.com");
    expect(res.status).toBe(201);
    expect(res.body).toEqual(domainBody("left.cut-shop.com", expect.any(String)));
    expect(await domainCount("dom-other")).toBe((before ?? 0) + 1);
    const holders = await Domain.find({ hostname: "left.cut-shop.com" }).lean();
    expect(holders.map((d) => d.tenant.toHexString())).toEqual([(await Tenant.findOne({ slug: "dom-other" }).lean())?._id.toHexString()]);
    // The other orphan stays until someone wants its hostname; a hostname whose holder exists is still taken.
    expect(await Domain.countDocuments({ tenant: tenant?._id })).toBe(1);
    const taken = await add(owner, "dom-main", "left.cut-shop.com");
    expect(taken.status).toBe(409);
    expect(taken.body).toEqual({ error: { code: "domain_taken", message: 'The hostname "left.cut-shop.com" is taken' } });
  });
});
