// The store's own files and process: restart persistence, crash recovery, damaged journals, the lock, compaction.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MongoClient } from "mongodb";
import { afterEach, describe, expect, it } from "vitest";
import { DataDirectoryLockedError, start } from "../src/index";
import { onRealMongo } from "./harness";
import { runStoreToExit, spawnStore } from "./process";

const dirs: string[] = [];
const cleanups: Array<() => Promise<unknown>> = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "embedded-mongo-test-"));
  dirs.push(dir);
  return dir;
}

async function open(dbPath: string, extra: Parameters<typeof start>[0] = {}) {
  const logs: string[] = [];
  const store = await start({ dbPath, log: (l) => logs.push(l), ...extra });
  const client = new MongoClient(`${store.uri}/app`);
  await client.connect();
  const close = async () => {
    await client.close();
    await store.stop();
  };
  cleanups.push(close);
  return { store, client, db: client.db("app"), logs, close };
}

function journalFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => /^journal\.\d+$/.test(n));
}

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c().catch(() => {});
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe.skipIf(onRealMongo)("durability of the embedded store", () => {
  it("keeps documents, updates, deletes, indexes and drops across a clean restart", async () => {
    const dir = tempDir();
    let s = await open(dir);
    const c = s.db.collection<{ _id: number; email?: string; n?: number; when?: Date }>("users");
    await c.createIndex({ email: 1 }, { unique: true });
    await c.insertMany([
      { _id: 1, email: "a@x.io", n: 1, when: new Date("2026-01-31T23:59:59.999Z") },
      { _id: 2, email: "b@x.io", n: 2 },
      { _id: 3, email: "c@x.io", n: 3 },
    ]);
    await c.updateOne({ _id: 2 }, { $inc: { n: 40 } });
    await c.deleteOne({ _id: 3 });
    await s.db.collection("scratch").insertOne({ _id: 1 } as never);
    await s.db.collection("scratch").drop();
    await s.close();

    s = await open(dir);
    const again = s.db.collection<{ _id: number; email?: string; n?: number; when?: Date }>("users");
    expect(await again.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, email: "a@x.io", n: 1, when: new Date("2026-01-31T23:59:59.999Z") },
      { _id: 2, email: "b@x.io", n: 42 },
    ]);
    expect((await again.listIndexes().toArray()).map((i) => i.name)).toEqual(["_id_", "email_1"]);
    await expect(again.insertOne({ _id: 9, email: "a@x.io" })).rejects.toMatchObject({ code: 11000 });
    expect((await s.db.listCollections().toArray()).map((x) => x.name)).toEqual(["users"]);
  });

  it("loses no acknowledged write when the process is killed with SIGKILL mid-writes", async () => {
    const dir = tempDir();
    const proc = await spawnStore(["--port", "0", "--dbpath", dir]);
    const clients = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const c = new MongoClient(`${proc.uri}/app`, { serverSelectionTimeoutMS: 2000 });
        await c.connect();
        return c;
      }),
    );
    const acked: number[][] = [[], [], [], []];
    let stop = false;
    const writers = clients.map(async (client, w) => {
      const coll = client.db("app").collection("events");
      for (let seq = 0; !stop; seq++) {
        try {
          await coll.insertOne({ _id: w * 1_000_000 + seq, writer: w, seq, pad: "x".repeat(200) } as never);
          acked[w].push(seq);
        } catch {
          return;
        }
      }
    });
    await new Promise((r) => setTimeout(r, 700));
    proc.child.kill("SIGKILL");
    stop = true;
    await proc.exited;
    await Promise.all(writers);
    await Promise.all(clients.map((c) => c.close(true).catch(() => {})));
    const total = acked.reduce((s, a) => s + a.length, 0);
    expect(total).toBeGreaterThan(50);

    const s = await open(dir);
    expect(s.logs.some((l) => l.includes("removing stale lock"))).toBe(true);
    for (let w = 0; w < 4; w++) {
      const seqs = (await s.db.collection("events").find({ writer: w }).sort({ seq: 1 }).toArray()).map((d) => d.seq);
      // Every acknowledged insert is there, in order, with at most the one in flight beyond it.
      expect(seqs.slice(0, acked[w].length)).toEqual(acked[w]);
      expect(seqs.length - acked[w].length).toBeLessThanOrEqual(1);
    }
    // The recovered store takes new writes and keeps them.
    await s.db.collection("events").insertOne({ _id: -1, after: "crash" } as never);
    await s.close();
    const s2 = await open(dir);
    expect(await s2.db.collection("events").findOne({ _id: -1 } as never)).toEqual({ _id: -1, after: "crash" });
  });

  it.each([
    ["a torn last record", 4, (buf: Buffer) => buf.subarray(0, buf.length - 7)],
    ["a corrupted byte in the last record", 4, (buf: Buffer) => {
      const copy = Buffer.from(buf);
      copy[copy.length - 3] ^= 0xff;
      return copy;
    }],
    ["garbage after the last record", 5, (buf: Buffer) => Buffer.concat([buf, Buffer.from("this is not a journal record at all")])],
    ["a length field pointing past the end", 5, (buf: Buffer) => {
      const tail = Buffer.alloc(8);
      tail.writeUInt32LE(1_000_000, 0);
      return Buffer.concat([buf, tail]);
    }],
  ])("recovers from %s: keeps every complete record and discards the damaged tail", async (_label, survivors, damage) => {
    const dir = tempDir();
    let s = await open(dir);
    const c = s.db.collection<{ _id: number; v: string }>("items");
    for (let i = 1; i <= 5; i++) await c.insertOne({ _id: i, v: `item ${i}` });
    await s.close();

    const [journal] = journalFiles(dir);
    const file = path.join(dir, journal);
    fs.writeFileSync(file, damage(fs.readFileSync(file)));

    s = await open(dir);
    const kept = await s.db.collection<{ _id: number; v: string }>("items").find().sort({ _id: 1 }).toArray();
    expect(kept).toEqual(Array.from({ length: survivors }, (_, i) => ({ _id: i + 1, v: `item ${i + 1}` })));
    expect(s.logs.some((l) => l.includes("discarded") && l.includes(journal))).toBe(true);
    // Writes after recovery land after the cut and survive the next restart.
    await s.db.collection("items").insertOne({ _id: 100, v: "after" } as never);
    await s.close();
    s = await open(dir);
    expect(await s.db.collection("items").countDocuments({ _id: 100 } as never)).toBe(1);
    expect(s.logs.some((l) => l.includes("discarded"))).toBe(false);
  });

  it("refuses a second store on the same data directory, in-process and from another process", async () => {
    const dir = tempDir();
    const s = await open(dir);
    await expect(start({ dbPath: dir, log: () => {} })).rejects.toBeInstanceOf(DataDirectoryLockedError);

    const other = await runStoreToExit(["--port", "0", "--dbpath", dir]);
    expect(other.code).toBe(1);
    expect(other.output).toMatch(/is in use by another embedded-mongo process|already in use by this process/);
    // The first store still serves.
    await s.db.collection("x").insertOne({ _id: 1 } as never);
    expect(await s.db.collection("x").countDocuments()).toBe(1);
  });

  it("compacts the journal into a snapshot so it does not grow without bound, and restarts from it", async () => {
    const dir = tempDir();
    let s = await open(dir, { compactBytes: 64 * 1024 });
    const c = s.db.collection<{ _id: number; n: number; pad: string }>("counters");
    await c.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: i, n: 0, pad: "p".repeat(100) })));
    for (let round = 0; round < 150; round++) {
      await c.updateMany({}, { $inc: { n: 1 } });
    }
    // Every compaction started is waited for (one that ends starts the next if the journal outgrew it meanwhile).
    while (s.store.engine.files?.compacting) await s.store.engine.files.compacting;
    const sizes = fs.readdirSync(dir).map((n) => fs.statSync(path.join(dir, n)).size);
    const total = sizes.reduce((a, b) => a + b, 0);
    // 3,000 updated documents of ~150 bytes were written (~500 KB of journal); what is on disk stays bounded.
    expect(total).toBeLessThan(200 * 1024);
    expect(fs.readdirSync(dir).some((n) => /^snapshot\.\d+$/.test(n))).toBe(true);
    expect(s.logs.some((l) => l.startsWith("compacted"))).toBe(true);
    await s.close();

    s = await open(dir);
    const docs = await s.db.collection<{ _id: number; n: number }>("counters").find({}, { projection: { pad: 0 } }).sort({ _id: 1 }).toArray();
    expect(docs).toEqual(Array.from({ length: 20 }, (_, i) => ({ _id: i, n: 150 })));
  });

  it("deletes expired TTL documents at start-up", async () => {
    const dir = tempDir();
    let s = await open(dir, { ttlMonitorIntervalMs: 3_600_000 });
    const c = s.db.collection<{ _id: number; expiresAt: Date }>("sessions");
    await c.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 });
    await c.insertMany([
      { _id: 1, expiresAt: new Date(Date.now() + 400) },
      { _id: 2, expiresAt: new Date(Date.now() + 3_600_000) },
    ]);
    await s.close();
    await new Promise((r) => setTimeout(r, 500));
    s = await open(dir, { ttlMonitorIntervalMs: 3_600_000 });
    expect((await s.db.collection("sessions").find().toArray()).map((d) => d._id)).toEqual([2]);
  });

  it("npm run db: prints its address when ready and flushes on SIGTERM and SIGINT", async () => {
    const dir = tempDir();
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const proc = await spawnStore(["--port", "0", "--dbpath", dir]);
      expect(proc.output()).toMatch(/^embedded-mongo ready on mongodb:\/\/127\.0\.0\.1:\d+ \(dbpath /m);
      const client = new MongoClient(`${proc.uri}/app`);
      await client.connect();
      await client.db("app").collection("signals").insertOne({ signal } as never);
      await client.close();
      proc.child.kill(signal);
      expect(await proc.exited).toBe(0);
      expect(proc.output()).toContain(`stopped (${signal}), data flushed`);
      expect(fs.existsSync(path.join(dir, "embedded-mongo.lock"))).toBe(false);
    }
    const s = await open(dir);
    expect((await s.db.collection("signals").find().toArray()).map((d) => d.signal)).toEqual(["SIGTERM", "SIGINT"]);
  });

  it("npm run db --inMemory keeps nothing on disk and rejects bad arguments", async () => {
    const proc = await spawnStore(["--port", "0", "--inMemory"]);
    expect(proc.output()).toContain("(in memory)");
    proc.child.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    const bad = await runStoreToExit(["--port", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain("choose --dbpath <dir> or --inMemory");
  });
});


