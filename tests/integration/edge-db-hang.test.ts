// The edge's usage writes when the database stops answering without closing its connections (a frozen server, a
// network that drops packets): the write fails instead of waiting forever, is retried once the database answers
// again, and counts every request once. The database is a store of this file's own behind a TCP relay that can be
// frozen (it holds what either side sends until it is thawed). With the driver's defaults the write fails after ~40 s
// (its monitor's heartbeat times out and it interrupts the connections in use, measured here); this file's URI sets a
// socket timeout of a second to get there sooner.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Types } from "mongoose";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type RunningStore, start } from "../../embedded-mongo/src/index.ts";

let dbPath = "";
let store: RunningStore;
let relay: FreezableRelay;
let mongoose: typeof import("mongoose").default;

/** A TCP relay to `port` that, frozen, holds every byte either side sends until it is thawed. */
interface FreezableRelay {
  port: number;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

async function freezableRelay(port: number): Promise<FreezableRelay> {
  let frozen = false;
  const held: Array<() => void> = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, "127.0.0.1");
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from);
      from.on("data", (chunk: Buffer) => (frozen ? held.push(() => to.write(chunk)) : to.write(chunk)));
      from.on("close", () => {
        sockets.delete(from);
        to.destroy();
      });
      from.on("error", () => undefined);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => void (frozen = true),
    thaw: () => {
      frozen = false;
      for (const send of held.splice(0)) send();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

beforeAll(async () => {
  dbPath = fs.mkdtempSync(path.join(os.tmpdir(), "edge-hang-"));
  store = await start({ dbPath, log: () => {} });
  relay = await freezableRelay(store.port);
  process.env.MONGODB_URI = `mongodb://127.0.0.1:${relay.port}/hang?socketTimeoutMS=1000`;
  mongoose = (await import("mongoose")).default;
  await (await import("#app/server/db.server.ts")).connectDb();
});

afterAll(async () => {
  await mongoose?.disconnect();
  await relay?.close();
  await store?.stop();
  fs.rmSync(dbPath, { recursive: true, force: true });
});

it("fails a usage write the database does not answer, and writes the batch once it answers again, counting each request once", async () => {
  const { UsageRecorder } = await import("#edge/usage.ts");
  const { DailyUsage } = await import("#models/daily-usage.ts");
  const { RequestLogBucket } = await import("#models/request-log.ts");
  const owner = { _id: new Types.ObjectId(), slug: "hang", billingSubject: "user:hang", ownerId: "hang" };
  const event = { time: Date.now(), method: "GET", path: "/a.png", status: 200, bytes: 7, cacheStatus: "HIT" as const, kind: "asset" as const, durationMs: 1 };
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (message: string) => void warnings.push(String(message));
  try {
    const recorder = new UsageRecorder({ intervalMs: 3_600_000 });
    for (let i = 0; i < 10; i++) recorder.record(owner, event);
    relay.freeze();
    const asked = Date.now();
    await expect(recorder.flush()).rejects.toThrow(/timed out/i);
    const waited = Date.now() - asked;
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(5_000);
    expect(warnings).toEqual([expect.stringMatching(/^edge: usage write failed \(attempt 1, 10 requests held\): .*timed out/i)]);
    // Traffic meanwhile goes into the next batch.
    for (let i = 0; i < 5; i++) recorder.record(owner, event);
    expect(recorder.pendingRequests()).toBe(15);
    relay.thaw();
    await recorder.stop(20_000);
    expect(recorder.pendingRequests()).toBe(0);
  } finally {
    console.warn = warn;
    relay.thaw();
  }
  const day = await DailyUsage.findOne({ tenant: owner._id }, { _id: 0, requests: 1, bytes: 1, hits: 1 }).lean();
  expect(day).toEqual({ requests: 15, bytes: 105, hits: 15 });
  const buckets = await RequestLogBucket.find({ tenant: owner._id }, { count: 1 }).lean();
  expect(buckets.reduce((n, b) => n + b.count, 0)).toBe(15);
}, 60_000);
