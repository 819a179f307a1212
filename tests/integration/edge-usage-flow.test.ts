// What the edge serves is what the dashboard counts: daily usage, path usage and request logs match the requests made
// (counts and bytes received by the client), requests are answered while a usage write is stuck, refusals the edge
// makes by itself are not billed, and a shutdown writes everything held; with the edge's database on the serving
// thread and on a thread of its own (as `npm start` runs it).
import http from "node:http";
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encryptToken } from "#app/server/crypto.server.ts";
import { startOfUtcDay } from "#app/schemas/period.ts";
import { DatabaseThread, type EdgeDatabase, inlineDatabase } from "#edge/database.ts";
import { DailyPathUsage } from "#models/daily-path-usage.ts";
import { DailyUsage } from "#models/daily-usage.ts";
import { RequestLogBucket } from "#models/request-log.ts";
import { Tenant } from "#models/tenant.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { edgeRequest } from "#tests/support/edge-client.ts";
import { listeningEdge } from "#tests/support/listening-edge.ts";
import { storedLogs } from "#tests/support/request-logs.ts";
import { startOrigin, type TestOrigin } from "#tests/support/origin.ts";

let origin: TestOrigin;
const id = new Types.ObjectId();

beforeAll(async () => {
  await resetDb();
  origin = await startOrigin("tok-usage");
  await Tenant.create({
    _id: id,
    slug: "counted",
    ownerId: "u1",
    billingSubject: "user:u1",
    cms: "generic",
    originUrl: `${origin.base}/media`,
    videoOrigin: `${origin.base}/video`,
    cacheTTL: 3600,
    apiOrigin: `${origin.base}/api`,
    apiToken: encryptToken("tok-usage", id.toHexString()),
  });
});
afterAll(() => origin.close());

type Made = { method: string; path: string; status: number; cache: string; kind: "asset" | "api"; bytes: number; sent: number; answered: number };

describe.each([
  ["on the serving thread", () => inlineDatabase],
  ["on a thread of its own", () => new DatabaseThread()],
])("the edge's usage, its database %s", (_, makeDatabase: () => EdgeDatabase) => {
  beforeAll(async () => {
    await DailyUsage.deleteMany({ tenant: id });
    await DailyPathUsage.deleteMany({ tenant: id });
    await RequestLogBucket.deleteMany({ tenant: id });
  });

  it("answers while a usage write is stuck, counts exactly what clients received, and writes it all at shutdown", async () => {
    const database = makeDatabase();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let writes = 0;
    const { edge, port } = await listeningEdge({
      database,
      usage: {
        intervalMs: 50,
        write: async (batch, writer, counted) => {
          writes++;
          await gate;
          await database.write(batch, writer, counted);
        },
      },
    });
    const host = `counted.localhost:${port}`;
    const made: Made[] = [];
    const send = async (path: string, opts: { method?: string; headers?: Record<string, string>; host?: string } = {}) => {
      const sent = Date.now();
      const res = await edgeRequest(port, opts.host ?? host, path, opts);
      const answered = Date.now();
      const bare = path.replace(/^\/counted/, "").split("?")[0];
      made.push({
        method: opts.method ?? "GET",
        path: bare,
        status: res.status,
        cache: String(res.headers["x-cache"]),
        kind: bare.startsWith("/~api") ? "api" : "asset",
        bytes: res.body.length,
        sent,
        answered,
      });
      return res;
    };

    await send("/img.png");
    // The first write has started and is stuck from here on.
    await expect.poll(() => writes).toBe(1);
    const started = Date.now();
    await send("/img.png");
    await send("/counted/img.png?w=1", { host: `localhost:${port}` });
    await send("/img.png", { method: "HEAD" });
    await send("/page.html");
    await send("/fail.png");
    await send("/missing.png");
    await send("/clip.mp4", { headers: { range: "bytes=0-99" } });
    await send("/~api/entries?b=1");
    await send("/~api/entries?b=1");
    await send("/~api/entries?b=1&preview=1");
    // Refused by the edge itself: not the tenant's usage.
    for (const refused of [
      () => edgeRequest(port, host, "/img.png", { method: "POST" }),
      () => edgeRequest(port, host, "/img.png", { headers: { "user-agent": "SemrushBot/7" } }),
      () => edgeRequest(port, host, "/../img.png"),
      () => edgeRequest(port, `nobody.localhost:${port}`, "/img.png"),
    ]) {
      expect((await refused()).headers["x-cache"]).toBe("BYPASS");
    }
    // Every request was answered while the write was stuck (no request waits for the database).
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await DailyUsage.countDocuments({ tenant: id })).toBe(0);
    expect(made.map((m) => `${m.method} ${m.path} ${m.status} ${m.cache}`)).toEqual([
      "GET /img.png 200 MISS",
      "GET /img.png 200 HIT",
      "GET /img.png 200 MISS",
      "HEAD /img.png 200 HIT",
      "GET /page.html 403 MISS",
      "GET /fail.png 502 ERROR",
      "GET /missing.png 404 MISS",
      "GET /clip.mp4 206 MISS",
      "GET /~api/entries 200 MISS",
      "GET /~api/entries 200 HIT",
      "GET /~api/entries 200 BYPASS",
    ]);

    release();
    await edge.close();

    const sum = (list: Made[]) => list.reduce((n, m) => n + m.bytes, 0);
    const count = (list: Made[], cache: string) => list.filter((m) => m.cache === cache).length;
    const counters = (list: Made[]) => ({
      requests: list.length,
      bytes: sum(list),
      hits: count(list, "HIT"),
      misses: count(list, "MISS"),
      bypasses: count(list, "BYPASS"),
      errors: count(list, "ERROR"),
    });
    // (Requests made across a UTC midnight are counted in two days' documents: each is dated a day of the test's.)
    const days = (await DailyUsage.find({ tenant: id }).lean()).map((u) => u.day.getTime());
    const first = startOfUtcDay(new Date(made[0].sent)).getTime();
    const last = startOfUtcDay(new Date(made[made.length - 1].answered)).getTime();
    expect(days.length > 0 && days.every((day) => day === first || day === last)).toBe(true);
    const usage = await usageTotals();
    expect(usage).toEqual({
      slug: "counted",
      billingSubject: "user:u1",
      ...counters(made),
      asset: counters(made.filter((m) => m.kind === "asset")),
      api: counters(made.filter((m) => m.kind === "api")),
      status: { s2xx: 8, s3xx: 0, s4xx: 2, s5xx: 1 },
    });
    // 10,240-byte image ×3 received (the HEAD carries none), plus the bodies of the rest.
    expect(usage.asset.bytes).toBe(3 * 10_240 + 38 + 41 + 12 + 100);

    const logs = await storedLogs(id);
    expect(logs.map((l) => ({ method: l.method, path: l.path, status: l.status, cache: l.cacheStatus, kind: l.kind, bytes: l.bytes }))).toEqual(
      made.map((m) => ({ method: m.method, path: m.path, status: m.status, cache: m.cache, kind: m.kind, bytes: m.bytes })),
    );
    expect(logs.every((l) => l.durationMs >= 0 && l.durationMs < 5_000)).toBe(true);
    // Each log is dated when its request came, and took no longer than its client waited.
    expect(
      logs.map((l, i) => l.timestamp.getTime() >= made[i].sent && l.timestamp.getTime() <= made[i].answered && l.durationMs <= made[i].answered - made[i].sent + 1),
    ).toEqual(made.map(() => true));

    const paths = new Map<string, { requests: number; bytes: number }>();
    for (const p of await DailyPathUsage.find({ tenant: id }).lean()) {
      const sum = paths.get(p.path) ?? { requests: 0, bytes: 0 };
      paths.set(p.path, { requests: sum.requests + p.requests, bytes: sum.bytes + p.bytes });
    }
    const byPath = new Map<string, { requests: number; bytes: number }>();
    for (const m of made) {
      const p = byPath.get(m.path) ?? { requests: 0, bytes: 0 };
      byPath.set(m.path, { requests: p.requests + 1, bytes: p.bytes + m.bytes });
    }
    expect([...paths].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, v]) => ({ path, ...v }))).toEqual(
      [...byPath].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, v]) => ({ path, ...v })),
    );
  });

  it("at shutdown, cuts off a download still running after the grace period and writes what its client was sent", async () => {
    const { edge, port } = await listeningEdge({ maxObjectBytes: 64 * 1024, database: makeDatabase() });
    const before = await usageTotals();
    let received = 0;
    const ended = new Promise<number | undefined>((resolve) => {
      const req = http.get({ host: "127.0.0.1", port, path: "/slow.mp4", headers: { host: `counted.localhost:${port}` } }, (res) => {
        res.on("data", (chunk: Buffer) => (received += chunk.length));
        res.on("close", () => resolve(res.statusCode));
      });
      // Being cut off may surface as a reset.
      req.on("error", () => resolve(undefined));
    });
    await expect.poll(() => received, { timeout: 5_000 }).toBeGreaterThanOrEqual(2 * 16_384);
    const closing = Date.now();
    await edge.close(200);
    expect(await ended).toBe(200);
    // Cut off, not waited for: the whole video takes 12 s.
    expect(Date.now() - closing).toBeLessThan(3_000);
    expect(received).toBeLessThan(40 * 16_384);

    const logs = (await storedLogs(id)).filter((l) => l.path === "/slow.mp4");
    expect(logs.map((l) => ({ status: l.status, cache: l.cacheStatus, bytes: l.bytes }))).toEqual([{ status: 200, cache: "MISS", bytes: received }]);
    const after = await usageTotals();
    expect([after.requests - before.requests, after.bytes - before.bytes]).toEqual([1, received]);
  });

  it("at shutdown, ends an origin request still waiting for its answer, and counts its cut-off client as an error with no bytes", async () => {
    const { edge, port } = await listeningEdge({ database: makeDatabase() });
    let closed = false;
    try {
      const seen = origin.count("/media/later.png");
      // The origin answers after 1.5 s.
      const cut = new Promise<void>((resolve) => {
        const req = http.get({ host: "127.0.0.1", port, path: "/later.png", headers: { host: `counted.localhost:${port}` } }, (res) => {
          res.resume();
          res.on("close", () => resolve());
        });
        req.on("error", () => resolve());
      });
      await expect.poll(() => origin.count("/media/later.png"), { timeout: 10_000 }).toBe(seen + 1);
      // Ended, not waited for: the origin's answer (it would be a 200) never comes into it.
      await edge.close(100);
      closed = true;
      await cut;
    } finally {
      if (!closed) await edge.close(0);
    }
    const logs = (await storedLogs(id)).filter((l) => l.path === "/later.png");
    expect(logs.map((l) => ({ status: l.status, cache: l.cacheStatus, bytes: l.bytes }))).toEqual([{ status: 502, cache: "ERROR", bytes: 0 }]);
  });

  it("keeps no request log with LOG_SAMPLE_RATE 0, and counts every request all the same", async () => {
    const { edge, port } = await listeningEdge({ logSampleRate: 0, database: makeDatabase() });
    const before = await usageTotals();
    const logs = (await storedLogs(id)).length;
    for (let i = 0; i < 3; i++) expect((await edgeRequest(port, `counted.localhost:${port}`, "/img.png?unlogged=1")).status).toBe(200);
    await edge.close();
    const after = await usageTotals();
    expect([after.requests - before.requests, after.bytes - before.bytes]).toEqual([3, 3 * 10_240]);
    expect((await storedLogs(id)).length).toBe(logs);
  });

  it("counts a client that left before its answer came with no bytes", async () => {
    const { edge, port } = await listeningEdge({ database: makeDatabase() });
    const before = await usageTotals();
    const seen = origin.count("/media/slow.png");
    // The origin answers after 1.5 s; the client gives up after 100 ms.
    await new Promise<void>((resolve) => {
      const req = http.get({ host: "127.0.0.1", port, path: "/slow.png", headers: { host: `counted.localhost:${port}` } }, () => undefined);
      req.on("error", () => resolve());
      setTimeout(() => req.destroy(), 100);
    });
    await expect.poll(() => origin.count("/media/slow.png"), { timeout: 10_000 }).toBe(seen + 1);
    // Once the origin has answered, the edge answers no one and counts the request.
    await new Promise((r) => setTimeout(r, 1_700));
    await edge.close();

    const logs = (await storedLogs(id)).filter((l) => l.path === "/slow.png");
    expect(logs.map((l) => ({ status: l.status, cache: l.cacheStatus, bytes: l.bytes }))).toEqual([{ status: 200, cache: "MISS", bytes: 0 }]);
    const after = await usageTotals();
    expect([after.requests - before.requests, after.bytes - before.bytes]).toEqual([1, 0]);
  });
});

/** The tenant's daily usage summed over every day it has: a test's requests may straddle a UTC midnight. */
async function usageTotals() {
  type Counters = Record<"requests" | "bytes" | "hits" | "misses" | "bypasses" | "errors", number>;
  const pick = (c: Partial<Counters> | null | undefined): Counters => ({
    requests: c?.requests ?? 0,
    bytes: c?.bytes ?? 0,
    hits: c?.hits ?? 0,
    misses: c?.misses ?? 0,
    bypasses: c?.bypasses ?? 0,
    errors: c?.errors ?? 0,
  });
  const add = <T extends Record<string, number>>(a: T, b: T): T => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v + b[k]])) as T;
  const days = await DailyUsage.find({ tenant: id }).lean();
  let sum = { counters: pick(null), asset: pick(null), api: pick(null), status: { s2xx: 0, s3xx: 0, s4xx: 0, s5xx: 0 } };
  for (const u of days) {
    sum = {
      counters: add(sum.counters, pick(u)),
      asset: add(sum.asset, pick(u.asset)),
      api: add(sum.api, pick(u.api)),
      status: add(sum.status, { s2xx: u.status?.s2xx ?? NaN, s3xx: u.status?.s3xx ?? NaN, s4xx: u.status?.s4xx ?? NaN, s5xx: u.status?.s5xx ?? NaN }),
    };
  }
  const names = [...new Set(days.map((u) => JSON.stringify([u.slug, u.billingSubject])))].map((n) => JSON.parse(n) as [string, string]);
  return {
    ...(names.length === 1 ? { slug: names[0][0], billingSubject: names[0][1] } : {}),
    ...sum.counters,
    asset: sum.asset,
    api: sum.api,
    status: sum.status,
  };
}
