// The edge through an outage of its database: a store of this file's own (on disk, so it comes back with its data)
// is stopped under a running edge and started again. Kept tenants and quotas go on being served from the last
// answers, without waiting for the database; the usage of the outage is written once the store is back; and a
// change made after the outage is seen within seconds.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Types } from "mongoose";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { type RunningStore, start } from "../../embedded-mongo/src/index.ts";
import type { Edge } from "#edge/server.ts";
import { edgeRequest } from "#tests/support/edge-client.ts";
import { IMAGE, startOrigin, type TestOrigin } from "#tests/support/origin.ts";

let dbPath = "";
let store: RunningStore;
let origin: TestOrigin;
let edge: Edge;
let edgeClosed = false;
let port = 0;
let tenantId: Types.ObjectId;
// The app's modules, imported once this file's store is the database they use.
let models: { Tenant: typeof import("#models/tenant.ts").Tenant; DailyUsage: typeof import("#models/daily-usage.ts").DailyUsage };
let mongoose: typeof import("mongoose").default;
let createEdge: typeof import("#edge/server.ts").createEdge;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const get = (p: string, slug = "steady") => edgeRequest(port, `${slug}.localhost:${port}`, p);

beforeAll(async () => {
  dbPath = fs.mkdtempSync(path.join(os.tmpdir(), "edge-outage-"));
  store = await start({ dbPath, log: () => {} });
  process.env.MONGODB_URI = `mongodb://127.0.0.1:${store.port}/outage`;
  mongoose = (await import("mongoose")).default;
  const { connectDb } = await import("#app/server/db.server.ts");
  createEdge = (await import("#edge/server.ts")).createEdge;
  models = { Tenant: (await import("#models/tenant.ts")).Tenant, DailyUsage: (await import("#models/daily-usage.ts")).DailyUsage };
  await connectDb();
  origin = await startOrigin();
  const tenant = (slug: string, user: string) =>
    models.Tenant.create({ slug, ownerId: user, billingSubject: `user:${user}`, cms: "generic", originUrl: `${origin.base}/media`, cacheTTL: 3600 });
  tenantId = (await tenant("steady", "u1"))._id;
  // A free subject past its month's requests: refused before, during and after the outage.
  const capped = await tenant("capped", "u2");
  const today = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
  await models.DailyUsage.create({ tenant: capped._id, slug: "capped", billingSubject: "user:u2", ownerId: "u2", day: today, requests: 600_000, bytes: 0 });
  edge = createEdge({ edgeHost: "localhost", allowPrivateOrigins: true, cacheBytes: 8 * 1024 * 1024, quotaMaxAgeMs: 1_000 });
  port = await edge.listen(0, "127.0.0.1");
});

afterAll(async () => {
  if (edge && !edgeClosed) await edge.close();
  await origin?.close();
  await mongoose?.disconnect();
  await store?.stop();
  fs.rmSync(dbPath, { recursive: true, force: true });
});

/** An edge on a clock of its own, to let time pass (`later(ms)`), asking for tenant "steady"'s image. */
async function edgeOnOwnClock() {
  let skew = 0;
  const edge = createEdge({
    edgeHost: "localhost",
    allowPrivateOrigins: true,
    cacheBytes: 8 * 1024 * 1024,
    now: () => new Date(Date.now() + skew),
    usage: { intervalMs: 3_600_000 },
  });
  const port = await edge.listen(0, "127.0.0.1");
  return {
    ask: (method = "GET") => edgeRequest(port, `steady.localhost:${port}`, "/img.png", { method }),
    later: (ms: number) => void (skew += ms),
    close: () => edge.close(),
  };
}

it("serves kept tenants and keeps used-up quotas closed through a database outage, writes the outage's usage after it, and sees later changes", async () => {
  const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
  try {
    expect((await get("/img.png")).headers["x-cache"]).toBe("MISS");
    expect((await get("/img.png")).headers["x-cache"]).toBe("HIT");
    expect((await get("/img.png", "capped")).status).toBe(429);
    let made = 2;

    const storePort = store.port;
    await store.stop();
    // 3 s without a database: three times the tenant answers' age and the quota answers' age (1 s each here).
    const slowest: number[] = [];
    for (const until = Date.now() + 3_000; Date.now() < until; ) {
      const asked = Date.now();
      const res = await get("/img.png");
      slowest.push(Date.now() - asked);
      made++;
      expect([res.status, res.headers["x-cache"], res.body.equals(IMAGE)]).toEqual([200, "HIT", true]);
      // The used-up free quota stays closed (its last known usage), rather than failing open.
      const refused = await get("/img.png", "capped");
      expect([refused.status, refused.text]).toEqual([429, expect.stringMatching(/^Monthly requests quota of the free plan used up/)]);
      await sleep(50);
    }
    expect(slowest.length).toBeGreaterThan(20);
    // Each at once, where waiting for the database would take from 1 s (the next try) to 5 s (the load's limit).
    expect(Math.max(...slowest)).toBeLessThan(1_000);

    store = await start({ dbPath, port: storePort, log: () => {} });
    // A change made once the database is back is seen within seconds (the client reconnects, then the next reload).
    await models.Tenant.updateOne({ _id: tenantId }, { $inc: { "cacheVersions.assets": 1 } });
    let seen = "";
    for (const until = Date.now() + 15_000; Date.now() < until && seen !== "MISS"; ) {
      seen = String((await get("/img.png")).headers["x-cache"]);
      made++;
      await sleep(100);
    }
    expect(seen).toBe("MISS");

    // Every request, the outage's included, is in the daily usage once the edge has written what it held.
    await edge.close();
    edgeClosed = true;
    const days = await models.DailyUsage.find({ tenant: tenantId }, { _id: 0, requests: 1 }).lean();
    expect(days.reduce((sum, d) => sum + d.requests, 0)).toBe(made);
    // The tenant's answer and the quota's were each warned about once for the outage, not once per request.
    const warnings = warn.mock.calls.map((c) => String(c[0]));
    expect(warnings.filter((w) => w.startsWith("edge: slug:steady: serving the last answer"))).toHaveLength(1);
    expect(warnings.filter((w) => w.startsWith("edge: quota of user:u1: using the last usage read"))).toHaveLength(1);
    expect(warnings.filter((w) => w.startsWith("edge: quota of user:u2: using the last usage read"))).toHaveLength(1);
  } finally {
    warn.mockRestore();
  }
}, 60_000);

it("looks a tenant up afresh at its next request once the outage is over, though it went quiet after a failed reload", async () => {
  // The outage is taken to be over 10 s after the last failed load.
  const quiet = await edgeOnOwnClock();
  const ask = quiet.ask;
  const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
  try {
    expect((await ask()).status).toBe(200);
    const storePort = store.port;
    await store.stop();
    // Past the answer's age with the database gone: the reload fails, the last answer is served.
    quiet.later(1_500);
    const during = await ask();
    expect([during.status, during.headers["x-cache"]]).toEqual([200, "HIT"]);
    store = await start({ dbPath, port: storePort, log: () => {} });
    await models.Tenant.updateOne({ _id: tenantId }, { $inc: { "cacheVersions.assets": 1 } });
    // No request for 11 s: the next one is looked up afresh and sees the bump, rather than the answer kept.
    quiet.later(11_000);
    const after = await ask();
    expect([after.status, after.headers["x-cache"]]).toEqual([200, "MISS"]);
  } finally {
    warn.mockRestore();
    await quiet.close();
  }
}, 30_000);

it("serves a subject whose usage was never read while the database does not answer (quotas fail open), and says so", async () => {
  const fresh = await edgeOnOwnClock();
  const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
  const storePort = store.port;
  let stopped = false;
  try {
    // Refused before its quota is looked at: the tenant is kept, its subject's usage never read.
    expect((await fresh.ask("POST")).status).toBe(405);
    await store.stop();
    stopped = true;
    const served = await fresh.ask();
    expect([served.status, served.headers["x-cache"], served.body.equals(IMAGE)]).toEqual([200, "MISS", true]);
    const warnings = warn.mock.calls.map((c) => String(c[0]));
    expect(warnings.filter((w) => w.startsWith("edge: quota of user:u1 not checked: "))).toHaveLength(1);
  } finally {
    warn.mockRestore();
    if (stopped) store = await start({ dbPath, port: storePort, log: () => {} });
    await fresh.close();
  }
}, 30_000);

it("gives up on a database that hangs after 5 s and serves the last answer, then at once while it still hangs", async () => {
  // The store in a process of its own (same port, same data), to stop it with SIGSTOP: connections stay open and
  // queries get no answer at all, which a refused connection never shows.
  const storePort = store.port;
  await store.stop();
  const child = spawn(process.execPath, ["--import", "tsx", "embedded-mongo/src/cli.ts", "--port", String(storePort), "--dbpath", dbPath], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => String(d).includes("ready on") && resolve());
    child.once("exit", (code) => reject(new Error(`the store exited (${code})`)));
  });
  const hung = await edgeOnOwnClock();
  const ask = hung.ask;
  const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
  try {
    expect((await ask()).status).toBe(200);
    child.kill("SIGSTOP");
    hung.later(1_500);
    const first = Date.now();
    const waited = await ask();
    const firstMs = Date.now() - first;
    expect([waited.status, waited.headers["x-cache"]]).toEqual([200, "HIT"]);
    expect(firstMs).toBeGreaterThanOrEqual(4_500);
    expect(firstMs).toBeLessThan(9_000);
    const next = Date.now();
    expect((await ask()).status).toBe(200);
    expect(Date.now() - next).toBeLessThan(1_000);
    expect(warn.mock.calls.map((c) => String(c[0])).filter((w) => w.includes("did not answer within 5000 ms"))).not.toHaveLength(0);
  } finally {
    warn.mockRestore();
    child.kill("SIGCONT");
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
    store = await start({ dbPath, port: storePort, log: () => {} });
    await hung.close();
  }
}, 40_000);
