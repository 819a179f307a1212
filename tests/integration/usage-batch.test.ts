// A usage batch written twice by the same writer (a retry after a failure whose first attempt did land) counts once;
// the next batch of that writer counts on top.
import mongoose, { Types } from "mongoose";
import { beforeAll, describe, expect, it } from "vitest";
import { HeldLogs, recordBatch, requestLogBuckets, UsageBatch, type UsageOwner } from "#app/server/traffic.server.ts";
import { DailyPathUsage } from "#models/daily-path-usage.ts";
import { DailyUsage } from "#models/daily-usage.ts";
import { REQUEST_LOG_BUCKET_MAX, RequestLogBucket } from "#models/request-log.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { countLogs, logsOf, storedLogs } from "#tests/support/request-logs.ts";

beforeAll(resetDb);

const owner: UsageOwner = { _id: new Types.ObjectId(), slug: "batchy", billingSubject: "user:u1", ownerId: "u1" };
const at = new Date(Date.UTC(2026, 10, 20, 10));
// Two tenants, and the first again as another owner object (the edge builds a new one when a tenant's config is
// reloaded).
const a: UsageOwner = { _id: new Types.ObjectId(), slug: "a", billingSubject: "user:a", ownerId: "a" };
const b: UsageOwner = { _id: new Types.ObjectId(), slug: "b", billingSubject: "user:b", ownerId: "b" };
const aAgain: UsageOwner = { ...a, _id: new Types.ObjectId(a._id.toHexString()) };
const event = (path: string, bytes: number) => ({
  time: at.getTime(),
  method: "GET",
  path,
  status: 200,
  bytes,
  cacheStatus: "HIT" as const,
  kind: "asset" as const,
  durationMs: 1,
});

describe("UsageBatch", () => {
  it("counts each tenant's day once, whichever owner object of the tenant and whatever order its requests come in", () => {
    const day = (n: number) => at.getTime() + n * 86_400_000;
    const batch = new UsageBatch();
    const adds: Array<[UsageOwner, number, number]> = [
      [a, 0, 1], [a, 0, 2], [a, 1, 4], [aAgain, 1, 8], [aAgain, 0, 16], [b, 0, 32], [aAgain, 0, 64], [a, 1, 128], [a, 0, 256],
    ];
    for (const [o, n, bytes] of adds) batch.add(o, { ...event("/d.png", bytes), time: day(n) }, false);
    const counted = [...batch.days.values()].map((d) => ({ tenant: d.tenant.slug, day: d.day, requests: d.requests, bytes: d.bytes }));
    expect(counted).toEqual([
      { tenant: "a", day: new Date(Date.UTC(2026, 10, 20)), requests: 5, bytes: 1 + 2 + 16 + 64 + 256 },
      { tenant: "a", day: new Date(Date.UTC(2026, 10, 21)), requests: 3, bytes: 4 + 8 + 128 },
      { tenant: "b", day: new Date(Date.UTC(2026, 10, 20)), requests: 1, bytes: 32 },
    ]);
    expect(batch.requests).toBe(adds.length);
  });
});

describe("a billing subject's usage in a batch", () => {
  it("adds up that subject's days from a date on, across its tenants and owner objects, and comes back from its data", () => {
    const day = (n: number) => at.getTime() + n * 86_400_000;
    const sameSubject: UsageOwner = { _id: new Types.ObjectId(), slug: "a2", billingSubject: "user:a", ownerId: "a" };
    const batch = new UsageBatch();
    batch.add(a, { ...event("/x", 1), time: day(-1) }, false);
    batch.add(a, { ...event("/x", 2), time: day(0) }, false);
    batch.add(aAgain, { ...event("/x", 4), time: day(0) }, false);
    batch.add(sameSubject, { ...event("/x", 8), time: day(1) }, true);
    batch.add(b, { ...event("/x", 16), time: day(0) }, false);
    const from = Date.UTC(2026, 10, 20);
    expect(batch.subjectUsage("user:a", from)).toEqual({ requests: 3, bytes: 14 });
    expect(batch.subjectUsage("user:a", from - 86_400_000)).toEqual({ requests: 4, bytes: 15 });
    expect(batch.subjectUsage("user:b", from)).toEqual({ requests: 1, bytes: 16 });
    expect(batch.subjectUsage("user:nobody", from)).toEqual({ requests: 0, bytes: 0 });
    const back = UsageBatch.fromData(batch.toData());
    expect(back.subjectUsage("user:a", from)).toEqual({ requests: 3, bytes: 14 });
    expect(back.subjectUsage("user:b", from)).toEqual({ requests: 1, bytes: 16 });
  });
});

describe("UsageBatch as data", () => {
  it("comes back from its data with every day's counters and paths, and every log with its id, dropped logs left out", () => {
    const batch = new UsageBatch();
    const head = (n: number) => ({ ...event("/a.png", n), time: at.getTime() + n });
    for (let n = 0; n < 5; n++) batch.add(a, head(n), true);
    // Logs dropped from the front (a long outage) are not part of the data.
    batch.logs.dropOldest(2);
    batch.add(b, { ...event("/b.png", 7), method: "HEAD", status: 404, cacheStatus: "MISS", kind: "api", durationMs: 2.5 }, true);
    batch.add(aAgain, { ...event("/a.png", 9), time: at.getTime() + 86_400_000 }, true);
    batch.add(a, { ...event("/c.png", 11), time: at.getTime() + 86_400_000 }, false);
    // A later day of tenant a under another owner object whose billing subject changed: that day keeps its owner.
    const aMoved: UsageOwner = { ...aAgain, billingSubject: "user:moved", slug: "a-moved" };
    batch.add(aMoved, { ...event("/a.png", 13), time: at.getTime() + 2 * 86_400_000 }, false);
    const data = batch.toData();
    // Strings travel once each, tenants once per owner object.
    expect(data.logs.paths).toEqual(["/a.png", "/b.png"]);
    expect(data.logs.methods).toEqual(["GET", "HEAD"]);
    expect(data.logs.tenants).toEqual([a, b, aAgain].map((o) => o._id.toHexString()));

    const back = UsageBatch.fromData(data);
    const days = (x: UsageBatch) =>
      [...x.days.entries()].map(([key, d]) => ({
        key,
        owner: { id: d.tenant._id.toHexString(), slug: d.tenant.slug, billingSubject: d.tenant.billingSubject, ownerId: d.tenant.ownerId },
        day: d.day,
        inc: d.inc,
        paths: [...d.paths.values()].map((p) => ({ ...p, tenant: p.tenant.toHexString() })),
      }));
    expect(days(back)).toEqual(days(batch));
    expect(days(back).map((d) => d.owner.billingSubject)).toEqual(["user:a", "user:b", "user:a", "user:moved"]);
    expect(back.requests).toBe(9);
    expect(back.logs.toArray()).toEqual(batch.logs.toArray());
    expect(back.logs.length).toBe(5);
    // And it takes more logs after the ones it was given.
    back.add(b, event("/d.png", 1), true);
    expect(back.logs.at(-1)?.log.path).toBe("/d.png");
    expect(back.logs.toArray().slice(0, 5)).toEqual(batch.logs.toArray());
  });
});

describe("recordBatch", () => {
  it("applies a retried batch once and later batches on top", async () => {
    const first = new UsageBatch();
    first.add(owner, event("/a.png", 100), true);
    first.add(owner, event("/a.png", 100), false);
    first.add(owner, event("/b.png", 50), true);
    const writer = { id: "edge-test", seq: 1 };
    await recordBatch(first, writer);
    await recordBatch(first, writer);
    await Promise.all([recordBatch(first, writer), recordBatch(first, writer)]);

    const second = new UsageBatch();
    second.add(owner, event("/a.png", 7), true);
    await recordBatch(second, { id: "edge-test", seq: 2 });

    const day = await DailyUsage.findOne({ tenant: owner._id }).lean();
    expect(day).toMatchObject({
      slug: "batchy",
      billingSubject: "user:u1",
      ownerId: "u1",
      day: new Date(Date.UTC(2026, 10, 20)),
      requests: 4,
      bytes: 257,
      hits: 4,
      asset: { requests: 4, bytes: 257, hits: 4 },
      status: { s2xx: 4 },
    });
    const paths = await DailyPathUsage.find({ tenant: owner._id }, { _id: 0, path: 1, requests: 1, bytes: 1 }).sort({ path: 1 }).lean();
    expect(paths).toEqual([
      { path: "/a.png", requests: 3, bytes: 207 },
      { path: "/b.png", requests: 1, bytes: 50 },
    ]);
    expect(await countLogs(owner._id)).toBe(3);
  });

  it("writes thousands of paths 1,000 at a time and checks their retry in a few queries (per tenant's day and 1,000 paths), counting each once", async () => {
    const wide: UsageOwner = { _id: new Types.ObjectId(), slug: "wide", billingSubject: "user:wide", ownerId: "wide" };
    const narrow: UsageOwner = { _id: new Types.ObjectId(), slug: "narrow", billingSubject: "user:narrow", ownerId: "narrow" };
    const batch = new UsageBatch(undefined, 100_000);
    for (let i = 0; i < 2_500; i++) batch.add(wide, event(`/scan/${i}.png`, i), false);
    for (let i = 0; i < 10; i++) batch.add(narrow, { ...event(`/n/${i}.png`, 1), time: at.getTime() + 86_400_000 }, false);
    const writer = { id: "edge-wide", seq: 1 };
    const queries: string[] = [];
    const watched = async (write: () => Promise<void>) => {
      queries.length = 0;
      mongoose.set("debug", (collection: string, method: string) => void queries.push(`${collection}.${method}`));
      try {
        await write();
      } finally {
        mongoose.set("debug", false);
      }
    };
    await watched(() => recordBatch(batch, writer));
    // Written 1,000 upserts at a time, so other reads never wait for a whole scan's paths.
    expect(queries).toEqual(["daily_usage.bulkWrite", "daily_path_usage.bulkWrite", "daily_path_usage.bulkWrite", "daily_path_usage.bulkWrite"]);

    // The retry of a write whose reply was lost: every upsert meets its document, already holding this sequence number.
    await watched(() => recordBatch(batch, writer));
    const reads = queries.filter((q) => !q.endsWith(".bulkWrite") && !q.endsWith(".insertMany"));
    // Daily usage: one per tenant's day (2); paths: 3 for the 2,500 of one day, 1 for the other's 10.
    expect(reads.filter((q) => q.startsWith("daily_usage."))).toHaveLength(2);
    expect(reads.filter((q) => q.startsWith("daily_path_usage."))).toHaveLength(4);
    expect((await DailyUsage.findOne({ tenant: wide._id }).lean())?.requests).toBe(2_500);
    const paths = await DailyPathUsage.find({ tenant: wide._id }, { _id: 0, path: 1, requests: 1, bytes: 1 }).lean();
    expect(paths).toHaveLength(2_500);
    expect(paths.every((p) => p.requests === 1 && p.bytes === Number(/\/scan\/(\d+)\.png/.exec(p.path)?.[1]))).toBe(true);
    expect(await DailyPathUsage.countDocuments({ tenant: narrow._id, requests: 1 })).toBe(10);
  });

  it("stores logs in buckets per tenant and UTC hour of at most 250, and a retry after a partly written batch stores each log once", async () => {
    const big: UsageOwner = { _id: new Types.ObjectId(), slug: "big", billingSubject: "user:u2", ownerId: "u2" };
    const other: UsageOwner = { _id: new Types.ObjectId(), slug: "other", billingSubject: "user:u3", ownerId: "u3" };
    const ms = (n: number) => at.getTime() + n;
    const batch = new UsageBatch();
    for (let i = 0; i < 12_500; i++) batch.add(big, { ...event(`/p${i % 10}.png`, 10), time: ms(i) }, true);
    batch.add(big, { ...event("/next-hour.png", 10), time: ms(3_600_000) }, true);
    batch.add(other, event("/o.png", 10), true);
    batch.add(big, event("/unlogged.png", 10), false);
    const ids = batch.logs.toArray().map((h) => h.log._id);

    const buckets = requestLogBuckets(batch.logs);
    expect(REQUEST_LOG_BUCKET_MAX).toBe(250);
    expect(buckets.map((b) => ({ _id: b._id, tenant: b.tenant, start: b.start, end: b.end, logs: b.count }))).toEqual([
      ...Array.from({ length: 50 }, (_, k) => ({ _id: ids[k * 250], tenant: big._id, start: new Date(ms(k * 250)), end: new Date(ms(k * 250 + 249)), logs: 250 })),
      { _id: ids[12_500], tenant: big._id, start: new Date(ms(3_600_000)), end: new Date(ms(3_600_000)), logs: 1 },
      { _id: ids[12_501], tenant: other._id, start: new Date(ms(0)), end: new Date(ms(0)), logs: 1 },
    ]);
    expect(requestLogBuckets(batch.logs)).toEqual(buckets);
    expect(logsOf(buckets)).toEqual(batch.logs.toArray().map((h) => h.log));

    // Some buckets of each insert (10,000 logs a time) land, the rest do not: as if the write failed in the middle;
    // then it is retried twice.
    await RequestLogBucket.collection.insertMany([...buckets.slice(0, 3), ...buckets.slice(41, 43)]);
    await recordBatch(batch, { id: "edge-big", seq: 1 });
    await recordBatch(batch, { id: "edge-big", seq: 1 });
    const stored = await storedLogs(big._id);
    expect(stored.map((l) => l._id)).toEqual(ids.slice(0, 12_501));
    expect(stored[12_500]).toEqual({ ...batch.logs.at(12_500)?.log });
    expect(await countLogs(other._id)).toBe(1);
    expect(await RequestLogBucket.countDocuments({ tenant: big._id })).toBe(51);
    expect(await DailyUsage.findOne({ tenant: big._id }, { _id: 0, requests: 1, bytes: 1 }).lean()).toEqual({ requests: 12_502, bytes: 125_020 });
  });

  it("puts a tenant's logs of one hour in one bucket however they interleave with other tenants and hours", () => {
    const hour = (h: number) => ({ ...event("/x.png", 1), time: at.getTime() + h * 3_600_000 });
    const batch = new UsageBatch();
    for (const [owner, h] of [[a, 0], [b, 0], [a, 0], [a, 1], [aAgain, 0], [b, 1]] as const) batch.add(owner, hour(h), true);
    const ids = batch.logs.toArray().map((l) => l.log._id);
    expect(requestLogBuckets(batch.logs).map((k) => ({ _id: k._id, tenant: k.tenant.toHexString(), logs: logsOf([k]).map((l) => l._id) }))).toEqual([
      { _id: ids[0], tenant: a._id.toHexString(), logs: [ids[0], ids[2], ids[4]] },
      { _id: ids[1], tenant: b._id.toHexString(), logs: [ids[1]] },
      { _id: ids[3], tenant: a._id.toHexString(), logs: [ids[3]] },
      { _id: ids[5], tenant: b._id.toHexString(), logs: [ids[5]] },
    ]);
  });
});

describe("HeldLogs", () => {
  const tenantA = new Types.ObjectId();
  const tenantB = new Types.ObjectId();
  const log = (i: number) => ({
    timestamp: new Date(at.getTime() + i * 1_000),
    method: i % 2 ? "HEAD" : "GET",
    path: `/p${i}.png`,
    status: [200, 206, 304, 404, 502][i % 5],
    cacheStatus: (["HIT", "MISS", "BYPASS", "ERROR"] as const)[i % 4],
    kind: (["asset", "api"] as const)[i % 2],
    bytes: i * 1_000_003,
    durationMs: i / 7,
  });
  /** Log i as added: its time as epoch ms. */
  const served = (i: number) => ({ ...log(i), time: at.getTime() + i * 1_000 });

  it("gives back every field of every log as added, under an id fixed when it was added, across growth", () => {
    const held = new HeldLogs();
    const before = Math.floor(Date.now() / 1000) * 1000;
    for (let i = 0; i < 3_000; i++) held.push(i % 3 ? tenantA : tenantB, served(i));
    const after = Date.now();
    expect(held.length).toBe(3_000);
    const all = held.toArray();
    expect(all.map(({ tenant, log: { _id, ...rest } }) => ({ tenant, ...rest }))).toEqual(
      Array.from({ length: 3_000 }, (_, i) => ({ tenant: i % 3 ? tenantA : tenantB, ...log(i) })),
    );
    // Ids: valid, distinct, stable, and stamped with the second they were made (not the log's, as the driver's).
    const hex = all.map((h) => h.log._id.toHexString());
    expect(new Set(hex).size).toBe(3_000);
    expect(held.toArray().map((h) => h.log._id.toHexString())).toEqual(hex);
    const made = all.map((h) => h.log._id.getTimestamp().getTime());
    expect(all.every((h) => Types.ObjectId.isValid(h.log._id))).toBe(true);
    expect(made.every((t) => t >= before && t <= after)).toBe(true);
    expect(held.at(-1)).toEqual(held.at(2_999));
    expect(held.at(3_000)).toBeUndefined();
  });

  it("keeps given ids, and drops the oldest logs keeping the rest with their ids", () => {
    const given = Array.from({ length: 5 }, (_, i) => ({ tenant: tenantA, log: { _id: new Types.ObjectId(), ...log(i) } }));
    const held = HeldLogs.from(given);
    expect(held.toArray()).toEqual(given);
    held.dropOldest(2);
    expect(held.toArray()).toEqual(given.slice(2));
    held.push(tenantB, served(9));
    expect(held.toArray().slice(0, 3)).toEqual(given.slice(2));
    expect(held.at(3)?.log.path).toBe("/p9.png");
    held.dropOldest(10);
    expect(held.length).toBe(0);
  });

  it("is emptied for reuse by a new batch, which then holds only its own logs under new ids", () => {
    const held = new HeldLogs();
    for (let i = 0; i < 1_500; i++) held.push(tenantA, served(i));
    const firstIds = new Set(held.toArray().map((h) => h.log._id.toHexString()));
    expect(() => new UsageBatch(held)).toThrow("a batch starts with no logs");
    held.clear();
    expect(held.length).toBe(0);
    expect(held.at(0)).toBeUndefined();
    const batch = new UsageBatch(held);
    expect(batch.logs).toBe(held);
    expect(batch.empty).toBe(true);
    for (let i = 0; i < 3; i++) batch.add(owner, { ...served(i), path: `/again${i}.png` }, true);
    expect(held.toArray().map((h) => [h.tenant, h.log.path])).toEqual([0, 1, 2].map((i) => [owner._id, `/again${i}.png`]));
    expect(held.toArray().some((h) => firstIds.has(h.log._id.toHexString()))).toBe(false);
  });

  it("matches an array of the same logs through interleaved adds, drops and growth", () => {
    const held = new HeldLogs();
    const model: Array<{ tenant: Types.ObjectId; method: string; path: string; id: string }> = [];
    let n = 0;
    for (let round = 0; round < 12; round++) {
      for (let k = 0; k < 700; k++, n++) {
        // Runs of one value and values coming back after others were dropped (the tables are made again then).
        const tenant = n % 5 < 3 ? tenantA : tenantB;
        const path = `/p${n % 1_000}.png`;
        held.push(tenant, { ...served(n), path });
        model.push({ tenant, method: n % 2 ? "HEAD" : "GET", path, id: held.at(-1)?.log._id.toHexString() ?? "" });
      }
      const drop = (round * 97) % 500;
      held.dropOldest(drop);
      model.splice(0, drop);
      expect(held.length).toBe(model.length);
    }
    expect(held.toArray().map((h) => ({ tenant: h.tenant, method: h.log.method, path: h.log.path, id: h.log._id.toHexString() }))).toEqual(model);
  });
});
