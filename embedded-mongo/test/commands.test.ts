// Administrative commands and error behaviour as a mongod 7.0 standalone has them: databases, collections,
// parameters, server status, and the exact errors for unknown commands, fields and malformed requests.
import { BSON, type Document, MongoClient, MongoInvalidArgumentError } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, caught, onRealMongo, openTestServer } from "./harness";

let server: TestServer;
const extraDbs: string[] = [];

beforeAll(async () => {
  server = await openTestServer();
});
afterAll(async () => {
  for (const name of extraDbs) await server.client.db(name).dropDatabase().catch(() => {});
  await server.close();
});

async function expectCommandError(p: Promise<unknown>, code: number, codeName: string, errmsg?: string): Promise<void> {
  const err = await caught(p);
  expect(err.name).toBe("MongoServerError");
  expect(err.code).toBe(code);
  expect(err.codeName).toBe(codeName);
  if (errmsg !== undefined) expect(err.errmsg).toBe(errmsg);
}

const admin = () => server.client.db("admin");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A second database on the same server, dropped after the file's tests. */
function otherDb(suffix: string) {
  const name = `${server.dbName}_${suffix}`;
  extraDbs.push(name);
  return server.client.db(name);
}

async function poll<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!done(last) && Date.now() < deadline) {
    await sleep(25);
    last = await read();
  }
  return last;
}

describe("databases", () => {
  it("listDatabases shows a database once something is written to it, with nameOnly and filter", async () => {
    const db = otherDb("listed");
    const filtered = () => admin().command({ listDatabases: 1, nameOnly: true, filter: { name: db.databaseName } });
    expect(await filtered()).toEqual({ databases: [], ok: 1 });

    await db.collection("c").insertOne({ _id: 1 } as Document);
    expect(await filtered()).toEqual({ databases: [{ name: db.databaseName }], ok: 1 });

    const nameOnly = await admin().command({ listDatabases: 1, nameOnly: true });
    expect(nameOnly.databases).toContainEqual({ name: db.databaseName });
    for (const entry of nameOnly.databases as Document[]) expect(Object.keys(entry)).toEqual(["name"]);
    expect(nameOnly.totalSize).toBeUndefined();

    const full = await admin().command({ listDatabases: 1 });
    const entry = (full.databases as Document[]).find((d) => d.name === db.databaseName);
    expect(entry).toEqual({ name: db.databaseName, sizeOnDisk: expect.any(Number), empty: false });
    expect(full.totalSize).toEqual(expect.any(Number));
    expect(full.totalSizeMb).toEqual(expect.any(Number));
    expect(full.ok).toBe(1);

    const viaDriver = await admin().admin().listDatabases({ nameOnly: true });
    expect(viaDriver.databases.map((d) => d.name)).toContain(db.databaseName);
  });

  it("listDatabases and getParameter may only run against admin (13 Unauthorized)", async () => {
    await expectCommandError(
      server.db.command({ listDatabases: 1 }),
      13,
      "Unauthorized",
      "listDatabases may only be run against the admin database.",
    );
    await expectCommandError(
      server.db.command({ getParameter: 1, featureCompatibilityVersion: 1 }),
      13,
      "Unauthorized",
      "getParameter may only be run against the admin database.",
    );
  });

  it("dropDatabase removes the database, its collections and its indexes", async () => {
    const db = otherDb("dropped");
    await db.collection("a").insertOne({ _id: 1 } as Document);
    await db.collection("b").createIndex({ x: 1 }, { unique: true });
    expect((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort()).toEqual(["a", "b"]);

    expect(await db.dropDatabase()).toBe(true);
    expect(await db.listCollections().toArray()).toEqual([]);
    const listed = await admin().command({ listDatabases: 1, nameOnly: true, filter: { name: db.databaseName } });
    expect(listed.databases).toEqual([]);

    // The database can be used again, empty and without the old index.
    await db.collection("b").insertMany([{ x: 1 }, { x: 1 }]);
    expect(await db.collection("b").countDocuments()).toBe(2);
    // Dropping a database that does not exist succeeds too.
    expect(await otherDb("never_created").dropDatabase()).toBe(true);
  });
});

describe("collections", () => {
  it("create makes an empty collection; the same create again succeeds, different options fail with 48", async () => {
    expect(await server.db.command({ create: "made" })).toEqual({ ok: 1 });
    const infos = await server.db.listCollections({ name: "made" }).toArray();
    expect(infos).toEqual([
      {
        name: "made",
        type: "collection",
        options: {},
        info: { readOnly: false, uuid: expect.anything() },
        idIndex: { v: 2, key: { _id: 1 }, name: "_id_" },
      },
    ]);
    expect(await server.db.collection("made").countDocuments()).toBe(0);
    expect(await server.db.collection("made").listIndexes().toArray()).toEqual([{ v: 2, key: { _id: 1 }, name: "_id_" }]);

    // MongoDB 7.0: creating an existing collection with identical options is a no-op that succeeds.
    expect(await server.db.command({ create: "made" })).toEqual({ ok: 1 });
    await server.db.createCollection("made");
    // With different options it is NamespaceExists.
    await expectCommandError(server.db.command({ create: "made", capped: true, size: 65536 }), 48, "NamespaceExists");
    // A collection made implicitly by an insert exists just the same.
    await server.db.collection("implicit").insertOne({ _id: 1 } as Document);
    expect(await server.db.command({ create: "implicit" })).toEqual({ ok: 1 });
    await expectCommandError(server.db.command({ create: "implicit", capped: true, size: 65536 }), 48, "NamespaceExists");
    expect(await server.db.collection("implicit").countDocuments()).toBe(1);
  });

  it("drop removes an existing collection and succeeds for a missing one", async () => {
    await server.db.collection("to_drop").insertOne({ _id: 1 } as Document);
    await server.db.collection("to_drop").createIndex({ a: 1 });
    expect(await server.db.command({ drop: "to_drop" })).toEqual({ nIndexesWas: 2, ns: `${server.dbName}.to_drop`, ok: 1 });
    expect(await server.db.listCollections({ name: "to_drop" }).toArray()).toEqual([]);
    expect(await server.db.collection("to_drop").countDocuments()).toBe(0);

    const missing = await server.db.command({ drop: "never_existed" });
    expect(missing.ok).toBe(1);
    expect(await server.db.collection("never_existed").drop()).toBe(true);
  });

  it("listCollections answers with filter and nameOnly", async () => {
    const db = otherDb("listing");
    await db.collection("alpha").insertOne({ _id: 1 } as Document);
    await db.collection("beta").insertOne({ _id: 1 } as Document);
    await db.command({ create: "gamma" });

    const all = await db.listCollections({}, { nameOnly: true }).toArray();
    expect([...all].sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: "alpha", type: "collection" },
      { name: "beta", type: "collection" },
      { name: "gamma", type: "collection" },
    ]);
    expect(await db.listCollections({ name: "beta" }, { nameOnly: true }).toArray()).toEqual([{ name: "beta", type: "collection" }]);
    const regex = await db.listCollections({ name: { $in: ["alpha", "gamma", "delta"] } }).toArray();
    expect(regex.map((c) => c.name).sort()).toEqual(["alpha", "gamma"]);
    for (const c of regex) expect(c).toMatchObject({ type: "collection", options: {}, info: { readOnly: false } });
    expect(await db.listCollections({ name: "delta" }).toArray()).toEqual([]);

    const raw = await db.command({ listCollections: 1, nameOnly: true, filter: { name: "alpha" } });
    expect(raw).toEqual({
      cursor: { id: expect.anything(), ns: `${db.databaseName}.$cmd.listCollections`, firstBatch: [{ name: "alpha", type: "collection" }] },
      ok: 1,
    });
    expect(Number(raw.cursor.id)).toBe(0);
  });
});

describe("server information", () => {
  it("getParameter answers the featureCompatibilityVersion", async () => {
    expect(await admin().command({ getParameter: 1, featureCompatibilityVersion: 1 })).toEqual({
      featureCompatibilityVersion: { version: "7.0" },
      ok: 1,
    });
  });

  it("serverStatus reports current connections and counts operations", async () => {
    const before = await admin().command({ serverStatus: 1 });
    expect(before.ok).toBe(1);
    expect(before.connections.current).toBeGreaterThanOrEqual(1);
    for (const op of ["insert", "query", "update", "delete", "getmore", "command"]) {
      expect(before.opcounters[op]).toEqual(expect.any(Number));
    }

    const c = server.db.collection("counted");
    await c.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3 }] as Document[]);
    await c.find({}).toArray();
    await c.updateOne({ _id: 1 } as Document, { $set: { x: 1 } });
    await c.deleteOne({ _id: 2 } as Document);
    const after = await admin().command({ serverStatus: 1 });
    expect(after.opcounters.insert - before.opcounters.insert).toBeGreaterThanOrEqual(3);
    expect(after.opcounters.query - before.opcounters.query).toBeGreaterThanOrEqual(1);
    expect(after.opcounters.update - before.opcounters.update).toBeGreaterThanOrEqual(1);
    expect(after.opcounters.delete - before.opcounters.delete).toBeGreaterThanOrEqual(1);
    expect(after.opcounters.command - before.opcounters.command).toBeGreaterThanOrEqual(1);
  });

  it("serverStatus connections.current counts open connections and drops when a client leaves", async () => {
    const current = async () => (await admin().command({ serverStatus: 1 })).connections.current as number;
    const extra = new MongoClient(server.uri, { maxPoolSize: 5, minPoolSize: 5 });
    let base = 0;
    try {
      await extra.connect();
      await Promise.all(Array.from({ length: 5 }, () => extra.db("admin").command({ ping: 1 })));
      // The extra client's 5 pooled connections (minPoolSize) and the main client's own are open right now.
      base = await poll(current, (n) => n >= 6);
      expect(base).toBeGreaterThanOrEqual(6);
    } finally {
      await extra.close();
    }
    // A real mongod may be shared with the other test files, whose clients come and go: only on the
    // embedded store (one per file) is the drop after closing a client certain.
    if (!onRealMongo) expect(await poll(current, (n) => n <= base - 5)).toBeLessThanOrEqual(base - 5);
  });
});

describe("errors", () => {
  it("an unknown command is 59 CommandNotFound", async () => {
    await expectCommandError(server.db.command({ frobnicate: 1 }), 59, "CommandNotFound", "no such command: 'frobnicate'");
  });

  it("an unknown field in a command is 40415", async () => {
    await server.db.collection("c").insertOne({ _id: 1 } as Document);
    await expectCommandError(
      server.db.command({ find: "c", bogusOption: 1 }),
      40415,
      "Location40415",
      "BSON field 'find.bogusOption' is an unknown field.",
    );
    await expectCommandError(
      server.db.command({ insert: "c", documents: [{ _id: 2 }], bogus: true }),
      40415,
      "Location40415",
      "BSON field 'insert.bogus' is an unknown field.",
    );
    expect(await server.db.collection("c").countDocuments()).toBe(1);
  });

  it("an _id that is an array or a regex is refused (53 InvalidIdField)", async () => {
    const c = server.db.collection("bad_ids");
    const arrayErr = await caught(c.insertOne({ _id: [1, 2] } as Document));
    expect(arrayErr.code).toBe(53);
    expect(arrayErr.errmsg).toBe("The '_id' value cannot be of type array");
    const regexErr = await caught(c.insertOne({ _id: /x/ } as Document));
    expect(regexErr.code).toBe(53);
    expect(regexErr.errmsg).toBe("The '_id' value cannot be of type regex");
    const raw = await server.db.command({ insert: "bad_ids", documents: [{ _id: 1 }, { _id: [3] }, { _id: 4 }], ordered: false });
    expect(raw).toEqual({
      n: 2,
      writeErrors: [{ index: 1, code: 53, errmsg: "The '_id' value cannot be of type array" }],
      ok: 1,
    });
    expect((await c.find({}).sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual([1, 4]);
  });

  it("delete with limit 5 fails with 9 FailedToParse and deletes nothing", async () => {
    const c = server.db.collection("del_limit");
    await c.insertMany([{ _id: 1 }, { _id: 2 }] as Document[]);
    await expectCommandError(
      server.db.command({ delete: "del_limit", deletes: [{ q: {}, limit: 5 }] }),
      9,
      "FailedToParse",
      "The limit field in delete objects must be 0 or 1. Got 5",
    );
    expect(await c.countDocuments()).toBe(2);
  });

  it("find with a negative skip fails with 51024", async () => {
    await server.db.collection("neg").insertOne({ _id: 1 } as Document);
    await expectCommandError(
      server.db.command({ find: "neg", skip: -1 }),
      51024,
      "Location51024",
      "BSON field 'skip' value must be >= 0, actual value '-1'",
    );
  });

  it("the find command refuses a negative limit with 51024 (drivers turn it into singleBatch)", async () => {
    await server.db.collection("neg").insertOne({ _id: 2 } as Document);
    await expectCommandError(
      server.db.command({ find: "neg", limit: -2 }),
      51024,
      "Location51024",
      "BSON field 'limit' value must be >= 0, actual value '-2'",
    );
  });

  it("aggregate without a cursor fails with 9 FailedToParse", async () => {
    await expectCommandError(
      server.db.command({ aggregate: "c", pipeline: [] }),
      9,
      "FailedToParse",
      "The 'cursor' option is required, except for aggregate with the explain argument",
    );
  });

  it("a pipeline stage with two fields fails with 40323, an unknown stage with 40324", async () => {
    await expectCommandError(
      server.db.command({ aggregate: "c", pipeline: [{ $match: {}, $limit: 1 }], cursor: {} }),
      40323,
      "Location40323",
      "A pipeline stage specification object must contain exactly one field.",
    );
    await expectCommandError(
      server.db.command({ aggregate: "c", pipeline: [{ $bogus: {} }], cursor: {} }),
      40324,
      "Location40324",
      "Unrecognized pipeline stage name: '$bogus'",
    );
    await expectCommandError(server.db.collection("c").aggregate([{ $bogus: {} }]).toArray(), 40324, "Location40324");
  });
});

describe("document size", () => {
  const MAX = 16 * 1024 * 1024;
  /** A document { _id, s } of exactly `size` BSON bytes. */
  function docOfSize(id: number, size: number): Document {
    const overhead = BSON.calculateObjectSize({ _id: id, s: "" });
    const doc = { _id: id, s: "x".repeat(size - overhead) };
    expect(BSON.calculateObjectSize(doc)).toBe(size);
    return doc;
  }

  it(
    "stores a document just under 16 MB and refuses one over it",
    async () => {
      const c = server.db.collection("big_docs");
      await c.insertOne(docOfSize(1, MAX - 1024));
      const back = await c.findOne({ _id: 1 } as Document);
      expect((back?.s as string).length).toBe((docOfSize(1, MAX - 1024).s as string).length);

      // The server refuses it (the insert command itself still fits in a message).
      const overSize = MAX + 1;
      const err = await caught(c.insertOne(docOfSize(2, overSize)));
      expect(err.name).toBe("MongoServerError");
      expect(err.code).toBe(2);
      expect(err.errmsg).toBe(`object to insert too large. size in bytes: ${overSize}, max size: ${MAX}`);
      // The driver refuses it in a batch before sending anything.
      const batchErr = await caught(c.insertMany([docOfSize(3, MAX + 1024)]));
      expect(batchErr).toBeInstanceOf(MongoInvalidArgumentError);
      expect((await c.find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id)).toEqual([1]);
    },
    60_000,
  );

  // The embedded store keeps a regex as a JavaScript RegExp, whose source escapes "/": what it stores can be larger
  // than what arrived, so it must measure the stored form (real MongoDB stores the pattern's bytes as they came).
  it.skipIf(onRealMongo)(
    "measures the document it would store, not the bytes it arrived in: a regex of 9 MB of slashes is 18 MB stored",
    async () => {
      const c = server.db.collection("big_regex");
      // The pattern arrives as 9,000,000 bytes; decoded, a RegExp's source escapes every "/", so it doubles.
      const err = await caught(c.insertOne({ _id: 1, r: new BSON.BSONRegExp("/".repeat(9_000_000), "") } as Document));
      expect(err.code).toBe(2);
      expect(err.errmsg).toBe(`object to insert too large. size in bytes: 18000019, max size: ${MAX}`);
      expect(await c.countDocuments()).toBe(0);
    },
    60_000,
  );

  it(
    "refuses an update whose result would exceed 16 MB (17419) and keeps the document",
    async () => {
      const c = server.db.collection("grow");
      await c.insertOne({ _id: 1, a: "a".repeat(10 * 1024 * 1024) } as Document);
      const err = await caught(c.updateOne({ _id: 1 } as Document, { $set: { b: "b".repeat(8 * 1024 * 1024) } }));
      // 17419 in the 7.0 series (later servers answer 10334 BSONObjectTooLarge with the same message).
      expect([17419, 10334]).toContain(err.code);
      expect(err.errmsg).toContain(`Resulting document after update is larger than ${MAX}`);
      const back = await c.findOne({ _id: 1 } as Document, { projection: { b: 1 } });
      expect(back).toEqual({ _id: 1 });
    },
    60_000,
  );
});

describe("count and unacknowledged writes", () => {
  it("count answers n, with query, skip and limit, and 0 for a missing collection", async () => {
    const c = server.db.collection("counting");
    await c.insertMany([{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }]);
    expect(await server.db.command({ count: "counting" })).toEqual({ n: 4, ok: 1 });
    expect(await server.db.command({ count: "counting", query: { a: { $gte: 2 } } })).toEqual({ n: 3, ok: 1 });
    expect(await server.db.command({ count: "counting", query: { a: { $gte: 2 } }, skip: 1, limit: 1 })).toEqual({ n: 1, ok: 1 });
    expect(await server.db.command({ count: "counting", skip: 10 })).toEqual({ n: 0, ok: 1 });
    expect(await server.db.command({ count: "no_such_collection" })).toEqual({ n: 0, ok: 1 });
    expect(await c.countDocuments({ a: { $lt: 3 } })).toBe(2);
    expect(await c.estimatedDocumentCount()).toBe(4);
  });

  it("a write with w: 0 is not acknowledged, reports no error, and is visible to a later read", async () => {
    const c = server.db.collection("fire_and_forget");
    const inserted = await c.insertOne({ _id: 1, v: "a" } as Document, { writeConcern: { w: 0 } });
    expect(inserted.acknowledged).toBe(false);
    expect(await poll(() => c.findOne({ _id: 1 } as Document), (d) => d !== null)).toEqual({ _id: 1, v: "a" });

    const updated = await c.updateOne({ _id: 1 } as Document, { $set: { v: "b" } }, { writeConcern: { w: 0 } });
    expect(updated.acknowledged).toBe(false);
    expect(await poll(() => c.findOne({ _id: 1 } as Document), (d) => d?.v === "b")).toEqual({ _id: 1, v: "b" });

    // A failing unacknowledged write ($inc of a string) is silent, and changes nothing.
    const failing = await c.updateOne({ _id: 1 } as Document, { $inc: { v: 1 } } as Document, { writeConcern: { w: 0 } });
    expect(failing.acknowledged).toBe(false);
    await c.insertOne({ _id: 2, v: "marker" } as Document, { writeConcern: { w: 0 } });
    expect(await poll(() => c.countDocuments(), (n) => n === 2)).toBe(2);
    expect(await c.findOne({ _id: 1 } as Document)).toEqual({ _id: 1, v: "b" });

    const deleted = await c.deleteOne({ _id: 2 } as Document, { writeConcern: { w: 0 } });
    expect(deleted.acknowledged).toBe(false);
    expect(await poll(() => c.countDocuments(), (n) => n === 1)).toBe(1);
    // The connection still works normally afterwards.
    expect(await server.db.command({ ping: 1 })).toEqual({ ok: 1 });
  });
});
