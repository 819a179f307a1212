// Monthly quotas at the edge: a free billing subject past its requests or bandwidth is refused until the 1st of next
// month (UTC), counting what the edge has not written yet; pro keeps serving; last month does not count.
import mongoose, { Types } from "mongoose";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { requireApiCaller } from "#app/server/auth.server.ts";
import { recordClaimedPlan } from "#app/server/billing.server.ts";
import { recordBatch } from "#app/server/traffic.server.ts";
import { OutageWatch, type Reloaded } from "#edge/outage.ts";
import { QuotaGate } from "#edge/quota.ts";
import { UsageRecorder } from "#edge/usage.ts";
import { Account } from "#models/account.ts";
import { DailyUsage } from "#models/daily-usage.ts";
import { localCookie } from "#tests/fixtures/auth.ts";
import { resetDb } from "#tests/fixtures/db.ts";

beforeEach(resetDb);

const now = new Date("2026-11-29T12:00:00.000Z");
const usage = (subject: string, day: string, requests: number, bytes: number) =>
  DailyUsage.create({ tenant: new Types.ObjectId(), slug: "q", billingSubject: subject, ownerId: "q", day: new Date(`${day}T00:00:00.000Z`), requests, bytes });
const event = { time: now.getTime(), method: "GET", path: "/a.png", status: 200, bytes: 1, cacheStatus: "HIT" as const, kind: "asset" as const, durationMs: 1 };

/** A recorder whose writes land in the database and then stay open until released. */
function heldOpenRecorder() {
  let landed = () => {};
  const hasLanded = new Promise<void>((resolve) => (landed = resolve));
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const recorder = new UsageRecorder({
    write: async (batch, writer) => {
      await recordBatch(batch, writer);
      landed();
      await released;
    },
  });
  return { recorder, hasLanded, release: () => release() };
}

/** A tenant's usage owner, billed to `billingSubject`. */
const ownerOf = (billingSubject: string) => ({ _id: new Types.ObjectId(), slug: "q", billingSubject, ownerId: "q" });

describe("QuotaGate", () => {
  it("refuses a free subject once its stored and unwritten requests reach the monthly quota", async () => {
    await usage("user:free", "2026-11-02", 499_990, 1_000);
    await usage("user:free", "2026-10-31", 400_000, 1_000);
    const recorder = new UsageRecorder();
    const gate = new QuotaGate(recorder, 5_000, () => now.getTime());
    expect(await gate.check("user:free")).toBeNull();
    const owner = ownerOf("user:free");
    for (let i = 0; i < 9; i++) recorder.record(owner, event);
    expect(await gate.check("user:free")).toBeNull();
    recorder.record(owner, event);
    expect(await gate.check("user:free")).toEqual({
      resetsAt: new Date("2026-12-01T00:00:00.000Z"),
      retryAfter: 36 * 3600,
      message: "Monthly requests quota of the free plan used up; service resumes 2026-12-01T00:00:00.000Z.",
    });
  });

  it("refuses on bandwidth too, and keeps serving a pro subject past both", async () => {
    await usage("user:heavy", "2026-11-10", 10, 5_000_000_000);
    await usage("org:pro", "2026-11-10", 9_000_000, 900_000_000_000);
    await Account.create({ subject: "org:pro", plan: "pro" });
    const gate = new QuotaGate(new UsageRecorder(), 5_000, () => now.getTime());
    expect((await gate.check("user:heavy"))?.message).toBe(
      "Monthly bandwidth quota of the free plan used up; service resumes 2026-12-01T00:00:00.000Z.",
    );
    expect(await gate.check("org:pro")).toBeNull();
  });

  it("reads the database again once its answer is older than the cache age", async () => {
    let clock = now.getTime();
    const gate = new QuotaGate(new UsageRecorder(), 5_000, () => clock);
    expect(await gate.check("user:late")).toBeNull();
    await usage("user:late", "2026-11-29", 500_000, 0);
    expect(await gate.check("user:late")).toBeNull();
    clock += 5_000;
    expect((await gate.check("user:late"))?.retryAfter).toBe(36 * 3600 - 5);
  });

  it("reads the database again when the clock is stepped back behind its last read", async () => {
    let clock = now.getTime();
    const gate = new QuotaGate(new UsageRecorder(), 5_000, () => clock);
    expect(await gate.check("user:stepped")).toBeNull();
    await usage("user:stepped", "2026-11-29", 500_000, 0);
    clock -= 3_600_000;
    expect(gate.checkKept("user:stepped")).toBeUndefined();
    expect((await gate.check("user:stepped"))?.retryAfter).toBe(37 * 3600);
  });

  it("applies the plan the subject's signed-in requests claim, as the dashboard does, with no session at hand", async () => {
    await usage("user:claims", "2026-11-02", 600_000, 1_000);
    const signedIn = async (plan: "free" | "pro") => {
      const request = new Request("http://app.localhost/api/tenants", { headers: { Cookie: await localCookie({ userId: "claims", plan }) } });
      return requireApiCaller({ request, context: {}, params: {} });
    };
    const gate = () => new QuotaGate(new UsageRecorder(), 5_000, () => now.getTime());
    // No Account and no claim seen: free, over its quota.
    expect((await gate().check("user:claims"))?.message).toMatch(/^Monthly requests quota of the free plan/);
    expect((await signedIn("pro")).claimedPlan).toBe("pro");
    expect(await gate().check("user:claims")).toBeNull();
    await signedIn("free");
    expect((await gate().check("user:claims"))?.message).toMatch(/^Monthly requests quota of the free plan/);
  });

  it("reads a subject's recorded claim again only once 10 s have passed since this process recorded it", async () => {
    const queries: string[] = [];
    mongoose.set("debug", (collection: string, method: string) => void queries.push(`${collection}.${method}`));
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    try {
      await recordClaimedPlan("user:memo", "pro");
      expect(queries.filter((q) => q.startsWith("accounts."))).toEqual(["accounts.findOne", "accounts.updateOne"]);
      queries.length = 0;
      vi.advanceTimersByTime(9_999);
      await recordClaimedPlan("user:memo", "pro");
      expect(queries).toEqual([]);
      // Another claim is recorded at once; the same one again after 10 s is read (and, unchanged, not written).
      await recordClaimedPlan("user:memo", null);
      expect(queries).toEqual(["accounts.findOne", "accounts.updateOne"]);
      queries.length = 0;
      vi.advanceTimersByTime(10_000);
      await recordClaimedPlan("user:memo", null);
      expect(queries).toEqual(["accounts.findOne"]);
    } finally {
      vi.useRealTimers();
      mongoose.set("debug", false);
    }
    expect(await Account.findOne({ subject: "user:memo" }, { _id: 0, claimedPlan: 1 }).lean()).toEqual({ claimedPlan: null });
  });

  it("reloads a subject's usage in the background from half the cache age, answering at once meanwhile", async () => {
    await usage("user:ahead", "2026-11-02", 499_000, 1_000);
    let clock = now.getTime();
    const gate = new QuotaGate(new UsageRecorder(), 5_000, () => clock);
    expect(await gate.check("user:ahead")).toBeNull();
    await usage("user:ahead", "2026-11-03", 1_000, 1);
    clock += 2_499;
    expect(gate.checkKept("user:ahead")).toBeNull();
    // Younger than half the age: nothing reloads, the kept answer stays.
    await new Promise((r) => setTimeout(r, 100));
    expect(gate.checkKept("user:ahead")).toBeNull();
    clock += 1;
    // Half the age: answered at once from what is kept while the stored usage reloads; then the quota is seen.
    expect(gate.checkKept("user:ahead")).toBeNull();
    await vi.waitFor(() =>
      expect(gate.checkKept("user:ahead")).toEqual({
        resetsAt: new Date("2026-12-01T00:00:00.000Z"),
        retryAfter: 36 * 3600 - 2,
        message: "Monthly requests quota of the free plan used up; service resumes 2026-12-01T00:00:00.000Z.",
      }),
    );
  });

  it("keeps counting a batch once it is written, before the database is read again", async () => {
    await usage("user:flush", "2026-11-02", 499_990, 1_000);
    const recorder = new UsageRecorder();
    const gate = new QuotaGate(recorder, 5_000, () => now.getTime());
    expect(await gate.check("user:flush")).toBeNull();
    const owner = ownerOf("user:flush");
    for (let i = 0; i < 10; i++) recorder.record(owner, event);
    expect((await gate.check("user:flush"))?.message).toMatch(/^Monthly requests quota/);
    // The batch moves from unwritten to the database; the usage read before it is still the one kept.
    await recorder.flush();
    expect(recorder.unwritten("user:flush", new Date(0))).toEqual({ requests: 0, bytes: 0 });
    expect(recorder.written("user:flush", new Date("2026-11-01T00:00:00.000Z"))).toEqual({ requests: 10, bytes: 10 });
    expect(gate.checkKept("user:flush")?.message).toMatch(/^Monthly requests quota/);
    expect((await DailyUsage.aggregate([{ $match: { billingSubject: "user:flush" } }, { $group: { _id: null, n: { $sum: "$requests" } } }]))[0].n).toBe(500_000);
  });

  it("counts a batch written during a read at most twice, refusing early rather than late, until a read soon after settles it", async () => {
    await usage("user:race", "2026-11-02", 499_980, 1_000);
    // The batch lands in the database, but the write is not over yet when the quota is read.
    const { recorder, hasLanded, release } = heldOpenRecorder();
    let clock = now.getTime();
    const gate = new QuotaGate(recorder, 5_000, () => clock);
    const owner = ownerOf("user:race");
    for (let i = 0; i < 10; i++) recorder.record(owner, event);
    const flushing = recorder.flush();
    await hasLanded;
    // Read while the write is in flight: 499,990 stored (the batch included) and the batch still held, 500,000.
    expect((await gate.check("user:race"))?.message).toMatch(/^Monthly requests quota/);
    release();
    await flushing;
    expect(gate.checkKept("user:race")?.message).toMatch(/^Monthly requests quota/);
    // 100 ms on, the read is made again with no write in flight: 499,990, which is under the quota.
    clock += 100;
    await vi.waitFor(() => expect(gate.checkKept("user:race")).toBeNull());
    clock += 2_000;
    expect(gate.checkKept("user:race")).toBeNull();
  });

  it("reads an unsettled usage again no sooner than the outage's retry spacing once a reload failed", async () => {
    await usage("user:down", "2026-11-02", 10, 1_000);
    let clock = now.getTime();
    // The database goes away when told to: every load through the outage watch then fails at once.
    let down = false;
    let loads = 0;
    class Switchable extends OutageWatch {
      override load<T>(work: Promise<T>, kept: () => Reloaded | undefined, warning: string): Promise<T> {
        loads++;
        if (!down) return super.load(work, kept, warning);
        work.catch(() => undefined);
        return super.load(Promise.reject(new Error("connection refused")), kept, warning);
      }
    }
    const { recorder, hasLanded, release } = heldOpenRecorder();
    const gate = new QuotaGate(recorder, 5_000, () => clock, new Switchable(() => clock));
    const owner = ownerOf("user:down");
    recorder.record(owner, event);
    const flushing = recorder.flush();
    await hasLanded;
    // Read while a write is in flight: unsettled.
    expect(await gate.check("user:down")).toBeNull();
    expect(loads).toBe(1);
    release();
    await flushing;
    const warn = console.warn;
    console.warn = () => undefined;
    try {
      down = true;
      clock += 100;
      expect(gate.checkKept("user:down")).toBeNull();
      await vi.waitFor(() => expect(loads).toBe(2));
      await new Promise((r) => setTimeout(r, 20));
      // Requests keep coming: the failed reload is not tried again for a second.
      for (let i = 0; i < 50; i++) {
        clock += 10;
        expect(gate.checkKept("user:down")).toBeNull();
        await new Promise((r) => setImmediate(r));
      }
      expect(loads).toBe(2);
      clock += 500;
      expect(gate.checkKept("user:down")).toBeNull();
      await vi.waitFor(() => expect(loads).toBe(3));
    } finally {
      console.warn = warn;
    }
  });

  it("serves a subject refused in one month again from 00:00 UTC on the 1st, counting only the new month", async () => {
    await usage("user:monthly", "2026-11-20", 500_000, 1_000);
    let clock = Date.parse("2026-11-30T23:59:59.000Z");
    const recorder = new UsageRecorder();
    const gate = new QuotaGate(recorder, 5_000, () => clock);
    expect(await gate.check("user:monthly")).toEqual({
      resetsAt: new Date("2026-12-01T00:00:00.000Z"),
      retryAfter: 1,
      message: "Monthly requests quota of the free plan used up; service resumes 2026-12-01T00:00:00.000Z.",
    });
    // November's traffic recorded by this edge does not count in December either.
    const owner = ownerOf("user:monthly");
    recorder.record(owner, { ...event, time: clock });
    clock = Date.parse("2026-12-01T00:00:00.000Z");
    expect(gate.checkKept("user:monthly")).toBeUndefined();
    expect(await gate.check("user:monthly")).toBeNull();
    expect(gate.checkKept("user:monthly")).toBeNull();
  });
});
