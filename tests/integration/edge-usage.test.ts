// The edge's usage recorder: counters and logs written in batches that match the requests exactly, a failed write
// retried without counting twice, sampling of logs, bounded log memory, and everything written at stop.
import { Types } from "mongoose";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { recordBatch, type UsageOwner } from "#app/server/traffic.server.ts";
import { UsageRecorder } from "#edge/usage.ts";
import { DailyPathUsage } from "#models/daily-path-usage.ts";
import { DailyUsage } from "#models/daily-usage.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { countLogs, storedLogs } from "#tests/support/request-logs.ts";

beforeEach(resetDb);

const owner = (): UsageOwner => ({ _id: new Types.ObjectId(), slug: "rec", billingSubject: "user:rec", ownerId: "rec" });
const at = new Date(Date.UTC(2026, 10, 21, 9));
const ev = (bytes: number, cacheStatus: "HIT" | "MISS" = "HIT") => ({
  time: at.getTime(),
  method: "GET",
  path: "/a.png",
  status: 200,
  bytes,
  cacheStatus,
  kind: "asset" as const,
  durationMs: 2,
});

async function usageOf(o: UsageOwner) {
  const d = await DailyUsage.findOne({ tenant: o._id }).lean();
  return { requests: d?.requests ?? 0, bytes: d?.bytes ?? 0, hits: d?.hits ?? 0, misses: d?.misses ?? 0, logs: await countLogs(o._id) };
}

/** What `fn` says on the console at `level` (kept from the console, handed back). */
async function said(level: "warn" | "error", fn: () => Promise<void>): Promise<string[]> {
  const messages: string[] = [];
  const original = console[level];
  console[level] = (message: string) => void messages.push(message);
  try {
    await fn();
  } finally {
    console[level] = original;
  }
  return messages;
}

describe("UsageRecorder", () => {
  it("writes exactly what was recorded, and counts unwritten usage for quotas until then", async () => {
    const o = owner();
    const rec = new UsageRecorder();
    for (let i = 0; i < 30; i++) rec.record(o, ev(1_000 + i, i % 3 === 0 ? "MISS" : "HIT"));
    expect(rec.unwritten("user:rec", new Date(Date.UTC(2026, 10, 1)))).toEqual({ requests: 30, bytes: 30_435 });
    expect(rec.unwritten("user:other", new Date(0))).toEqual({ requests: 0, bytes: 0 });
    await rec.flush();
    expect(await usageOf(o)).toEqual({ requests: 30, bytes: 30_435, hits: 20, misses: 10, logs: 30 });
    expect(rec.unwritten("user:rec", new Date(0))).toEqual({ requests: 0, bytes: 0 });
    await rec.flush();
    expect(await usageOf(o)).toEqual({ requests: 30, bytes: 30_435, hits: 20, misses: 10, logs: 30 });
  });

  it("writes every log of consecutive batches once, the later batches reusing the columns of the written ones", async () => {
    const o = owner();
    const rec = new UsageRecorder();
    const paths: string[] = [];
    for (const [round, n] of [1_200, 40, 2_600, 0, 7].entries()) {
      for (let i = 0; i < n; i++) {
        paths.push(`/r${round}/${i}.png`);
        rec.record(o, { ...ev(1), path: paths[paths.length - 1] });
      }
      await rec.flush();
      expect(await countLogs(o._id)).toBe(paths.length);
    }
    await rec.stop();
    const stored = await storedLogs(o._id);
    expect(new Set(stored.map((l) => l._id.toHexString())).size).toBe(paths.length);
    expect(stored.map((l) => l.path).sort()).toEqual([...paths].sort());
    expect((await usageOf(o)).requests).toBe(paths.length);
  });

  it("keeps traffic recorded during a write that fails after its daily usage landed, counts that usage as written once, and stores every log once", async () => {
    const o = owner();
    let attempts = 0;
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let landed = () => {};
    const hasLanded = new Promise<void>((resolve) => (landed = resolve));
    await said("warn", async () => {
      const rec = new UsageRecorder({
        write: async (batch, writer, counted) => {
          attempts++;
          if (attempts === 1) {
            // Daily usage and logs land, the write is held open while traffic arrives, then its reply is lost.
            await recordBatch(batch, writer, counted);
            landed();
            await released;
            throw new Error("connection reset");
          }
          await recordBatch(batch, writer, counted);
        },
      });
      const month = new Date(Date.UTC(2026, 10, 1));
      for (let i = 0; i < 300; i++) rec.record(o, { ...ev(1), path: `/first/${i}.png` });
      const first = rec.flush();
      await hasLanded;
      for (let i = 0; i < 20; i++) rec.record(o, { ...ev(1), path: `/during/${i}.png` });
      // The first batch's daily usage is in: counted as written, not as unwritten; the new traffic is unwritten.
      expect(rec.written("user:rec", month)).toEqual({ requests: 300, bytes: 300 });
      expect(rec.unwritten("user:rec", month)).toEqual({ requests: 20, bytes: 20 });
      release();
      await expect(first).rejects.toThrow("connection reset");
      expect(rec.unwritten("user:rec", month)).toEqual({ requests: 20, bytes: 20 });
      await rec.stop();
      expect(attempts).toBe(3);
      expect(rec.written("user:rec", month)).toEqual({ requests: 320, bytes: 320 });
      const stored = await storedLogs(o._id);
      expect(stored.map((l) => l.path).sort()).toEqual(
        [...Array.from({ length: 300 }, (_, i) => `/first/${i}.png`), ...Array.from({ length: 20 }, (_, i) => `/during/${i}.png`)].sort(),
      );
      expect(new Set(stored.map((l) => l._id.toHexString())).size).toBe(320);
      expect(await usageOf(o)).toMatchObject({ requests: 320, bytes: 320 });
    });
  });

  it("retries a failed write with the same batch and counts it once, even when the failed attempt had landed", async () => {
    const o = owner();
    let attempts = 0;
    const warnings = await said("warn", async () => {
      const rec = new UsageRecorder({
        write: async (batch, writer) => {
          attempts++;
          // The first attempt lands but its answer is lost; the second fails outright; the third succeeds.
          if (attempts === 1) {
            await recordBatch(batch, writer);
            throw new Error("connection reset");
          }
          if (attempts === 2) throw new Error("server selection timed out");
          await recordBatch(batch, writer);
        },
      });
      for (let i = 0; i < 10; i++) rec.record(o, ev(100));
      await expect(rec.flush()).rejects.toThrow("connection reset");
      // Traffic after the failure goes into a new batch, not into the one being retried.
      for (let i = 0; i < 5; i++) rec.record(o, ev(10));
      expect(rec.pendingRequests()).toBe(15);
      await rec.stop(10_000);
      expect(rec.pendingRequests()).toBe(0);
    });
    expect(attempts).toBe(4);
    expect(warnings).toHaveLength(2);
    expect(await usageOf(o)).toEqual({ requests: 15, bytes: 1_050, hits: 15, misses: 0, logs: 15 });
  });

  it("waits before retrying a failed write, twice as long after each failure (0.5 s, 1 s, 2 s …)", async () => {
    const o = owner();
    let attempts = 0;
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      await said("warn", async () => {
        const t0 = Date.UTC(2026, 10, 21, 9);
        vi.setSystemTime(t0);
        const rec = new UsageRecorder({
          write: () => {
            attempts++;
            return Promise.reject(new Error("down"));
          },
        });
        rec.record(o, ev(1));
        // At each time, whether a flush makes an attempt (and fails) or waits (and makes none).
        const attemptsAt = async (ms: number) => {
          vi.setSystemTime(t0 + ms);
          const before = attempts;
          await rec.flush().catch(() => undefined);
          return attempts - before;
        };
        expect(await attemptsAt(0)).toBe(1);
        expect(await attemptsAt(499)).toBe(0);
        expect(await attemptsAt(500)).toBe(1);
        expect(await attemptsAt(1_499)).toBe(0);
        expect(await attemptsAt(1_500)).toBe(1);
        expect(await attemptsAt(3_499)).toBe(0);
        expect(await attemptsAt(3_500)).toBe(1);
        // Never more than 30 s apart.
        for (let i = 0; i < 6; i++) expect(await attemptsAt(600_000 + i * 31_000)).toBe(1);
        const last = 600_000 + 5 * 31_000;
        expect(await attemptsAt(last + 29_999)).toBe(0);
        expect(await attemptsAt(last + 30_000)).toBe(1);
      });
    } finally {
      vi.useRealTimers();
    }
  });

  it("gives up at stop after its deadline when a write never finishes, saying what was not written", async () => {
    const o = owner();
    const errors = await said("error", async () => {
      // A write in flight when stop is called, and one stop starts itself.
      for (const writingAlready of [true, false]) {
        const rec = new UsageRecorder({ write: () => new Promise<void>(() => undefined) });
        for (let i = 0; i < 3; i++) rec.record(o, ev(100));
        if (writingAlready) void rec.flush();
        const started = Date.now();
        await rec.stop(300);
        expect(Date.now() - started).toBeGreaterThanOrEqual(290);
        expect(Date.now() - started).toBeLessThan(2_000);
      }
    });
    expect(errors).toEqual(Array(2).fill("edge: usage not written at shutdown (3 requests): a write did not finish in 300 ms"));
  });

  it("keeps path counters bounded: past its distinct paths a batch counts a request by day but not by path, and says so", async () => {
    const o = owner();
    const warnings = await said("warn", async () => {
      const rec = new UsageRecorder({ maxPathsPerBatch: 15 });
      for (let i = 0; i < 5; i++) rec.record(o, { ...ev(10), path: `/p${i}.png` });
      // A path it counts already is still counted.
      rec.record(o, { ...ev(10), path: "/p0.png" });
      await rec.flush();
      // The next batch has room again.
      rec.record(o, { ...ev(10), path: "/p4.png" });
      await rec.stop();
    });
    expect(warnings).toEqual(["edge: 2 requests counted, but not by path: more distinct paths came in one batch than it counts (15, 3 per tenant and day)"]);
    expect(await usageOf(o)).toEqual({ requests: 7, bytes: 70, hits: 7, misses: 0, logs: 7 });
    const paths = await DailyPathUsage.find({ tenant: o._id }).sort({ path: 1 }).lean();
    expect(paths.map((p) => [p.path, p.requests, p.bytes])).toEqual([
      ["/p0.png", 2, 20],
      ["/p1.png", 1, 10],
      ["/p2.png", 1, 10],
      ["/p4.png", 1, 10],
    ]);
  });

  it("gives one tenant's day at most a fifth of a batch's paths, so a scan of one leaves room for the others", async () => {
    const [scanned, other] = [owner(), owner()];
    await said("warn", async () => {
      const rec = new UsageRecorder({ maxPathsPerBatch: 10 });
      for (let i = 0; i < 5; i++) rec.record(scanned, { ...ev(1), path: `/scan${i}` });
      for (let i = 0; i < 3; i++) rec.record(other, { ...ev(1), path: `/o${i}.png` });
      await rec.stop();
    });
    const pathsOf = async (o: UsageOwner) => (await DailyPathUsage.find({ tenant: o._id }).sort({ path: 1 }).lean()).map((p) => p.path);
    expect(await pathsOf(scanned)).toEqual(["/scan0", "/scan1"]);
    expect(await pathsOf(other)).toEqual(["/o0.png", "/o1.png"]);
    expect((await usageOf(scanned)).requests).toBe(5);
    expect((await usageOf(other)).requests).toBe(3);
  });

  it("samples request logs but counts every request", async () => {
    const o = owner();
    let n = 0;
    const rec = new UsageRecorder({ logSampleRate: 0.25, random: () => (n++ % 4) / 4 });
    for (let i = 0; i < 40; i++) rec.record(o, ev(5));
    await rec.stop();
    expect(await usageOf(o)).toEqual({ requests: 40, bytes: 200, hits: 40, misses: 0, logs: 10 });
  });

  it("keeps log memory bounded while writes fail, dropping the oldest logs and no counters", async () => {
    const o = owner();
    let fail = true;
    const warnings = await said("warn", async () => {
      const rec = new UsageRecorder({ maxHeldLogs: 20, write: (b, w) => (fail ? Promise.reject(new Error("down")) : recordBatch(b, w)) });
      for (let i = 0; i < 15; i++) rec.record(o, ev(1));
      await expect(rec.flush()).rejects.toThrow("down");
      for (let i = 0; i < 15; i++) rec.record(o, ev(1));
      expect(rec.droppedLogs).toBe(10);
      fail = false;
      await rec.stop();
    });
    expect(warnings.some((w) => w.includes("dropping the oldest unwritten request logs"))).toBe(true);
    expect(await usageOf(o)).toEqual({ requests: 30, bytes: 30, hits: 30, misses: 0, logs: 20 });
  });
});
