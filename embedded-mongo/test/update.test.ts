// Update operators, positional updates, upserts, replacement, result counts, update errors, findOneAndX and
// pipeline-style updates, each compared with what a MongoDB 7.0 server returns.
import { type ObjectId, Timestamp, type Collection, type Document, type UpdateFilter } from "mongodb";
import { describe, expect, it } from "vitest";
import { onRealMongo, useTestServer } from "./harness";

const server = useTestServer();

/** Documents of these tests: any fields, with _ids of any type (numbers, strings, generated ObjectIds). */
interface Doc extends Document {
  _id: number | string | ObjectId;
}

/** An update document that the driver's types cannot express (unknown array fields, deliberate misuse). */
function loose(update: Document): UpdateFilter<Doc> {
  return update as UpdateFilter<Doc>;
}

let seq = 0;
/** A new collection holding `docs`, so that every test starts from known documents. */
async function withDocs<T extends Document>(docs: T[]): Promise<Collection<T>> {
  const coll = server.db.collection<T>(`upd_${seq++}`);
  if (docs.length) await coll.insertMany(structuredClone(docs) as never);
  return coll;
}

async function all<T extends Document>(coll: Collection<T>): Promise<T[]> {
  return (await coll.find({}).sort({ _id: 1 }).toArray()) as T[];
}

async function typeOf(coll: Collection<Doc>, id: unknown, path: string): Promise<string> {
  const [r] = await coll.aggregate<{ t: string }>([{ $match: { _id: id } }, { $project: { _id: 0, t: { $type: `$${path}` } } }]).toArray();
  return r.t;
}

const unchanged = { acknowledged: true, matchedCount: 1, modifiedCount: 0, upsertedCount: 0, upsertedId: null };
const changedOne = { acknowledged: true, matchedCount: 1, modifiedCount: 1, upsertedCount: 0, upsertedId: null };

describe("field operators", () => {
  it("applies every operator of an update that changes a field its own query matched on", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, kind: "a", x: 1, old: true }]);
    const res = await coll.updateOne(
      { _id: 1, kind: "a" },
      { $set: { kind: "b", y: 2, z: 3 }, $inc: { x: 1 }, $unset: { old: "" } },
    );
    expect(res).toEqual(changedOne);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, kind: "b", x: 2, y: 2, z: 3 });
    const after = await coll.findOneAndUpdate(
      { kind: "b" },
      { $set: { kind: "c", w: 4 } },
      { returnDocument: "after" },
    );
    expect(after).toEqual({ _id: 1, kind: "c", x: 2, y: 2, z: 3, w: 4 });
  });

  it("$set replaces values and creates nested documents and array slots", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, a: { x: 1 }, arr: [1, 2], list: [{ n: "p" }, { n: "q" }], s: "old" }]);
    expect(await coll.updateOne({ _id: 1 }, { $set: { s: "new", "a.b.c": 2, "d.e": 3 } })).toEqual(changedOne);
    expect(await coll.updateOne({ _id: 1 }, { $set: { "arr.4": 9, "list.1.n": "Q", "list.0.extra": true } })).toEqual(changedOne);
    expect(await coll.findOne({ _id: 1 })).toEqual({
      _id: 1,
      a: { x: 1, b: { c: 2 } },
      arr: [1, 2, null, null, 9],
      list: [{ n: "p", extra: true }, { n: "Q" }],
      s: "new",
      d: { e: 3 },
    });
  });

  it("$set appends new fields in lexicographic order and keeps existing positions", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, m: 1, b: 0 }]);
    await coll.updateOne({ _id: 1 }, { $set: { z: 1, a: 1, b: 5 } });
    const doc = await coll.findOne({ _id: 1 });
    expect(doc).toEqual({ _id: 1, m: 1, b: 5, a: 1, z: 1 });
    expect(Object.keys(doc ?? {})).toEqual(["_id", "m", "b", "a", "z"]);
  });

  it("$set with an empty operand or an identical value is a no-op", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, v: 1, o: { p: [1, 2] } }]);
    expect(await coll.updateOne({ _id: 1 }, { $set: {} })).toEqual(unchanged);
    expect(await coll.updateOne({ _id: 1 }, { $set: { v: 1, o: { p: [1, 2] } } })).toEqual(unchanged);
    expect(await coll.updateOne({ _id: 1 }, { $set: { _id: 1 } })).toEqual(unchanged);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, v: 1, o: { p: [1, 2] } });
  });

  it("$unset removes fields, nulls array slots and ignores missing fields", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, a: 1, b: { c: 2, d: 3 }, arr: [1, 2, 3], keep: true }]);
    expect(await coll.updateOne({ _id: 1 }, { $unset: { a: "", "b.c": 1, "arr.1": true, missing: 1 } })).toEqual(changedOne);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, b: { d: 3 }, arr: [1, null, 3], keep: true });
    expect(await coll.updateOne({ _id: 1 }, { $unset: { nothere: "", "b.zz": "" } })).toEqual(unchanged);
  });

  it("$inc adds to existing and missing fields, with negative and fractional amounts", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, n: 10, f: 1.5 }]);
    expect(await coll.updateOne({ _id: 1 }, { $inc: { n: -3, f: 0.25, m: 2, "stats.views": 1 } })).toEqual(changedOne);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, n: 7, f: 1.75, m: 2, stats: { views: 1 } });
    await coll.updateOne({ _id: 1 }, { $inc: { n: 0.5 } });
    expect(await coll.findOne({ _id: 1 }, { projection: { n: 1 } })).toEqual({ _id: 1, n: 7.5 });
    expect(await typeOf(coll, 1, "n")).toBe("double");
    expect(await typeOf(coll, 1, "m")).toBe("int");
  });

  it("$inc promotes an overflowing int to long", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, n: 2147483647 }]);
    await coll.updateOne({ _id: 1 }, { $inc: { n: 1 } });
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, n: 2147483648 });
    // The embedded store keeps numbers as JavaScript numbers (README): past 32 bits they are doubles.
    expect(await typeOf(coll, 1, "n")).toBe(onRealMongo ? "long" : "double");
  });

  it("$mul multiplies and sets a missing field to zero", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, price: 10, qty: 3 }]);
    expect(await coll.updateOne({ _id: 1 }, { $mul: { price: 1.25, qty: 2, missing: 5 } })).toEqual(changedOne);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, price: 12.5, qty: 6, missing: 0 });
    expect(await coll.updateOne({ _id: 1 }, { $mul: { qty: 1 } })).toEqual(unchanged);
  });

  it("$min and $max compare numbers and only write when the value changes", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, low: 10, high: 10 }]);
    expect(await coll.updateOne({ _id: 1 }, { $min: { low: 5 }, $max: { high: 20 } })).toEqual(changedOne);
    expect(await coll.updateOne({ _id: 1 }, { $min: { low: 7 }, $max: { high: 15 } })).toEqual(unchanged);
    expect(await coll.updateOne({ _id: 1 }, { $min: { absent: 3 } })).toEqual(changedOne);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, low: 5, high: 20, absent: 3 });
  });

  it("$min and $max compare dates", async () => {
    const coll = await withDocs<Doc>([
      { _id: 1, first: new Date("2024-03-01T00:00:00Z"), last: new Date("2024-03-01T00:00:00Z") },
    ]);
    await coll.updateOne(
      { _id: 1 },
      { $min: { first: new Date("2024-01-15T08:00:00Z") }, $max: { last: new Date("2024-06-30T23:59:59.999Z") } },
    );
    expect(await coll.updateOne({ _id: 1 }, { $min: { first: new Date("2024-02-01T00:00:00Z") } })).toEqual(unchanged);
    expect(await coll.updateOne({ _id: 1 }, { $max: { last: new Date("2024-05-01T00:00:00Z") } })).toEqual(unchanged);
    expect(await coll.findOne({ _id: 1 })).toEqual({
      _id: 1,
      first: new Date("2024-01-15T08:00:00Z"),
      last: new Date("2024-06-30T23:59:59.999Z"),
    });
  });

  it("$setOnInsert applies only when an upsert inserts", async () => {
    const coll = await withDocs<Doc>([]);
    const inserted = await coll.updateOne(
      { _id: 10 },
      { $set: { a: 1 }, $setOnInsert: { created: "yes" } },
      { upsert: true },
    );
    expect(inserted).toEqual({ acknowledged: true, matchedCount: 0, modifiedCount: 0, upsertedCount: 1, upsertedId: 10 });
    expect(await coll.findOne({ _id: 10 })).toEqual({ _id: 10, a: 1, created: "yes" });
    const again = await coll.updateOne({ _id: 10 }, { $set: { a: 2 }, $setOnInsert: { created: "again" } }, { upsert: true });
    expect(again).toEqual(changedOne);
    expect(await coll.updateOne({ _id: 10 }, { $setOnInsert: { created: "x" } }, { upsert: true })).toEqual(unchanged);
    expect(await coll.findOne({ _id: 10 })).toEqual({ _id: 10, a: 2, created: "yes" });
  });

  it("$rename moves fields, including into and out of embedded documents", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, a: 1, b: 2, c: { d: 3 } }]);
    expect(await coll.updateOne({ _id: 1 }, { $rename: { a: "z", "c.d": "e", "missing": "nowhere" } })).toEqual(changedOne);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, b: 2, c: {}, z: 1, e: 3 });
    expect(await coll.updateOne({ _id: 1 }, { $rename: { z: "b" } })).toEqual(changedOne);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, b: 1, c: {}, e: 3 });
    expect(await coll.updateOne({ _id: 1 }, { $rename: { e: "c.f" } })).toEqual(changedOne);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, b: 1, c: { f: 3 } });
    expect(await coll.updateOne({ _id: 1 }, { $rename: { nope: "x" } })).toEqual(unchanged);
  });

  it("$currentDate sets a Date or a Timestamp near the current time", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, lastModified: new Date(0) }]);
    const before = Date.now();
    expect(
      await coll.updateOne({ _id: 1 }, loose({ $currentDate: { lastModified: true, "meta.ts": { $type: "timestamp" }, d: { $type: "date" } } })),
    ).toEqual(changedOne);
    const after = Date.now();
    const doc = (await coll.findOne({ _id: 1 })) as Document;
    expect(Object.keys(doc).sort()).toEqual(["_id", "d", "lastModified", "meta"]);
    expect(doc.lastModified).toBeInstanceOf(Date);
    expect(doc.d).toBeInstanceOf(Date);
    // Allow for clock skew between this process and a remote server.
    const skew = 5 * 60 * 1000;
    expect(doc.lastModified.getTime()).toBeGreaterThan(before - skew);
    expect(doc.lastModified.getTime()).toBeLessThan(after + skew);
    expect(doc.meta.ts).toBeInstanceOf(Timestamp);
    const seconds = (doc.meta.ts as Timestamp).getHighBits();
    expect(seconds).toBeGreaterThan(Math.floor((before - skew) / 1000));
    expect(seconds).toBeLessThan(Math.ceil((after + skew) / 1000));
  });
});

describe("array operators", () => {
  it("$push appends, creates a missing array and takes $each", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, arr: [1] }]);
    await coll.updateOne({ _id: 1 }, loose({ $push: { arr: 2, fresh: "x" } }));
    await coll.updateOne({ _id: 1 }, loose({ $push: { arr: { $each: [3, [4, 5]] } } }));
    await coll.updateOne({ _id: 1 }, loose({ $push: { arr: [6] } }));
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, arr: [1, 2, 3, [4, 5], [6]], fresh: ["x"] });
  });

  it("$push applies $position, then $sort, then $slice", async () => {
    const coll = await withDocs<Doc>([
      { _id: 1, arr: [1, 2, 3] },
      { _id: 2, scores: [5, 1] },
      { _id: 3, items: [{ n: "b", s: 2 }, { n: "a", s: 5 }] },
      { _id: 4, q: [1, 2, 3] },
      { _id: 5, r: [1, 2, 3, 4, 5] },
    ]);
    await coll.updateOne({ _id: 1 }, loose({ $push: { arr: { $each: ["x", "y"], $position: 1 } } }));
    await coll.updateOne({ _id: 2 }, loose({ $push: { scores: { $slice: 3, $sort: -1, $each: [9, 3] } } }));
    await coll.updateOne({ _id: 3 }, loose({ $push: { items: { $each: [{ n: "c", s: 1 }], $sort: { s: 1 } } } }));
    await coll.updateOne({ _id: 4 }, loose({ $push: { q: { $each: ["z"], $position: -1 } } }));
    await coll.updateOne({ _id: 5 }, loose({ $push: { r: { $each: [6, 7], $slice: -3 } } }));
    expect(await all(coll)).toEqual([
      { _id: 1, arr: [1, "x", "y", 2, 3] },
      { _id: 2, scores: [9, 5, 3] },
      { _id: 3, items: [{ n: "c", s: 1 }, { n: "b", s: 2 }, { n: "a", s: 5 }] },
      { _id: 4, q: [1, 2, "z", 3] },
      { _id: 5, r: [5, 6, 7] },
    ]);
    await coll.updateOne({ _id: 5 }, loose({ $push: { r: { $each: [], $slice: 0 } } }));
    expect(await coll.findOne({ _id: 5 })).toEqual({ _id: 5, r: [] });
  });

  it("$pull removes equal values and values matching a condition", async () => {
    const coll = await withDocs<Doc>([
      { _id: 1, arr: [1, 2, 3, 2, 4] },
      { _id: 2, arr: [1, 2, 3, 2, 4] },
      { _id: 3, items: [{ k: 1, v: "a" }, { k: 2, v: "b" }, { k: 3, v: "a" }] },
      { _id: 4, items: [{ k: 1, v: "a" }, { k: 2, v: "b" }, { k: 3, v: "a" }] },
    ]);
    await coll.updateOne({ _id: 1 }, loose({ $pull: { arr: 2 } }));
    await coll.updateOne({ _id: 2 }, loose({ $pull: { arr: { $gte: 3 } } }));
    await coll.updateOne({ _id: 3 }, loose({ $pull: { items: { v: "a" } } }));
    await coll.updateOne({ _id: 4 }, loose({ $pull: { items: { k: { $gt: 1 }, v: "a" } } }));
    expect(await all(coll)).toEqual([
      { _id: 1, arr: [1, 3, 4] },
      { _id: 2, arr: [1, 2, 2] },
      { _id: 3, items: [{ k: 2, v: "b" }] },
      { _id: 4, items: [{ k: 1, v: "a" }, { k: 2, v: "b" }] },
    ]);
    expect(await coll.updateOne({ _id: 1 }, loose({ $pull: { arr: 99 } }))).toEqual(unchanged);
  });

  it("$pullAll removes every listed value", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, arr: [1, 2, 3, 2, 4, "2"] }]);
    expect(await coll.updateOne({ _id: 1 }, loose({ $pullAll: { arr: [2, 4] } }))).toEqual(changedOne);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, arr: [1, 3, "2"] });
    expect(await coll.updateOne({ _id: 1 }, loose({ $pullAll: { arr: [7] } }))).toEqual(unchanged);
  });

  it("$addToSet adds only missing values, with $each and whole documents", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, tags: ["a"], objs: [{ x: 1, y: 2 }] }]);
    expect(await coll.updateOne({ _id: 1 }, { $addToSet: { tags: "b" } })).toEqual(changedOne);
    expect(await coll.updateOne({ _id: 1 }, { $addToSet: { tags: "b" } })).toEqual(unchanged);
    expect(await coll.updateOne({ _id: 1 }, { $addToSet: { tags: { $each: ["a", "c", "c", "d"] } } })).toEqual(changedOne);
    expect(await coll.updateOne({ _id: 1 }, { $addToSet: { objs: { x: 1, y: 2 } } })).toEqual(unchanged);
    expect(await coll.updateOne({ _id: 1 }, { $addToSet: { objs: { y: 2, x: 1 }, fresh: 1 } })).toEqual(changedOne);
    expect(await coll.findOne({ _id: 1 })).toEqual({
      _id: 1,
      tags: ["a", "b", "c", "d"],
      objs: [
        { x: 1, y: 2 },
        { y: 2, x: 1 },
      ],
      fresh: [1],
    });
  });

  it("$pop removes the last or first element", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, arr: [1, 2, 3], empty: [] }]);
    await coll.updateOne({ _id: 1 }, { $pop: { arr: 1 } });
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, arr: [1, 2], empty: [] });
    await coll.updateOne({ _id: 1 }, { $pop: { arr: -1 } });
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, arr: [2], empty: [] });
    expect(await coll.updateOne({ _id: 1 }, { $pop: { empty: 1 } })).toEqual(unchanged);
    expect(await coll.updateOne({ _id: 1 }, { $pop: { missing: 1 } })).toEqual(unchanged);
  });
});

describe("positional updates", () => {
  const base = {
    _id: 1,
    grades: [80, 85, 90],
    items: [
      { sku: "a", qty: 1 },
      { sku: "b", qty: 7 },
      { sku: "c", qty: 9 },
    ],
  };

  it("$ updates the first array element matched by the query", async () => {
    const coll = await withDocs<Doc>([base]);
    expect(await coll.updateOne({ _id: 1, grades: 85 }, { $set: { "grades.$": 86 } })).toEqual(changedOne);
    expect(await coll.updateOne({ _id: 1, "items.sku": "b" }, { $inc: { "items.$.qty": 10 } })).toEqual(changedOne);
    expect(await coll.updateOne({ _id: 1, items: { $elemMatch: { qty: { $gt: 5 } } } }, { $set: { "items.$.hit": true } })).toEqual(
      changedOne,
    );
    expect(await coll.findOne({ _id: 1 })).toEqual({
      _id: 1,
      grades: [80, 86, 90],
      items: [
        { sku: "a", qty: 1 },
        { sku: "b", qty: 17, hit: true },
        { sku: "c", qty: 9 },
      ],
    });
  });

  it("$[] updates every element", async () => {
    const coll = await withDocs<Doc>([base]);
    await coll.updateOne({ _id: 1 }, { $inc: { "grades.$[]": 1 }, $set: { "items.$[].checked": true } });
    expect(await coll.findOne({ _id: 1 })).toEqual({
      _id: 1,
      grades: [81, 86, 91],
      items: [
        { sku: "a", qty: 1, checked: true },
        { sku: "b", qty: 7, checked: true },
        { sku: "c", qty: 9, checked: true },
      ],
    });
  });

  it("$[<id>] updates the elements chosen by arrayFilters", async () => {
    const coll = await withDocs<Doc>([base, { ...base, _id: 2, grades: [100, 50] }]);
    const res = await coll.updateMany(
      {},
      { $set: { "grades.$[g]": 100 }, $mul: { "items.$[it].qty": 2 } },
      { arrayFilters: [{ g: { $gte: 85 } }, { "it.qty": { $gt: 5 } }] },
    );
    expect(res).toEqual({ acknowledged: true, matchedCount: 2, modifiedCount: 2, upsertedCount: 0, upsertedId: null });
    const doubled = [
      { sku: "a", qty: 1 },
      { sku: "b", qty: 14 },
      { sku: "c", qty: 18 },
    ];
    expect(await all(coll)).toEqual([
      { _id: 1, grades: [80, 100, 100], items: doubled },
      { _id: 2, grades: [100, 50], items: doubled },
    ]);
  });

  it("rejects positional updates that cannot be resolved", async () => {
    const coll = await withDocs<Doc>([base]);
    await expect(coll.updateOne({ _id: 1 }, { $set: { "grades.$": 0 } })).rejects.toMatchObject({ code: 2 });
    await expect(coll.updateOne({ _id: 1 }, { $set: { "grades.$[g]": 0 } })).rejects.toMatchObject({ code: 2 });
    await expect(
      coll.updateOne({ _id: 1 }, { $set: { "grades.$[g]": 0 } }, { arrayFilters: [{ g: 1 }, { unused: 2 }] }),
    ).rejects.toMatchObject({ code: 9 });
    expect(await coll.findOne({ _id: 1 })).toEqual(base);
  });
});

describe("upserts", () => {
  it("copies equality fields of the query, including dotted paths and $eq, into the new document", async () => {
    const coll = await withDocs<Doc>([]);
    const res = await coll.updateOne(
      { name: "up", "meta.kind": "x", n: { $gt: 5 }, tag: { $eq: "t" } },
      { $set: { v: 1 } },
      { upsert: true },
    );
    expect(res.upsertedCount).toBe(1);
    expect(res.matchedCount).toBe(0);
    expect(res.modifiedCount).toBe(0);
    const doc = await coll.findOne({ _id: res.upsertedId as never });
    expect(doc).toEqual({ _id: res.upsertedId, name: "up", meta: { kind: "x" }, tag: "t", v: 1 });
  });

  it("copies equality fields out of $and and applies the update after them", async () => {
    const coll = await withDocs<Doc>([]);
    const res = await coll.updateOne(
      { $and: [{ k: 1 }, { "j.x": 2 }, { a: 1 }] },
      { $inc: { c: 1 }, $set: { a: 2 } },
      { upsert: true },
    );
    const doc = await coll.findOne({ _id: res.upsertedId as never });
    expect(doc).toEqual({ _id: res.upsertedId, k: 1, j: { x: 2 }, a: 2, c: 1 });
  });

  it("uses an _id from the query and reports it as upsertedId", async () => {
    const coll = await withDocs<Doc>([]);
    expect(await coll.updateOne({ _id: "custom" as never }, { $set: { v: 2 } }, { upsert: true })).toEqual({
      acknowledged: true,
      matchedCount: 0,
      modifiedCount: 0,
      upsertedCount: 1,
      upsertedId: "custom",
    });
    expect(await coll.updateMany({ _id: "other" as never, g: 1 }, { $set: { v: 3 } }, { upsert: true })).toEqual({
      acknowledged: true,
      matchedCount: 0,
      modifiedCount: 0,
      upsertedCount: 1,
      upsertedId: "other",
    });
    expect(await all(coll)).toEqual([
      { _id: "custom", v: 2 },
      { _id: "other", g: 1, v: 3 },
    ]);
  });

  it("a replacement upsert takes only _id from the query", async () => {
    const coll = await withDocs<Doc>([]);
    const res = await coll.replaceOne({ _id: 5, k: 5 }, { v: 1 }, { upsert: true });
    expect(res).toEqual({ acknowledged: true, matchedCount: 0, modifiedCount: 0, upsertedCount: 1, upsertedId: 5 });
    expect(await coll.findOne({ _id: 5 })).toEqual({ _id: 5, v: 1 });
  });
});

describe("replacement and counts", () => {
  it("replacement keeps _id and rejects a different one with 66", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, a: 1, b: 2 }]);
    expect(await coll.replaceOne({ _id: 1 }, { c: 3 })).toEqual(changedOne);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, c: 3 });
    expect(await coll.replaceOne({ c: 3 }, { _id: 1, c: 4 })).toEqual(changedOne);
    await expect(coll.replaceOne({ _id: 1 }, { _id: 2, c: 5 })).rejects.toMatchObject({ code: 66 });
    expect(await all(coll)).toEqual([{ _id: 1, c: 4 }]);
  });

  it("updateMany reports matched and modified counts separately", async () => {
    const coll = await withDocs<Doc>([
      { _id: 1, g: "a", v: 0 },
      { _id: 2, g: "a", v: 1 },
      { _id: 3, g: "a", v: 2 },
      { _id: 4, g: "b", v: 0 },
    ]);
    expect(await coll.updateMany({ g: "a" }, { $set: { v: 1 } })).toEqual({
      acknowledged: true,
      matchedCount: 3,
      modifiedCount: 2,
      upsertedCount: 0,
      upsertedId: null,
    });
    expect(await coll.updateMany({ g: "zzz" }, { $set: { v: 1 } })).toEqual({
      acknowledged: true,
      matchedCount: 0,
      modifiedCount: 0,
      upsertedCount: 0,
      upsertedId: null,
    });
    expect(await coll.updateMany({}, { $inc: { v: 10 } })).toMatchObject({ matchedCount: 4, modifiedCount: 4 });
    expect(await all(coll)).toEqual([
      { _id: 1, g: "a", v: 11 },
      { _id: 2, g: "a", v: 11 },
      { _id: 3, g: "a", v: 11 },
      { _id: 4, g: "b", v: 10 },
    ]);
  });

  it("updateOne changes only one of several matching documents", async () => {
    const coll = await withDocs<Doc>([
      { _id: 1, g: "a" },
      { _id: 2, g: "a" },
    ]);
    expect(await coll.updateOne({ g: "a" }, { $set: { hit: true } })).toEqual(changedOne);
    expect(await coll.countDocuments({ hit: true })).toBe(1);
  });
});

describe("update errors", () => {
  const doc = { _id: 1, s: "text", n: 1, a: { b: 1 }, arr: [1], scalar: 5 };

  it("rejects $inc on a string and with a non-numeric amount with TypeMismatch (14)", async () => {
    const coll = await withDocs<Doc>([doc]);
    await expect(coll.updateOne({ _id: 1 }, { $inc: { s: 1 } })).rejects.toMatchObject({ code: 14 });
    await expect(coll.updateOne({ _id: 1 }, loose({ $inc: { n: "x" } }))).rejects.toMatchObject({ code: 14 });
    expect(await coll.findOne({ _id: 1 })).toEqual(doc);
  });

  it("rejects conflicting paths with ConflictingUpdateOperators (40)", async () => {
    const coll = await withDocs<Doc>([doc]);
    await expect(coll.updateOne({ _id: 1 }, { $set: { n: 2 }, $inc: { n: 1 } })).rejects.toMatchObject({
      code: 40 });
    await expect(coll.updateOne({ _id: 1 }, { $set: { "a.b": 2, a: {} } })).rejects.toMatchObject({ code: 40 });
    await expect(coll.updateOne({ _id: 1 }, { $set: { "a.c": 2 }, $unset: { a: "" } })).rejects.toMatchObject({ code: 40 });
    expect(await coll.findOne({ _id: 1 })).toEqual(doc);
  });

  it("rejects changing _id with ImmutableField (66)", async () => {
    const coll = await withDocs<Doc>([doc]);
    await expect(coll.updateOne({ _id: 1 }, { $set: { _id: 2 } })).rejects.toMatchObject({ code: 66 });
    await expect(coll.updateOne({ _id: 1 }, { $inc: { _id: 1 } })).rejects.toMatchObject({ code: 66 });
    expect(await all(coll)).toEqual([doc]);
  });

  it("rejects an unknown update operator with FailedToParse (9)", async () => {
    const coll = await withDocs<Doc>([doc]);
    await expect(coll.updateOne({ _id: 1 }, { $foo: { n: 1 } } as Document)).rejects.toMatchObject({
      code: 9 });
    expect(await coll.findOne({ _id: 1 })).toEqual(doc);
  });

  it("rejects $push on a non-array with BadValue (2)", async () => {
    const coll = await withDocs<Doc>([doc]);
    await expect(coll.updateOne({ _id: 1 }, loose({ $push: { n: 2 } }))).rejects.toMatchObject({ code: 2 });
    await expect(coll.updateOne({ _id: 1 }, { $addToSet: { s: "x" } })).rejects.toMatchObject({ code: 2 });
    expect(await coll.findOne({ _id: 1 })).toEqual(doc);
  });

  it("rejects creating a field inside a scalar with PathNotViable (28)", async () => {
    const coll = await withDocs<Doc>([doc]);
    await expect(coll.updateOne({ _id: 1 }, { $set: { "scalar.x": 1 } })).rejects.toMatchObject({ code: 28 });
    expect(await coll.findOne({ _id: 1 })).toEqual(doc);
  });

  it("an updateMany that fails on one document keeps the updates already made to others", async () => {
    const coll = await withDocs<Doc>([
      { _id: 1, v: 1 },
      { _id: 2, v: "two" },
      { _id: 3, v: 3 },
    ]);
    await expect(coll.updateMany({}, { $inc: { v: 1 } })).rejects.toMatchObject({ code: 14 });
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, v: 2 });
    expect(await coll.findOne({ _id: 2 })).toEqual({ _id: 2, v: "two" });
    expect(await coll.findOne({ _id: 3 })).toEqual({ _id: 3, v: 3 });
  });
});

describe("findOneAndUpdate / findOneAndDelete / findOneAndReplace", () => {
  const scores = [
    { _id: 1, name: "a", score: 10 },
    { _id: 2, name: "b", score: 30 },
    { _id: 3, name: "c", score: 20 },
  ];

  it("returns the document before or after the update, the sort choosing which", async () => {
    const coll = await withDocs<Doc>(scores);
    expect(await coll.findOneAndUpdate({}, { $inc: { score: 1 } }, { sort: { score: -1 }, returnDocument: "before" })).toEqual({
      _id: 2,
      name: "b",
      score: 30,
    });
    expect(await coll.findOneAndUpdate({}, { $inc: { score: 1 } }, { sort: { score: 1 }, returnDocument: "after" })).toEqual({
      _id: 1,
      name: "a",
      score: 11,
    });
    expect(
      await coll.findOneAndUpdate({ score: { $gt: 15 } }, { $set: { top: true } }, { sort: { score: 1 }, projection: { _id: 0, name: 1, top: 1 }, returnDocument: "after" }),
    ).toEqual({ name: "c", top: true });
    expect(await coll.findOneAndUpdate({ name: "nobody" }, { $set: { x: 1 } })).toBeNull();
    expect(await all(coll)).toEqual([
      { _id: 1, name: "a", score: 11 },
      { _id: 2, name: "b", score: 31 },
      { _id: 3, name: "c", score: 20, top: true },
    ]);
  });

  it("upserts, returning the new document or null", async () => {
    const coll = await withDocs<Doc>(scores);
    expect(
      await coll.findOneAndUpdate({ _id: 9 }, { $set: { score: 0 }, $setOnInsert: { name: "new" } }, { upsert: true, returnDocument: "after" }),
    ).toEqual({ _id: 9, score: 0, name: "new" });
    expect(await coll.findOneAndUpdate({ _id: 10, name: "z" }, { $inc: { score: 5 } }, { upsert: true, returnDocument: "before" })).toBeNull();
    expect(await coll.findOne({ _id: 10 })).toEqual({ _id: 10, name: "z", score: 5 });
  });

  it("reports lastErrorObject with includeResultMetadata", async () => {
    const coll = await withDocs<Doc>(scores);
    const updated = await coll.findOneAndUpdate(
      { _id: 1 },
      { $set: { score: 99 } },
      { includeResultMetadata: true, returnDocument: "after" },
    );
    expect(updated.ok).toBe(1);
    expect(updated.value).toEqual({ _id: 1, name: "a", score: 99 });
    expect(updated.lastErrorObject).toEqual({ n: 1, updatedExisting: true });
    const upserted = await coll.findOneAndUpdate({ _id: 7 }, { $set: { score: 1 } }, { includeResultMetadata: true, upsert: true });
    expect(upserted.value).toBeNull();
    expect(upserted.lastErrorObject).toEqual({ n: 1, updatedExisting: false, upserted: 7 });
    const none = await coll.findOneAndUpdate({ _id: 8 }, { $set: { score: 1 } }, { includeResultMetadata: true });
    expect(none.value).toBeNull();
    expect(none.lastErrorObject).toEqual({ n: 0, updatedExisting: false });
  });

  it("findOneAndDelete removes and returns the first document in sort order", async () => {
    const coll = await withDocs<Doc>(scores);
    expect(await coll.findOneAndDelete({ score: { $gte: 15 } }, { sort: { score: 1 } })).toEqual({ _id: 3, name: "c", score: 20 });
    expect(await coll.findOneAndDelete({}, { sort: { score: -1 }, projection: { name: 1 } })).toEqual({ _id: 2, name: "b" });
    expect(await coll.findOneAndDelete({ score: 1000 })).toBeNull();
    expect(await all(coll)).toEqual([{ _id: 1, name: "a", score: 10 }]);
  });

  it("findOneAndReplace replaces the whole document and keeps _id", async () => {
    const coll = await withDocs<Doc>(scores);
    expect(await coll.findOneAndReplace({ _id: 3 }, { name: "r" }, { returnDocument: "after" })).toEqual({ _id: 3, name: "r" });
    expect(await coll.findOneAndReplace({}, { name: "top" }, { sort: { score: -1 } })).toEqual({ _id: 2, name: "b", score: 30 });
    expect(await coll.findOneAndReplace({ _id: 4 }, { name: "ins" }, { upsert: true, returnDocument: "after" })).toEqual({
      _id: 4,
      name: "ins",
    });
    expect(await all(coll)).toEqual([
      { _id: 1, name: "a", score: 10 },
      { _id: 2, name: "top" },
      { _id: 3, name: "r" },
      { _id: 4, name: "ins" },
    ]);
  });
});

describe("pipeline-style updates", () => {
  it("computes fields from other fields and removes fields", async () => {
    const coll = await withDocs<Doc>([
      { _id: 1, a: 2, b: 3 },
      { _id: 2, a: 10, b: -4 },
    ]);
    const res = await coll.updateMany({}, [
      { $set: { total: { $add: ["$a", "$b"] }, "info.src": "pipe" } },
      { $set: { sign: { $cond: [{ $gte: ["$total", 0] }, "pos", "neg"] } } },
      { $unset: ["a"] },
    ]);
    expect(res).toMatchObject({ matchedCount: 2, modifiedCount: 2 });
    expect(await all(coll)).toEqual([
      { _id: 1, b: 3, total: 5, info: { src: "pipe" }, sign: "pos" },
      { _id: 2, b: -4, total: 6, info: { src: "pipe" }, sign: "pos" },
    ]);
  });

  it("replaces the document with $replaceWith and upserts from a pipeline", async () => {
    const coll = await withDocs<Doc>([{ _id: 1, inner: { x: 1, y: 2 }, keep: "k" }]);
    await coll.updateOne({ _id: 1 }, [{ $replaceWith: { $mergeObjects: [{ _id: "$_id", keep: "$keep" }, "$inner"] } }]);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, keep: "k", x: 1, y: 2 });
    const up = await coll.updateOne({ _id: 2 }, [{ $set: { made: { $literal: "$notAPath" } } }], { upsert: true });
    expect(up).toEqual({ acknowledged: true, matchedCount: 0, modifiedCount: 0, upsertedCount: 1, upsertedId: 2 });
    expect(await coll.findOne({ _id: 2 })).toEqual({ _id: 2, made: "$notAPath" });
    expect(await coll.updateOne({ _id: 1 }, [{ $set: { x: 1 } }])).toEqual(unchanged);
  });
});
