// Mongoose 9 on its own connection: unique indexes and timestamps, queries, updates with upsert, counts,
// duplicate keys, insertMany, bulkWrite, aggregate, populate, Map/Decimal128/Date/Buffer/nested arrays, and
// index synchronisation.
import mongoose, { Schema, Types, type Connection, type Model } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, openTestServer } from "./harness";

interface IUser {
  email: string;
  name: string;
  age?: number;
  tags: string[];
  createdAt?: Date;
  updatedAt?: Date;
}

interface ICounter {
  name: string;
  n: number;
  big?: boolean;
}

interface IAuthor {
  name: string;
}

interface IBook {
  title: string;
  author: Types.ObjectId;
  year: number;
}

interface IRich {
  label: string;
  attrs: Map<string, string>;
  price: Types.Decimal128;
  when: Date;
  data: Buffer;
  matrix: number[][];
  parts: { name: string; sizes: number[] }[];
}

interface IThing {
  a: number;
  b: string;
}

let server: TestServer;
let conn: Connection;
let User: Model<IUser>;
let Counter: Model<ICounter>;
let Author: Model<IAuthor>;
let Book: Model<IBook>;
let Rich: Model<IRich>;

beforeAll(async () => {
  server = await openTestServer();
  conn = mongoose.createConnection(server.uri);
  await conn.asPromise();
  const userSchema = new Schema<IUser>(
    {
      email: { type: String, required: true, unique: true },
      name: { type: String, required: true },
      age: Number,
      tags: [String],
    },
    { timestamps: true },
  );
  User = conn.model<IUser>("User", userSchema);
  Counter = conn.model<ICounter>("Counter", new Schema<ICounter>({ name: String, n: Number, big: Boolean }));
  Author = conn.model<IAuthor>("Author", new Schema<IAuthor>({ name: String }));
  Book = conn.model<IBook>(
    "Book",
    new Schema<IBook>({ title: String, author: { type: Schema.Types.ObjectId, ref: "Author" }, year: Number }),
  );
  Rich = conn.model<IRich>(
    "Rich",
    new Schema<IRich>({
      label: String,
      attrs: { type: Map, of: String },
      price: Schema.Types.Decimal128,
      when: Date,
      data: Buffer,
      matrix: [[Number]],
      parts: [{ name: String, sizes: [Number] }],
    }),
  );
  await User.init();
});
afterAll(async () => {
  await conn?.close();
  await server.close();
});

describe("a model with a unique field and timestamps", () => {
  it("builds the unique index on init()", async () => {
    const indexes = await User.listIndexes();
    const email = indexes.find((ix) => ix.name === "email_1");
    expect(email).toMatchObject({ key: { email: 1 }, unique: true });
    expect(indexes.map((ix) => ix.name).sort()).toEqual(["_id_", "email_1"]);
  });

  it("creates documents with timestamps and finds them, hydrated and lean", async () => {
    const before = Date.now();
    const ann = await User.create({ email: "ann@example.com", name: "Ann", age: 30, tags: ["a"] });
    expect(ann._id).toBeInstanceOf(Types.ObjectId);
    expect(ann.createdAt).toBeInstanceOf(Date);
    expect(ann.updatedAt?.getTime()).toBe(ann.createdAt?.getTime());
    expect(ann.createdAt?.getTime()).toBeGreaterThanOrEqual(before - 1000);

    const found = await User.findOne({ email: "ann@example.com" });
    expect(found).not.toBeNull();
    expect(found?.name).toBe("Ann");
    expect(found?._id.equals(ann._id)).toBe(true);
    expect(found?.createdAt?.getTime()).toBe(ann.createdAt?.getTime());

    const lean = await User.findOne({ _id: ann._id }).lean();
    expect(lean).toEqual({
      _id: ann._id,
      email: "ann@example.com",
      name: "Ann",
      age: 30,
      tags: ["a"],
      createdAt: ann.createdAt,
      updatedAt: ann.updatedAt,
      __v: 0,
    });
    const raw = await server.db.collection("users").findOne({ _id: ann._id });
    expect(raw).toEqual(lean);
  });

  it("rejects a duplicate unique value with 11000", async () => {
    await User.create({ email: "dup@example.com", name: "First" });
    await expect(User.create({ email: "dup@example.com", name: "Second" })).rejects.toMatchObject({ code: 11000 });
    expect(await User.countDocuments({ email: "dup@example.com" })).toBe(1);
    expect((await User.findOne({ email: "dup@example.com" }).lean())?.name).toBe("First");
  });

  it("finds with filters, sort, projection and lean", async () => {
    await User.insertMany([
      { email: "f1@example.com", name: "F1", age: 21, tags: ["find"] },
      { email: "f2@example.com", name: "F2", age: 42, tags: ["find", "x"] },
      { email: "f3@example.com", name: "F3", age: 33, tags: ["find"] },
    ]);
    const docs = await User.find({ tags: "find", age: { $gte: 30 } }).sort({ age: -1 }).select({ name: 1, age: 1, _id: 0 }).lean();
    expect(docs).toEqual([
      { name: "F2", age: 42 },
      { name: "F3", age: 33 },
    ]);
    const hydrated = await User.find({ tags: "find" }).sort({ email: 1 });
    expect(hydrated.map((d) => d.email)).toEqual(["f1@example.com", "f2@example.com", "f3@example.com"]);
    expect(hydrated[0]).toBeInstanceOf(User);
  });

  it("findOneAndUpdate with returnDocument 'after' and upsert inserts with timestamps", async () => {
    const created = await User.findOneAndUpdate(
      { email: "up@example.com" },
      { $set: { name: "Upserted" }, $setOnInsert: { age: 1 } },
      { upsert: true, returnDocument: "after" },
    );
    expect(created).not.toBeNull();
    expect(created?.email).toBe("up@example.com");
    expect(created?.name).toBe("Upserted");
    expect(created?.age).toBe(1);
    expect(created?.createdAt).toBeInstanceOf(Date);
    expect(created?.updatedAt).toBeInstanceOf(Date);

    const updated = await User.findOneAndUpdate(
      { email: "up@example.com" },
      { $set: { name: "Changed" }, $setOnInsert: { age: 99 } },
      { upsert: true, returnDocument: "after" },
    );
    expect(updated?._id.equals(created?._id)).toBe(true);
    expect(updated?.name).toBe("Changed");
    expect(updated?.age).toBe(1);
    expect(updated?.createdAt?.getTime()).toBe(created?.createdAt?.getTime());
    expect(updated?.updatedAt?.getTime()).toBeGreaterThanOrEqual(created?.updatedAt?.getTime() ?? Infinity);

    const before = await User.findOneAndUpdate({ email: "up@example.com" }, { $set: { name: "Third" } }, { returnDocument: "before" });
    expect(before?.name).toBe("Changed");
    expect(await User.countDocuments({ email: "up@example.com" })).toBe(1);
  });

  it("updateOne with $inc reports counts and touches updatedAt", async () => {
    const u = await User.create({ email: "inc@example.com", name: "Inc", age: 10 });
    const res = await User.updateOne({ email: "inc@example.com" }, { $inc: { age: 5 } });
    expect(res).toEqual({ acknowledged: true, matchedCount: 1, modifiedCount: 1, upsertedCount: 0, upsertedId: null });
    const after = await User.findById(u._id).lean();
    expect(after?.age).toBe(15);
    expect(after?.updatedAt?.getTime()).toBeGreaterThanOrEqual(u.updatedAt?.getTime() ?? Infinity);
    const none = await User.updateOne({ email: "nobody@example.com" }, { $inc: { age: 1 } });
    expect(none).toEqual({ acknowledged: true, matchedCount: 0, modifiedCount: 0, upsertedCount: 0, upsertedId: null });
  });

  it("counts, checks existence and deletes", async () => {
    await User.insertMany([
      { email: "d1@example.com", name: "D", tags: ["del"] },
      { email: "d2@example.com", name: "D", tags: ["del"] },
      { email: "d3@example.com", name: "D", tags: ["del"] },
    ]);
    expect(await User.countDocuments({ tags: "del" })).toBe(3);
    const exists = await User.exists({ email: "d2@example.com" });
    expect(exists).not.toBeNull();
    expect(Object.keys(exists ?? {})).toEqual(["_id"]);
    expect(exists?._id).toBeInstanceOf(Types.ObjectId);
    expect(await User.exists({ email: "zz@example.com" })).toBeNull();

    expect(await User.deleteOne({ email: "d1@example.com" })).toEqual({ acknowledged: true, deletedCount: 1 });
    expect(await User.deleteOne({ email: "d1@example.com" })).toEqual({ acknowledged: true, deletedCount: 0 });
    expect(await User.deleteMany({ tags: "del" })).toEqual({ acknowledged: true, deletedCount: 2 });
    expect(await User.countDocuments({ tags: "del" })).toBe(0);
  });

  it("insertMany returns hydrated documents with generated ids", async () => {
    const docs = await User.insertMany([
      { email: "m1@example.com", name: "M1" },
      { email: "m2@example.com", name: "M2" },
    ]);
    expect(docs).toHaveLength(2);
    expect(docs[0]._id.equals(docs[1]._id)).toBe(false);
    const stored = await User.find({ _id: { $in: docs.map((d) => d._id) } }).sort({ email: 1 }).lean();
    expect(stored.map((d) => ({ email: d.email, name: d.name, tags: d.tags }))).toEqual([
      { email: "m1@example.com", name: "M1", tags: [] },
      { email: "m2@example.com", name: "M2", tags: [] },
    ]);
    await expect(
      User.insertMany([
        { email: "m3@example.com", name: "M3" },
        { email: "m1@example.com", name: "again" },
      ]),
    ).rejects.toMatchObject({ code: 11000 });
    expect(await User.countDocuments({ email: "m3@example.com" })).toBe(1);
  });
});

describe("bulkWrite and aggregate", () => {
  it("bulkWrite mixes inserts, updates, upserts, replaces and deletes with exact counts", async () => {
    await Counter.insertMany([
      { name: "a", n: 1 },
      { name: "b", n: 2 },
      { name: "c", n: 3 },
    ]);
    const res = await Counter.bulkWrite([
      { insertOne: { document: { name: "d", n: 4 } } },
      { insertOne: { document: { name: "e", n: 5 } } },
      { updateOne: { filter: { name: "a" }, update: { $inc: { n: 10 } } } },
      { updateMany: { filter: { n: { $gte: 3 } }, update: { $set: { big: true } } } },
      { updateOne: { filter: { name: "zzz" }, update: { $set: { n: 0 } }, upsert: true } },
      { deleteOne: { filter: { name: "b" } } },
      { deleteMany: { filter: { n: { $lt: 1 } } } },
      { replaceOne: { filter: { name: "c" }, replacement: { name: "c2", n: 30 } } },
    ]);
    expect({
      insertedCount: res.insertedCount,
      matchedCount: res.matchedCount,
      modifiedCount: res.modifiedCount,
      deletedCount: res.deletedCount,
      upsertedCount: res.upsertedCount,
    }).toEqual({ insertedCount: 2, matchedCount: 6, modifiedCount: 6, deletedCount: 2, upsertedCount: 1 });
    expect(Object.keys(res.upsertedIds)).toEqual(["4"]);
    const docs = await Counter.find({}, { _id: 0, __v: 0 }).sort({ name: 1 }).lean();
    expect(docs).toEqual([
      { name: "a", n: 11, big: true },
      { name: "c2", n: 30 },
      { name: "d", n: 4, big: true },
      { name: "e", n: 5, big: true },
    ]);
  });

  it("Model.aggregate groups documents", async () => {
    const out = await Counter.aggregate<{ _id: boolean | null; total: number; names: string[] }>([
      { $group: { _id: { $ifNull: ["$big", false] }, total: { $sum: "$n" }, names: { $push: "$name" } } },
      { $sort: { _id: 1 } },
    ]);
    expect(out.map((g) => ({ ...g, names: [...g.names].sort() }))).toEqual([
      { _id: false, total: 30, names: ["c2"] },
      { _id: true, total: 20, names: ["a", "d", "e"] },
    ]);
  });
});

describe("populate", () => {
  it("populates references across two models", async () => {
    const [le, ts] = await Author.create([{ name: "Le Guin" }, { name: "Tolstoy" }]);
    await Book.create([
      { title: "The Dispossessed", author: le._id, year: 1974 },
      { title: "War and Peace", author: ts._id, year: 1869 },
      { title: "A Wizard of Earthsea", author: le._id, year: 1968 },
    ]);
    const books = await Book.find({}).sort({ year: 1 }).populate<{ author: IAuthor & { _id: Types.ObjectId } }>("author");
    expect(books.map((b) => [b.title, b.author.name])).toEqual([
      ["War and Peace", "Tolstoy"],
      ["A Wizard of Earthsea", "Le Guin"],
      ["The Dispossessed", "Le Guin"],
    ]);
    expect(books[1].author._id.equals(le._id)).toBe(true);
    const lean = await Book.findOne({ title: "War and Peace" }).populate("author", "name -_id").lean();
    expect(lean?.author).toEqual({ name: "Tolstoy" });
  });
});

describe("value types", () => {
  it("round-trips a Map, Decimal128, Date, Buffer and nested arrays", async () => {
    const when = new Date("2024-02-29T23:59:59.999Z");
    const data = Buffer.from([0, 1, 2, 250, 255]);
    const created = await Rich.create({
      label: "r1",
      attrs: new Map([
        ["color", "red"],
        ["size", "XL"],
      ]),
      price: Types.Decimal128.fromString("19.990"),
      when,
      data,
      matrix: [
        [1, 2],
        [3, 4, 5],
      ],
      parts: [
        { name: "p1", sizes: [1, 2] },
        { name: "p2", sizes: [] },
      ],
    });
    const doc = await Rich.findById(created._id);
    expect(doc).not.toBeNull();
    const d = doc as NonNullable<typeof doc>;
    expect(d.attrs).toBeInstanceOf(Map);
    expect(d.attrs.get("color")).toBe("red");
    expect(d.attrs.get("size")).toBe("XL");
    expect([...d.attrs.keys()].sort()).toEqual(["color", "size"]);
    expect(d.price.toString()).toBe("19.990");
    expect(d.when.getTime()).toBe(when.getTime());
    expect(Buffer.from(d.data).equals(data)).toBe(true);
    expect(d.matrix.map((row) => [...row])).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    expect(d.parts.map((p) => ({ name: p.name, sizes: [...p.sizes] }))).toEqual([
      { name: "p1", sizes: [1, 2] },
      { name: "p2", sizes: [] },
    ]);

    const lean = await Rich.findById(created._id).lean();
    expect(lean?.attrs).toEqual({ color: "red", size: "XL" });
    expect(lean?.when).toEqual(when);
    expect(lean?.matrix).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);

    const byMapKey = await Rich.findOne({ "attrs.color": "red" }).lean();
    expect(byMapKey?.label).toBe("r1");
    const byDecimal = await Rich.countDocuments({ price: { $gt: Types.Decimal128.fromString("19.5") } });
    expect(byDecimal).toBe(1);
    const types = await Rich.aggregate<{ p: string; d: string; b: string }>([
      { $match: { _id: created._id } },
      { $project: { _id: 0, p: { $type: "$price" }, d: { $type: "$when" }, b: { $type: "$data" } } },
    ]);
    expect(types).toEqual([{ p: "decimal", d: "date", b: "binData" }]);
  });
});

describe("index synchronisation", () => {
  it("syncIndexes drops indexes not in the schema and creates the missing ones; listIndexes shows them", async () => {
    const schema = new Schema<IThing>({ a: Number, b: String });
    schema.index({ a: 1 });
    schema.index({ b: 1 }, { unique: true });
    const Thing = conn.model<IThing>("Thing", schema, "things");
    await Thing.init();
    await Thing.collection.createIndex({ stale: 1 });
    expect((await Thing.listIndexes()).map((ix) => ix.name).sort()).toEqual(["_id_", "a_1", "b_1", "stale_1"]);

    const dropped = await Thing.syncIndexes();
    expect(dropped).toEqual(["stale_1"]);
    const after = await Thing.listIndexes();
    expect(after.map((ix) => ({ name: ix.name, key: ix.key, unique: ix.unique })).sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      { name: "_id_", key: { _id: 1 }, unique: undefined },
      { name: "a_1", key: { a: 1 }, unique: undefined },
      { name: "b_1", key: { b: 1 }, unique: true },
    ]);
    expect(await Thing.syncIndexes()).toEqual([]);

    await Thing.collection.dropIndex("a_1");
    expect(await Thing.syncIndexes()).toEqual([]);
    expect((await Thing.listIndexes()).map((ix) => ix.name).sort()).toEqual(["_id_", "a_1", "b_1"]);

    await Thing.create({ a: 1, b: "same" });
    await expect(Thing.create({ a: 2, b: "same" })).rejects.toMatchObject({ code: 11000 });
  });
});
