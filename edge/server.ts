// The edge as a running server: its parts wired together (tenant directory, origin fetcher, cache, usage recorder,
// quota gate) behind one node:http server, and a `close` that stops accepting, lets answers in progress finish and
// writes the usage still held.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ByteBudget, ResponseCache } from "./cache.ts";
import { type EdgeDatabase, inlineDatabase } from "./database.ts";
import { OriginFetcher } from "./fetch.ts";
import { botFilter, createEdgeHandler, type EdgeDeps } from "./handler.ts";
import { EDGE_CLOSE_GRACE_MS, EDGE_CLOSE_SETTLE_MS, EDGE_USAGE_STOP_MS } from "./node-flags.ts";
import { OutageWatch } from "./outage.ts";
import { QuotaGate } from "./quota.ts";
import { TenantDirectory } from "./tenants.ts";
import { UsageRecorder, type UsageRecorderOptions } from "./usage.ts";

/** User agents of crawlers known to ignore robots.txt or scrape media in bulk (lowercase substrings). */
export const DEFAULT_BLOCKED_BOTS = [
  "ahrefsbot",
  "semrushbot",
  "mj12bot",
  "dotbot",
  "petalbot",
  "blexbot",
  "dataforseobot",
  "megaindex",
  "bytespider",
  "serpstatbot",
  "seekportbot",
  "zoominfobot",
  "barkrowler",
  "imagesiftbot",
];

export interface EdgeConfig {
  /** Tenants are served on `<slug>.<edgeHost>` and on `<edgeHost>/<slug>/…`. */
  edgeHost: string;
  /** The scheme clients use to reach the edge. */
  scheme?: string;
  allowPrivateOrigins: boolean;
  dnsServers?: string[];
  cacheBytes: number;
  logSampleRate?: number;
  blockedBots?: string[];
  maxObjectBytes?: number;
  /** What the bodies of misses may hold in memory at once (default: half the cache, and at least one object). */
  missBufferBytes?: number;
  maxResponseBytes?: number;
  maxParseBytes?: number;
  /** How long a streamed answer waits for a client that reads nothing before cutting it off (default 60 s). */
  clientStallMs?: number;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  tenantMaxAgeMs?: number;
  quotaMaxAgeMs?: number;
  /** How long past their age tenant and quota answers are served while the database does not answer (decision 012). */
  staleIfErrorMs?: number;
  usage?: UsageRecorderOptions;
  /**
   * Where tenant look-ups, quota reads and usage writes run: on this thread through the process's mongoose connection
   * (the default), or a `DatabaseThread` (what `npm start` runs; closed with the edge).
   */
  database?: EdgeDatabase;
  now?: () => Date;
}

export interface Edge {
  server: http.Server;
  deps: EdgeDeps;
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting, waits up to `graceMs` for answers in progress, then writes the usage held. */
  close(graceMs?: number): Promise<void>;
}

export function createEdge(config: EdgeConfig): Edge {
  const database = config.database ?? inlineDatabase;
  const recorder = new UsageRecorder({
    logSampleRate: config.logSampleRate,
    write: (batch, writer, counted) => database.write(batch, writer, counted),
    ...config.usage,
  });
  // The clock in epoch ms (Date.now itself unless a test sets the time): read on every request, so no Date is made.
  const now = config.now;
  const clock = now ? () => now().getTime() : Date.now;
  // One view of whether the database answers, for tenant and quota answers alike (decision 012).
  const outage = new OutageWatch(clock, config.staleIfErrorMs);
  const maxObjectBytes = config.maxObjectBytes ?? Math.min(16 * 1024 * 1024, Math.floor(config.cacheBytes / 8));
  const deps: EdgeDeps = {
    directory: new TenantDirectory(config.edgeHost, config.tenantMaxAgeMs ?? 1_000, clock, outage, (key) => database.tenant(key)),
    fetcher: new OriginFetcher({
      allowPrivate: config.allowPrivateOrigins,
      dnsServers: config.dnsServers,
      connectTimeoutMs: config.connectTimeoutMs ?? 5_000,
      headersTimeoutMs: config.headersTimeoutMs ?? 15_000,
      bodyTimeoutMs: config.bodyTimeoutMs ?? 30_000,
    }),
    cache: new ResponseCache(config.cacheBytes),
    recorder,
    quota: new QuotaGate(recorder, config.quotaMaxAgeMs ?? 5_000, clock, outage, (subject, now) => database.usage(subject, now)),
    scheme: config.scheme ?? "http",
    blockedBot: botFilter(config.blockedBots ?? DEFAULT_BLOCKED_BOTS),
    maxObjectBytes,
    missBuffer: new ByteBudget(config.missBufferBytes ?? Math.max(maxObjectBytes, Math.floor(config.cacheBytes / 2))),
    maxResponseBytes: config.maxResponseBytes ?? 2 * 1024 * 1024 * 1024,
    maxParseBytes: config.maxParseBytes ?? 4 * 1024 * 1024,
    clientStallMs: config.clientStallMs ?? 60_000,
  };
  const handle = createEdgeHandler(deps);
  const pending = new Set<Promise<void>>();
  const server = http.createServer({ requestTimeout: 60_000, headersTimeout: 20_000, keepAliveTimeout: 5_000 }, (req, res) => {
    const p = handle(req, res);
    // Answered already (a hit): nothing to wait for at shutdown.
    if (!p) return;
    pending.add(p);
    void p.finally(() => pending.delete(p));
  });

  return {
    server,
    deps,
    async listen(port, host) {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      recorder.start();
      return (server.address() as AddressInfo).port;
    },
    async close(graceMs = EDGE_CLOSE_GRACE_MS) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const settled = (ms: number) => Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, ms).unref())]);
      await settled(graceMs);
      // Past the grace period, the clients still waiting are cut off and their origin requests ended, so each answer
      // in progress settles, and is recorded with what its client was sent, before the last usage write.
      server.closeAllConnections();
      await deps.fetcher.destroy();
      await settled(EDGE_CLOSE_SETTLE_MS);
      await closed;
      await recorder.stop(EDGE_USAGE_STOP_MS);
      await database.close();
    },
  };
}
