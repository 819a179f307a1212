// A usage batch written twice by the same writer (a retry after a failure whose first attempt did land) counts once;
// the next batch of that writer counts on top.
import { Types } from "mongoose";
import { beforeAll, describe, expect, it } from "vitest";
import { recordBatch, UsageBatch, type UsageOwner } from "#app/server/traffic.server.ts";
import { DailyPathUsage } from "#models/daily-path-usage.ts";
import { DailyUsage } from "#models/daily-usage.ts";
import { RequestLog } from "#models/request-log.ts";
import { resetDb } from "#tests/fixtures/db.ts";

beforeAll(resetDb);

const owner: UsageOwner = { _id: new Types.ObjectId(), slug: "batchy", billingSubject: "user:u1", ownerId: "u1" };
const at = new Date(Date.UTC(2026, 10, 20, 10));
const event = (path: string, bytes: number) => ({
  timestamp: at,
  method: "GET",
  path,
  status: 200,
  bytes,
  cacheStatus: "HIT" as const,
  kind: "asset" as const,
  durationMs: 1,
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
    expect(await RequestLog.countDocuments({ tenant: owner._id })).toBe(3);
  });

  it("writes a large batch's logs in slices, and a retry after a partly written batch stores each log once", async () => {
    const big: UsageOwner = { _id: new Types.ObjectId(), slug: "big", billingSubject: "user:u2", ownerId: "u2" };
    const batch = new UsageBatch();
    for (let i = 0; i < 2_500; i++) batch.add(big, event(`/p${i % 10}.png`, 10), true);
    // The first slice lands, the rest does not: as if the write failed in the middle.
    await RequestLog.insertMany(batch.logs.slice(0, 1_000), { lean: true });
    await recordBatch(batch, { id: "edge-big", seq: 1 });
    await recordBatch(batch, { id: "edge-big", seq: 1 });
    expect(await RequestLog.countDocuments({ tenant: big._id })).toBe(2_500);
    expect(await DailyUsage.findOne({ tenant: big._id }, { _id: 0, requests: 1, bytes: 1 }).lean()).toEqual({ requests: 2_500, bytes: 25_000 });
  });
});
