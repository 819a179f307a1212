// The Domains tab of a tenant (routes/tenants.$slug.domains.tsx): its loader and its one action (add, verify,
// remove, told apart by `intent`) driven with form-encoded Requests as a browser without JavaScript sends them,
// verified against the real DNS server on loopback, on the embedded store.
import { stopDnsServer, zone } from "#tests/fixtures/dns-server.ts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as tenantsRoute from "#app/routes/api.tenants.ts";
import * as domainsPage from "#app/routes/tenants.$slug.domains.tsx";
import type { DomainValue } from "#app/schemas/domain.ts";
import { takeToast } from "#app/server/toast.server.ts";
import { Domain } from "#models/domain.ts";
import { localCookie } from "#tests/fixtures/auth.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { call, read } from "#tests/fixtures/http.ts";

const TARGET = "edge.example.net";
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HOST = "cdn.dom-shop.com";
const challenge = (hostname: string) => `_cmsassets-challenge.${hostname}`;

let owner: string;
let stranger: string;
let freeUser: string;

interface PageData {
  domains: DomainValue[];
  plan: string;
  limit: number;
  cnameTarget: string;
}

// ---- requests ------------------------------------------------------------------------------------------------

const pageUrl = (slug: string) => `/tenants/${slug}/domains`;

const load = (cookie: string, slug: string) => call(domainsPage, pageUrl(slug), { params: { slug }, cookie });

async function loadData(cookie: string, slug: string): Promise<PageData> {
  const res = await read(await load(cookie, slug));
  expect(res.status, `loading ${slug}`).toBe(200);
  return res.body as unknown as PageData;
}

/** Posts a form the way a browser does, JavaScript or not: application/x-www-form-urlencoded. */
async function submit(cookie: string, slug: string, fields: Record<string, string>) {
  return call(domainsPage, pageUrl(slug), {
    method: "POST",
    params: { slug },
    cookie,
    body: new URLSearchParams(fields).toString(),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
}

/** The toast a redirect carries, read back the way the next page's root loader reads it. */
async function toastOf(res: Response) {
  const setCookie = res.headers.get("set-cookie");
  expect(setCookie, "a toast cookie").toMatch(/^__toast=/);
  const { toast } = await takeToast(new Request("http://localhost/", { headers: { Cookie: (setCookie as string).split(";")[0] } }));
  return toast;
}

/** A conform reply (the action's answer to a failed submission). */
interface Reply {
  status?: string;
  initialValue?: Record<string, unknown>;
  error?: Record<string, string[] | null>;
  planLimit?: { plan: string; limit: number };
}

async function replyOf(res: Response): Promise<Reply> {
  const body = await read(res);
  expect(body.status, "a failed submission re-renders the page with the reply").toBe(200);
  return body.body as Reply;
}

async function createTenant(cookie: string, slug: string) {
  const res = await call(tenantsRoute, "/api/tenants", { method: "POST", json: { slug, cms: "storyblok" }, cookie });
  expect(res.status, `creating ${slug}`).toBe(201);
}

/** Adds a domain through the page, which must accept it. */
async function added(cookie: string, slug: string, hostname: string): Promise<DomainValue> {
  const res = await submit(cookie, slug, { intent: "add", hostname });
  expect(res.status, `adding ${hostname}`).toBe(302);
  const found = (await loadData(cookie, slug)).domains.find((d) => d.hostname === hostname);
  expect(found, `${hostname} listed`).toBeDefined();
  return found as DomainValue;
}

// ---- the DNS zone ------------------------------------------------------------------------------------------------

function publish(hostname: string, records: { cname?: string[]; txt?: string[][] }) {
  zone.delete(hostname);
  zone.delete(challenge(hostname));
  if (records.cname) zone.set(hostname, { CNAME: records.cname });
  if (records.txt) zone.set(challenge(hostname), { TXT: records.txt });
}

beforeAll(async () => {
  await resetDb();
  owner = await localCookie({ userId: "dom-page-owner", plan: "pro" });
  stranger = await localCookie({ userId: "dom-page-stranger", plan: "pro" });
  freeUser = await localCookie({ userId: "dom-page-free", plan: "free" });
  await createTenant(owner, "dom-page");
  await createTenant(stranger, "dom-page-other");
  await createTenant(freeUser, "dom-page-free");
});

beforeEach(() => {
  zone.clear();
});

afterAll(async () => {
  await stopDnsServer();
});

// ---- loader ------------------------------------------------------------------------------------------------------

describe("loader", () => {
  it("lists no domains at first, with the tenant's plan allowance and the CNAME target", async () => {
    expect(await loadData(owner, "dom-page")).toEqual({ domains: [], plan: "pro", limit: 10, cnameTarget: TARGET });
    expect(await loadData(freeUser, "dom-page-free")).toEqual({ domains: [], plan: "free", limit: 0, cnameTarget: TARGET });
  });

  it("answers 404 for another user's tenant and for a tenant that does not exist", async () => {
    for (const res of [await load(stranger, "dom-page"), await load(owner, "dom-page-missing")]) {
      expect(res.status).toBe(404);
      // The same answer for both: whether a tenant exists is not revealed to who cannot see it.
      expect(await res.text()).toMatch(/^No tenant "dom-page(-missing)?"$/);
    }
  });

  it("sends a visitor without a session to sign in, and back here after", async () => {
    const res = await call(domainsPage, pageUrl("dom-page"), { params: { slug: "dom-page" } });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`/sign-in?redirectTo=${encodeURIComponent("/tenants/dom-page/domains")}`);
  });
});

// ---- add -----------------------------------------------------------------------------------------------------------

describe("add", () => {
  it("adds a domain, redirects back to it with a toast, and lists it as pending with its records", async () => {
    const res = await submit(owner, "dom-page", { intent: "add", hostname: ` CDN.Dom-Shop.com. ` });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`/tenants/dom-page/domains#domain-${HOST}`);
    expect(await toastOf(res)).toEqual({ kind: "success", message: `${HOST} added: create its DNS records, then verify it` });

    const { domains } = await loadData(owner, "dom-page");
    expect(domains).toHaveLength(1);
    expect(domains[0]).toMatchObject({
      hostname: HOST,
      status: "pending",
      verification: [
        { type: "CNAME", name: HOST, value: TARGET },
        { type: "TXT", name: challenge(HOST), value: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) },
      ],
      checks: [],
      error: null,
      lastCheckedAt: null,
      verifiedAt: null,
      createdAt: expect.stringMatching(ISO),
    });
  });

  it.each([
    ["https://img.dom-shop.com", "must be a hostname without a scheme (cdn.example.com, not https://…)"],
    ["dom-shop.com", "must be a subdomain such as cdn.example.com: an apex domain cannot have a CNAME record"],
    ["img.dom-shop.test", "must end in a known public suffix such as .com or .co.uk"],
    ["   ", "is required"],
  ])("answers %j with the field error on hostname", async (hostname, message) => {
    const reply = await replyOf(await submit(owner, "dom-page", { intent: "add", hostname }));
    expect(reply.status).toBe("error");
    expect(reply.error).toEqual({ hostname: [message] });
    // The reply names its form, and keeps what was typed for the re-rendered page.
    expect(reply.initialValue).toMatchObject({ intent: "add", hostname });
  });

  it("refuses a domain on the free plan with a form error saying why", async () => {
    const reply = await replyOf(await submit(freeUser, "dom-page-free", { intent: "add", hostname: "cdn.dom-free-shop.com" }));
    expect(reply.status).toBe("error");
    expect(reply.error).toEqual({ "": ["The free plan allows 0 custom domains per tenant"] });
    expect(reply.planLimit).toEqual({ plan: "free", limit: 0 });
    expect((await loadData(freeUser, "dom-page-free")).domains).toEqual([]);
  });

  it("refuses a hostname another tenant holds, on the hostname field", async () => {
    const reply = await replyOf(await submit(stranger, "dom-page-other", { intent: "add", hostname: HOST }));
    expect(reply.status).toBe("error");
    expect(reply.error).toEqual({ hostname: [`The hostname "${HOST}" is taken`] });
    expect((await loadData(stranger, "dom-page-other")).domains).toEqual([]);
  });

  it("refuses a form without a known intent", async () => {
    const reply = await replyOf(await submit(owner, "dom-page", { intent: "rename", hostname: HOST }));
    expect(reply.status).toBe("error");
    expect(Object.keys(reply.error ?? {})).toEqual(["intent"]);
  });
});

// ---- verify ------------------------------------------------------------------------------------------------------

describe("verify", () => {
  it("stays pending while no record is found, and shows what each check found", async () => {
    const res = await submit(owner, "dom-page", { intent: "verify", hostname: HOST });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`/tenants/dom-page/domains#domain-${HOST}`);
    expect(await toastOf(res)).toEqual({ kind: "info", message: `${HOST} is not verified yet: its DNS records were not found` });

    const [domain] = (await loadData(owner, "dom-page")).domains;
    const token = domain.verification[1].value;
    expect(domain).toMatchObject({
      status: "pending",
      checks: [
        { type: "CNAME", name: HOST, expected: TARGET, found: [], ok: false },
        { type: "TXT", name: challenge(HOST), expected: token, found: [], ok: false },
      ],
      error: null,
      lastCheckedAt: expect.stringMatching(ISO),
      verifiedAt: null,
    });
  });

  it("fails while a record points elsewhere", async () => {
    const [before] = (await loadData(owner, "dom-page")).domains;
    publish(HOST, { cname: ["elsewhere.dom-shop.com"], txt: [[before.verification[1].value]] });
    const res = await submit(owner, "dom-page", { intent: "verify", hostname: HOST });
    expect(res.status).toBe(302);
    expect(await toastOf(res)).toEqual({ kind: "error", message: `${HOST} verified: failed` });
    const [domain] = (await loadData(owner, "dom-page")).domains;
    expect(domain.status).toBe("failed");
    expect(domain.checks.map((c) => [c.type, c.found, c.ok])).toEqual([
      ["CNAME", ["elsewhere.dom-shop.com"], false],
      ["TXT", [before.verification[1].value], true],
    ]);
  });

  it("turns active once both records are right", async () => {
    const [before] = (await loadData(owner, "dom-page")).domains;
    const token = before.verification[1].value;
    // As a long TXT value arrives: in chunks.
    publish(HOST, { cname: [TARGET], txt: [[token.slice(0, 10), token.slice(10)]] });
    const res = await submit(owner, "dom-page", { intent: "verify", hostname: HOST });
    expect(res.status).toBe(302);
    expect(await toastOf(res)).toEqual({ kind: "success", message: `${HOST} verified: active` });

    const [domain] = (await loadData(owner, "dom-page")).domains;
    expect(domain).toMatchObject({
      status: "active",
      checks: [
        { type: "CNAME", name: HOST, expected: TARGET, found: [TARGET], ok: true },
        { type: "TXT", name: challenge(HOST), expected: token, found: [token], ok: true },
      ],
      error: null,
      lastCheckedAt: expect.stringMatching(ISO),
      verifiedAt: expect.stringMatching(ISO),
    });
  });

  it("answers a form error for a hostname the tenant does not have", async () => {
    const reply = await replyOf(await submit(owner, "dom-page", { intent: "verify", hostname: "nope.dom-shop.com" }));
    expect(reply.status).toBe("error");
    expect(reply.error).toEqual({ "": ['No domain "nope.dom-shop.com" on tenant "dom-page"'] });
    expect(reply.initialValue).toMatchObject({ intent: "verify", hostname: "nope.dom-shop.com" });
  });
});

// ---- remove --------------------------------------------------------------------------------------------------------

describe("remove", () => {
  it("asks for the confirmation box before removing anything", async () => {
    const reply = await replyOf(await submit(owner, "dom-page", { intent: "remove", hostname: HOST }));
    expect(reply.status).toBe("error");
    expect(reply.error).toEqual({ confirm: ["Tick the box to confirm the removal"] });
    expect((await loadData(owner, "dom-page")).domains.map((d) => d.hostname)).toEqual([HOST]);
  });

  it("removes a confirmed domain, redirects with a toast, and frees the hostname", async () => {
    const res = await submit(owner, "dom-page", { intent: "remove", hostname: HOST, confirm: "on" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/tenants/dom-page/domains");
    expect(await toastOf(res)).toEqual({ kind: "success", message: `${HOST} removed` });
    expect((await loadData(owner, "dom-page")).domains).toEqual([]);
    expect(await Domain.countDocuments({ hostname: HOST })).toBe(0);

    // Another tenant may now claim it.
    await added(stranger, "dom-page-other", HOST);
  });

  it("answers a form error when the domain is already gone", async () => {
    const reply = await replyOf(await submit(owner, "dom-page", { intent: "remove", hostname: HOST, confirm: "on" }));
    expect(reply.error).toEqual({ "": [`No domain "${HOST}" on tenant "dom-page"`] });
  });
});

// ---- isolation -----------------------------------------------------------------------------------------------------

describe("another user's tenant", () => {
  it("answers 404 to every intent and changes nothing", async () => {
    const theirs = (await loadData(stranger, "dom-page-other")).domains;
    expect(theirs.map((d) => d.hostname)).toEqual([HOST]);
    const forms: Array<Record<string, string>> = [
      { intent: "add", hostname: "img.dom-shop.com" },
      { intent: "verify", hostname: HOST },
      { intent: "remove", hostname: HOST, confirm: "on" },
    ];
    for (const fields of forms) {
      const res = await submit(owner, "dom-page-other", fields);
      expect(res.status, fields.intent).toBe(404);
    }
    expect(await loadData(stranger, "dom-page-other")).toMatchObject({ domains: theirs });
    expect(await Domain.countDocuments({ hostname: "img.dom-shop.com" })).toBe(0);
  });
});
