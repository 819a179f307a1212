// CRUD through the official driver: inserts (ordered and unordered), the query language, sort in BSON order,
// skip/limit, projections, counts, distinct, deletes, replaces and exact round trips of BSON values.
import {
  Binary,
  Decimal128,
  Double,
  Int32,
  Long,
  MongoBulkWriteError,
  ObjectId,
  Timestamp,
  UUID,
  type Collection,
  type Document,
  type Filter,
} from "mongodb";
import { describe, expect, it } from "vitest";
import { onRealMongo, useTestServer } from "./harness";

const server = useTestServer();

interface Item {
  sku: string;
  qty: number;
}
interface Person {
  _id: number;
  name: string;
  age: number | string;
  city?: string | null;
  tags: string[] | string;
  address?: { zip: string | number; geo?: { lat: number } };
  scores: number[];
  items: Item[];
}

const people: Person[] = [
  {
    _id: 1,
    name: "Ann",
    age: 30,
    city: "Oslo",
    tags: ["a", "b"],
    address: { zip: "0150", geo: { lat: 59.9 } },
    scores: [80, 95],
    items: [
      { sku: "x", qty: 2 },
      { sku: "y", qty: 10 },
    ],
  },
  {
    _id: 2,
    name: "bob",
    age: 25,
    city: null,
    tags: ["b"],
    address: { zip: "5003" },
    scores: [70, 92],
    items: [{ sku: "y", qty: 1 }],
  },
  { _id: 3, name: "Cid", age: 35, tags: [], scores: [], items: [] },
  {
    _id: 4,
    name: "Dee",
    age: "40",
    city: "Bergen",
    tags: ["a", "c", "d"],
    scores: [60, 85, 99],
    items: [
      { sku: "x", qty: 7 },
      { sku: "z", qty: 3 },
    ],
  },
  {
    _id: 5,
    name: "Eve",
    age: 28.5,
    city: "Oslo",
    tags: "a",
    address: { zip: 150 },
    scores: [90],
    items: [{ sku: "z", qty: 12 }],
  },
];

function cloneDocs<T>(docs: T[]): T[] {
  return structuredClone(docs);
}

async function peopleColl(): Promise<Collection<Person>> {
  const coll = server.db.collection<Person>("people");
  if ((await coll.countDocuments()) === 0) await coll.insertMany(cloneDocs(people));
  return coll;
}

/** The sorted _ids of the documents matching `filter` (typed loosely: some valid filters, such as `$type: "number"`, are not in the driver's types). */
async function idsOf(coll: Collection<Person>, filter: Filter<Person> | Document): Promise<number[]> {
  const docs = await coll.find(filter as Filter<Person>, { projection: { _id: 1 } }).toArray();
  return docs.map((d) => d._id).sort((a, b) => a - b);
}

describe("insertOne / insertMany", () => {
  it("generates ObjectId _ids and reports them", async () => {
    const coll = server.db.collection<{ _id?: ObjectId; n: number }>("gen_ids");
    const one = await coll.insertOne({ n: 0 });
    expect(one.acknowledged).toBe(true);
    expect(one.insertedId).toBeInstanceOf(ObjectId);
    const many = await coll.insertMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(many.insertedCount).toBe(3);
    expect(Object.keys(many.insertedIds).sort()).toEqual(["0", "1", "2"]);
    const allIds = [one.insertedId, ...Object.values(many.insertedIds)];
    for (const id of allIds) expect(id).toBeInstanceOf(ObjectId);
    expect(new Set(allIds.map((id) => id.toHexString())).size).toBe(4);

    const found = await coll.find({}).sort({ n: 1 }).toArray();
    expect(found).toEqual([
      { _id: one.insertedId, n: 0 },
      { _id: many.insertedIds[0], n: 1 },
      { _id: many.insertedIds[1], n: 2 },
      { _id: many.insertedIds[2], n: 3 },
    ]);
    expect(await coll.findOne({ _id: many.insertedIds[1] })).toEqual({ _id: many.insertedIds[1], n: 2 });
  });

  it("stores _id as the first field whatever its position in the inserted document", async () => {
    const coll = server.db.collection<{ _id: number; a: number; b: number; c: { z: number; y: number } }>("id_first");
    await coll.insertOne({ b: 1, a: 2, _id: 7, c: { z: 1, y: 2 } });
    const doc = await coll.findOne({ _id: 7 });
    expect(doc).toEqual({ _id: 7, b: 1, a: 2, c: { z: 1, y: 2 } });
    expect(Object.keys(doc ?? {})).toEqual(["_id", "b", "a", "c"]);
    expect(Object.keys(doc?.c ?? {})).toEqual(["z", "y"]);
  });

  it("rejects a duplicate _id on insertOne with 11000 and keyValue", async () => {
    const coll = server.db.collection<{ _id: number; v: string }>("dup_one");
    await coll.insertOne({ _id: 1, v: "first" });
    await expect(coll.insertOne({ _id: 1, v: "second" })).rejects.toMatchObject({
      code: 11000,
      keyPattern: { _id: 1 },
      keyValue: { _id: 1 },
    });
    expect(await coll.find({}).toArray()).toEqual([{ _id: 1, v: "first" }]);
  });

  it("stops an ordered insertMany at the duplicate in the middle", async () => {
    const coll = server.db.collection<{ _id: number; v: string }>("dup_ordered");
    const err = await coll
      .insertMany([
        { _id: 1, v: "a" },
        { _id: 2, v: "b" },
        { _id: 1, v: "c" },
        { _id: 3, v: "d" },
      ])
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(MongoBulkWriteError);
    const bulkErr = err as MongoBulkWriteError;
    expect(bulkErr.code).toBe(11000);
    expect(bulkErr.insertedCount).toBe(2);
    const writeErrors = [bulkErr.writeErrors].flat();
    expect(writeErrors.map((w) => ({ index: w.index, code: w.code }))).toEqual([{ index: 2, code: 11000 }]);
    expect(await coll.find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, v: "a" },
      { _id: 2, v: "b" },
    ]);
  });

  it("continues an unordered insertMany past duplicates and reports every failing index", async () => {
    const coll = server.db.collection<{ _id: number; v: string }>("dup_unordered");
    const err = await coll
      .insertMany(
        [
          { _id: 1, v: "a" },
          { _id: 2, v: "b" },
          { _id: 1, v: "c" },
          { _id: 3, v: "d" },
          { _id: 2, v: "e" },
          { _id: 4, v: "f" },
        ],
        { ordered: false },
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(MongoBulkWriteError);
    const bulkErr = err as MongoBulkWriteError;
    expect(bulkErr.code).toBe(11000);
    expect(bulkErr.insertedCount).toBe(4);
    const writeErrors = [bulkErr.writeErrors].flat();
    expect(writeErrors.map((w) => ({ index: w.index, code: w.code }))).toEqual([
      { index: 2, code: 11000 },
      { index: 4, code: 11000 },
    ]);
    expect(await coll.find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, v: "a" },
      { _id: 2, v: "b" },
      { _id: 3, v: "d" },
      { _id: 4, v: "f" },
    ]);
  });
});

describe("find filters", () => {
  it("compares numbers and strings within their own type bracket", async () => {
    const coll = await peopleColl();
    expect.soft(await idsOf(coll, { age: { $gt: 28 } })).toEqual([1, 3, 5]);
    expect.soft(await idsOf(coll, { age: { $gte: 25, $lt: 30 } })).toEqual([2, 5]);
    expect.soft(await idsOf(coll, { age: { $lte: "5" } })).toEqual([4]);
    expect.soft(await idsOf(coll, { age: { $ne: 30 } })).toEqual([2, 3, 4, 5]);
    expect.soft(await idsOf(coll, { age: { $eq: 28.5 } })).toEqual([5]);
    expect.soft(await idsOf(coll, { age: 40 })).toEqual([]);
    expect.soft(await idsOf(coll, { age: "40" })).toEqual([4]);
  });

  it("handles $in and $nin, including null for missing fields", async () => {
    const coll = await peopleColl();
    expect.soft(await idsOf(coll, { city: { $in: ["Oslo", "Bergen"] } })).toEqual([1, 4, 5]);
    expect.soft(await idsOf(coll, { city: { $in: [null] } })).toEqual([2, 3]);
    expect.soft(await idsOf(coll, { city: { $nin: ["Oslo", null] } })).toEqual([4]);
    expect.soft(await idsOf(coll, { tags: { $in: ["c", "zzz"] } })).toEqual([4]);
    expect.soft(await idsOf(coll, { tags: { $nin: ["a"] } })).toEqual([2, 3]);
    expect.soft(await idsOf(coll, { name: { $in: [/^b/, "Eve"] } })).toEqual([2, 5]);
  });

  it("distinguishes null from missing with $exists and $type", async () => {
    const coll = await peopleColl();
    expect.soft(await idsOf(coll, { city: null })).toEqual([2, 3]);
    expect.soft(await idsOf(coll, { city: { $ne: null } })).toEqual([1, 4, 5]);
    expect.soft(await idsOf(coll, { city: { $exists: false } })).toEqual([3]);
    expect.soft(await idsOf(coll, { city: { $exists: true } })).toEqual([1, 2, 4, 5]);
    expect.soft(await idsOf(coll, { city: { $type: "null" } })).toEqual([2]);
    expect.soft(await idsOf(coll, { "address.zip": { $exists: false } })).toEqual([3, 4]);
  });

  it("matches $type by alias and number, looking into arrays", async () => {
    const coll = await peopleColl();
    expect.soft(await idsOf(coll, { age: { $type: "string" } })).toEqual([4]);
    expect.soft(await idsOf(coll, { age: { $type: 2 } })).toEqual([4]);
    expect.soft(await idsOf(coll, { age: { $type: "number" } })).toEqual([1, 2, 3, 5]);
    expect.soft(await idsOf(coll, { age: { $type: "double" } })).toEqual([5]);
    expect.soft(await idsOf(coll, { age: { $type: "int" } })).toEqual([1, 2, 3]);
    expect.soft(await idsOf(coll, { age: { $type: ["double", "string"] } })).toEqual([4, 5]);
    expect.soft(await idsOf(coll, { tags: { $type: "array" } })).toEqual([1, 2, 3, 4]);
    expect.soft(await idsOf(coll, { tags: { $type: "string" } })).toEqual([1, 2, 4, 5]);
    expect.soft(await idsOf(coll, { "address.zip": { $type: "int" } })).toEqual([5]);
  });

  it("matches $regex with options, regex literals and array elements", async () => {
    const coll = await peopleColl();
    expect.soft(await idsOf(coll, { name: { $regex: "^[a-c]", $options: "i" } })).toEqual([1, 2, 3]);
    expect.soft(await idsOf(coll, { name: /^[a-c]/ })).toEqual([2]);
    expect.soft(await idsOf(coll, { name: { $regex: /E$/i } })).toEqual([4, 5]);
    expect.soft(await idsOf(coll, { tags: /^[cd]$/ })).toEqual([4]);
    expect.soft(await idsOf(coll, { "address.zip": /^0/ })).toEqual([1]);
  });

  it("combines clauses with $and, $or, $nor and $not", async () => {
    const coll = await peopleColl();
    expect.soft(await idsOf(coll, { $or: [{ age: { $lt: 26 } }, { city: "Bergen" }] })).toEqual([2, 4]);
    expect.soft(await idsOf(coll, { $and: [{ tags: "a" }, { city: "Oslo" }] })).toEqual([1, 5]);
    expect.soft(await idsOf(coll, { $nor: [{ city: "Oslo" }, { tags: "b" }] })).toEqual([3, 4]);
    expect.soft(await idsOf(coll, { age: { $not: { $gt: 28 } } })).toEqual([2, 4]);
    expect.soft(await idsOf(coll, { name: { $not: /^[A-C]/ } })).toEqual([2, 4, 5]);
    expect(
      await idsOf(coll, { $and: [{ $or: [{ city: "Oslo" }, { city: null }] }, { $or: [{ age: { $gte: 30 } }, { tags: "b" }] }] }),
    ).toEqual([1, 2, 3]);
  });

  it("applies $elemMatch to one element, unlike separate conditions on an array", async () => {
    const coll = await peopleColl();
    expect.soft(await idsOf(coll, { items: { $elemMatch: { sku: "x", qty: { $gt: 5 } } } })).toEqual([4]);
    expect.soft(await idsOf(coll, { "items.sku": "x", "items.qty": { $gt: 5 } })).toEqual([1, 4]);
    expect.soft(await idsOf(coll, { scores: { $elemMatch: { $gte: 80, $lt: 90 } } })).toEqual([1, 4]);
    expect.soft(await idsOf(coll, { scores: { $gte: 80, $lt: 90 } })).toEqual([1, 2, 4]);
  });

  it("matches arrays with $size and $all", async () => {
    const coll = await peopleColl();
    expect.soft(await idsOf(coll, { tags: { $size: 0 } })).toEqual([3]);
    expect.soft(await idsOf(coll, { tags: { $size: 1 } })).toEqual([2]);
    expect.soft(await idsOf(coll, { scores: { $size: 3 } })).toEqual([4]);
    expect.soft(await idsOf(coll, { tags: { $all: ["a", "b"] } })).toEqual([1]);
    expect.soft(await idsOf(coll, { tags: { $all: ["a"] } })).toEqual([1, 4, 5]);
    expect.soft(await idsOf(coll, { tags: { $all: ["d", "c"] } })).toEqual([4]);
    expect.soft(await idsOf(coll, { tags: ["a", "b"] })).toEqual([1]);
    expect.soft(await idsOf(coll, { tags: ["b", "a"] })).toEqual([]);
  });

  it("follows dotted paths into embedded documents, arrays of documents and array indexes", async () => {
    const coll = await peopleColl();
    expect.soft(await idsOf(coll, { "address.zip": "0150" })).toEqual([1]);
    expect.soft(await idsOf(coll, { "address.geo.lat": { $gt: 59 } })).toEqual([1]);
    expect.soft(await idsOf(coll, { "items.sku": "z" })).toEqual([4, 5]);
    expect.soft(await idsOf(coll, { "items.1.sku": "z" })).toEqual([4]);
    expect.soft(await idsOf(coll, { "items.qty": { $gte: 10 } })).toEqual([1, 5]);
    expect.soft(await idsOf(coll, { "scores.0": { $gte: 80 } })).toEqual([1, 5]);
    expect.soft(await idsOf(coll, { address: { zip: "5003" } })).toEqual([2]);
    expect.soft(await idsOf(coll, { address: { zip: "0150" } })).toEqual([]);
    expect.soft(await idsOf(coll, { items: { sku: "z", qty: 12 } })).toEqual([5]);
    expect.soft(await idsOf(coll, { items: { qty: 12, sku: "z" } })).toEqual([]);
  });
});

describe("sort, skip and limit", () => {
  it("sorts mixed types in BSON order, ascending and descending", async () => {
    const coll = server.db.collection<{ _id: number; v?: unknown }>("mixed_sort");
    const oid = new ObjectId("650000000000000000000001");
    await coll.insertMany([
      { _id: 1, v: "b" },
      { _id: 2, v: 10 },
      { _id: 3, v: null },
      { _id: 4 },
      { _id: 5, v: { a: 1 } },
      { _id: 6, v: oid },
      { _id: 7, v: true },
      { _id: 8, v: new Date(0) },
      { _id: 9, v: 2.5 },
      { _id: 10, v: "a" },
      { _id: 11, v: false },
      { _id: 12, v: new Binary(Buffer.from([1, 2])) },
      { _id: 13, v: Long.fromNumber(-3) },
      { _id: 14, v: "B" },
    ]);
    const asc = await coll.find({}).sort({ v: 1, _id: 1 }).toArray();
    expect(asc.map((d) => d._id)).toEqual([3, 4, 13, 9, 2, 14, 10, 1, 5, 12, 6, 11, 7, 8]);
    const desc = await coll.find({}).sort({ v: -1, _id: 1 }).toArray();
    expect(desc.map((d) => d._id)).toEqual([8, 7, 11, 6, 12, 5, 1, 10, 14, 2, 9, 13, 3, 4]);
  });

  it("sorts arrays by their smallest element ascending and largest descending", async () => {
    const coll = server.db.collection<{ _id: number; v: number | number[] }>("array_sort");
    await coll.insertMany([
      { _id: 1, v: [5, 1] },
      { _id: 2, v: [3] },
      { _id: 3, v: 2 },
      { _id: 4, v: [4, 6] },
    ]);
    expect((await coll.find({}).sort({ v: 1 }).toArray()).map((d) => d._id)).toEqual([1, 3, 2, 4]);
    expect((await coll.find({}).sort({ v: -1 }).toArray()).map((d) => d._id)).toEqual([4, 1, 2, 3]);
  });

  it("sorts on compound keys and dotted paths, then skips and limits", async () => {
    const coll = server.db.collection<{ _id: number; g: string; n: number; s: { k: number } }>("compound_sort");
    await coll.insertMany([
      { _id: 1, g: "b", n: 1, s: { k: 3 } },
      { _id: 2, g: "a", n: 5, s: { k: 1 } },
      { _id: 3, g: "b", n: 9, s: { k: 2 } },
      { _id: 4, g: "a", n: 2, s: { k: 5 } },
      { _id: 5, g: "c", n: 0, s: { k: 4 } },
      { _id: 6, g: "b", n: 4, s: { k: 0 } },
    ]);
    const byGroupThenN = await coll.find({}).sort({ g: 1, n: -1 }).toArray();
    expect(byGroupThenN.map((d) => d._id)).toEqual([2, 4, 3, 6, 1, 5]);
    const byDotted = await coll.find({}).sort({ "s.k": -1 }).toArray();
    expect(byDotted.map((d) => d._id)).toEqual([4, 5, 1, 3, 2, 6]);
    const page = await coll.find({}).sort({ _id: 1 }).skip(1).limit(2).toArray();
    expect(page).toEqual([
      { _id: 2, g: "a", n: 5, s: { k: 1 } },
      { _id: 3, g: "b", n: 9, s: { k: 2 } },
    ]);
    const lastPage = await coll.find({ g: "b" }).sort({ n: 1 }).skip(2).limit(5).toArray();
    expect(lastPage.map((d) => d._id)).toEqual([3]);
    expect(await coll.find({}).sort({ _id: 1 }).skip(10).toArray()).toEqual([]);
  });
});

describe("projection", () => {
  it("includes, excludes and drops _id", async () => {
    const coll = await peopleColl();
    expect.soft(await coll.findOne({ _id: 1 }, { projection: { name: 1 } })).toEqual({ _id: 1, name: "Ann" });
    expect.soft(await coll.findOne({ _id: 1 }, { projection: { name: 1, _id: 0 } })).toEqual({ name: "Ann" });
    expect.soft(await coll.findOne({ _id: 1 }, { projection: { tags: 0, items: 0, address: 0, scores: 0 } })).toEqual({
      _id: 1,
      name: "Ann",
      age: 30,
      city: "Oslo",
    });
    expect.soft(await coll.findOne({ _id: 3 }, { projection: { city: 1, name: 1 } })).toEqual({ _id: 3, name: "Cid" });
  });

  it("projects dotted paths into embedded documents and arrays of documents", async () => {
    const coll = await peopleColl();
    expect.soft(await coll.findOne({ _id: 1 }, { projection: { "address.zip": 1, _id: 0 } })).toEqual({
      address: { zip: "0150" },
    });
    expect.soft(await coll.findOne({ _id: 1 }, { projection: { "items.sku": 1 } })).toEqual({
      _id: 1,
      items: [{ sku: "x" }, { sku: "y" }],
    });
    expect.soft(await coll.findOne({ _id: 1 }, { projection: { "address.geo": 0, items: 0, scores: 0, tags: 0 } })).toEqual({
      _id: 1,
      name: "Ann",
      age: 30,
      city: "Oslo",
      address: { zip: "0150" },
    });
  });

  it("slices arrays with $slice", async () => {
    const coll = await peopleColl();
    const full = { ...people[3] };
    expect.soft(await coll.findOne({ _id: 4 }, { projection: { scores: { $slice: 1 } } })).toEqual({ ...full, scores: [60] });
    expect.soft(await coll.findOne({ _id: 4 }, { projection: { scores: { $slice: -2 }, name: 1, _id: 0 } })).toEqual({
      name: "Dee",
      scores: [85, 99],
    });
    expect.soft(await coll.findOne({ _id: 4 }, { projection: { scores: { $slice: [1, 1] }, name: 1 } })).toEqual({
      _id: 4,
      name: "Dee",
      scores: [85],
    });
    expect.soft(await coll.findOne({ _id: 4 }, { projection: { scores: { $slice: [5, 2] }, name: 1 } })).toEqual({
      _id: 4,
      name: "Dee",
      scores: [],
    });
  });

  it("returns the first matching element with $elemMatch and the positional $ projection", async () => {
    const coll = await peopleColl();
    const docs = await coll
      .find({ _id: { $in: [1, 3, 4] } }, { projection: { items: { $elemMatch: { qty: { $gt: 5 } } } } })
      .sort({ _id: 1 })
      .toArray();
    expect(docs).toEqual([{ _id: 1, items: [{ sku: "y", qty: 10 }] }, { _id: 3 }, { _id: 4, items: [{ sku: "x", qty: 7 }] }]);
    expect(await coll.findOne({ "items.sku": "z", _id: 4 }, { projection: { "items.$": 1 } })).toEqual({
      _id: 4,
      items: [{ sku: "z", qty: 3 }],
    });
  });
});

describe("counts and distinct", () => {
  it("counts documents with filters, skip and limit, and estimates collection size", async () => {
    const coll = await peopleColl();
    expect(await coll.countDocuments()).toBe(5);
    expect(await coll.countDocuments({ city: "Oslo" })).toBe(2);
    expect(await coll.countDocuments({ city: null })).toBe(2);
    expect(await coll.countDocuments({}, { skip: 1 })).toBe(4);
    expect(await coll.countDocuments({}, { limit: 2 })).toBe(2);
    expect(await coll.countDocuments({ tags: "a" }, { skip: 2, limit: 5 })).toBe(1);
    expect(await coll.estimatedDocumentCount()).toBe(5);
    const missing = server.db.collection("never_created_count");
    expect(await missing.estimatedDocumentCount()).toBe(0);
    expect(await missing.countDocuments({})).toBe(0);
  });

  it("returns distinct values, unwinding arrays and applying a filter", async () => {
    const coll = await peopleColl();
    expect((await coll.distinct("tags")).sort()).toEqual(["a", "b", "c", "d"]);
    expect((await coll.distinct("tags", { city: "Oslo" })).sort()).toEqual(["a", "b"]);
    expect((await coll.distinct("items.sku")).sort()).toEqual(["x", "y", "z"]);
    expect((await coll.distinct("items.sku", { "items.qty": { $lt: 3 } })).sort()).toEqual(["x", "y"]);
    const cities = await coll.distinct("city");
    expect(cities.length).toBe(3);
    expect(cities.filter((c) => c !== null).sort()).toEqual(["Bergen", "Oslo"]);
    expect(cities).toContain(null);
    expect(await coll.distinct("nosuchfield")).toEqual([]);
    expect(await server.db.collection("never_created_distinct").distinct("x")).toEqual([]);
  });
});

describe("delete and replace", () => {
  it("deletes one or many documents with exact counts", async () => {
    const coll = server.db.collection<Person>("people_delete");
    await coll.insertMany(cloneDocs(people));
    const one = await coll.deleteOne({ tags: "a" });
    expect(one).toEqual({ acknowledged: true, deletedCount: 1 });
    expect(await coll.countDocuments({ tags: "a" })).toBe(2);
    expect(await coll.countDocuments()).toBe(4);
    expect(await coll.deleteOne({ name: "nobody" })).toEqual({ acknowledged: true, deletedCount: 0 });
    expect(await coll.deleteOne({ _id: 2 })).toEqual({ acknowledged: true, deletedCount: 1 });
    expect(await coll.deleteMany({})).toEqual({ acknowledged: true, deletedCount: 3 });
    expect(await coll.countDocuments()).toBe(0);
    expect(await coll.deleteMany({})).toEqual({ acknowledged: true, deletedCount: 0 });
  });

  it("deletes only the matching documents by _id and by condition", async () => {
    const coll = server.db.collection<Person>("people_delete2");
    await coll.insertMany(cloneDocs(people));
    expect((await coll.deleteMany({ city: "Oslo" })).deletedCount).toBe(2);
    expect.soft(await idsOf(coll, {})).toEqual([2, 3, 4]);
    expect((await coll.deleteOne({ _id: 3 })).deletedCount).toBe(1);
    expect.soft(await idsOf(coll, {})).toEqual([2, 4]);
    expect((await coll.deleteMany({ _id: { $gt: 100 } })).deletedCount).toBe(0);
  });

  it("replaces a whole document, keeping its _id and field order of the replacement", async () => {
    const coll = server.db.collection<{ _id: number; a?: number; b?: number; c?: string }>("replace");
    await coll.insertMany([
      { _id: 1, a: 1, b: 2 },
      { _id: 2, a: 5, b: 6 },
    ]);
    const res = await coll.replaceOne({ a: 5 }, { c: "new", a: 9 });
    expect(res).toEqual({ acknowledged: true, matchedCount: 1, modifiedCount: 1, upsertedCount: 0, upsertedId: null });
    const doc = await coll.findOne({ _id: 2 });
    expect(doc).toEqual({ _id: 2, c: "new", a: 9 });
    expect(Object.keys(doc ?? {})).toEqual(["_id", "c", "a"]);
    expect(await coll.replaceOne({ _id: 1 }, { a: 1, b: 2 })).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
    expect(await coll.replaceOne({ _id: 99 }, { a: 0 })).toMatchObject({ matchedCount: 0, modifiedCount: 0 });
    const up = await coll.replaceOne({ _id: 3 }, { b: 7 }, { upsert: true });
    expect(up).toEqual({ acknowledged: true, matchedCount: 0, modifiedCount: 0, upsertedCount: 1, upsertedId: 3 });
    expect(await coll.find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, a: 1, b: 2 },
      { _id: 2, c: "new", a: 9 },
      { _id: 3, b: 7 },
    ]);
  });
});

describe("empty and missing collections", () => {
  it("findOne returns null and find returns [] on a missing collection", async () => {
    const missing = server.db.collection<{ _id: number; x?: number }>("never_created_find");
    expect(await missing.findOne({})).toBeNull();
    expect(await missing.findOne({ _id: 1 })).toBeNull();
    expect(await missing.find({ x: { $gt: 1 } }).toArray()).toEqual([]);
    const names = (await server.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
    expect(names).not.toContain("never_created_find");
  });

  it("findOne returns null on an empty existing collection", async () => {
    await server.db.createCollection("empty_coll");
    const coll = server.db.collection("empty_coll");
    expect(await coll.findOne({})).toBeNull();
    expect(await coll.find({}).toArray()).toEqual([]);
    expect(await coll.countDocuments()).toBe(0);
  });
});

describe("BSON values round trip", () => {
  it("returns Date, ObjectId, Binary, UUID, Decimal128, Long, Timestamp and nesting exactly", async () => {
    const coll = server.db.collection("roundtrip");
    const oid = new ObjectId("64b7f0a1c2d3e4f506172839");
    const uuid = new UUID("0f8fad5b-d9cb-469f-a165-70867728950e");
    const doc: Document = {
      _id: oid,
      when: new Date("2024-02-29T23:59:59.123Z"),
      epoch: new Date(0),
      before1970: new Date("1969-07-20T20:17:40Z"),
      bin: new Binary(Buffer.from([0, 1, 2, 253, 254, 255])),
      userBin: new Binary(Buffer.from("hello"), 0x80),
      uuid,
      dec: Decimal128.fromString("1234567890.123456789"),
      big: Long.fromString("9007199254740993"),
      smallLong: Long.fromNumber(42),
      int32: new Int32(-2147483648),
      dbl: new Double(3),
      frac: 0.1,
      ts: new Timestamp({ t: 1700000000, i: 7 }),
      flag: false,
      nothing: null,
      text: "ünïcødé ✓ 𝄞",
      empty: {},
      emptyArr: [],
      nested: { a: { b: { c: [1, { d: [2, [3, [4]]] }] } }, ref: oid },
      matrix: [
        [1, 2],
        [3, 4],
      ],
      arrOfDocs: [{ x: 1 }, { y: [{ z: new Date(1000) }] }],
    };
    await coll.insertOne(doc);
    const back = await coll.findOne({ _id: oid });
    expect(back).not.toBeNull();
    const b = back as Document;
    expect(Object.keys(b)).toEqual(Object.keys(doc));
    expect(b.when).toEqual(new Date("2024-02-29T23:59:59.123Z"));
    expect(b.when.getTime()).toBe(Date.parse("2024-02-29T23:59:59.123Z"));
    expect(b.epoch.getTime()).toBe(0);
    expect(b.before1970.getTime()).toBe(Date.parse("1969-07-20T20:17:40Z"));
    expect(b._id).toBeInstanceOf(ObjectId);
    expect(b._id.toHexString()).toBe("64b7f0a1c2d3e4f506172839");
    expect(b.bin).toBeInstanceOf(Binary);
    expect(b.bin.sub_type).toBe(0);
    expect(Buffer.from(b.bin.buffer)).toEqual(Buffer.from([0, 1, 2, 253, 254, 255]));
    expect(b.userBin.sub_type).toBe(0x80);
    expect(Buffer.from(b.userBin.buffer).toString()).toBe("hello");
    expect(b.uuid.sub_type).toBe(4);
    expect(b.uuid.toUUID().toHexString()).toBe("0f8fad5b-d9cb-469f-a165-70867728950e");
    expect(b.dec).toBeInstanceOf(Decimal128);
    expect(b.dec.toString()).toBe("1234567890.123456789");
    expect(b.big).toBeInstanceOf(Long);
    expect(b.big.toString()).toBe("9007199254740993");
    expect(b.smallLong).toBe(42);
    expect(b.int32).toBe(-2147483648);
    expect(b.dbl).toBe(3);
    expect(b.frac).toBe(0.1);
    expect(b.ts).toBeInstanceOf(Timestamp);
    expect(b.ts.getHighBits()).toBe(1700000000);
    expect(b.ts.getLowBits()).toBe(7);
    expect(b.flag).toBe(false);
    expect(b.nothing).toBeNull();
    expect(b.text).toBe("ünïcødé ✓ 𝄞");
    expect(b.empty).toEqual({});
    expect(b.emptyArr).toEqual([]);
    expect(b.nested).toEqual({ a: { b: { c: [1, { d: [2, [3, [4]]] }] } }, ref: oid });
    expect(b.matrix).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(b.arrOfDocs).toEqual([{ x: 1 }, { y: [{ z: new Date(1000) }] }]);
  });

  const numericDocs = () => [
    { _id: 1, v: new Int32(3) },
    { _id: 2, v: Long.fromNumber(3) },
    { _id: 3, v: new Double(3) },
    { _id: 4, v: Decimal128.fromString("3") },
    { _id: 5, v: "3" },
  ];

  it("matches a number across int, long, double and decimal (equal values, BSON equality)", async () => {
    const coll = server.db.collection<{ _id: number; v: unknown }>("roundtrip_numeric_eq");
    await coll.insertMany(numericDocs());
    expect((await coll.find({ v: 3 }).sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual([1, 2, 3, 4]);
    expect((await coll.find({ v: { $gte: 3 } }).sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual([1, 2, 3, 4]);
    expect((await coll.find({ v: { $type: "number" } }).sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual([1, 2, 3, 4]);
  });

  // Numeric BSON types: MongoDB keeps int, long and double apart. The embedded store keeps numbers as JavaScript
  // numbers (README, "What is not supported"): an integral double or a long comes back as an int. Each side of
  // that difference has its own test.
  it.runIf(onRealMongo)("keeps the BSON type of each number (real MongoDB)", async () => {
    const coll = server.db.collection<{ _id: number; v: unknown }>("roundtrip_types");
    await coll.insertMany(numericDocs());
    const types = await coll
      .aggregate<{ _id: number; t: string }>([{ $project: { t: { $type: "$v" } } }, { $sort: { _id: 1 } }])
      .toArray();
    expect(types).toEqual([
      { _id: 1, t: "int" },
      { _id: 2, t: "long" },
      { _id: 3, t: "double" },
      { _id: 4, t: "decimal" },
      { _id: 5, t: "string" },
    ]);
    const coll2 = server.db.collection<{ _id: number; i: Int32 | number; l: Long | number; d: Double | number; w: Double | number }>(
      "roundtrip_numeric",
    );
    await coll2.insertOne({ _id: 1, i: new Int32(3), l: Long.fromNumber(3), d: new Double(3), w: 2.5 });
    const raw = (await coll2.findOne({ _id: 1 }, { promoteValues: false, promoteLongs: false })) as Document;
    expect(raw.i).toBeInstanceOf(Int32);
    expect(raw.l).toBeInstanceOf(Long);
    expect(raw.d).toBeInstanceOf(Double);
    expect(raw.w).toBeInstanceOf(Double);
  });

  it.skipIf(onRealMongo)("keeps numbers as JavaScript numbers: int when integral within 32 bits, else double (embedded store)", async () => {
    const coll = server.db.collection<{ _id: number; v: unknown }>("roundtrip_types");
    await coll.insertMany([...numericDocs(), { _id: 6, v: 2.5 }, { _id: 7, v: 2 ** 40 }]);
    const types = await coll
      .aggregate<{ _id: number; t: string }>([{ $project: { t: { $type: "$v" } } }, { $sort: { _id: 1 } }])
      .toArray();
    expect(types).toEqual([
      { _id: 1, t: "int" },
      { _id: 2, t: "int" },
      { _id: 3, t: "int" },
      { _id: 4, t: "decimal" },
      { _id: 5, t: "string" },
      { _id: 6, t: "double" },
      { _id: 7, t: "double" },
    ]);
    const raw = (await coll.findOne({ _id: 7 }, { promoteValues: false })) as Document;
    expect(raw.v).toBeInstanceOf(Double);
    expect(Number(raw.v.valueOf())).toBe(2 ** 40);
  });

  it("matches Date, ObjectId and Binary values in filters", async () => {
    const coll = server.db.collection("roundtrip_filters");
    const a = new ObjectId("650000000000000000000010");
    const b = new ObjectId("650000000000000000000020");
    await coll.insertMany([
      { _id: a, at: new Date("2024-01-01T00:00:00Z"), bin: new Binary(Buffer.from("ab")) },
      { _id: b, at: new Date("2024-06-01T00:00:00Z"), bin: new Binary(Buffer.from("ac")) },
    ]);
    expect((await coll.find({ at: { $gte: new Date("2024-03-01T00:00:00Z") } }).toArray()).map((d) => d._id)).toEqual([b]);
    expect((await coll.find({ _id: { $gt: a } }).toArray()).map((d) => d._id)).toEqual([b]);
    expect((await coll.find({ _id: new ObjectId(a.toHexString()) }).toArray()).map((d) => d._id)).toEqual([a]);
    expect((await coll.find({ bin: new Binary(Buffer.from("ac")) }).toArray()).map((d) => d._id)).toEqual([b]);
  });
});
