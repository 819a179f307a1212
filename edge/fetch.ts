// Requests to origins, made safe: only public addresses are connected to (checked on the resolved address, at
// connect time, so a name that re-resolves to a private address is caught too), redirects are not followed, and
// connect, header and idle timeouts bound every request.
import dns from "node:dns";
import net, { type LookupFunction } from "node:net";
import type { Readable } from "node:stream";
import { Agent, request } from "undici";
import { isPrivateHost } from "#app/schemas/public-origin.ts";

export class OriginRefused extends Error {
  constructor(
    message: string,
    /** What was refused: the URL's scheme, or the address the origin is (or resolves to). */
    readonly reason: "scheme" | "address" = "address",
  ) {
    super(message);
  }
}

export interface FetcherOptions {
  allowPrivate: boolean;
  /** DNS servers ("ip:port") to resolve origins with; the system resolver when unset. */
  dnsServers?: string[];
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

type Address = { address: string; family: number };

function resolveAll(hostname: string, servers: string[] | undefined, done: (err: Error | null, addresses: Address[]) => void): void {
  if (!servers?.length) {
    dns.lookup(hostname, { all: true }, (err, addresses) => done(err, addresses ?? []));
    return;
  }
  const resolver = new dns.Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers(servers);
  const out: Address[] = [];
  let pending = 2;
  let firstError: Error | null = null;
  const finish = (err: Error | null, list: string[] | undefined, family: number) => {
    if (err && !firstError) firstError = err;
    for (const address of list ?? []) out.push({ address, family });
    if (--pending === 0) done(out.length ? null : firstError ?? new Error(`${hostname} has no address`), out);
  };
  resolver.resolve4(hostname, (err, list) => finish(err, list, 4));
  resolver.resolve6(hostname, (err, list) => finish(err, list, 6));
}

/** A `lookup` for net.connect that hands out only public addresses (unless private ones are allowed). */
export function guardedLookup(opts: FetcherOptions): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number | string }, callback: (...args: unknown[]) => void) => {
    resolveAll(hostname, opts.dnsServers, (err, addresses) => {
      if (err) return callback(err);
      const usable = opts.allowPrivate ? addresses : addresses.filter((a) => !isPrivateHost(a.family === 6 ? `[${a.address}]` : a.address));
      if (usable.length === 0) {
        return callback(new OriginRefused(`${hostname} resolves only to private or reserved addresses`));
      }
      const wanted = options.family === 6 || options.family === "IPv6" ? 6 : options.family === 4 || options.family === "IPv4" ? 4 : 0;
      const fitting = wanted ? usable.filter((a) => a.family === wanted) : usable;
      const chosen = fitting.length ? fitting : usable;
      if (options.all) callback(null, chosen);
      else callback(null, chosen[0].address, chosen[0].family);
    });
  }) as unknown as LookupFunction;
}

export interface OriginResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export class OriginFetcher {
  private readonly agent: Agent;

  constructor(private readonly opts: FetcherOptions) {
    this.agent = new Agent({
      connect: { lookup: guardedLookup(opts), timeout: opts.connectTimeoutMs },
      headersTimeout: opts.headersTimeoutMs,
      bodyTimeout: opts.bodyTimeoutMs,
      keepAliveTimeout: 10_000,
    });
  }

  /** GETs (or HEADs) an origin URL; never follows a redirect. */
  async get(url: string, headers: Record<string, string>, method: "GET" | "HEAD" = "GET"): Promise<OriginResponse> {
    const target = new URL(url);
    if (target.protocol !== "https:" && !(this.opts.allowPrivate && target.protocol === "http:")) {
      throw new OriginRefused(`origin scheme ${target.protocol} is not allowed`, "scheme");
    }
    // An address written in the URL never goes through the lookup: check it here.
    const host = target.hostname;
    if (!this.opts.allowPrivate && (net.isIP(host.replace(/^\[|\]$/g, "")) || /^[\d.]+$/.test(host)) && isPrivateHost(host)) {
      throw new OriginRefused(`origin ${host} is a private or reserved address`);
    }
    const res = await request(url, { dispatcher: this.agent, method, headers });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  /** Ends the origin requests still in flight (their callers see an error) and closes every connection. */
  destroy(): Promise<void> {
    return this.agent.destroy();
  }
}
