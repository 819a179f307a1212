// The edge's request handler: finds the tenant, refuses what it must (unknown tenant, other methods, bad bots, an
// exhausted free quota), then serves an asset or a `/~api` response from the cache or the origin, and records the
// request in the usage pipeline once it has been answered.
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
// Imported rather than read as a global: `globalThis.performance` is a getter, called on every read of it.
import { performance } from "node:perf_hooks";
import type { TenantDoc } from "#models/tenant.ts";
import type { CacheStatus, RequestKind } from "#app/schemas/usage.ts";
import type { UsageOwner } from "#app/server/traffic.server.ts";
import { escapeRegex } from "#app/utils/regex.ts";
import { type ByteBudget, type CachedResponse, Coalescer, type ResponseCache } from "./cache.ts";
import { notModified, rangeHolds } from "./conditional.ts";
import { type OriginFetcher, OriginRefused, type OriginResponse } from "./fetch.ts";
import { decodedBody, TokenMask, undecodable } from "./origin-body.ts";
import { assetOrigin, type RewritePrefix, rewritePrefixes, rewriteUrls, runsInBrowser, typeAllowed } from "./origins.ts";
import type { QuotaGate, QuotaRefusal } from "./quota.ts";
import { type EdgeTenantConfig, type TenantDirectory, TenantLookupFailed, type TenantMatch } from "./tenants.ts";
import type { UsageRecorder } from "./usage.ts";

export interface EdgeDeps {
  directory: TenantDirectory;
  fetcher: OriginFetcher;
  cache: ResponseCache;
  recorder: UsageRecorder;
  quota: QuotaGate;
  /** The scheme clients reach the edge with (for the addresses API responses are rewritten to). */
  scheme: string;
  /** Whether a user agent is refused (see `botFilter`). */
  blockedBot: (userAgent: string) => boolean;
  /** Larger objects stream through uncached. */
  maxObjectBytes: number;
  /** What the bodies of misses may hold at once while they are read; a body that does not fit streams through uncached. */
  missBuffer: ByteBudget;
  /** Larger origin responses are refused (502) or cut off. */
  maxResponseBytes: number;
  /** Larger JSON bodies pass through unrewritten (`X-Parsed: 0`). */
  maxParseBytes: number;
  /** How long a streamed answer waits for a client that reads nothing before it is cut off (ms). */
  clientStallMs: number;
}

const USER_AGENT = "cms-edge/1";
/** Hop-by-hop headers (RFC 9110 §7.6.1) and what must never be stored or replayed from an origin. */
const DROPPED = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "set-cookie",
  "set-cookie2",
  "content-length",
  // Policies for the whole host, which is the edge's (and on the bare edge host every tenant's), not one origin's:
  // other protocols, HSTS, wiping a site's data, error reports, a timed redirect; and a prompt for credentials the
  // edge never forwards.
  "alt-svc",
  "strict-transport-security",
  "clear-site-data",
  "nel",
  "report-to",
  "reporting-endpoints",
  "refresh",
  "public-key-pins",
  "public-key-pins-report-only",
  "expect-ct",
  "www-authenticate",
  "authentication-info",
  // Bodies are kept and served decoded (decision 017).
  "content-encoding",
  "date",
  "age",
  "x-cache",
  "x-parsed",
]);

/** What happened to a request, for usage: null when the edge refused it without serving anything. */
type Outcome = { status: number; cache: CacheStatus; bytes: number } | null;

type Fetched =
  | { kind: "entry"; entry: CachedResponse }
  | {
      kind: "stream";
      origin: OriginResponse;
      headers: Record<string, string>;
      /** What was read before it was decided to stream it, and the rest. */
      prefix: Buffer[];
      rest: AsyncIterator<Buffer>;
      /** Gives back what the prefix holds of the misses' memory: once it has gone out, or the stream is dropped. */
      release: () => void;
    }
  | {
      kind: "error";
      message: string;
      /** The origin answered a range encoded (gzip, …), which cannot be decoded from the middle. */
      encodedRange?: boolean;
    };

/**
 * The request handler. It answers synchronously when all it needs is in memory (a kept tenant config and quota
 * answer and a cached object: the hit path never yields to the event loop) and returns a promise otherwise.
 */
export function createEdgeHandler(d: EdgeDeps) {
  const inFlight = new Coalescer<Fetched>();
  // No closure is made per request on the hit path (each costs an allocation and, under tsx, a name definition).
  return (req: IncomingMessage, res: ServerResponse): Promise<void> | undefined => {
    const started = performance.now();
    // The request's time as epoch ms (its log's timestamp): no Date is made per request.
    const time = Date.now();
    try {
      const url = req.url ?? "/";
      if (!url.startsWith("/")) {
        refuse(res, 400, "Bad request.\n");
        return undefined;
      }
      const kept = d.directory.resolveKept(req.headers.host, url, d.scheme);
      if (kept !== undefined) return answer(d, inFlight, req, res, kept, started, time, time);
      return d.directory.resolve(req.headers.host, url, d.scheme).then(
        // Served once the tenant is known: its cached answer is judged at that time.
        (match) => answer(d, inFlight, req, res, match, started, time, Date.now()),
        (err: unknown) => void (err instanceof TenantLookupFailed ? unresolved(res, err) : failed(req, res, err)),
      );
    } catch (err) {
      failed(req, res, err);
      return undefined;
    }
  };
}

/**
 * Serves a request once its tenant is known, and records it when answered (at once for a hit). `time` is when the
 * request came (its log's timestamp), `now` when it is served (epoch ms: the same unless its tenant had to be loaded).
 */
function answer(
  d: EdgeDeps,
  inFlight: Coalescer<Fetched>,
  req: IncomingMessage,
  res: ServerResponse,
  match: TenantMatch | null,
  started: number,
  time: number,
  now: number,
): Promise<void> | undefined {
  if (!match) {
    refuse(res, 404, "No tenant is served at this address.\n");
    return undefined;
  }
  // The tenant's memo and the request's route, looked up once for serving and recording (a route that could not be
  // worked out fails the request as anything else unexpected does).
  const memo = memoOf(match.tenant);
  let r: Route | undefined;
  let outcome: Outcome | Promise<Outcome>;
  try {
    r = routeIn(memo, match.tenant.doc, match.path);
    outcome = serve(d, inFlight, match, r, req, res, now);
  } catch (err) {
    record(d, req, memo, r, match.path, failed(req, res, err), started, time, now);
    return undefined;
  }
  // Answered at once: recorded as of `now` (no second clock read); answered later, as of then.
  if (!(outcome instanceof Promise)) {
    if (!queued(res, outcome)) {
      record(d, req, memo, r, match.path, outcome, started, time, now);
      return undefined;
    }
    outcome = Promise.resolve(outcome);
  }
  // An answer queued behind another on its connection is recorded once it is sent (or its connection ends).
  return outcome
    .then((o) => (queued(res, o) ? onceSent(req, res, o) : o))
    .then(
      (o) => record(d, req, memo, r, match.path, o, started, time),
      (err: unknown) => record(d, req, memo, r, match.path, failed(req, res, err), started, time),
    );
}

/**
 * Whether an answer is written but still queued behind another on its connection (pipelined requests): it has no
 * socket yet and has not been sent.
 */
const queued = (res: ServerResponse, outcome: Outcome): outcome is NonNullable<Outcome> =>
  outcome !== null && outcome.bytes > 0 && res.socket === null && !res.writableFinished;

/** A queued answer, counted once it is sent, or as sent nothing if its connection ends before. */
function onceSent(req: IncomingMessage, res: ServerResponse, outcome: NonNullable<Outcome>): Promise<Outcome> {
  const socket = req.socket;
  return new Promise<Outcome>((resolve) => {
    const settle = (sent: boolean) => {
      res.off("finish", onFinish);
      socket.off("close", onClose);
      resolve(sent ? outcome : { ...outcome, bytes: 0 });
    };
    const onFinish = () => settle(true);
    const onClose = () => settle(false);
    res.once("finish", onFinish);
    socket.once("close", onClose);
    // Gone already (before it could hear of it).
    if (socket.destroyed) settle(false);
  });
}

let lastOutageWarning = 0;

/** A warning about the database not answering, at most once a second (an outage would otherwise log every request). */
function outageWarning(message: string): void {
  const now = Date.now();
  if (now - lastOutageWarning < 1_000) return;
  lastOutageWarning = now;
  console.warn(message);
}

/** No answer for the tenant (the database did not answer, and no earlier answer may stand in): 502. */
function unresolved(res: ServerResponse, err: TenantLookupFailed): void {
  outageWarning(`edge: tenant not looked up: ${err.message}`);
  if (!res.headersSent) plain(res, 502, "The edge could not serve this request.\n", "ERROR");
}

/** An unexpected failure: logged with its stack, answered 502 without either (or the connection cut, if too late). */
function failed(req: IncomingMessage, res: ServerResponse, err: unknown): Outcome {
  console.error(`edge: ${req.method} ${req.headers.host}${req.url}: ${(err as Error).stack ?? err}`);
  if (!res.headersSent) return plain(res, 502, "The edge could not serve this request.\n", "ERROR");
  res.destroy();
  return null;
}

/**
 * Adds a served request to the usage pipeline (refusals, `null`, are not usage). `recordedAt` is the time now, when
 * the caller has just read it (epoch ms).
 */
function record(
  d: EdgeDeps,
  req: IncomingMessage,
  memo: TenantMemo,
  route: Route | undefined,
  asked: string,
  outcome: Outcome,
  started: number,
  time: number,
  recordedAt?: number,
): void {
  if (!outcome) return;
  const path = route?.pathname ?? asked.split("?", 1)[0];
  d.recorder.record(memo.owner, {
    time,
    method: req.method ?? "GET",
    path: path.length > 1024 ? path.slice(0, 1024) : path,
    status: outcome.status,
    bytes: req.method === "HEAD" ? 0 : outcome.bytes,
    cacheStatus: outcome.cache,
    kind: route?.kind ?? kindOf(asked),
    durationMs: Math.round((performance.now() - started) * 1000) / 1000,
  }, recordedAt);
}

/**
 * What is worked out once per tenant config the directory hands out (a new object at most every second, so a changed
 * setting or cache version is never served from here): its usage owner, and its request paths (see `routeIn`).
 */
interface TenantMemo {
  owner: UsageOwner;
  routes: Map<string, Route>;
  /** The API's rewrite prefixes per edge address, and their spelling in a cache key. */
  rewrites: Map<string, { list: RewritePrefix[]; key: string }>;
}
const memos = new WeakMap<EdgeTenantConfig, TenantMemo>();

function memoOf(t: EdgeTenantConfig): TenantMemo {
  let memo = memos.get(t);
  if (!memo) {
    const doc = t.doc;
    const owner = { _id: doc._id, slug: doc.slug, billingSubject: doc.billingSubject, ownerId: doc.ownerId, idHex: doc._id.toHexString() };
    memo = { owner, routes: new Map(), rewrites: new Map() };
    memos.set(t, memo);
  }
  return memo;
}

function rewritesOf(memo: TenantMemo, doc: TenantDoc, base: string): { list: RewritePrefix[]; key: string } {
  let found = memo.rewrites.get(base);
  if (!found) {
    const list = rewritePrefixes(doc, base);
    // A digest of the list: every API request's key holds it (a Sanity tenant's list is ~2 KB of text).
    found = { list, key: createHash("sha256").update(JSON.stringify(list)).digest("base64url").slice(0, 22) };
    // Addresses come from clients' Host headers: the memo is bounded.
    if (memo.rewrites.size >= 64) memo.rewrites.clear();
    memo.rewrites.set(base, found);
  }
  return found;
}

/**
 * Whether a user agent contains one of the bots' names (substrings), case aside: one regular expression of them all,
 * which tests a browser's user agent in a third of the time lowercasing it and searching it for each name took.
 */
export function botFilter(bots: readonly string[]): (userAgent: string) => boolean {
  const names = bots.filter(Boolean).map(escapeRegex);
  if (names.length === 0) return () => false;
  const pattern = new RegExp(names.join("|"), "iu");
  return (userAgent) => pattern.test(userAgent);
}

const kindOf = (path: string): RequestKind => (path === "/~api" || path.startsWith("/~api/") ? "api" : "asset");

function serve(d: EdgeDeps, inFlight: Coalescer<Fetched>, match: TenantMatch, r: Route, req: IncomingMessage, res: ServerResponse, now: number): Outcome | Promise<Outcome> {
  const doc = match.tenant.doc;
  if (req.method !== "GET" && req.method !== "HEAD") {
    return refuse(res, 405, "Only GET and HEAD are served.\n", { allow: "GET, HEAD" });
  }
  const ua = req.headers["user-agent"];
  if (ua && d.blockedBot(ua)) return refuse(res, 403, "Forbidden.\n");
  const kept = d.quota.checkKept(doc.billingSubject);
  if (kept === undefined) {
    return d.quota.check(doc.billingSubject).then(
      // Served once the quota is known: its cached answer is judged at that time.
      (over) => (over ? quotaRefusal(res, over) : route(d, inFlight, match, r, req, res, Date.now())),
      (err: unknown) => {
        // Quotas fail open: the database being unreachable for a moment must not take tenants' traffic down.
        outageWarning(`edge: quota of ${doc.billingSubject} not checked: ${(err as Error).message}`);
        return route(d, inFlight, match, r, req, res, Date.now());
      },
    );
  }
  if (kept) return quotaRefusal(res, kept);
  return route(d, inFlight, match, r, req, res, now);
}

const quotaRefusal = (res: ServerResponse, over: QuotaRefusal): Outcome => refuse(res, 429, `${over.message}\n`, { "retry-after": String(over.retryAfter) });

function route(d: EdgeDeps, inFlight: Coalescer<Fetched>, match: TenantMatch, r: Route, req: IncomingMessage, res: ServerResponse, now: number): Outcome | Promise<Outcome> {
  if (r.pathname === null) return refuse(res, 400, "Bad request.\n");
  const ctx: Ctx = { d, inFlight, req, res, head: req.method === "HEAD", doc: match.tenant.doc, now };
  return r.kind === "api" ? serveApi(ctx, match, r.pathname, r.search) : serveAsset(ctx, r.target ?? null, r.allowed as TypeCheck);
}

/**
 * Whether a path stays inside the origin's base path: one the URL parser would rewrite (dot segments, backslashes)
 * or that carries an encoded slash, backslash or NUL (which an origin may decode before resolving `..`) could step
 * outside it, and one the parser refuses is malformed.
 */
export function safePath(pathname: string): boolean {
  if (/%(2f|5c|00)/i.test(pathname)) return false;
  try {
    return new URL(pathname, "http://edge").pathname === pathname;
  } catch {
    return false;
  }
}

interface Ctx {
  d: EdgeDeps;
  inFlight: Coalescer<Fetched>;
  req: IncomingMessage;
  res: ServerResponse;
  head: boolean;
  doc: TenantDoc;
  /** When the request is served (epoch ms; the clock is read once for it): its cached answer is judged then. */
  now: number;
}

/**
 * A query's parameters sorted by name (stable, as URLSearchParams sorts), each kept as the client spelled it (its
 * encoding, a bare `flag`), without the parameters named `drop`: the API origin gets the query as sent, and one
 * cache entry serves every order of the same parameters.
 */
function sortedRawQuery(search: string, drop: string): { query: string; dropped: boolean } {
  const parts = queryParts(search);
  const kept = parts.filter((p) => p.name !== drop);
  kept.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { query: kept.map((k) => k.part).join("&"), dropped: kept.length < parts.length };
}

/** A query's parameters as the client spelled each (`a=1`, a bare `flag`), with its name as URLSearchParams reads it. */
function queryParts(search: string): Array<{ part: string; name: string }> {
  return search
    .split("&")
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf("=");
      return { part, name: decodeName(eq < 0 ? part : part.slice(0, eq)) };
    });
}

/** A query parameter's name as URLSearchParams reads it (`+` a space, percent escapes decoded; a bad one kept). */
function decodeName(raw: string): string {
  const spaced = raw.replace(/\+/g, " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

function sortedQuery(params: URLSearchParams): string {
  const copy = new URLSearchParams(params);
  copy.sort();
  return copy.toString();
}

/**
 * The query as the client spelled it (order, encoding, a bare `flag`), without the parameters the provider does not
 * take (`kept` names those it does): what an origin that checks a signature over the query (imgix's `s`, a signed
 * generic origin) signed. Only the cache key is sorted.
 */
export function spelledQuery(search: string, kept: URLSearchParams): string {
  return queryParts(search)
    .filter((p) => kept.has(p.name))
    .map((p) => p.part)
    .join("&");
}

interface AssetTarget {
  url: string;
  key: string;
  headers: Record<string, string>;
}

interface Route {
  /** The path without its query; null when it is refused (it could step outside the origin, or is malformed). */
  pathname: string | null;
  search: string;
  kind: RequestKind;
  /** An asset's origin URL, cache key and origin headers (null: the provider serves nothing there). */
  target?: AssetTarget | null;
  /** Whether an answer for this asset may be served under the tenant's allowedTypes (memoised per Content-Type). */
  allowed?: TypeCheck;
}

/** A request path checked, split, and for an asset its origin URL, cache key and type check: once per config. */
function routeIn(tenant: TenantMemo, doc: TenantDoc, path: string): Route {
  const known = tenant.routes;
  const memo = known.get(path);
  if (memo) return memo;
  const q = path.indexOf("?");
  const pathname = q < 0 ? path : path.slice(0, q);
  const search = q < 0 ? "" : path.slice(q + 1);
  const kind = kindOf(pathname);
  const route: Route = !safePath(pathname)
    ? { pathname: null, search, kind }
    : kind === "asset"
      ? { pathname, search, kind, target: assetTarget(doc, pathname, search), allowed: typeCheck(doc, pathname) }
      : { pathname, search, kind };
  // Paths come from clients: the memo is bounded.
  if (known.size >= 10_000) known.clear();
  known.set(path, route);
  return route;
}

/**
 * A 2xx answer is judged by allowedTypes, any other by whether a browser would run its body (an origin's HTML error
 * page is not served on a tenant's address); a Content-Type's verdict is kept (there are few per path).
 */
function typeCheck(doc: TenantDoc, pathname: string): TypeCheck {
  const verdicts = new Map<string, boolean>();
  return (h, status) => {
    if (status < 200 || status > 299) return !runsInBrowser(h["content-type"]);
    const type = h["content-type"] ?? "";
    let ok = verdicts.get(type);
    if (ok === undefined) {
      ok = typeAllowed(doc.allowedTypes, type, pathname);
      if (verdicts.size < 16) verdicts.set(type, ok);
    }
    return ok;
  };
}

function assetTarget(doc: TenantDoc, pathname: string, search: string): AssetTarget | null {
  const target = assetOrigin(doc, pathname, new URLSearchParams(search));
  if (!target) return null;
  const sent = spelledQuery(search, target.query);
  const sorted = sortedQuery(target.query);
  const url = `${target.url}${sent ? `?${sent}` : ""}`;
  const headers: Record<string, string> = { accept: "*/*", "accept-encoding": "identity", "user-agent": USER_AGENT };
  if (doc.websiteDomain) headers.referer = refererOf(doc.websiteDomain);
  // One entry for every order and spelling of the same parameters.
  return { url, headers, key: `a ${doc._id} ${doc.cacheVersions?.assets ?? 1} ${headers.referer ?? ""} ${target.url}${sorted ? `?${sorted}` : ""}` };
}

/**
 * The Referer sent for a tenant's `websiteDomain`: a hostname as its https origin, a URL as the URL parser writes it
 * — either way with at least the `/` a browser's origin-only Referer has (`https://acme.com/`), which storage rules
 * such as `https://acme.com/*` expect.
 */
function refererOf(websiteDomain: string): string {
  if (!websiteDomain.includes("://")) return `https://${websiteDomain}/`;
  try {
    return new URL(websiteDomain).href;
  } catch {
    return websiteDomain;
  }
}

function serveAsset(c: Ctx, target: AssetTarget | null, allowed: TypeCheck): Outcome | Promise<Outcome> {
  if (!target) return refuse(c.res, 404, "Not found.\n");
  const asked = c.head ? undefined : c.req.headers.range;
  const hit = c.d.cache.get(target.key, c.now, c.doc.cacheTTL * 1000);
  if (hit) return sendEntry(c, hit, "HIT", allowed, asked);
  return serveAssetMiss(c, target, allowed, asked);
}

async function serveAssetMiss(c: Ctx, target: AssetTarget, allowed: TypeCheck, asked: string | undefined): Promise<Outcome> {
  const { d, doc } = c;
  const { url, key, headers } = target;
  // Only one well-formed byte range is forwarded on a miss (several ranges, or nonsense, get the whole object, as on
  // a hit); and a range whose If-Range validator no longer matches is ignored (RFC 9110 §13.1.5).
  const one = asked ? parseRange(asked, Number.MAX_SAFE_INTEGER) : null;
  const range = one && one !== "unsatisfiable" ? asked : undefined;
  if (range) {
    // A range of an object not in the cache is fetched as a range; the whole object is fetched behind it to fill
    // the cache when it is small enough, so later ranges are served from the cache. (An origin that ignores Range
    // answers 200 with the whole object: that is stored and the range cut from it.)
    const ifRange = c.req.headers["if-range"];
    const fetched = await fetchFromOrigin(d, url, { ...headers, range, ...(ifRange ? { "if-range": String(ifRange) } : {}) }, key, doc.cacheTTL);
    // (A range the origin sent encoded cannot be decoded: the whole object is fetched below and the range cut from it.)
    if (fetched.kind !== "error" || !fetched.encodedRange) return sendRangeMiss(c, target, fetched, allowed, range);
  }
  // Fetched whole (no range, several, or one that cannot be satisfied): the client's range is judged as on a hit.
  const whole = await fetchShared(c, key, (store) => fetchFromOrigin(d, url, headers, store ? key : null, store ? doc.cacheTTL : 0));
  return sendFetched(c, whole, "MISS", allowed, asked);
}

/** The origin's answer to a range miss sent on, and the whole object fetched behind it when it fits the cache. */
function sendRangeMiss(c: Ctx, target: AssetTarget, fetched: Fetched, allowed: TypeCheck, range: string): Promise<Outcome> | Outcome {
  if (fetched.kind !== "error") {
    const [status, got] = fetched.kind === "entry" ? [fetched.entry.status, fetched.entry.headers] : [fetched.origin.status, fetched.headers];
    const total = Number(/\/(\d+)$/.exec(got["content-range"] ?? "")?.[1]);
    if (status === 206 && total <= c.d.maxObjectBytes) fillInBackground(c, target.key, target.url, target.headers);
  }
  if (fetched.kind === "entry") return sendEntry(c, fetched.entry, "MISS", allowed, fetched.entry.status === 200 ? range : undefined);
  return sendFetched(c, fetched, "MISS", allowed);
}

/**
 * A miss of `key`: one origin request for all who ask at once (`fetch(true)`, which stores what it may). A streamed
 * body can be read once, so the callers that waited on the leader fetch their own uncached copy (`fetch(false)`).
 */
async function fetchShared(c: Ctx, key: string, fetch: (store: boolean) => Promise<Fetched>): Promise<Fetched> {
  const { promise, leader } = c.inFlight.run(key, () => fetch(true));
  const fetched = await promise;
  return fetched.kind === "stream" && !leader ? fetch(false) : fetched;
}

function fillInBackground(c: Ctx, key: string, url: string, headers: Record<string, string>): void {
  const { promise, leader } = c.inFlight.run(key, () => fetchFromOrigin(c.d, url, headers, key, c.doc.cacheTTL));
  // A miss of the whole object already in flight fills the cache itself (and its answer is its client's).
  if (!leader) return;
  void promise.then((f) => {
    if (f.kind === "stream") {
      discard(f.origin.body);
      f.release();
    }
  }, (err: unknown) => console.warn(`edge: filling the cache for ${c.doc.slug}: ${(err as Error).message}`));
}

async function serveApi(c: Ctx, match: TenantMatch, pathname: string, search: string): Promise<Outcome> {
  const { d, doc } = c;
  if (!doc.apiOrigin) return refuse(c.res, 404, "The API proxy is not set up for this tenant.\n");
  const { query, dropped: bypass } = sortedRawQuery(search, doc.previewBypassParam || "preview");
  const url = `${doc.apiOrigin.replace(/\/+$/, "")}${pathname.slice("/~api".length) || "/"}${query ? `?${query}` : ""}`;
  const headers: Record<string, string> = { accept: "application/json, */*;q=0.5", "accept-encoding": "identity", "user-agent": USER_AGENT };
  const token = match.tenant.apiToken;
  const scheme = { bearer: "Bearer", basic: "Basic", token: "Token" }[doc.apiAuthMode as string];
  if (token && scheme) headers[(doc.apiTokenHeader || "Authorization").toLowerCase()] = `${scheme} ${token}`;
  // API answers are served whatever their type, but for an error page a browser would run.
  const anyType: TypeCheck = (h, status) => (status >= 200 && status <= 299) || !runsInBrowser(h["content-type"]);
  // The provider's prefixes (from its settings and the edge address asked), worked out once per config and address.
  const prefixes = doc.transformApiUrls ? rewritesOf(memoOf(match.tenant), doc, match.base) : null;
  const rewrite: Rewrite = prefixes ? { prefixes: prefixes.list, maxBytes: d.maxParseBytes, tag: prefixes.key } : null;
  // A byte range is served from a whole answer as for an asset (its Accept-Ranges says so); but not one resumed with
  // If-Range: the edge rewrites API bodies (per edge address and provider settings) under the origin's validators,
  // which then cannot tell two of its bodies apart, and a range of one spliced onto another would corrupt it.
  const range = c.head || c.req.headers["if-range"] !== undefined ? undefined : c.req.headers.range;
  if (bypass) return sendFetched(c, await fetchFromOrigin(d, url, headers, null, 0, rewrite, token), "BYPASS", anyType, range);

  const tokenStamp = doc.apiTokenUpdatedAt ? new Date(doc.apiTokenUpdatedAt).getTime() : 0;
  // A body is kept as rewritten: its key holds the prefixes it was rewritten with (a changed provider setting or edge
  // address is another entry).
  const key = `p ${doc._id} ${doc.cacheVersions?.api ?? 1} ${doc.apiAuthMode} ${doc.apiTokenHeader} ${tokenStamp} ${prefixes?.key ?? "-"} ${url}`;
  const ttl = doc.apiCacheTTL ?? 60;
  const hit = d.cache.get(key, c.now, ttl * 1000);
  // A cached response was fetched with the token: it is served without contacting the origin (no token sent).
  if (hit) return sendEntry(c, hit, "HIT", anyType, range);
  const fetched = await fetchShared(c, key, (store) =>
    fetchFromOrigin(d, url, headers, store ? key : null, store ? ttl : 0, rewrite, token),
  );
  return sendFetched(c, fetched, "MISS", anyType, range);
}

/** How API bodies are rewritten: the prefixes, the size parsed at most, and the prefixes' digest. */
type Rewrite = { prefixes: RewritePrefix[]; maxBytes: number; tag: string } | null;

/**
 * The validators of a body the edge rewrote: another representation than the origin's (its asset URLs are this edge
 * address's), and another again once the rewriting changes (turned on or off, another address or provider setting).
 * Its entity tag is the origin's marked with the prefixes' digest, weak (the bytes are the edge's); its Last-Modified
 * is dropped, since a date cannot tell those apart. A client revalidating a body of before the change gets the new one,
 * not a 304.
 */
function rewrittenValidators(headers: Record<string, string>, tag: string): void {
  delete headers["last-modified"];
  const etag = headers.etag;
  if (!etag) return;
  const bare = etag.startsWith("W/") ? etag.slice(2) : etag;
  const inner = bare.length >= 2 && bare.startsWith('"') && bare.endsWith('"') ? bare.slice(1, -1) : bare.replace(/"/g, "");
  headers.etag = `W/"${inner}.rw-${tag.slice(0, 12)}"`;
}

/**
 * One origin request. A 5xx or a failure to connect is an error (never cached); a body within `maxObjectBytes` is
 * read whole (rewritten when asked) and, when `key` is set and the status is 200, stored for `ttlSeconds`; a larger
 * one is handed back as a stream to be piped once.
 */
async function fetchFromOrigin(
  d: EdgeDeps,
  url: string,
  headers: Record<string, string>,
  key: string | null,
  ttlSeconds: number,
  rewrite: Rewrite = null,
  secret: string | null = null,
): Promise<Fetched> {
  let origin: OriginResponse;
  try {
    origin = await d.fetcher.get(url, headers);
  } catch (err) {
    return { kind: "error", message: originFailure(err) };
  }
  if (origin.status >= 500) {
    discard(origin.body);
    return { kind: "error", message: `The origin answered with an error (${origin.status}).\n` };
  }
  // A body the origin encoded although it was asked for it as is is decoded: bodies are kept, rewritten, masked and
  // served decoded (so no Vary, and no Content-Encoding), and a decoded one's length and strong validator were the
  // encoded form's.
  const decoded = decodedBody(origin);
  if (!decoded) {
    discard(origin.body);
    return { kind: "error", message: "The origin's answer is in an encoding the edge does not read.\n", encodedRange: origin.status === 206 };
  }
  const out = responseHeaders(origin.headers, secret);
  let length = Number(origin.headers["content-length"]);
  if (decoded !== origin.body) {
    origin = { ...origin, body: decoded };
    if (out.etag && !out.etag.startsWith("W/")) out.etag = `W/${out.etag}`;
    length = Number.NaN;
  }
  // A page or script a browser would run is only ever served sandboxed (an API's HTML answer on the edge host that
  // every tenant shares by path must not run there); assets of such types are refused by allowedTypes.
  if (runsInBrowser(out["content-type"])) out["content-security-policy"] = "sandbox";
  const json = rewrite !== null && /[/+]json\b/i.test(out["content-type"] ?? "");
  if (length > d.maxResponseBytes) {
    discard(origin.body);
    return { kind: "error", message: "The origin's response is larger than the edge serves.\n" };
  }
  const iterator = origin.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let size = 0;
  // The body is held out of what all misses may hold at once (`missBuffer`): its declared length at the start, or
  // what has come so far. What does not fit streams through uncached, as an object over the size cap does. JSON the
  // edge rewrites is not held out of it: the parse cap bounds it, and it would otherwise go out unrewritten.
  // (A body without a length is exempt while it stays within the parse cap, and held out of it from there.)
  let budget = json && rewrite !== null && !(length > rewrite.maxBytes) ? null : d.missBuffer;
  let held = 0;
  const hold = (n: number) => {
    held += n;
    return budget === null || budget.take(n);
  };
  let fits = !(length > d.maxObjectBytes);
  try {
    if (fits && Number.isFinite(length)) fits = hold(length);
    if (fits) {
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        chunks.push(next.value);
        size += next.value.length;
        if (budget === null && rewrite !== null && size > rewrite.maxBytes) {
          budget = d.missBuffer;
          held = 0;
        }
        if (size > held && !hold(size - held)) {
          fits = false;
          break;
        }
        if (size > d.maxObjectBytes) break;
      }
    }
  } catch (err) {
    budget?.give(held);
    discard(origin.body);
    return { kind: "error", message: originFailure(err) };
  }
  if (!fits || length > d.maxObjectBytes || size > d.maxObjectBytes) {
    if (json) out["x-parsed"] = "0";
    if (Number.isFinite(length)) out["content-length"] = String(length);
    // The part read so far stays held until it has gone out (or the stream is dropped).
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      budget?.give(held);
    };
    if (secret) return { kind: "stream", origin, headers: out, ...TokenMask.stream(chunks, iterator, secret), release };
    return { kind: "stream", origin, headers: out, prefix: chunks, rest: iterator, release };
  }
  // Given back once read: a body kept is the cache's to count from here.
  budget?.give(held);
  let body: Buffer = Buffer.concat(chunks, size);
  if (json && rewrite) {
    if (body.length <= rewrite.maxBytes) {
      body = Buffer.from(rewriteUrls(body.toString("utf8"), rewrite.prefixes), "utf8");
      out["x-parsed"] = "1";
      rewrittenValidators(out, rewrite.tag);
    } else {
      out["x-parsed"] = "0";
    }
  }
  if (secret) body = TokenMask.whole(body, secret);
  const entry: CachedResponse = { status: origin.status, headers: out, body, expiresAt: Date.now() + ttlSeconds * 1000 };
  if (key && origin.status === 200 && ttlSeconds > 0) {
    entry.storedAt = Date.now();
    d.cache.set(key, entry);
  }
  return { kind: "entry", entry };
}

function originFailure(err: unknown): string {
  const refused = err instanceof OriginRefused ? err : (err as { cause?: unknown }).cause;
  if (refused instanceof OriginRefused) {
    return refused.reason === "scheme" ? "The origin is not an https address.\n" : "The origin is not at a public address.\n";
  }
  if (undecodable(err)) return "The origin's answer could not be decoded.\n";
  const code = (err as { code?: string }).code ?? "";
  if (/TIMEOUT/.test(code)) return "The origin did not answer in time.\n";
  return "The origin could not be reached.\n";
}

/** The origin's headers as the edge passes them on: no hop-by-hop headers or cookies, nothing that echoes the token. */
function responseHeaders(h: OriginResponse["headers"], secret: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  const named = String(h.connection ?? "")
    .toLowerCase()
    .split(",")
    .map((s) => s.trim());
  for (const [name, value] of Object.entries(h)) {
    if (value === undefined || DROPPED.has(name) || named.includes(name)) continue;
    const text = Array.isArray(value) ? value.join(", ") : value;
    if (secret && text.includes(secret)) continue;
    out[name] = text;
  }
  return out;
}

type TypeCheck = (headers: Record<string, string>, status: number) => boolean;

/** An origin's answer sent on: a whole object as a hit of it would be (`range` cut from it), or piped, or an error. */
function sendFetched(c: Ctx, fetched: Fetched, cache: CacheStatus, allowed: TypeCheck, range?: string): Promise<Outcome> | Outcome {
  if (fetched.kind === "error") return plain(c.res, 502, fetched.message, "ERROR");
  if (fetched.kind === "entry") return sendEntry(c, fetched.entry, cache, allowed, range);
  return pipeStream(c, fetched, cache, allowed);
}

function sendEntry(c: Ctx, entry: CachedResponse, cache: CacheStatus, allowed: TypeCheck, range: string | undefined): Outcome {
  const { res } = c;
  if (!allowed(entry.headers, entry.status)) return refusedType(c, entry.status, entry.headers, cache);
  const { headers: asked } = c.req;
  if (cache === "HIT" && entry.status === 200 && !range && asked["if-none-match"] === undefined && asked["if-modified-since"] === undefined) {
    // The common case, a whole cached object: its header list is built once per entry, and its Age (the last value)
    // rewritten in place when it changes, once a second at most (writeHead reads the list and keeps nothing of it).
    const age = ageOf(entry, c.now);
    const list = (entry.hitHeaders ??= [
      // (The origin's own Accept-Ranges and X-Content-Type-Options give way to the edge's, as on every other answer.)
      ...Object.entries(entry.headers)
        .filter(([name]) => name !== "accept-ranges" && name !== "x-content-type-options")
        .flat(),
      "x-cache",
      "HIT",
      "x-content-type-options",
      "nosniff",
      "accept-ranges",
      "bytes",
      "content-length",
      String(entry.body.length),
      "age",
      String(age),
    ]);
    if (entry.hitAge !== age) {
      entry.hitAge = age;
      list[list.length - 1] = String(age);
    }
    res.writeHead(200, list);
    if (c.head) {
      res.end();
      return { status: 200, cache, bytes: 0 };
    }
    // A client that left while its tenant or quota was looked up was sent nothing.
    const sent = gone(res) ? 0 : entry.body.length;
    res.end(entry.body);
    return { status: 200, cache, bytes: sent };
  }
  const headers: Record<string, string> = { ...entry.headers, "x-cache": cache, "x-content-type-options": "nosniff" };
  if (cache === "HIT" && entry.storedAt) headers.age = String(ageOf(entry, c.now));
  const { etag, "last-modified": lastModified } = entry.headers;
  if (entry.status === 200 && notModified(asked["if-none-match"], asked["if-modified-since"], etag, lastModified)) {
    res.writeHead(304, headers).end();
    return { status: 304, cache, bytes: 0 };
  }
  let status = entry.status;
  let body = entry.body;
  if (entry.status === 200) headers["accept-ranges"] = "bytes";
  // node:http joins a repeated If-Range into one string (only Set-Cookie comes as a list).
  const ifRange = asked["if-range"];
  if (range && entry.status === 200 && rangeHolds(typeof ifRange === "string" ? ifRange : undefined, etag, lastModified)) {
    const r = parseRange(range, body.length);
    if (r === "unsatisfiable") {
      headers["content-range"] = `bytes */${body.length}`;
      headers["content-length"] = "0";
      res.writeHead(416, headers).end();
      return { status: 416, cache, bytes: 0 };
    }
    if (r) {
      status = 206;
      headers["content-range"] = `bytes ${r.start}-${r.end}/${body.length}`;
      body = body.subarray(r.start, r.end + 1);
    }
  }
  headers["content-length"] = String(body.length);
  res.writeHead(status, headers);
  if (c.head) {
    res.end();
    return { status, cache, bytes: 0 };
  }
  // A client that left while the origin was asked (or was cut off at shutdown) was sent nothing.
  const sent = gone(res) ? 0 : body.length;
  res.end(body);
  return { status, cache, bytes: sent };
}

/** A cached entry's Age at `now` (epoch ms), in whole seconds. */
const ageOf = (entry: CachedResponse, now: number) => Math.max(0, Math.floor((now - (entry.storedAt ?? now)) / 1000));

/** One byte range (RFC 9110 §14.1.2); null for what is served whole (several ranges, another unit, nonsense). */
export function parseRange(header: string, size: number): { start: number; end: number } | "unsatisfiable" | null {
  const m = /^bytes=(\d*)-(\d*)$/i.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  let start: number;
  let end: number;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "unsatisfiable";
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== "" && Number(m[2]) < start) return null;
  }
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

/** A streamed answer piped to the client; what its prefix held of the misses' memory is given back whatever happens. */
async function pipeStream(c: Ctx, s: Extract<Fetched, { kind: "stream" }>, cache: CacheStatus, allowed: TypeCheck): Promise<Outcome> {
  try {
    return await pipeStreamed(c, s, cache, allowed);
  } finally {
    s.release();
  }
}

async function pipeStreamed(
  c: Ctx,
  s: Extract<Fetched, { kind: "stream" }>,
  cache: CacheStatus,
  allowed: TypeCheck,
): Promise<Outcome> {
  const { res, d } = c;
  const status = s.origin.status;
  if (!allowed(s.headers, status)) {
    discard(s.origin.body);
    return refusedType(c, status, s.headers, cache);
  }
  const headers = { ...s.headers, "x-cache": cache, "x-content-type-options": "nosniff" };
  const asked = c.req.headers;
  // A client that has this version already gets a 304, as for a cached object (decision 016).
  if (status === 200 && notModified(asked["if-none-match"], asked["if-modified-since"], s.headers.etag, s.headers["last-modified"])) {
    discard(s.origin.body);
    res.writeHead(304, headers).end();
    return { status: 304, cache, bytes: 0 };
  }
  res.writeHead(status, headers);
  if (c.head) {
    discard(s.origin.body);
    res.end();
    return { status, cache, bytes: 0 };
  }
  let bytes = 0;
  // Counted against the subject's quota as they go (taken back when the answer ends, just before it is recorded).
  const subject = c.doc.billingSubject;
  let closed = false;
  const waiting = new Set<() => void>();
  const leave = () => {
    if (closed) return;
    closed = true;
    // A client gone before the end lets go of the origin at once, not at the origin's next chunk (or its timeout).
    if (!res.writableFinished) discard(s.origin.body);
    for (const wake of waiting) wake();
  };
  res.once("close", leave);
  // A response queued behind another on its connection hears nothing of the connection's end: its socket does.
  const socket = c.req.socket;
  socket.once("close", leave);
  /** Writes a chunk and waits while the client's socket is full; false once the client has gone. */
  const write = async (chunk: Buffer): Promise<boolean> => {
    if (closed || res.destroyed) return false;
    const flowing = res.write(chunk);
    bytes += chunk.length;
    d.recorder.streamed(subject, chunk.length);
    if (!flowing && !closed && !res.destroyed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(stalled);
          res.off("drain", done);
          waiting.delete(done);
          resolve();
        };
        // A client that reads nothing for that long is cut off: it would hold the origin's connection and what the
        // answer's start holds of the misses' memory for as long as it likes.
        const stalled = setTimeout(() => {
          res.destroy();
          leave();
        }, d.clientStallMs);
        res.on("drain", done);
        waiting.add(done);
      });
    }
    return !closed && !res.destroyed;
  };
  try {
    let total = 0;
    for (const chunk of s.prefix) {
      total += chunk.length;
      if (!(await write(chunk))) break;
    }
    // The prefix is out (or the client gone): what it held is given back.
    s.prefix.length = 0;
    s.release();
    while (!closed && !res.destroyed) {
      const next = await s.rest.next();
      if (next.done) break;
      total += next.value.length;
      if (total > d.maxResponseBytes) throw new Error("the origin's response exceeds the size cap");
      if (!(await write(next.value))) break;
    }
    if (closed || res.destroyed) {
      discard(s.origin.body);
    } else {
      res.end();
    }
  } catch (err) {
    // The client left, or was cut off at shutdown (its socket is gone before its response hears of it), and the
    // origin body was let go of: what it was sent is what it got.
    if (closed || gone(res)) return { status, cache, bytes };
    // Headers are gone: the only honest signal left is to cut the connection.
    console.warn(`edge: streaming ${c.doc.slug}: ${(err as Error).message}`);
    discard(s.origin.body);
    res.destroy();
    return { status: 502, cache: "ERROR", bytes };
  } finally {
    // The connection may serve more requests: nothing of this one stays on it.
    socket.off("close", leave);
    res.off("close", leave);
    // Recorded next, in the same turn of the event loop (no quota check runs in between), unless the answer is queued
    // behind another on its connection (pipelining): until it is sent, these bytes count nowhere. They are never
    // counted twice.
    d.recorder.streamed(subject, -bytes);
  }
  return { status, cache, bytes };
}

/** Headers that describe a body, dropped with the body they described. */
const BODY_HEADERS = new Set(["content-type", "content-length", "content-encoding", "content-language", "content-disposition", "etag", "last-modified"]);

/**
 * An answer whose type is not served: a 2xx is refused (403); another status is kept, with the origin's other headers
 * (a redirect keeps its Location) and a short text instead of its body.
 */
function refusedType(c: Ctx, status: number, headers: Record<string, string>, cache: CacheStatus): Outcome {
  if (status >= 200 && status <= 299) return plain(c.res, 403, "This type of file is not served here.\n", cache);
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (!BODY_HEADERS.has(name)) kept[name] = value;
  return plain(c.res, status, `The origin answered ${status}.\n`, cache, kept);
}

/**
 * Whether a response's client is gone: the response is destroyed, or its connection is (cut off at shutdown, before
 * the response hears of it; or, for a response queued behind another on it, which never hears of it).
 */
const gone = (res: ServerResponse) => res.destroyed || (res.socket ?? res.req?.socket)?.destroyed === true;

/** A short plain-text answer, served to the client and counted (origin errors, type refusals). */
function plain(res: ServerResponse, status: number, text: string, cache: CacheStatus, extra: Record<string, string> = {}): Outcome {
  const body = Buffer.from(text, "utf8");
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": String(body.length),
    "cache-control": "no-store",
    "x-cache": cache,
    "x-content-type-options": "nosniff",
    ...extra,
  });
  // A client cut off before its answer (at shutdown) was sent nothing.
  const sent = gone(res) ? 0 : body.length;
  res.end(body);
  return { status, cache, bytes: sent };
}

/** A refusal the edge answers by itself before any cache or origin: served, but not counted as the tenant's usage. */
function refuse(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): null {
  plain(res, status, text, "BYPASS", extra);
  return null;
}

/** Drops an origin body that will not be read (the abort it causes is expected, not an error). */
function discard(body: OriginResponse["body"]): void {
  body.on("error", () => undefined);
  body.destroy();
}
