// Custom domains: which hostnames a tenant may claim, the per-tenant plan slots, the ownership token, and DNS
// verification (CNAME to the edge and the TXT ownership record) with its stored outcome.
import { randomBytes } from "node:crypto";
import { promises as dnsPromises } from "node:dns";
import { isIP } from "node:net";
import { domainToASCII } from "node:url";
import { parse as parseDomain } from "tldts";
import { type DomainCheck, type DomainStatus, type DomainValue, challengeName } from "#app/schemas/domain.ts";
import { Domain, type DomainDoc } from "#models/domain.ts";
import { Tenant, type TenantDoc } from "#models/tenant.ts";
import type { Caller } from "./auth.server";
import { PLANS, planWithoutSession, resolvePlan } from "./billing.server";
import { connectDb } from "./db.server";
import { env } from "./env.server";
import { ApiError, invalid, notFound } from "./http.server";

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

// ---- hostnames -----------------------------------------------------------------------------------------------

/** Lowercase, no trailing dot, IDN labels in punycode: the one spelling a hostname is stored and looked up by. */
export function normalizeHostname(input: string): string {
  const trimmed = input.trim().toLowerCase().replace(/\.$/, "");
  // domainToASCII answers "" for what the URL standard cannot read as a host.
  return domainToASCII(trimmed);
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** The registrable domains the service itself answers on; a tenant claiming a name under them could hijack it. */
let serviceDomainsCache: string[] | undefined;
function serviceDomains(): string[] {
  if (serviceDomainsCache) return serviceDomainsCache;
  const hosts = [env.cnameTarget];
  const proxyBase = env.proxyBaseUrl.replaceAll("{slug}", "tenant");
  if (URL.canParse(proxyBase)) hosts.push(new URL(proxyBase).hostname);
  const domains = hosts.map((h) => parseDomain(h, { allowPrivateDomains: false }).domain).filter((d): d is string => Boolean(d));
  serviceDomainsCache = [...new Set(domains)];
  return serviceDomainsCache;
}

/**
 * Why `input` cannot be a tenant's custom hostname, or the normalized hostname. The shape checks run on the text
 * as typed, since normalization would mask them (a port or a path makes domainToASCII fail without saying why).
 */
export function checkHostname(input: string): { hostname: string } | { problem: string } {
  const raw = input.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    return { problem: "must be a hostname without a scheme (cdn.example.com, not https://…)" };
  }
  if (/[/?#\\]/.test(raw)) return { problem: "must be a hostname without a path, query or fragment" };
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(raw);
  if ((bracketed && isIP(bracketed[1]) === 6) || isIP(raw) === 6) return { problem: "must be a hostname, not an IP address" };
  if (/^[^:]+:\d*$/.test(raw)) return { problem: "must not include a port" };
  if (raw.includes("*")) return { problem: "must be a single hostname, not a wildcard" };

  const hostname = normalizeHostname(raw);
  if (!hostname) return { problem: "must be a valid hostname" };
  // The URL standard reads 127.1, 2130706433 and 0x7f.0.0.1 as IPv4 addresses and prints them dotted.
  if (isIP(hostname)) return { problem: "must be a hostname, not an IP address" };
  if (hostname.length > 253) return { problem: "must be at most 253 characters" };
  if (!hostname.split(".").every((label) => LABEL.test(label))) {
    return { problem: "must be a valid hostname: labels of letters, digits and inner hyphens, separated by dots" };
  }
  if (hostname === "localhost" || hostname.endsWith(".localhost")) return { problem: "must not be localhost" };
  if (hostname === env.cnameTarget) return { problem: "must not be the CNAME target itself" };
  const own = serviceDomains().find((d) => hostname === d || hostname.endsWith(`.${d}`));
  if (own) return { problem: `must not be under ${own}, the service's own domain` };

  // ICANN section only: a name under a private suffix (foo.github.io) belongs to that suffix's registrable domain.
  const parsed = parseDomain(hostname, { allowPrivateDomains: false, detectSpecialUse: true });
  if (!parsed.isIcann || !parsed.publicSuffix) return { problem: "must end in a known public suffix such as .com or .co.uk" };
  if (parsed.isSpecialUse) {
    return { problem: "must be a public hostname, not a special-use name (such as .test, .onion or example.com)" };
  }
  if (!parsed.domain) return { problem: "must be a subdomain of a registrable domain, not a public suffix" };
  if (!parsed.subdomain) {
    return { problem: "must be a subdomain such as cdn.example.com: an apex domain cannot have a CNAME record" };
  }

  return { hostname };
}

/** A new ownership token: 192 random bits, URL-safe so it can be pasted into any DNS provider's form. */
export const newDomainToken = () => randomBytes(24).toString("base64url");

// ---- the Domain value ----------------------------------------------------------------------------------------

/** The Domain as the API shows it: the records to create, and what the last verification found. */
export function toDomainValue(doc: DomainDoc): DomainValue {
  return {
    hostname: doc.hostname,
    status: doc.status as DomainStatus,
    verification: [
      { type: "CNAME", name: doc.hostname, value: env.cnameTarget },
      { type: "TXT", name: challengeName(doc.hostname), value: doc.token },
    ],
    checks: (doc.checks ?? []).map((c) => ({
      type: c.type as DomainCheck["type"],
      name: c.name,
      expected: c.expected,
      found: [...c.found],
      ok: c.ok,
    })),
    error: doc.error ?? null,
    lastCheckedAt: iso(doc.lastCheckedAt),
    verifiedAt: iso(doc.verifiedAt),
    createdAt: iso(doc.createdAt) as string,
  };
}

const domainNotFound = (hostname: string, slug: string) => notFound(`No domain "${hostname}" on tenant "${slug}"`);

/** The tenant's domain named by `input` (any case, trailing dot or Unicode spelling), or 404. */
async function findDomain(tenant: TenantDoc, input: string): Promise<DomainDoc> {
  const hostname = normalizeHostname(input) || input.trim().toLowerCase();
  const doc = await Domain.findOne({ tenant: tenant._id, hostname }).lean<DomainDoc>();
  if (!doc) throw domainNotFound(hostname, tenant.slug);
  return doc;
}

export async function listDomains(tenant: TenantDoc): Promise<{ domains: DomainValue[] }> {
  await connectDb();
  const docs = await Domain.find({ tenant: tenant._id }).sort({ createdAt: 1, _id: 1 }).lean<DomainDoc[]>();
  return { domains: docs.map(toDomainValue) };
}

// ---- plan slots ------------------------------------------------------------------------------------------------

const STALE_RESERVATION_MS = 60_000;

/**
 * The tenant's plan: that of its billing subject. The caller's plan claim speaks for that subject only when it is
 * the caller's own billing subject; otherwise the subject's plan is read as the edge reads it, without a session
 * (an owner adding a domain to an organization's tenant without the organization active gets the plan the
 * organization's sessions last claimed, else its Account's, not the owner's personal one).
 */
async function tenantPlan(who: Caller, tenant: TenantDoc) {
  if (who.billingSubject === tenant.billingSubject) return resolvePlan(tenant.billingSubject, who.claimedPlan);
  return planWithoutSession(tenant.billingSubject);
}

/** The tenant's plan and how many custom domains it allows, as `addDomain` decides them. */
export async function domainAllowance(who: Caller, tenant: TenantDoc) {
  const plan = await tenantPlan(who, tenant);
  return { plan, limit: PLANS[plan].domainsPerTenant };
}

/**
 * Takes one of the tenant's domain slots with a conditional $inc (concurrent adds never exceed the limit). A count
 * left too high by a crash between reserving and inserting is corrected once no reservation or release has
 * touched the tenant for a minute (the reservation bumps its updatedAt), compare-and-set on both.
 */
async function reserveDomainSlot(tenant: TenantDoc, limit: number): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const taken = await Tenant.updateOne({ _id: tenant._id, domainCount: { $lt: limit } }, { $inc: { domainCount: 1 } });
    if (taken.modifiedCount === 1) return true;
    const current = await Tenant.findById(tenant._id, { domainCount: 1, updatedAt: 1, slug: 1 }).lean<TenantDoc>();
    if (!current) throw notFound(`No tenant "${tenant.slug}"`);
    if (current.domainCount < limit) continue;
    if (!current.updatedAt || Date.now() - new Date(current.updatedAt).getTime() < STALE_RESERVATION_MS) return false;
    const actual = await Domain.countDocuments({ tenant: tenant._id });
    if (actual >= current.domainCount) return false;
    await Tenant.updateOne(
      { _id: tenant._id, domainCount: current.domainCount, updatedAt: current.updatedAt },
      { $set: { domainCount: actual } },
    );
  }
  return false;
}

/** Gives a slot back (a failed insert, a deleted domain). */
async function releaseDomainSlot(tenant: TenantDoc): Promise<void> {
  await Tenant.updateOne({ _id: tenant._id, domainCount: { $gt: 0 } }, { $inc: { domainCount: -1 } });
}

// ---- add and remove --------------------------------------------------------------------------------------------

/**
 * Adds a custom hostname to an accessible tenant: 400 for a hostname it may not claim, 403 at the plan's limit,
 * 409 when any tenant already has it (the unique index decides between concurrent adds).
 */
export async function addDomain(who: Caller, tenant: TenantDoc, input: string): Promise<DomainValue> {
  const checked = checkHostname(input);
  if ("problem" in checked) throw invalid("Invalid request body", [{ path: "hostname", message: checked.problem }]);
  const { hostname } = checked;

  await connectDb();
  const plan = await tenantPlan(who, tenant);
  const limit = PLANS[plan].domainsPerTenant;
  if (!(await reserveDomainSlot(tenant, limit))) {
    throw new ApiError("plan_limit", `The ${plan} plan allows ${limit} custom domain${limit === 1 ? "" : "s"} per tenant`, {
      extra: { plan, limit },
    });
  }
  let created: DomainDoc;
  try {
    created = await insertDomain(tenant, hostname);
  } catch (err) {
    await releaseDomainSlot(tenant);
    throw err;
  }
  // A tenant deleted while this add was in flight must not leave a domain behind holding the hostname.
  if (!(await Tenant.exists({ _id: tenant._id }))) {
    await Domain.deleteOne({ _id: created._id });
    throw notFound(`No tenant "${tenant.slug}"`);
  }
  return toDomainValue(created);
}

/**
 * Inserts a domain (the unique index on hostname decides between concurrent adds). A hostname held by a domain whose
 * tenant is gone — a tenant delete cut short between removing the tenant and its domains — is freed and taken: no
 * route could ever remove that domain, and it would answer 409 to everyone for good.
 */
async function insertDomain(tenant: TenantDoc, hostname: string): Promise<DomainDoc> {
  for (let attempt = 0; ; attempt++) {
    try {
      return (await Domain.create({ tenant: tenant._id, hostname, token: newDomainToken() })).toObject() as DomainDoc;
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
      if (attempt > 0 || !(await freeOrphan(hostname))) throw new ApiError("domain_taken", `The hostname "${hostname}" is taken`);
    }
  }
}

/** Removes the domain holding a hostname if its tenant no longer exists; true when the hostname may be free now. */
async function freeOrphan(hostname: string): Promise<boolean> {
  const holder = await Domain.findOne({ hostname }, { tenant: 1 }).lean<{ _id: DomainDoc["_id"]; tenant: DomainDoc["tenant"] }>();
  // Removed since the insert failed: worth another try.
  if (!holder) return true;
  if (await Tenant.exists({ _id: holder.tenant })) return false;
  await Domain.deleteOne({ _id: holder._id, tenant: holder.tenant });
  return true;
}

/** Removes a tenant's domain and gives its slot back; the hostname is free for any tenant again. */
export async function removeDomain(tenant: TenantDoc, input: string): Promise<void> {
  await connectDb();
  const hostname = normalizeHostname(input) || input.trim().toLowerCase();
  const deleted = await Domain.findOneAndDelete({ tenant: tenant._id, hostname }).lean<DomainDoc>();
  if (!deleted) throw domainNotFound(hostname, tenant.slug);
  await releaseDomainSlot(tenant);
}

// ---- verification ------------------------------------------------------------------------------------------------

/** Per query; one try, so a silent server costs one timeout, not four. */
const LOOKUP_TIMEOUT_MS = 2_000;
/** Whatever c-ares does with its timeout, the lookups are cancelled by then, so a verify always finishes. */
const LOOKUP_DEADLINE_MS = 3_500;

interface Lookup {
  found: string[];
  /** Set when the lookup itself failed (no answer, SERVFAIL, refused): nothing is known about the records. */
  error: string | null;
}

/** NXDOMAIN and NODATA are answers ("no such record"), not failures. */
const NOTHING_FOUND = new Set(["ENOTFOUND", "ENODATA"]);

function lookupFailure(code: string | undefined): string {
  switch (code) {
    case "ETIMEOUT":
    case "ECANCELLED":
      return "the DNS server did not answer in time";
    case "ESERVFAIL":
      return "the DNS server could not answer (SERVFAIL)";
    case "EREFUSED":
      return "the DNS server refused the query";
    case "ECONNREFUSED":
      return "the DNS server could not be reached";
    default:
      return `the lookup failed (${code ?? "unknown error"})`;
  }
}

async function lookUp(kind: "CNAME" | "TXT", name: string, query: () => Promise<string[]>): Promise<Lookup> {
  try {
    return { found: await query(), error: null };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code && NOTHING_FOUND.has(code)) return { found: [], error: null };
    return { found: [], error: `${kind} lookup of ${name} failed: ${lookupFailure(code)}` };
  }
}

/** A resolver of its own per verification: c-ares caches answers per channel, and a re-check must ask again. */
function newResolver(): dnsPromises.Resolver | { error: string } {
  const resolver = new dnsPromises.Resolver({ timeout: LOOKUP_TIMEOUT_MS, tries: 1 });
  if (env.dnsServers) {
    try {
      resolver.setServers(env.dnsServers);
    } catch {
      return { error: "The configured DNS servers (DNS_SERVERS) are not usable: each must be an IP address with a port" };
    }
  }
  return resolver;
}

interface DnsOutcome {
  checks: DomainCheck[];
  errors: string[];
}

/** Looks up both records at once and says, for each, what was expected and what was found. */
async function checkDns(hostname: string, token: string): Promise<DnsOutcome> {
  const txtName = challengeName(hostname);
  const resolver = newResolver();
  let cname: Lookup;
  let txt: Lookup;
  if ("error" in resolver) {
    cname = { found: [], error: resolver.error };
    txt = { found: [], error: null };
  } else {
    const deadline = setTimeout(() => resolver.cancel(), LOOKUP_DEADLINE_MS);
    try {
      [cname, txt] = await Promise.all([
        lookUp("CNAME", hostname, async () => (await resolver.resolveCname(hostname)).map((v) => v.toLowerCase().replace(/\.$/, ""))),
        // A TXT record longer than 255 bytes arrives in chunks; its value is their concatenation.
        lookUp("TXT", txtName, async () => (await resolver.resolveTxt(txtName)).map((chunks) => chunks.join(""))),
      ]);
    } finally {
      clearTimeout(deadline);
    }
  }
  return {
    checks: [
      { type: "CNAME", name: hostname, expected: env.cnameTarget, found: cname.found, ok: cname.found.includes(env.cnameTarget) },
      { type: "TXT", name: txtName, expected: token, found: txt.found, ok: txt.found.includes(token) },
    ],
    errors: [cname.error, txt.error].filter((e): e is string => e !== null),
  };
}

/**
 * The status a check leads to from `previous`: active when both records are right; failed when a record exists
 * with another value; pending when records are missing. A lookup that failed says nothing about the records, so
 * it keeps an active domain active (a DNS hiccup must not take a live domain down) and is pending otherwise.
 */
function nextState(previous: DomainDoc, outcome: DnsOutcome, checkedAt: Date) {
  const { checks, errors } = outcome;
  let status: DomainStatus;
  if (errors.length === 0 && checks.every((c) => c.ok)) status = "active";
  else if (checks.some((c) => c.found.length > 0 && !c.ok)) status = "failed";
  else if (errors.length > 0 && previous.status === "active") status = "active";
  else status = "pending";
  const verifiedAt = status === "active" ? (previous.status === "active" && previous.verifiedAt) || checkedAt : null;
  return { status, checks, error: errors.length ? errors.join("; ") : null, lastCheckedAt: checkedAt, verifiedAt };
}

/**
 * Runs the DNS checks for one of the tenant's domains now and stores the outcome in one update. Concurrent verifies
 * of a domain are ordered by when their checks finished: each write is a compare-and-set on the stored
 * lastCheckedAt, and an outcome older than the stored one is dropped in favour of it.
 */
export async function verifyDomain(tenant: TenantDoc, input: string): Promise<DomainValue> {
  await connectDb();
  let current: DomainDoc | null = await findDomain(tenant, input);
  const outcome = await checkDns(current.hostname, current.token);
  const checkedAt = new Date();
  for (let attempt = 0; attempt < 5 && current; attempt++) {
    if (current.lastCheckedAt && new Date(current.lastCheckedAt) > checkedAt) return toDomainValue(current);
    const updated = await Domain.findOneAndUpdate(
      { _id: current._id, lastCheckedAt: current.lastCheckedAt ?? null },
      { $set: nextState(current, outcome, checkedAt) },
      { returnDocument: "after" },
    ).lean<DomainDoc>();
    if (updated) return toDomainValue(updated);
    current = await Domain.findById(current._id).lean<DomainDoc>();
  }
  // Deleted meanwhile, or so many verifies raced that this one never got a turn: answer with what is stored.
  if (!current) throw domainNotFound(normalizeHostname(input), tenant.slug);
  return toDomainValue(current);
}
