// The edge's database on a thread of its own (what `npm start` runs): tenants come back as the database holds them
// (ObjectIds and Dates, the API token decrypted), a subject's plan and month-to-date usage, a batch written once
// however often it is sent, failures passed on as errors, and nothing asked once it is closed.
import fs from "node:fs";
import os from "node:os";
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encryptToken } from "#app/server/crypto.server.ts";
import { UsageBatch } from "#app/server/traffic.server.ts";
import { startOfUtcDay } from "#app/schemas/period.ts";
import { DatabaseThread } from "#edge/database.ts";
import { EDGE_DATABASE_THREAD_NICENESS } from "#edge/node-flags.ts";
import { Account } from "#models/account.ts";
import { DailyUsage } from "#models/daily-usage.ts";
import { Domain } from "#models/domain.ts";
import { Tenant } from "#models/tenant.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { storedLogs } from "#tests/support/request-logs.ts";

const acmeId = new Types.ObjectId();
const base = { ownerId: "u1", billingSubject: "user:thread", cms: "contentful", spaceId: "sp1", cacheTTL: 3600 };
const database = new DatabaseThread();

beforeAll(async () => {
  await resetDb();
  await Tenant.create({ _id: acmeId, slug: "acme", ...base, apiToken: encryptToken("secret-token-1", acmeId.toHexString()) });
  await Domain.create([
    { tenant: acmeId, hostname: "cdn.acme.example", token: "t1", status: "active" },
    { tenant: acmeId, hostname: "pending.acme.example", token: "t2", status: "pending" },
  ]);
});
afterAll(() => database.close());

describe("DatabaseThread", () => {
  it("gives a tenant by slug or active custom domain as the database holds it, with its API token decrypted", async () => {
    const stored = await Tenant.findById(acmeId).lean();
    for (const key of ["slug:acme", "domain:cdn.acme.example"]) {
      const got = await database.tenant(key);
      expect(got?.apiToken).toBe("secret-token-1");
      expect(got?.doc).toEqual(stored);
      expect(got?.doc._id).toBeInstanceOf(Types.ObjectId);
      expect(got?.doc.createdAt).toBeInstanceOf(Date);
    }
    expect(await database.tenant("slug:nobody")).toBeNull();
    expect(await database.tenant("domain:pending.acme.example")).toBeNull();
  });

  it.runIf(process.platform === "linux")("runs below the serving thread's priority", async () => {
    await database.tenant("slug:acme");
    // Field 19 of a thread's stat is its niceness (after the command name, which may hold spaces).
    const niceness = (task: string) => Number(fs.readFileSync(`/proc/self/task/${task}/stat`, "utf8").split(") ")[1].split(" ")[16]);
    const threads = fs.readdirSync("/proc/self/task").map(niceness);
    expect(niceness(String(process.pid))).toBe(os.getPriority());
    expect(threads.filter((n) => n === EDGE_DATABASE_THREAD_NICENESS)).toHaveLength(1);
  });

  it("gives a subject's plan and what it used this month (UTC)", async () => {
    const now = new Date();
    const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    await Account.create({ subject: "user:thread", plan: "pro", tenantCount: 1 });
    await DailyUsage.create([
      { tenant: acmeId, day: startOfUtcDay(now), slug: "acme", billingSubject: "user:thread", ownerId: "u1", requests: 5, bytes: 500 },
      { tenant: acmeId, day: monthStart, slug: "acme", billingSubject: "user:thread", ownerId: "u1", requests: 7, bytes: 700 },
      // The month before does not count.
      { tenant: acmeId, day: new Date(monthStart.getTime() - 86_400_000), slug: "acme", billingSubject: "user:thread", ownerId: "u1", requests: 100, bytes: 1 },
    ].filter((d, i, all) => all.findIndex((e) => e.day.getTime() === d.day.getTime()) === i));
    const sameDay = startOfUtcDay(now).getTime() === monthStart.getTime();
    expect(await database.usage("user:thread", now)).toEqual({ plan: "pro", requests: sameDay ? 5 : 12, bytes: sameDay ? 500 : 1_200 });
    expect(await database.usage("user:nobody", now)).toEqual({ plan: "free", requests: 0, bytes: 0 });
  });

  it("writes a batch's usage and logs once however often the same batch is sent, and says when its usage is counted", async () => {
    const owner = { _id: new Types.ObjectId(), slug: "written", billingSubject: "user:w", ownerId: "w" };
    // Noon (UTC) today: 600 ms of requests all fall on one day.
    const time = startOfUtcDay(new Date()).getTime() + 12 * 3_600_000;
    const batch = new UsageBatch();
    for (let i = 0; i < 600; i++) {
      batch.add(owner, { time: time + i, method: "GET", path: `/p${i % 3}.png`, status: 200, bytes: 10 + i, cacheStatus: "HIT", kind: "asset", durationMs: 0.5 }, true);
    }
    const writer = { id: "edge-thread-test", seq: 1 };
    let counted = 0;
    await database.write(batch, writer, () => counted++);
    // A retry of a batch whose first attempt landed (the same writer and sequence number).
    await database.write(batch, writer, () => counted++);
    expect(counted).toBe(2);
    const usage = await DailyUsage.findOne({ tenant: owner._id }).lean();
    expect(usage && { requests: usage.requests, bytes: usage.bytes, hits: usage.hits }).toEqual({ requests: 600, bytes: 600 * 10 + (599 * 600) / 2, hits: 600 });
    const logs = await storedLogs(owner._id);
    expect(logs.map((l) => l._id.toHexString())).toEqual(batch.logs.toArray().map((h) => h.log._id.toHexString()));
    expect(logs.map((l) => [l.path, l.bytes, l.timestamp.getTime()])).toEqual(
      Array.from({ length: 600 }, (_, i) => [`/p${i % 3}.png`, 10 + i, time + i]),
    );
  });

  it("passes a failure on as an error with the database's message, and starts a new thread after one stops", async () => {
    const uri = process.env.MONGODB_URI;
    // A thread takes its settings from the environment it starts in.
    const startingWith = async <T>(setting: string, work: () => Promise<T>) => {
      process.env.MONGODB_URI = setting;
      try {
        return await work();
      } finally {
        process.env.MONGODB_URI = uri;
      }
    };
    const refused = new DatabaseThread();
    await startingWith("mongodb://127.0.0.1:1/x?authMechanism=NOPE", () =>
      expect(refused.tenant("slug:acme")).rejects.toThrow("authMechanism one of MONGODB-AWS"),
    );
    await refused.close();

    // A thread that cannot start (its settings are invalid) stops; the next request starts another.
    const restarted = new DatabaseThread();
    await startingWith("nosuchscheme://127.0.0.1:1/x", () =>
      expect(restarted.tenant("slug:acme")).rejects.toThrow("the edge's database thread stopped: exit code 1"),
    );
    // The new thread connects whatever it is asked first (here a usage read, which opens no connection by itself).
    expect(await restarted.usage("user:nobody", new Date())).toEqual({ plan: "free", requests: 0, bytes: 0 });
    expect((await restarted.tenant("slug:acme"))?.doc.slug).toBe("acme");
    await restarted.close();
    await expect(restarted.tenant("slug:acme")).rejects.toThrow("the edge's database is closed");
  });
});
