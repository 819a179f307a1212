// How the edge finds the tenant a request is for: by `<slug>.<EDGE_HOST>`, by the path `/<slug>/…` on the bare edge
// host, or by an active custom domain. Answers (including "no such tenant") are kept for at most `maxAgeMs`, so a
// config change, a cache-version bump, a deletion or a newly active domain is seen within that time; concurrent
// look-ups of one key share one database query. While the database does not answer, the last answers are served
// (decision 012).
import { decryptToken } from "#app/server/crypto.server.ts";
import { connectDb } from "#app/server/db.server.ts";
import { Domain } from "#models/domain.ts";
import { Tenant, type TenantDoc } from "#models/tenant.ts";
import { Coalescer } from "./cache.ts";
import { elapsed, OutageWatch, type Reloaded, reloadDue } from "./outage.ts";

export interface EdgeTenantConfig {
  doc: TenantDoc;
  /** The decrypted API token, or null (none set, or it could not be decrypted). Never sent to a client. */
  apiToken: string | null;
}

export interface TenantMatch {
  tenant: EdgeTenantConfig;
  /** The path within the tenant (the `/<slug>` prefix removed for path-based addressing). */
  path: string;
  /** The public base of the tenant as the client addressed it, e.g. `http://acme.localhost:8787` or `…/acme`. */
  base: string;
}

/** An answer, when its load started, and when its last reload failed (null while the database answers). */
type Entry = Reloaded & { value: EdgeTenantConfig | null; at: number };
/** A Host header understood: the look-up key (null on the bare edge host, where the path names the tenant). */
type Place = { key: string | null; base: string; scheme: string };

/** Answers kept at most (each is at most a second old anyway). */
const MAX_ENTRIES = 10_000;

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A tenant could not be looked up: the database did not answer, and no earlier answer may stand in. */
export class TenantLookupFailed extends Error {
  constructor(key: string, cause: unknown) {
    super(`${key}: ${(cause as Error).message}`, { cause });
  }
}

export class TenantDirectory {
  /** Answers naming a tenant. */
  private readonly entries = new Map<string, Entry>();
  /**
   * "No tenant here" answers, apart: any client can ask for any number of made-up hosts and slugs, and those answers
   * must only ever push out one another, never a tenant's (which would then wait for the database, or get 502 while
   * it does not answer).
   */
  private readonly absent = new Map<string, Entry>();
  private readonly lookups = new Coalescer<EdgeTenantConfig | null>();
  private readonly places = new Map<string, Place | null>();

  constructor(
    private readonly edgeHost: string,
    private readonly maxAgeMs = 1_000,
    private readonly now: () => number = Date.now,
    /** Whether the database answers, and how long past its age an answer may stand in when not (decision 012). */
    private readonly outage = new OutageWatch(now),
    /** Reads a key's answer from the database (on this thread, unless the edge's database runs on its own). */
    private readonly load: (key: string) => Promise<EdgeTenantConfig | null> = loadTenantConfig,
  ) {}

  /** The tenant for a request's Host and path, or null when none is there. */
  async resolve(hostHeader: string | undefined, path: string, scheme = "http"): Promise<TenantMatch | null> {
    const where = this.locate(hostHeader, path, scheme);
    if (!where) return null;
    const tenant = await this.lookup(where.key);
    return tenant && { tenant, path: where.path, base: where.base };
  }

  /** `resolve` without waiting: the answer when one is kept and fresh, else undefined (then call `resolve`). */
  resolveKept(hostHeader: string | undefined, path: string, scheme = "http"): TenantMatch | null | undefined {
    const where = this.locate(hostHeader, path, scheme);
    if (!where) return null;
    const cached = this.kept(where.key);
    if (!cached) return undefined;
    const now = this.now();
    // (Behind the time it was loaded at, the clock was stepped back: the answer counts as just expired.)
    const age = elapsed(now, cached.at, this.maxAgeMs);
    // Past its age an answer is served only while the database is known not to answer (decision 012): an outage does
    // not take the tenant down, and nothing can change a tenant meanwhile (the control plane writes to the same
    // database). Otherwise the request waits for the load.
    if (age >= this.maxAgeMs && !this.outage.servesPastAge(age)) return undefined;
    // Reloaded ahead: past half its age an answer is loaded again in the background (one load however many ask), so
    // under steady traffic it never expires and no request waits for the database; after a failure, every second.
    if (reloadDue(age, this.maxAgeMs, cached, now) && !this.lookups.running(where.key)) this.reload(where.key).catch(() => undefined);
    return cached.value && { tenant: cached.value, path: where.path, base: where.base };
  }

  /** Which look-up a Host and path call for, and the tenant's path and public base; null when none can match. */
  private locate(hostHeader: string | undefined, path: string, scheme: string): { key: string; path: string; base: string } | null {
    const place = this.placeOf(hostHeader ?? "", scheme);
    if (!place) return null;
    if (place.key !== null) return { key: place.key, path, base: place.base };
    // The bare edge host: the tenant is the first path segment (`/acme`, `/acme?q` and `/acme/?q` are its root).
    const m = /^\/([^/?#]+)([/?].*)?$/.exec(path);
    if (!m || !SLUG.test(m[1])) return null;
    const rest = m[2] ?? "/";
    return { key: `slug:${m[1]}`, path: rest.startsWith("?") ? `/${rest}` : rest, base: `${place.base}/${m[1]}` };
  }

  /** What a Host header names (worked out once per distinct header: every request carries one). */
  private placeOf(hostHeader: string, scheme: string): Place | null {
    const known = this.places.get(hostHeader);
    if (known !== undefined && (known === null || known.scheme === scheme)) return known;
    const host = hostHeader.trim().toLowerCase();
    const hostname = host.replace(/:\d+$/, "").replace(/\.$/, "");
    const edge = this.edgeHost.toLowerCase();
    const base = `${scheme}://${host}`;
    let place: Place | null;
    if (!hostname) place = null;
    else if (hostname === edge) place = { key: null, base, scheme };
    else if (hostname.endsWith(`.${edge}`)) {
      const slug = hostname.slice(0, -edge.length - 1);
      place = SLUG.test(slug) ? { key: `slug:${slug}`, base, scheme } : null;
    } else place = { key: `domain:${hostname}`, base, scheme };
    // Hosts come from clients: the memo is bounded.
    if (this.places.size >= MAX_ENTRIES) this.places.clear();
    this.places.set(hostHeader, place);
    return place;
  }

  /** The answer kept for a key, a tenant or none. */
  private kept(key: string): Entry | undefined {
    return this.entries.get(key) ?? this.absent.get(key);
  }

  private async lookup(key: string): Promise<EdgeTenantConfig | null> {
    const cached = this.kept(key);
    if (cached && elapsed(this.now(), cached.at, this.maxAgeMs) < this.maxAgeMs) return cached.value;
    try {
      return await this.reload(key);
    } catch (err) {
      // The database did not answer: the last answer, while it is not too old (see resolveKept).
      if (cached && this.outage.mayStandIn(elapsed(this.now(), cached.at, this.maxAgeMs))) return cached.value;
      throw new TenantLookupFailed(key, err);
    }
  }

  /**
   * Loads a key's answer (one load at a time per key) and keeps it, dated from when the load started; a failure is
   * noted on the answer kept (warned once per outage) and passed on.
   */
  private reload(key: string): Promise<EdgeTenantConfig | null> {
    const startedAt = this.now();
    return this.lookups.run(key, async () => {
      const value = await this.outage.load(this.load(key), () => this.kept(key), `${key}: serving the last answer`);
      this.entries.delete(key);
      this.absent.delete(key);
      // Bounded maps (hostnames come from clients): past the cap, the oldest answers go first.
      const into = value ? this.entries : this.absent;
      while (into.size >= MAX_ENTRIES) into.delete(into.keys().next().value as string);
      into.set(key, { value, at: startedAt, failedAt: null });
      return value;
    }).promise;
  }
}

/** A directory key's tenant (`slug:…`, or `domain:…` for an active custom domain) read from the database, or null. */
export async function loadTenantConfig(key: string): Promise<EdgeTenantConfig | null> {
  await connectDb();
  let doc: TenantDoc | null;
  if (key.startsWith("slug:")) {
    doc = await Tenant.findOne({ slug: key.slice(5) }).lean<TenantDoc>();
  } else {
    const domain = await Domain.findOne({ hostname: key.slice(7), status: "active" }, { tenant: 1 }).lean<{ tenant: TenantDoc["_id"] }>();
    doc = domain ? await Tenant.findById(domain.tenant).lean<TenantDoc>() : null;
  }
  if (!doc) return null;
  let apiToken: string | null = null;
  if (doc.apiToken) {
    try {
      apiToken = decryptToken(doc.apiToken, doc._id.toHexString());
    } catch (err) {
      // The key id is named, never the token; the API proxy then answers as if no token were set.
      console.warn(`edge: tenant ${doc.slug}: API token not usable: ${(err as Error).message}`);
    }
  }
  return { doc, apiToken };
}
