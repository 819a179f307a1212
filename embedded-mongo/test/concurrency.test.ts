// Many independent clients (each with its own connection pool) racing on the same documents: unique
// constraints, upserts, counters and conditional updates must come out exactly as on a real mongod 7.0.
import { type Collection, type Document, MongoClient, MongoServerError } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, openTestServer } from "./harness";

const CLIENTS = 8;

let server: TestServer;
let clients: MongoClient[] = [];

beforeAll(async () => {
  server = await openTestServer();
  clients = Array.from({ length: CLIENTS }, () => new MongoClient(server.uri, { maxPoolSize: 50 }));
  await Promise.all(clients.map((c) => c.connect()));
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.close();
});

/** The same collection seen through client i (round robin). */
function via(i: number, name: string): Collection {
  return clients[i % CLIENTS].db(server.dbName).collection(name);
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

async function settle<T>(p: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

describe("racing clients", () => {
  it("50 parallel inserts of the same unique key: exactly one succeeds, the others fail with 11000", async () => {
    await server.db.collection("race_insert").createIndex({ key: 1 }, { unique: true });
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => settle(via(i, "race_insert").insertOne({ key: "same", from: i }))),
    );
    const wins = outcomes.filter((o) => o.ok);
    const losses = outcomes.filter((o): o is { ok: false; error: unknown } => !o.ok);
    expect(wins).toHaveLength(1);
    expect(losses).toHaveLength(49);
    for (const loss of losses) {
      expect(loss.error).toBeInstanceOf(MongoServerError);
      expect((loss.error as MongoServerError).code).toBe(11000);
      expect((loss.error as MongoServerError).keyValue).toEqual({ key: "same" });
    }
    const docs = await server.db.collection("race_insert").find({}).toArray();
    expect(docs).toHaveLength(1);
    expect(docs[0].key).toBe("same");
  });

  it("50 parallel inserts of the same _id: exactly one succeeds", async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => settle(via(i, "race_id").insertOne({ _id: "the-one", from: i } as Document))),
    );
    expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
    for (const o of outcomes) if (!o.ok) expect((o.error as MongoServerError).code).toBe(11000);
    expect(await server.db.collection("race_id").countDocuments()).toBe(1);
  });

  it("50 parallel upserts of one key make one document whose counter equals the successful calls", async () => {
    const name = "race_upsert";
    await server.db.collection(name).createIndex({ key: 1 }, { unique: true });
    const upsert = (i: number) =>
      via(i, name).updateOne({ key: "k" }, { $setOnInsert: { createdBy: i }, $inc: { n: 1 } }, { upsert: true });

    const first = await Promise.all(Array.from({ length: 50 }, (_, i) => settle(upsert(i))));
    const results = first.filter((o) => o.ok).map((o) => (o as { value: Awaited<ReturnType<typeof upsert>> }).value);
    // MongoDB may answer a racing upsert with a duplicate-key error; drivers suggest retrying it once.
    const failed = first.map((o, i) => (o.ok ? -1 : i)).filter((i) => i >= 0);
    for (const i of failed) expect(((first[i] as { error: unknown }).error as MongoServerError).code).toBe(11000);
    const retried = await Promise.all(failed.map((i) => settle(upsert(i))));
    for (const o of retried) if (o.ok) results.push(o.value);

    const docs = await server.db.collection(name).find({}).toArray();
    expect(docs).toHaveLength(1);
    expect(docs[0].n).toBe(results.length);
    // Only duplicate-key failures are allowed, and a retry of one must then find the document.
    expect(retried.every((o) => o.ok)).toBe(true);
    expect(results).toHaveLength(50);
    // Exactly one call inserted the document; every other successful call updated it.
    expect(results.filter((r) => r.upsertedCount === 1)).toHaveLength(1);
    expect(results.filter((r) => r.upsertedCount === 0 && r.matchedCount === 1 && r.modifiedCount === 1)).toHaveLength(
      results.length - 1,
    );
    const inserter = results.find((r) => r.upsertedCount === 1);
    expect(docs[0]._id).toEqual(inserter?.upsertedId);
  });

  it("200 parallel $inc on one counter from several clients add up exactly", async () => {
    const name = "race_inc";
    await server.db.collection(name).insertOne({ _id: "counter", n: 0 } as Document);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => via(i, name).updateOne({ _id: "counter" } as Document, { $inc: { n: 1 } })),
    );
    expect(results.every((r) => r.matchedCount === 1 && r.modifiedCount === 1)).toBe(true);
    expect(await server.db.collection(name).findOne({ _id: "counter" } as Document)).toEqual({ _id: "counter", n: 200 });
  });

  it("parallel $push from several clients keeps every element", async () => {
    const name = "race_push";
    await server.db.collection(name).insertOne({ _id: 1, items: [] } as Document);
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => via(i, name).updateOne({ _id: 1 } as Document, { $push: { items: i } } as Document)),
    );
    const doc = await server.db.collection(name).findOne({ _id: 1 } as Document);
    expect([...(doc?.items as number[])].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("a conditional findOneAndUpdate hammered 20 times succeeds exactly 3 times", async () => {
    const name = "race_quota";
    await server.db.collection(name).insertOne({ _id: "coupon", used: 0 } as Document);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        via(i, name).findOneAndUpdate(
          { _id: "coupon", used: { $lt: 3 } } as Document,
          { $inc: { used: 1 } },
          { returnDocument: "after" },
        ),
      ),
    );
    const granted = results.filter((r) => r !== null);
    expect(granted).toHaveLength(3);
    expect(granted.map((r) => r?.used).sort()).toEqual([1, 2, 3]);
    expect(await server.db.collection(name).findOne({ _id: "coupon" } as Document)).toEqual({ _id: "coupon", used: 3 });
  });

  it("40 parallel findOneAndDelete calls on a queue of 20 jobs hand out each job exactly once", async () => {
    const name = "race_queue";
    await server.db.collection(name).insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: i, state: "ready" }) as Document));
    const claimed = await Promise.all(
      Array.from({ length: 40 }, (_, i) => via(i, name).findOneAndDelete({ state: "ready" }, { sort: { _id: 1 } })),
    );
    const ids = claimed.filter((d) => d !== null).map((d) => Number(d?._id));
    expect(ids).toHaveLength(20);
    expect([...ids].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(claimed.filter((d) => d === null)).toHaveLength(20);
    expect(await server.db.collection(name).countDocuments()).toBe(0);
  });

  it("parallel claims with findOneAndUpdate never give one job to two workers", async () => {
    const name = "race_claim";
    await server.db.collection(name).insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: i, owner: null }) as Document));
    const claimed = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        via(i, name).findOneAndUpdate({ owner: null }, { $set: { owner: `worker${i}` } }, { returnDocument: "after" }),
      ),
    );
    const granted = claimed.filter((d) => d !== null);
    expect(granted).toHaveLength(10);
    expect(new Set(granted.map((d) => d?._id)).size).toBe(10);
    const docs = await server.db.collection(name).find({}).sort({ _id: 1 }).toArray();
    for (const doc of docs) expect(granted.find((g) => g?._id === doc._id)?.owner).toBe(doc.owner);
  });

  it("parallel unordered insertMany batches with overlapping keys keep each key once", async () => {
    const name = "race_batches";
    await server.db.collection(name).createIndex({ key: 1 }, { unique: true });
    // Batch b holds keys b*10 .. b*10+29: every key but the first and last ten appears in three batches.
    const outcomes = await Promise.all(
      Array.from({ length: 16 }, (_, b) =>
        settle(via(b, name).insertMany(Array.from({ length: 30 }, (_, j) => ({ key: b * 10 + j })), { ordered: false })),
      ),
    );
    let inserted = 0;
    for (const o of outcomes) {
      if (o.ok) inserted += o.value.insertedCount;
      else {
        const err = o.error as MongoServerError & { insertedCount: number; writeErrors: Array<{ code: number }> };
        expect(err.writeErrors.every((e) => e.code === 11000)).toBe(true);
        inserted += err.insertedCount;
      }
    }
    const distinctKeys = 15 * 10 + 30;
    expect(inserted).toBe(distinctKeys);
    const keys = (await server.db.collection(name).find({}).toArray()).map((d) => d.key as number).sort((a, b) => a - b);
    expect(keys).toEqual(Array.from({ length: distinctKeys }, (_, i) => i));
  });

  it("100 parallel pings across clients with maxPoolSize 50 all succeed", async () => {
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => clients[i % CLIENTS].db("admin").command({ ping: 1 })));
    expect(replies).toHaveLength(100);
    for (const r of replies) expect(r).toEqual({ ok: 1 });
  });

  it("many concurrent connections from one pool answer reads and writes in parallel", async () => {
    const wide = new MongoClient(server.uri, { maxPoolSize: 50, minPoolSize: 0 });
    try {
      await wide.connect();
      const c = wide.db(server.dbName).collection("wide");
      await Promise.all(Array.from({ length: 100 }, (_, i) => c.insertOne({ _id: i, v: i * 2 } as Document)));
      const found = await Promise.all(Array.from({ length: 100 }, (_, i) => c.findOne({ _id: i } as Document)));
      expect(found).toEqual(Array.from({ length: 100 }, (_, i) => ({ _id: i, v: i * 2 })));
      const status = await wide.db("admin").command({ serverStatus: 1 });
      expect(status.connections.current).toBeGreaterThan(CLIENTS);
    } finally {
      await wide.close();
    }
  });
});
