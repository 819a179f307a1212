// Indexes as MongoDB 7.0 has them: names, listing, conflicts, dropping, unique constraints on every write path,
// sparse / partial / multikey uniqueness, index use proven by explain, and identical results with and without
// an index. Every expectation here is what a real mongod 7.0 standalone answers.
import { type Collection, Decimal128, type Document, Double, Long, MongoBulkWriteError, ObjectId } from "mongodb";
import { beforeAll, describe, expect, it } from "vitest";
import { type ServerErr, caught, useTestServer } from "./harness";

const server = useTestServer();

/** Documents with _ids of any type (the tests choose their own). */
interface AnyDoc {
  _id?: number | string | ObjectId;
  [field: string]: unknown;
}

function coll(name: string): Collection<AnyDoc> {
  return server.db.collection<AnyDoc>(name);
}

const ns = (name: string) => `${server.dbName}.${name}`;
const dupMsg = (collName: string, index: string, key: string) =>
  `E11000 duplicate key error collection: ${ns(collName)} index: ${index} dup key: ${key}`;

/** Asserts MongoDB's whole duplicate-key error shape (a write error turned into an exception by the driver). */
function expectDuplicate(err: ServerErr, collName: string, index: string, keyPattern: Document, keyValue: Document, keyText: string) {
  expect(err.code).toBe(11000);
  expect(err.keyPattern).toEqual(keyPattern);
  expect(err.keyValue).toEqual(keyValue);
  expect(err.errmsg).toBe(dupMsg(collName, index, keyText));
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

async function sortedById(c: Collection<AnyDoc>): Promise<Document[]> {
  return c.find({}).sort({ _id: 1 }).toArray();
}

describe("createIndex / createIndexes", () => {
  it("generates names from the key pattern and lists exact index entries", async () => {
    const c = coll("names");
    expect(await c.createIndex({ a: 1, b: -1 })).toBe("a_1_b_-1");
    expect(await c.createIndex({ "meta.score": 1 })).toBe("meta.score_1");
    expect(await c.createIndex({ z: -1 })).toBe("z_-1");
    expect(await c.createIndex({ email: 1 }, { unique: true })).toBe("email_1");
    expect(await c.createIndex({ nick: 1 }, { unique: true, sparse: true })).toBe("nick_1");
    expect(await c.createIndex({ code: 1 }, { unique: true, partialFilterExpression: { active: true } })).toBe("code_1");
    expect(await c.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 3600 })).toBe("expiresAt_1");
    expect(await c.createIndex({ x: 1 }, { name: "custom_name" })).toBe("custom_name");

    const list = await c.listIndexes().toArray();
    const byName = Object.fromEntries(list.map((i) => [i.name, i]));
    expect(Object.keys(byName).sort()).toEqual(
      ["_id_", "a_1_b_-1", "code_1", "custom_name", "email_1", "expiresAt_1", "meta.score_1", "nick_1", "z_-1"].sort(),
    );
    expect(list).toHaveLength(9);
    expect(byName._id_).toEqual({ v: 2, key: { _id: 1 }, name: "_id_" });
    expect(byName["a_1_b_-1"]).toEqual({ v: 2, key: { a: 1, b: -1 }, name: "a_1_b_-1" });
    expect(byName["meta.score_1"]).toEqual({ v: 2, key: { "meta.score": 1 }, name: "meta.score_1" });
    expect(byName["z_-1"]).toEqual({ v: 2, key: { z: -1 }, name: "z_-1" });
    expect(byName.email_1).toEqual({ v: 2, key: { email: 1 }, name: "email_1", unique: true });
    expect(byName.nick_1).toEqual({ v: 2, key: { nick: 1 }, name: "nick_1", unique: true, sparse: true });
    expect(byName.code_1).toEqual({
      v: 2,
      key: { code: 1 },
      name: "code_1",
      unique: true,
      partialFilterExpression: { active: true },
    });
    expect(byName.expiresAt_1).toEqual({ v: 2, key: { expiresAt: 1 }, name: "expiresAt_1", expireAfterSeconds: 3600 });
    expect(byName.custom_name).toEqual({ v: 2, key: { x: 1 }, name: "custom_name" });
    // The key pattern keeps its field order.
    expect(Object.keys(byName["a_1_b_-1"].key)).toEqual(["a", "b"]);
  });

  it("createIndexes creates several at once and returns their names", async () => {
    const c = coll("multi");
    const names = await c.createIndexes([{ key: { p: 1 } }, { key: { q: -1, r: 1 }, name: "qr" }, { key: { s: 1 }, unique: true }]);
    expect(names).toEqual(["p_1", "qr", "s_1"]);
    const list = await c.listIndexes().toArray();
    expect(list.map((i) => i.name).sort()).toEqual(["_id_", "p_1", "qr", "s_1"]);
    expect(list.find((i) => i.name === "qr")).toEqual({ v: 2, key: { q: -1, r: 1 }, name: "qr" });
  });

  it("answers the createIndexes command with MongoDB's reply documents", async () => {
    const first = await server.db.command({ createIndexes: "reply_shape", indexes: [{ key: { a: 1 }, name: "a_1" }] });
    expect(first).toEqual({ numIndexesBefore: 1, numIndexesAfter: 2, createdCollectionAutomatically: true, ok: 1 });
    const second = await server.db.command({ createIndexes: "reply_shape", indexes: [{ key: { b: 1 }, name: "b_1" }] });
    expect(second).toEqual({ numIndexesBefore: 2, numIndexesAfter: 3, createdCollectionAutomatically: false, ok: 1 });
    const again = await server.db.command({ createIndexes: "reply_shape", indexes: [{ key: { a: 1 }, name: "a_1" }] });
    expect(again).toEqual({ numIndexesBefore: 3, numIndexesAfter: 3, note: "all indexes already exist", ok: 1 });
  });

  it("creating the same index twice is a no-op", async () => {
    const c = coll("twice");
    await c.insertOne({ _id: 1, a: 1 });
    expect(await c.createIndex({ a: 1 }, { unique: true })).toBe("a_1");
    const before = await c.listIndexes().toArray();
    expect(await c.createIndex({ a: 1 }, { unique: true })).toBe("a_1");
    expect(await c.createIndexes([{ key: { a: 1 }, unique: true }])).toEqual(["a_1"]);
    expect(await c.listIndexes().toArray()).toEqual(before);
    expect(before).toHaveLength(2);
  });

  it("refuses the same name with a different key (86 IndexKeySpecsConflict)", async () => {
    const c = coll("conflict_name");
    await c.createIndex({ a: 1 }, { name: "idx" });
    const err = await caught(c.createIndex({ b: 1 }, { name: "idx" }));
    expect(err.code).toBe(86);
    expect(err.codeName).toBe("IndexKeySpecsConflict");
    expect((await c.listIndexes().toArray()).map((i) => i.name).sort()).toEqual(["_id_", "idx"]);
    expect((await c.listIndexes().toArray()).find((i) => i.name === "idx")?.key).toEqual({ a: 1 });
  });

  it("refuses the same key under a different name (85 IndexOptionsConflict)", async () => {
    const c = coll("conflict_key");
    await c.createIndex({ a: 1 });
    const err = await caught(c.createIndex({ a: 1 }, { name: "other_name" }));
    expect(err.code).toBe(85);
    expect(err.codeName).toBe("IndexOptionsConflict");
    expect(err.errmsg).toBe("Index already exists with a different name: a_1");
    expect((await c.listIndexes().toArray()).map((i) => i.name).sort()).toEqual(["_id_", "a_1"]);
  });

  it("listIndexes on a missing collection fails with 26 NamespaceNotFound", async () => {
    const err = await caught(coll("does_not_exist").listIndexes().toArray());
    expect(err.code).toBe(26);
    expect(err.codeName).toBe("NamespaceNotFound");
    expect(err.errmsg).toBe(`ns does not exist: ${ns("does_not_exist")}`);
  });
});

describe("dropping indexes", () => {
  it("drops an index by name and by key spec", async () => {
    const c = coll("drop_one");
    await c.createIndexes([{ key: { a: 1 } }, { key: { b: -1 } }, { key: { c: 1, d: 1 } }]);
    const byName = await server.db.command({ dropIndexes: "drop_one", index: "a_1" });
    expect(byName).toEqual({ nIndexesWas: 4, ok: 1 });
    const byKey = await server.db.command({ dropIndexes: "drop_one", index: { b: -1 } });
    expect(byKey).toEqual({ nIndexesWas: 3, ok: 1 });
    await c.dropIndex("c_1_d_1");
    expect(await c.listIndexes().toArray()).toEqual([{ v: 2, key: { _id: 1 }, name: "_id_" }]);
  });

  it("dropIndexes('*') drops every index but _id_", async () => {
    const c = coll("drop_all");
    await c.insertOne({ _id: 1, a: 1, b: 2 });
    await c.createIndexes([{ key: { a: 1 } }, { key: { b: 1 }, unique: true }]);
    const reply = await server.db.command({ dropIndexes: "drop_all", index: "*" });
    expect(reply).toEqual({ nIndexesWas: 3, msg: "non-_id indexes dropped for collection", ok: 1 });
    expect(await c.listIndexes().toArray()).toEqual([{ v: 2, key: { _id: 1 }, name: "_id_" }]);
    // The data is untouched, and the unique constraint is gone.
    await c.insertOne({ _id: 2, a: 1, b: 2 });
    expect(await c.countDocuments()).toBe(2);
  });

  it("refuses to drop _id_ (72 InvalidOptions)", async () => {
    const c = coll("drop_id");
    await c.insertOne({ _id: 1 });
    const err = await caught(c.dropIndex("_id_"));
    expect(err.code).toBe(72);
    expect(err.codeName).toBe("InvalidOptions");
    expect(err.errmsg).toBe("cannot drop _id index");
    const byKey = await caught(server.db.command({ dropIndexes: "drop_id", index: { _id: 1 } }));
    expect(byKey.code).toBe(72);
    expect(await c.listIndexes().toArray()).toEqual([{ v: 2, key: { _id: 1 }, name: "_id_" }]);
  });

  it("dropping a missing index fails with 27 IndexNotFound", async () => {
    const c = coll("drop_missing");
    await c.createIndex({ a: 1 });
    const err = await caught(c.dropIndex("nope_1"));
    expect(err.code).toBe(27);
    expect(err.codeName).toBe("IndexNotFound");
    expect(err.errmsg).toBe("index not found with name [nope_1]");
    const byKey = await caught(server.db.command({ dropIndexes: "drop_missing", index: { zz: 1 } }));
    expect(byKey.code).toBe(27);
    expect(byKey.codeName).toBe("IndexNotFound");
    expect((await c.listIndexes().toArray()).map((i) => i.name).sort()).toEqual(["_id_", "a_1"]);
  });

  it("dropping an index of a missing collection fails with 26 NamespaceNotFound", async () => {
    const err = await caught(server.db.command({ dropIndexes: "no_such_coll", index: "a_1" }));
    expect(err.code).toBe(26);
    expect(err.codeName).toBe("NamespaceNotFound");
  });
});

describe("unique indexes on every write path", () => {
  it("enforces _id uniqueness with MongoDB's error shape", async () => {
    const c = coll("ids");
    await c.insertOne({ _id: 1, v: "first" } as Document);
    const err = await caught(c.insertOne({ _id: 1, v: "second" } as Document));
    expect(err.name).toBe("MongoServerError");
    expectDuplicate(err, "ids", "_id_", { _id: 1 }, { _id: 1 }, "{ _id: 1 }");

    await c.insertOne({ _id: "s" } as Document);
    expectDuplicate(await caught(c.insertOne({ _id: "s" } as Document)), "ids", "_id_", { _id: 1 }, { _id: "s" }, '{ _id: "s" }');

    const oid = new ObjectId("65a1b2c3d4e5f60718293a4b");
    await c.insertOne({ _id: oid });
    const oidErr = await caught(c.insertOne({ _id: oid }));
    expectDuplicate(oidErr, "ids", "_id_", { _id: 1 }, { _id: oid }, "{ _id: ObjectId('65a1b2c3d4e5f60718293a4b') }");

    expect(await sortedById(c)).toHaveLength(3);
    expect(await c.findOne({ _id: 1 } as Document)).toEqual({ _id: 1, v: "first" });
  });

  it("enforces _id uniqueness in batches: insertMany (ordered and not) and the raw insert reply", async () => {
    const c = coll("ids_batch");
    await c.insertOne({ _id: 1, v: "kept" } as Document);
    const ordered = await caught(c.insertMany([{ _id: 2 }, { _id: 1, v: "lost" }, { _id: 3 }] as Document[]));
    expect(ordered).toBeInstanceOf(MongoBulkWriteError);
    expect(ordered.insertedCount).toBe(1);
    expect(ordered.writeErrors?.map((e) => [e.index, e.code, e.errmsg])).toEqual([[1, 11000, dupMsg("ids_batch", "_id_", "{ _id: 1 }")]]);
    const unordered = await caught(
      c.insertMany([{ _id: 4 }, { _id: 2, v: "lost" }, { _id: 5 }, { _id: 5, v: "lost" }] as Document[], { ordered: false }),
    );
    expect(unordered.insertedCount).toBe(2);
    expect(unordered.writeErrors?.map((e) => [e.index, e.code])).toEqual([
      [1, 11000],
      [3, 11000],
    ]);
    const reply = await server.db.command({ insert: "ids_batch", documents: [{ _id: 6 }, { _id: 1, v: "lost" }], ordered: true });
    expect(reply).toEqual({
      n: 1,
      writeErrors: [{ index: 1, code: 11000, keyPattern: { _id: 1 }, keyValue: { _id: 1 }, errmsg: dupMsg("ids_batch", "_id_", "{ _id: 1 }") }],
      ok: 1,
    });
    expect(await sortedById(c)).toEqual([{ _id: 1, v: "kept" }, { _id: 2 }, { _id: 4 }, { _id: 5 }, { _id: 6 }]);
  });

  it("rejects a duplicate on insertOne, single and compound, missing fields counting as null", async () => {
    const c = coll("users");
    await c.createIndex({ email: 1 }, { unique: true });
    await c.createIndex({ tenant: 1, slug: 1 }, { unique: true });
    await c.insertOne({ _id: 1, email: "a@x.io", tenant: "t1", slug: "home" } as Document);
    await c.insertOne({ _id: 2, email: "b@x.io", tenant: "t2", slug: "home" } as Document);

    const single = await caught(c.insertOne({ _id: 3, email: "a@x.io", tenant: "t3", slug: "x" } as Document));
    expectDuplicate(single, "users", "email_1", { email: 1 }, { email: "a@x.io" }, '{ email: "a@x.io" }');

    const compound = await caught(c.insertOne({ _id: 4, email: "d@x.io", tenant: "t1", slug: "home" } as Document));
    expectDuplicate(compound, "users", "tenant_1_slug_1", { tenant: 1, slug: 1 }, { tenant: "t1", slug: "home" }, '{ tenant: "t1", slug: "home" }');

    // A document without the field indexes it as null: only one such document fits a (non-sparse) unique index.
    await c.insertOne({ _id: 5, tenant: "t9" } as Document);
    const missing = await caught(c.insertOne({ _id: 6, tenant: "t8" } as Document));
    expectDuplicate(missing, "users", "email_1", { email: 1 }, { email: null }, "{ email: null }");
    const missingCompound = await caught(c.insertOne({ _id: 7, email: "g@x.io", tenant: "t9" } as Document));
    expectDuplicate(missingCompound, "users", "tenant_1_slug_1", { tenant: 1, slug: 1 }, { tenant: "t9", slug: null }, '{ tenant: "t9", slug: null }');

    expect((await sortedById(c)).map((d) => d._id)).toEqual([1, 2, 5]);
  });

  it("insertMany ordered stops at the first duplicate; unordered inserts the rest and reports each index", async () => {
    const c = coll("batch");
    await c.createIndex({ k: 1 }, { unique: true });
    await c.insertOne({ _id: 0, k: "taken" } as Document);

    const ordered = await caught(
      c.insertMany([
        { _id: 1, k: "a" },
        { _id: 2, k: "b" },
        { _id: 3, k: "taken" },
        { _id: 4, k: "c" },
      ] as Document[]),
    );
    expect(ordered).toBeInstanceOf(MongoBulkWriteError);
    expect(ordered.code).toBe(11000);
    expect(ordered.insertedCount).toBe(2);
    expect(ordered.writeErrors).toHaveLength(1);
    expect(ordered.writeErrors?.[0].index).toBe(2);
    expect(ordered.writeErrors?.[0].code).toBe(11000);
    expect(ordered.writeErrors?.[0].errmsg).toBe(dupMsg("batch", "k_1", '{ k: "taken" }'));
    expect((await sortedById(c)).map((d) => d._id)).toEqual([0, 1, 2]);

    const unordered = await caught(
      c.insertMany(
        [
          { _id: 10, k: "x" },
          { _id: 11, k: "a" },
          { _id: 12, k: "y" },
          { _id: 13, k: "x" },
          { _id: 14, k: "z" },
        ] as Document[],
        { ordered: false },
      ),
    );
    expect(unordered).toBeInstanceOf(MongoBulkWriteError);
    expect(unordered.insertedCount).toBe(3);
    expect(unordered.writeErrors?.map((e) => e.index)).toEqual([1, 3]);
    expect(unordered.writeErrors?.map((e) => e.code)).toEqual([11000, 11000]);
    expect(unordered.writeErrors?.map((e) => e.errmsg)).toEqual([dupMsg("batch", "k_1", '{ k: "a" }'), dupMsg("batch", "k_1", '{ k: "x" }')]);
    expect(await sortedById(c)).toEqual([
      { _id: 0, k: "taken" },
      { _id: 1, k: "a" },
      { _id: 2, k: "b" },
      { _id: 10, k: "x" },
      { _id: 12, k: "y" },
      { _id: 14, k: "z" },
    ]);
  });

  it("reports keyPattern and keyValue in each entry of a raw insert command's writeErrors", async () => {
    await coll("raw_insert").createIndex({ k: 1 }, { unique: true });
    const reply = await server.db.command({
      insert: "raw_insert",
      documents: [
        { _id: 1, k: "a" },
        { _id: 2, k: "a" },
        { _id: 4, k: "b" },
        { _id: 3, k: "c" },
        { _id: 5, k: "b" },
      ],
      ordered: false,
    });
    expect(reply).toEqual({
      n: 3,
      writeErrors: [
        { index: 1, code: 11000, keyPattern: { k: 1 }, keyValue: { k: "a" }, errmsg: dupMsg("raw_insert", "k_1", '{ k: "a" }') },
        { index: 4, code: 11000, keyPattern: { k: 1 }, keyValue: { k: "b" }, errmsg: dupMsg("raw_insert", "k_1", '{ k: "b" }') },
      ],
      ok: 1,
    });
    expect(await sortedById(coll("raw_insert"))).toEqual([
      { _id: 1, k: "a" },
      { _id: 3, k: "c" },
      { _id: 4, k: "b" },
    ]);
  });

  it("rejects updateOne and replaceOne that would make a duplicate, leaving the document as it was", async () => {
    const c = coll("upd");
    await c.createIndex({ a: 1 }, { unique: true });
    await c.insertMany([
      { _id: 1, a: 1 },
      { _id: 2, a: 2 },
    ] as Document[]);
    const err = await caught(c.updateOne({ _id: 2 } as Document, { $set: { a: 1 } }));
    expect(err.name).toBe("MongoServerError");
    expectDuplicate(err, "upd", "a_1", { a: 1 }, { a: 1 }, "{ a: 1 }");
    const replaceErr = await caught(c.replaceOne({ _id: 2 } as Document, { a: 1, extra: true }));
    expectDuplicate(replaceErr, "upd", "a_1", { a: 1 }, { a: 1 }, "{ a: 1 }");
    // Setting a field to the value it already has is no conflict.
    const same = await c.updateOne({ _id: 1 } as Document, { $set: { a: 1 } });
    expect(same.matchedCount).toBe(1);
    expect(same.modifiedCount).toBe(0);
    expect(await sortedById(c)).toEqual([
      { _id: 1, a: 1 },
      { _id: 2, a: 2 },
    ]);
  });

  it("updateMany stops at the document that would collide, keeping the ones already changed", async () => {
    const c = coll("updmany");
    await c.createIndex({ a: 1 }, { unique: true });
    await c.insertMany([
      { _id: 1, a: 1 },
      { _id: 2, a: 2 },
      { _id: 3, a: 3 },
    ] as Document[]);
    const err = await caught(c.updateMany({}, { $set: { a: 5 } }));
    expectDuplicate(err, "updmany", "a_1", { a: 1 }, { a: 5 }, "{ a: 5 }");
    const docs = await sortedById(c);
    expect(docs.filter((d) => d.a === 5)).toHaveLength(1);
    expect(docs).toHaveLength(3);
  });

  it("rejects an upsert whose inserted document is a duplicate", async () => {
    const c = coll("ups");
    await c.createIndex({ a: 1 }, { unique: true });
    await c.insertOne({ _id: 1, a: 1 } as Document);
    const err = await caught(c.updateOne({ _id: 9 } as Document, { $set: { a: 1 } }, { upsert: true }));
    expectDuplicate(err, "ups", "a_1", { a: 1 }, { a: 1 }, "{ a: 1 }");
    expect(await sortedById(c)).toEqual([{ _id: 1, a: 1 }]);
  });

  it("findOneAndUpdate making a duplicate fails with a command error 11000 DuplicateKey", async () => {
    const c = coll("fam");
    await c.createIndex({ email: 1 }, { unique: true });
    await c.insertMany([
      { _id: 1, email: "a@x.io" },
      { _id: 2, email: "b@x.io" },
    ] as Document[]);
    const err = await caught(c.findOneAndUpdate({ _id: 2 } as Document, { $set: { email: "a@x.io" } }));
    expect(err.name).toBe("MongoServerError");
    expect(err.codeName).toBe("DuplicateKey");
    expectDuplicate(err, "fam", "email_1", { email: 1 }, { email: "a@x.io" }, '{ email: "a@x.io" }');
    const upsertErr = await caught(
      c.findOneAndUpdate({ _id: 3 } as Document, { $set: { email: "b@x.io" } }, { upsert: true, returnDocument: "after" }),
    );
    expect(upsertErr.codeName).toBe("DuplicateKey");
    expectDuplicate(upsertErr, "fam", "email_1", { email: 1 }, { email: "b@x.io" }, '{ email: "b@x.io" }');
    expect(await sortedById(c)).toEqual([
      { _id: 1, email: "a@x.io" },
      { _id: 2, email: "b@x.io" },
    ]);
  });

  it("creating a unique index over existing duplicates fails with 11000 and leaves no index", async () => {
    const c = coll("predup");
    await c.insertMany([
      { _id: 1, a: 1 },
      { _id: 2, a: 2 },
      { _id: 3, a: 1 },
    ] as Document[]);
    const err = await caught(c.createIndex({ a: 1 }, { unique: true }));
    expect(err.code).toBe(11000);
    expect(err.codeName).toBe("DuplicateKey");
    expect(err.errmsg).toContain(dupMsg("predup", "a_1", "{ a: 1 }"));
    expect(err.keyPattern).toEqual({ a: 1 });
    expect(err.keyValue).toEqual({ a: 1 });
    expect(await c.listIndexes().toArray()).toEqual([{ v: 2, key: { _id: 1 }, name: "_id_" }]);
    // No half-built constraint is left behind.
    await c.insertOne({ _id: 4, a: 2 } as Document);
    expect(await c.countDocuments({ a: 2 })).toBe(2);
  });

  it("unique + sparse: documents without the field never collide, explicit nulls do", async () => {
    const c = coll("sparse");
    await c.createIndex({ nick: 1 }, { unique: true, sparse: true });
    await c.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3, other: true }, { _id: 4, nick: "n" }] as Document[]);
    await c.insertOne({ _id: 5, nick: null } as Document);
    const nullErr = await caught(c.insertOne({ _id: 6, nick: null } as Document));
    expectDuplicate(nullErr, "sparse", "nick_1", { nick: 1 }, { nick: null }, "{ nick: null }");
    const valueErr = await caught(c.insertOne({ _id: 7, nick: "n" } as Document));
    expectDuplicate(valueErr, "sparse", "nick_1", { nick: 1 }, { nick: "n" }, '{ nick: "n" }');
    // Unsetting the field takes a document out of the index.
    await c.updateOne({ _id: 4 } as Document, { $unset: { nick: "" } });
    await c.insertOne({ _id: 8, nick: "n" } as Document);
    expect((await sortedById(c)).map((d) => d._id)).toEqual([1, 2, 3, 4, 5, 8]);
  });

  it("unique + partialFilterExpression constrains only the matching documents", async () => {
    const c = coll("partial");
    await c.createIndex({ email: 1 }, { unique: true, partialFilterExpression: { active: true } });
    await c.insertMany([
      { _id: 1, email: "a@x.io", active: true },
      { _id: 2, email: "a@x.io", active: false },
      { _id: 3, email: "a@x.io" },
      { _id: 4, email: "a@x.io", active: false },
    ] as Document[]);
    const err = await caught(c.insertOne({ _id: 5, email: "a@x.io", active: true } as Document));
    expectDuplicate(err, "partial", "email_1", { email: 1 }, { email: "a@x.io" }, '{ email: "a@x.io" }');
    // An update that brings a document into the filter is checked too.
    const updErr = await caught(c.updateOne({ _id: 2 } as Document, { $set: { active: true } }));
    expectDuplicate(updErr, "partial", "email_1", { email: 1 }, { email: "a@x.io" }, '{ email: "a@x.io" }');
    await c.insertOne({ _id: 6, email: "b@x.io", active: true } as Document);
    expect((await sortedById(c)).map((d) => d._id)).toEqual([1, 2, 3, 4, 6]);
    expect(await c.findOne({ _id: 2 } as Document)).toEqual({ _id: 2, email: "a@x.io", active: false });
  });

  it("unique keys compare as BSON values: numbers by value across types, documents by field order", async () => {
    const c = coll("bson_equality");
    await c.createIndex({ n: 1 }, { unique: true });
    await c.createIndex({ sub: 1 }, { unique: true, sparse: true });
    await c.insertOne({ _id: 1, n: 1 } as Document);
    for (const [id, value] of [
      [2, new Double(1)],
      [3, Long.fromNumber(1)],
      [4, Decimal128.fromString("1.0")],
    ] as const) {
      const err = await caught(c.insertOne({ _id: id, n: value } as Document));
      expect(err.code).toBe(11000);
      expect(err.keyPattern).toEqual({ n: 1 });
      expect(err.errmsg).toMatch(new RegExp(`^${escapeRe(dupMsg("bson_equality", "n_1", "{ n: "))}`));
    }
    // Strings compare exactly (no collation), and an embedded document's field order is part of its value.
    await c.insertOne({ _id: 5, n: "A", sub: { x: 1, y: 2 } } as Document);
    await c.insertOne({ _id: 6, n: "a", sub: { y: 2, x: 1 } } as Document);
    const subErr = await caught(c.insertOne({ _id: 7, n: 7, sub: { x: 1, y: 2 } } as Document));
    expectDuplicate(subErr, "bson_equality", "sub_1", { sub: 1 }, { sub: { x: 1, y: 2 } }, "{ sub: { x: 1, y: 2 } }");
    expect((await sortedById(c)).map((d) => d._id)).toEqual([1, 5, 6]);
  });

  it("a multikey unique index compares every array element across documents", async () => {
    const c = coll("multikey_unique");
    await c.createIndex({ tags: 1 }, { unique: true });
    await c.insertOne({ _id: 1, tags: ["a", "b"] } as Document);
    const err = await caught(c.insertOne({ _id: 2, tags: ["c", "b"] } as Document));
    expectDuplicate(err, "multikey_unique", "tags_1", { tags: 1 }, { tags: "b" }, '{ tags: "b" }');
    // Repeating a value inside one document is not a duplicate.
    await c.insertOne({ _id: 3, tags: ["d", "d"] } as Document);
    const scalarErr = await caught(c.insertOne({ _id: 4, tags: "a" } as Document));
    expectDuplicate(scalarErr, "multikey_unique", "tags_1", { tags: 1 }, { tags: "a" }, '{ tags: "a" }');
    const pushErr = await caught(c.updateOne({ _id: 3 } as Document, { $push: { tags: "a" } } as Document));
    expectDuplicate(pushErr, "multikey_unique", "tags_1", { tags: 1 }, { tags: "a" }, '{ tags: "a" }');
    await c.insertOne({ _id: 5, tags: ["e", "f"] } as Document);
    expect(await sortedById(c)).toEqual([
      { _id: 1, tags: ["a", "b"] },
      { _id: 3, tags: ["d", "d"] },
      { _id: 5, tags: ["e", "f"] },
    ]);
  });
});

describe("index maintenance", () => {
  it("unique keys are released by updates, replacements and deletes, and taken by the new values", async () => {
    const c = coll("maintenance_unique");
    await c.createIndex({ email: 1 }, { unique: true });
    await c.insertMany([
      { _id: 1, email: "a@x.io" },
      { _id: 2, email: "b@x.io" },
    ]);
    await c.updateOne({ _id: 1 }, { $set: { email: "c@x.io" } });
    await c.insertOne({ _id: 3, email: "a@x.io" });
    expectDuplicate(await caught(c.insertOne({ _id: 4, email: "c@x.io" })), "maintenance_unique", "email_1", { email: 1 }, { email: "c@x.io" }, '{ email: "c@x.io" }');

    await c.replaceOne({ _id: 2 }, { name: "no email any more" });
    await c.insertOne({ _id: 5, email: "b@x.io" });
    // The replaced document now holds the null key.
    expectDuplicate(await caught(c.insertOne({ _id: 6 })), "maintenance_unique", "email_1", { email: 1 }, { email: null }, "{ email: null }");

    await c.deleteOne({ _id: 3 });
    await c.insertOne({ _id: 7, email: "a@x.io" });
    await c.deleteMany({ email: { $in: ["b@x.io", "c@x.io"] } });
    await c.insertMany([
      { _id: 8, email: "b@x.io" },
      { _id: 9, email: "c@x.io" },
    ]);
    expect(await sortedById(c)).toEqual([
      { _id: 2, name: "no email any more" },
      { _id: 7, email: "a@x.io" },
      { _id: 8, email: "b@x.io" },
      { _id: 9, email: "c@x.io" },
    ]);
  });

  it("queries through an index see updated, replaced and deleted documents as they are now", async () => {
    const c = coll("maintenance_query");
    await c.createIndex({ n: 1 });
    await c.createIndex({ tags: 1 });
    await c.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: i, n: i, tags: [`t${i % 3}`, "all"] })));
    await c.updateMany({ n: { $lt: 5 } }, { $inc: { n: 100 } } as Document);
    await c.updateOne({ _id: 10 }, { $set: { tags: ["moved"] } });
    await c.replaceOne({ _id: 11 }, { n: 11 });
    await c.deleteMany({ n: { $gte: 15, $lt: 18 } });

    const ids = async (filter: Document) => (await c.find(filter).toArray()).map((d) => Number(d._id)).sort((a, b) => a - b);
    expect(await ids({ n: { $lt: 5 } })).toEqual([]);
    expect(await ids({ n: { $gte: 100 } })).toEqual([0, 1, 2, 3, 4]);
    expect(await ids({ n: { $gte: 10, $lt: 20 } })).toEqual([10, 11, 12, 13, 14, 18, 19]);
    expect(await ids({ tags: "moved" })).toEqual([10]);
    expect(await ids({ tags: "t1" })).toEqual([1, 4, 7, 13, 19]);
    expect(await ids({ tags: "all" })).toHaveLength(15);
    expect(await c.countDocuments({ tags: "all" })).toBe(15);
    const explain = await c.find({ n: { $gte: 100 } }).explain("executionStats");
    expect((explain.executionStats as { totalDocsExamined: number; nReturned: number }).totalDocsExamined).toBe(5);
  });

  it("dropping a collection drops its indexes: a new collection of the same name has only _id_", async () => {
    const c = coll("recreated");
    await c.createIndex({ email: 1 }, { unique: true });
    await c.insertOne({ _id: 1, email: "a@x.io" });
    expect(await c.drop()).toBe(true);
    await c.insertMany([
      { _id: 1, email: "a@x.io" },
      { _id: 2, email: "a@x.io" },
    ]);
    expect(await c.listIndexes().toArray()).toEqual([{ v: 2, key: { _id: 1 }, name: "_id_" }]);
  });
});

describe("index use, proven by explain('executionStats')", () => {
  const N = 5000;
  const base = Date.UTC(2024, 0, 1);
  let big: Collection<AnyDoc>;

  beforeAll(async () => {
    big = coll("big");
    const docs: Document[] = [];
    for (let i = 0; i < N; i++) {
      docs.push({ _id: i, email: `user${i}@x.io`, n: i, tenant: `t${i % 10}`, ts: new Date(base + i * 1000), payload: `p${i % 7}` });
    }
    await big.insertMany(docs);
    await big.createIndex({ email: 1 }, { unique: true });
    await big.createIndex({ n: 1 });
    await big.createIndex({ tenant: 1, ts: -1 });
  });

  interface Stats {
    nReturned: number;
    totalDocsExamined: number;
    totalKeysExamined: number;
  }
  const stats = (explain: Document) => explain.executionStats as Stats;

  it("an equality on a unique index examines exactly one document", async () => {
    const explain = await big.find({ email: "user4321@x.io" }).explain("executionStats");
    expect(stats(explain).nReturned).toBe(1);
    expect(stats(explain).totalDocsExamined).toBe(1);
    expect(await big.find({ email: "user4321@x.io" }).toArray()).toEqual([
      { _id: 4321, email: "user4321@x.io", n: 4321, tenant: "t1", ts: new Date(base + 4321 * 1000), payload: `p${4321 % 7}` },
    ]);
  });

  it("an equality on _id examines exactly one document", async () => {
    const explain = await big.find({ _id: 2500 } as Document).explain("executionStats");
    expect(stats(explain).nReturned).toBe(1);
    expect(stats(explain).totalDocsExamined).toBe(1);
  });

  it("an equality on a field without an index examines every document", async () => {
    const explain = await big.find({ payload: "p3" }).explain("executionStats");
    expect(stats(explain).totalDocsExamined).toBe(N);
    expect(stats(explain).nReturned).toBe(Math.ceil((N - 3) / 7));
    expect(await big.countDocuments({ payload: "p3" })).toBe(Math.ceil((N - 3) / 7));
  });

  it("a range on an indexed field examines only the matching documents", async () => {
    const explain = await big.find({ n: { $gte: 1000, $lt: 1100 } }).explain("executionStats");
    expect(stats(explain).nReturned).toBe(100);
    expect(stats(explain).totalDocsExamined).toBe(100);
    const ids = (await big.find({ n: { $gte: 1000, $lt: 1100 } }).sort({ n: 1 }).toArray()).map((d) => d._id);
    expect(ids).toEqual(Array.from({ length: 100 }, (_, i) => 1000 + i));
  });

  it("an $or whose branches are all indexed examines only the documents of its branches", async () => {
    const filter = { $or: [{ email: "user10@x.io" }, { n: { $gte: 4990 } }, { _id: 7 }] } as Document;
    const explain = await big.find(filter).explain("executionStats");
    expect(stats(explain).nReturned).toBe(12);
    expect(stats(explain).totalDocsExamined).toBe(12);
    const ids = (await big.find(filter).toArray()).map((d) => Number(d._id)).sort((a, b) => a - b);
    expect(ids).toEqual([7, 10, 4990, 4991, 4992, 4993, 4994, 4995, 4996, 4997, 4998, 4999]);
  });

  it("sort + limit on a compound index with an equality prefix examines at most `limit` documents", async () => {
    const cursor = () => big.find({ tenant: "t3" }).sort({ ts: -1 }).limit(10);
    const explain = await cursor().explain("executionStats");
    expect(stats(explain).nReturned).toBe(10);
    expect(stats(explain).totalDocsExamined).toBeLessThanOrEqual(10);
    expect((await cursor().toArray()).map((d) => d._id)).toEqual(Array.from({ length: 10 }, (_, i) => 4993 - i * 10));
  });
});

describe("results through an index equal results without one", () => {
  const docs: Document[] = [
    { _id: 1, n: 1, s: "a", tags: ["x", "y"], meta: { score: 10, kind: "k1" } },
    { _id: 2, n: 2, s: "b", tags: ["y"], meta: { score: 20, kind: "k2" } },
    { _id: 3, n: 3, s: "c", tags: [], meta: { score: 5 } },
    { _id: 4, n: null, s: "d", tags: "x", meta: { kind: "k1" } },
    { _id: 5, s: "e", tags: ["z", "x"], meta: [{ score: 7 }, { score: 30 }] },
    { _id: 6, n: "3", s: "f", tags: [["x"]], meta: { score: 15, kind: "k2" } },
    { _id: 7, n: 2.5, s: "g", tags: ["y", "z"], meta: { score: null } },
    { _id: 8, n: [1, 9], s: "h", tags: ["w"], meta: {} },
    { _id: 9, n: -1, s: "i" },
    { _id: 10, n: 10, s: "j", tags: ["x"], meta: { score: 25, kind: "k3" } },
  ];

  /** Filters with the _ids they match (in _id order). */
  const filters: Array<[Document, number[]]> = [
    [{ n: 2 }, [2]],
    [{ n: { $gt: 2 } }, [3, 7, 8, 10]],
    [{ n: { $gte: 1, $lte: 2 } }, [1, 2, 8]],
    [{ n: { $lt: 0 } }, [9]],
    [{ n: { $in: [1, 3, "3"] } }, [1, 3, 6, 8]],
    [{ n: null }, [4, 5]],
    [{ n: { $ne: 2 } }, [1, 3, 4, 5, 6, 7, 8, 9, 10]],
    [{ n: { $exists: false } }, [5]],
    [{ n: { $gte: "3" } }, [6]],
    [{ n: { $elemMatch: { $gt: 5 } } }, [8]],
    [{ $or: [{ n: 1 }, { s: "j" }] }, [1, 8, 10]],
    [{ s: { $gte: "c", $lt: "f" } }, [3, 4, 5]],
    [{ s: { $in: ["a", "j", "zz"] } }, [1, 10]],
    [{ tags: "x" }, [1, 4, 5, 10]],
    [{ tags: ["x"] }, [6, 10]],
    [{ tags: { $in: ["x", "y"] } }, [1, 2, 4, 5, 7, 10]],
    [{ tags: { $all: ["x", "y"] } }, [1]],
    [{ "meta.score": { $gte: 10 } }, [1, 2, 5, 6, 10]],
    [{ "meta.score": { $gt: 6, $lt: 8 } }, [5]],
    [{ "meta.score": { $in: [7, 20] } }, [2, 5]],
    [{ "meta.score": null }, [4, 7, 8, 9]],
    [{ "meta.kind": "k1" }, [1, 4]],
    [{ "meta.kind": "k2", n: { $gte: 2 } }, [2]],
  ];

  /** Sorted queries with the exact order of _ids they return. */
  const sorted: Array<[Document, Document, number, number[]]> = [
    [{}, { n: 1, _id: 1 }, 0, [4, 5, 9, 1, 8, 2, 7, 3, 10, 6]],
    [{}, { n: -1, _id: 1 }, 0, [6, 10, 8, 3, 7, 2, 1, 9, 4, 5]],
    [{ n: { $gt: 1 } }, { n: 1, _id: 1 }, 3, [8, 2, 7]],
    [{ tags: "x" }, { s: -1 }, 0, [10, 5, 4, 1]],
    [{}, { "meta.score": -1, _id: 1 }, 0, [5, 10, 2, 6, 1, 3, 4, 7, 8, 9]],
  ];

  async function run(c: Collection<AnyDoc>) {
    const out: unknown[] = [];
    for (const [filter] of filters) out.push((await c.find(filter).toArray()).map((d) => Number(d._id)).sort((a, b) => a - b));
    for (const [filter, sort, limit] of sorted) out.push((await c.find(filter).sort(sort).limit(limit).toArray()).map((d) => d._id));
    out.push(await c.countDocuments({ tags: "x" }));
    out.push(await c.countDocuments({ tags: { $in: ["x", "y"] } }));
    out.push(await c.find({ s: { $gte: "h" } }, { projection: { _id: 0, s: 1 } }).sort({ s: 1 }).toArray());
    out.push(await c.find({ "meta.kind": "k2" }, { projection: { _id: 0, "meta.kind": 1, n: 1 } }).sort({ "meta.kind": 1, n: -1 }).toArray());
    return out;
  }

  const expected = [
    ...filters.map(([, ids]) => ids),
    ...sorted.map(([, , , ids]) => ids),
    4,
    6,
    [{ s: "h" }, { s: "i" }, { s: "j" }],
    [
      { n: "3", meta: { kind: "k2" } },
      { n: 2, meta: { kind: "k2" } },
    ],
  ];

  it("gives the same answers before and after the indexes exist (and both are right)", async () => {
    const c = coll("equiv");
    await c.insertMany(docs.map((d) => ({ ...d })));
    const without = await run(c);
    expect(without).toEqual(expected);

    await c.createIndexes([
      { key: { n: 1 } },
      { key: { s: 1 } },
      { key: { tags: 1 } },
      { key: { "meta.score": 1 } },
      { key: { "meta.kind": 1, n: -1 } },
    ]);
    const withIndexes = await run(c);
    expect(withIndexes).toEqual(without);
    expect(withIndexes).toEqual(expected);

    // And the index was really used for these answers.
    const explain = await c.find({ n: 2 }).explain("executionStats");
    expect((explain.executionStats as { totalDocsExamined: number }).totalDocsExamined).toBe(1);
  });
});
