// Cursors: results spread over getMore batches, limits combined with batch sizes, cursors closed or killed,
// unknown cursor ids, and the cursors of aggregate, listCollections and listIndexes.
import {
  Long,
  MongoClient,
  type CommandSucceededEvent,
  type Db,
  type Document,
} from "mongodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestServer, openTestServer } from "./harness";

interface NumDoc {
  _id: number;
  n: number;
  even: boolean;
}

const TOTAL = 250;

let server: TestServer;
/** A second client on the same database that records every command's reply, to count batches. */
let monitored: MongoClient;
let mdb: Db;
let replies: CommandSucceededEvent[] = [];

beforeAll(async () => {
  server = await openTestServer();
  monitored = new MongoClient(server.uri, { monitorCommands: true });
  monitored.on("commandSucceeded", (ev) => replies.push(ev));
  await monitored.connect();
  mdb = monitored.db(server.dbName);
  const docs: NumDoc[] = [];
  for (let i = 0; i < TOTAL; i++) docs.push({ _id: i, n: TOTAL - i, even: i % 2 === 0 });
  // Inserted out of order so that the natural order differs from the _id order.
  docs.reverse();
  await server.db.collection<NumDoc>("nums").insertMany(docs);
});
afterAll(async () => {
  await monitored?.close();
  await server.close();
});
beforeEach(() => {
  replies = [];
});

const raw = { promoteLongs: false } as const;

function batchesOf(commandName: string): Document[][] {
  return replies
    .filter((r) => r.commandName === commandName)
    .map((r) => {
      const cursor = (r.reply as { cursor: { firstBatch?: Document[]; nextBatch?: Document[] } }).cursor;
      return cursor.firstBatch ?? cursor.nextBatch ?? [];
    });
}

function lastCursorId(): Long | number | undefined {
  const withCursor = replies.filter((r) => (r.reply as Document).cursor !== undefined);
  const last = withCursor[withCursor.length - 1];
  return (last?.reply as { cursor: { id: Long | number } } | undefined)?.cursor.id;
}

function isZero(id: Long | number | undefined): boolean {
  return id !== undefined && Long.fromValue(id).isZero();
}

describe("find cursors across getMore", () => {
  it("returns 250 documents with batchSize 7, each exactly once and in order", async () => {
    const coll = mdb.collection<NumDoc>("nums");
    const seen: number[] = [];
    for await (const doc of coll.find({}).sort({ _id: 1 }).batchSize(7)) seen.push(doc._id);
    expect(seen).toEqual(Array.from({ length: TOTAL }, (_, i) => i));

    const first = batchesOf("find");
    expect(first.map((b) => b.length)).toEqual([7]);
    const more = batchesOf("getMore");
    expect(more.length).toBe(35);
    expect(more.slice(0, 34).every((b) => b.length === 7)).toBe(true);
    expect(more[34].length).toBe(5);
    expect(isZero(lastCursorId())).toBe(true);
  });

  it("keeps a descending sort order across batches", async () => {
    const coll = mdb.collection<NumDoc>("nums");
    const docs = await coll.find({ even: true }, { projection: { _id: 1, n: 1 } }).sort({ n: -1 }).batchSize(4).toArray();
    expect(docs.length).toBe(125);
    expect(docs[0]).toEqual({ _id: 0, n: 250 });
    expect(docs[124]).toEqual({ _id: 248, n: 2 });
    expect(docs.map((d) => d._id)).toEqual(Array.from({ length: 125 }, (_, i) => i * 2));
    expect(batchesOf("getMore").length).toBeGreaterThanOrEqual(30);
    for (const batch of [...batchesOf("find"), ...batchesOf("getMore")]) expect(batch.length).toBeLessThanOrEqual(4);
  });

  it("applies a projection to documents of later batches too", async () => {
    const coll = mdb.collection<NumDoc>("nums");
    const docs = await coll
      .find({ _id: { $gte: 240 } }, { projection: { _id: 0, n: 1 } })
      .sort({ _id: 1 })
      .batchSize(3)
      .toArray();
    expect(docs).toEqual(Array.from({ length: 10 }, (_, i) => ({ n: TOTAL - (240 + i) })));
  });

  it("stops at the limit when it spans several batches", async () => {
    const coll = mdb.collection<NumDoc>("nums");
    const docs = await coll.find({}).sort({ _id: 1 }).limit(10).batchSize(3).toArray();
    expect(docs.map((d) => d._id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const all = [...batchesOf("find"), ...batchesOf("getMore")];
    expect(all.flat().length).toBe(10);
    expect(batchesOf("find")[0].length).toBe(3);
    expect(batchesOf("getMore").length).toBe(3);
  });

  it("returns a limit smaller than the batch size in one batch and closes the cursor", async () => {
    const coll = mdb.collection<NumDoc>("nums");
    const docs = await coll.find({}).sort({ _id: -1 }).limit(5).batchSize(10).toArray();
    expect(docs.map((d) => d._id)).toEqual([249, 248, 247, 246, 245]);
    expect(batchesOf("find").map((b) => b.length)).toEqual([5]);
    expect(batchesOf("getMore")).toEqual([]);
    expect(isZero(lastCursorId())).toBe(true);
  });

  it("treats a negative limit as a single batch", async () => {
    const coll = mdb.collection<NumDoc>("nums");
    const docs = await coll.find({ _id: { $gte: 100 } }).sort({ _id: 1 }).limit(-4).toArray();
    expect(docs.map((d) => d._id)).toEqual([100, 101, 102, 103]);
    expect(batchesOf("getMore")).toEqual([]);
    expect(isZero(lastCursorId())).toBe(true);
  });

  it("combines skip, limit and batchSize", async () => {
    const coll = mdb.collection<NumDoc>("nums");
    const docs = await coll.find({ even: false }).sort({ _id: 1 }).skip(5).limit(6).batchSize(2).toArray();
    expect(docs.map((d) => d._id)).toEqual([11, 13, 15, 17, 19, 21]);
    const one = await coll.find({}).sort({ _id: 1 }).skip(247).batchSize(1).toArray();
    expect(one.map((d) => d._id)).toEqual([247, 248, 249]);
  });

  it("returns the documents of raw find and getMore replies with the cursor's id and namespace", async () => {
    const first = await server.db.command({ find: "nums", filter: { _id: { $lt: 10 } }, sort: { _id: 1 }, batchSize: 3 }, raw);
    const id = first.cursor.id as Long;
    expect(id).toBeInstanceOf(Long);
    expect(id.isZero()).toBe(false);
    expect(first).toEqual({
      cursor: { firstBatch: [0, 1, 2].map((i) => ({ _id: i, n: TOTAL - i, even: i % 2 === 0 })), id, ns: `${server.dbName}.nums` },
      ok: 1,
    });
    const next = await server.db.command({ getMore: id, collection: "nums", batchSize: 4 }, raw);
    expect(next).toEqual({
      cursor: { nextBatch: [3, 4, 5, 6].map((i) => ({ _id: i, n: TOTAL - i, even: i % 2 === 0 })), id, ns: `${server.dbName}.nums` },
      ok: 1,
    });
    const rest = await server.db.command({ getMore: id, collection: "nums", batchSize: 100 }, raw);
    expect(rest.cursor.nextBatch.map((d: NumDoc) => d._id)).toEqual([7, 8, 9]);
    expect((rest.cursor.id as Long).isZero()).toBe(true);
    await expect(server.db.command({ getMore: id, collection: "nums" }, raw)).rejects.toMatchObject({
      code: 43,
      codeName: "CursorNotFound",
    });
  });
});

describe("closing and killing cursors", () => {
  it("fails a getMore with CursorNotFound after cursor.close()", async () => {
    const coll = server.db.collection<NumDoc>("nums");
    const cursor = coll.find({}).sort({ _id: 1 }).batchSize(2);
    const firstDoc = await cursor.next();
    expect(firstDoc).toEqual({ _id: 0, n: TOTAL, even: true });
    const id = cursor.id;
    expect(id).toBeDefined();
    expect(Long.fromValue(id as Long).isZero()).toBe(false);
    await cursor.close();
    expect(cursor.killed).toBe(true);
    await expect(
      server.db.command({ getMore: Long.fromValue(id as Long), collection: "nums", batchSize: 2 }, raw),
    ).rejects.toMatchObject({ code: 43, codeName: "CursorNotFound" });
  });

  it("reports killed and unknown ids in the killCursors reply", async () => {
    const first = await server.db.command({ find: "nums", sort: { _id: 1 }, batchSize: 2 }, raw);
    const id = first.cursor.id as Long;
    expect(id.isZero()).toBe(false);
    const unknown = Long.fromString("987654321987");
    const killed = await server.db.command({ killCursors: "nums", cursors: [id, unknown] }, raw);
    expect(killed).toEqual({
      cursorsKilled: [id],
      cursorsNotFound: [unknown],
      cursorsAlive: [],
      cursorsUnknown: [],
      ok: 1,
    });
    const again = await server.db.command({ killCursors: "nums", cursors: [id] }, raw);
    expect(again).toEqual({ cursorsKilled: [], cursorsNotFound: [id], cursorsAlive: [], cursorsUnknown: [], ok: 1 });
    await expect(server.db.command({ getMore: id, collection: "nums" }, raw)).rejects.toMatchObject({ code: 43 });
  });

  it("fails a getMore on an id that was never handed out with CursorNotFound", async () => {
    await expect(
      server.db.command({ getMore: Long.fromString("1234567890123"), collection: "nums" }, raw),
    ).rejects.toMatchObject({ code: 43, codeName: "CursorNotFound" });
  });

  it("leaves other open cursors usable when one is killed", async () => {
    const a = await server.db.command({ find: "nums", sort: { _id: 1 }, batchSize: 1 }, raw);
    const b = await server.db.command({ find: "nums", sort: { _id: -1 }, batchSize: 1 }, raw);
    const idA = a.cursor.id as Long;
    const idB = b.cursor.id as Long;
    expect(idA.equals(idB)).toBe(false);
    await server.db.command({ killCursors: "nums", cursors: [idA] }, raw);
    const moreB = await server.db.command({ getMore: idB, collection: "nums", batchSize: 2 }, raw);
    expect(moreB.cursor.nextBatch.map((d: NumDoc) => d._id)).toEqual([248, 247]);
    await server.db.command({ killCursors: "nums", cursors: [idB] }, raw);
  });
});

describe("cursors of other commands", () => {
  it("spreads an aggregate result over getMore with a small batch size", async () => {
    const coll = mdb.collection<NumDoc>("nums");
    const docs = await coll
      .aggregate<{ _id: number; double: number }>(
        [{ $match: { _id: { $lt: 100 } } }, { $sort: { _id: -1 } }, { $project: { double: { $multiply: ["$_id", 2] } } }],
        { batchSize: 6 },
      )
      .toArray();
    expect(docs).toEqual(Array.from({ length: 100 }, (_, i) => ({ _id: 99 - i, double: (99 - i) * 2 })));
    const first = batchesOf("aggregate");
    expect(first.map((b) => b.length)).toEqual([6]);
    const more = batchesOf("getMore");
    expect(more.length).toBeGreaterThanOrEqual(16);
    for (const batch of more) expect(batch.length).toBeLessThanOrEqual(6);
    expect(more.flat().length).toBe(94);
  });

  it("lists collections through a cursor with batchSize 2", async () => {
    const names = ["lc_a", "lc_b", "lc_c", "lc_d", "lc_e"];
    for (const name of names) await server.db.createCollection(name);
    const infos = await mdb.listCollections({ name: { $regex: "^lc_" } }, { batchSize: 2 }).toArray();
    expect(infos.map((c) => c.name).sort()).toEqual(names);
    for (const info of infos) expect(info.type).toBe("collection");
    expect(batchesOf("listCollections").map((b) => b.length)).toEqual([2]);
    const more = batchesOf("getMore");
    expect(more.length).toBeGreaterThanOrEqual(2);
    expect(more.flat().length).toBe(3);
  });

  it("lists indexes through a cursor with batchSize 1", async () => {
    const coll = server.db.collection<{ _id: number; a: number; b: number; c: number; d: number }>("li");
    await coll.insertOne({ _id: 1, a: 1, b: 2, c: 3, d: 4 });
    await coll.createIndex({ a: 1 });
    await coll.createIndex({ b: -1 }, { unique: true });
    await coll.createIndex({ c: 1, d: 1 }, { name: "c_and_d" });
    const indexes = await mdb.collection("li").listIndexes({ batchSize: 1 }).toArray();
    const byName = [...indexes].sort((x, y) => String(x.name).localeCompare(String(y.name)));
    expect(byName.map((ix) => ({ name: ix.name, key: ix.key, unique: ix.unique }))).toEqual([
      { name: "_id_", key: { _id: 1 }, unique: undefined },
      { name: "a_1", key: { a: 1 }, unique: undefined },
      { name: "b_-1", key: { b: -1 }, unique: true },
      { name: "c_and_d", key: { c: 1, d: 1 }, unique: undefined },
    ]);
    expect(batchesOf("listIndexes").map((b) => b.length)).toEqual([1]);
    const more = batchesOf("getMore");
    expect(more.length).toBeGreaterThanOrEqual(3);
    expect(more.flat().length).toBe(3);
  });
});
