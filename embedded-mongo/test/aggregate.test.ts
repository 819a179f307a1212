// Aggregation stages and accumulators, per-day grouping of Date timestamps across month and year boundaries,
// and aggregation over empty or missing collections.
import type { Collection, Document } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, openTestServer } from "./harness";

interface Sale {
  _id: number;
  item: string;
  price: number;
  qty: number;
  date: Date;
  tags?: string[] | string | null;
  store: string;
}

const sales: Sale[] = [
  { _id: 1, item: "abc", price: 10, qty: 2, date: new Date("2024-01-01T08:00:00Z"), tags: ["a", "b"], store: "x" },
  { _id: 2, item: "jkl", price: 20, qty: 1, date: new Date("2024-01-01T09:00:00Z"), tags: ["b"], store: "y" },
  { _id: 3, item: "xyz", price: 5, qty: 10, date: new Date("2024-01-15T09:00:00Z"), tags: [], store: "x" },
  { _id: 4, item: "xyz", price: 5, qty: 20, date: new Date("2024-02-03T09:05:00Z"), store: "y" },
  { _id: 5, item: "abc", price: 10, qty: 10, date: new Date("2024-02-15T14:12:00Z"), tags: null, store: "x" },
  { _id: 6, item: "def", price: 7.5, qty: 5, date: new Date("2024-02-15T14:12:12Z"), tags: "c", store: "z" },
];

interface Ev {
  _id: string;
  at: Date;
  amount: number;
}

const events: Ev[] = [
  { _id: "e1", at: new Date("2023-12-31T23:30:00Z"), amount: 5 },
  { _id: "e2", at: new Date("2023-12-31T00:00:00Z"), amount: 1 },
  { _id: "e3", at: new Date("2024-01-01T00:00:00Z"), amount: 10 },
  { _id: "e4", at: new Date("2024-01-01T23:59:59.999Z"), amount: 20 },
  { _id: "e5", at: new Date("2024-01-31T23:59:59.999Z"), amount: 3 },
  { _id: "e6", at: new Date("2024-02-01T00:00:00.000Z"), amount: 4 },
  { _id: "e7", at: new Date("2024-02-29T12:00:00Z"), amount: 7 },
  { _id: "e8", at: new Date("2024-03-01T00:00:00.001Z"), amount: 8 },
  { _id: "e9", at: new Date("2024-02-29T00:00:00Z"), amount: 2 },
];

let server: TestServer;
let salesColl: Collection<Sale>;
let eventsColl: Collection<Ev>;

beforeAll(async () => {
  server = await openTestServer();
  salesColl = server.db.collection<Sale>("sales");
  await salesColl.insertMany(structuredClone(sales));
  eventsColl = server.db.collection<Ev>("events");
  await eventsColl.insertMany(structuredClone(events));
  await server.db.collection<{ _id: string; desc: string }>("catalog").insertMany([
    { _id: "abc", desc: "A" },
    { _id: "xyz", desc: "X" },
    { _id: "jkl", desc: "J" },
  ]);
  await server.db.collection<{ _id: string; city: string }>("stores").insertMany([
    { _id: "x", city: "Oslo" },
    { _id: "y", city: "Bergen" },
    { _id: "w", city: "Tromsø" },
  ]);
});
afterAll(async () => {
  await server.close();
});

describe("$match, $group and accumulators", () => {
  it("groups with sum, avg, min, max, push, addToSet, first, last and count", async () => {
    const out = await salesColl
      .aggregate<Document>([
        { $sort: { date: 1 } },
        {
          $group: {
            _id: "$item",
            total: { $sum: { $multiply: ["$price", "$qty"] } },
            avgQty: { $avg: "$qty" },
            minQty: { $min: "$qty" },
            maxQty: { $max: "$qty" },
            qtys: { $push: "$qty" },
            stores: { $addToSet: "$store" },
            first: { $first: "$date" },
            last: { $last: "$date" },
            n: { $count: {} },
            docs: { $sum: 1 },
          },
        },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    const normalized = out.map((g) => ({ ...g, stores: [...(g.stores as string[])].sort() }));
    expect(normalized).toEqual([
      {
        _id: "abc",
        total: 120,
        avgQty: 6,
        minQty: 2,
        maxQty: 10,
        qtys: [2, 10],
        stores: ["x"],
        first: new Date("2024-01-01T08:00:00Z"),
        last: new Date("2024-02-15T14:12:00Z"),
        n: 2,
        docs: 2,
      },
      {
        _id: "def",
        total: 37.5,
        avgQty: 5,
        minQty: 5,
        maxQty: 5,
        qtys: [5],
        stores: ["z"],
        first: new Date("2024-02-15T14:12:12Z"),
        last: new Date("2024-02-15T14:12:12Z"),
        n: 1,
        docs: 1,
      },
      {
        _id: "jkl",
        total: 20,
        avgQty: 1,
        minQty: 1,
        maxQty: 1,
        qtys: [1],
        stores: ["y"],
        first: new Date("2024-01-01T09:00:00Z"),
        last: new Date("2024-01-01T09:00:00Z"),
        n: 1,
        docs: 1,
      },
      {
        _id: "xyz",
        total: 150,
        avgQty: 15,
        minQty: 10,
        maxQty: 20,
        qtys: [10, 20],
        stores: ["x", "y"],
        first: new Date("2024-01-15T09:00:00Z"),
        last: new Date("2024-02-03T09:05:00Z"),
        n: 2,
        docs: 2,
      },
    ]);
  });

  it("groups everything under _id null and ignores non-numeric and missing values", async () => {
    const out = await salesColl
      .aggregate([
        {
          $group: {
            _id: null,
            qty: { $sum: "$qty" },
            avgQty: { $avg: "$qty" },
            sumText: { $sum: "$item" },
            avgMissing: { $avg: "$nope" },
            maxMissing: { $max: "$nope" },
            minPrice: { $min: "$price" },
            count: { $sum: 1 },
          },
        },
      ])
      .toArray();
    expect(out).toEqual([
      { _id: null, qty: 48, avgQty: 8, sumText: 0, avgMissing: null, maxMissing: null, minPrice: 5, count: 6 },
    ]);
  });

  it("filters with $match before grouping on a compound key", async () => {
    const out = await salesColl
      .aggregate([
        { $match: { qty: { $gte: 5 }, store: { $in: ["x", "y"] } } },
        { $group: { _id: { store: "$store", month: { $month: "$date" } }, qty: { $sum: "$qty" } } },
        { $sort: { "_id.store": 1, "_id.month": 1 } },
      ])
      .toArray();
    expect(out).toEqual([
      { _id: { store: "x", month: 1 }, qty: 10 },
      { _id: { store: "x", month: 2 }, qty: 10 },
      { _id: { store: "y", month: 2 }, qty: 20 },
    ]);
  });

  it("puts _id first in $group output, followed by the accumulators in order", async () => {
    const [doc] = await salesColl.aggregate([{ $group: { _id: "$store", z: { $sum: 1 }, a: { $max: "$qty" } } }, { $limit: 1 }]).toArray();
    expect(Object.keys(doc)).toEqual(["_id", "z", "a"]);
  });
});

describe("shaping stages", () => {
  it("$sort, $skip and $limit page through documents", async () => {
    const out = await salesColl.aggregate([{ $sort: { price: -1, _id: 1 } }, { $skip: 1 }, { $limit: 3 }, { $project: { _id: 1 } }]).toArray();
    expect(out).toEqual([{ _id: 1 }, { _id: 5 }, { _id: 6 }]);
  });

  it("$project includes, excludes and computes fields", async () => {
    const out = await salesColl
      .aggregate([
        { $match: { _id: { $lte: 2 } } },
        { $sort: { _id: 1 } },
        { $project: { _id: 0, item: 1, total: { $multiply: ["$price", "$qty"] }, "d.y": { $year: "$date" }, label: { $concat: ["$item", "-", "$store"] } } },
      ])
      .toArray();
    expect(out).toEqual([
      { item: "abc", total: 20, d: { y: 2024 }, label: "abc-x" },
      { item: "jkl", total: 20, d: { y: 2024 }, label: "jkl-y" },
    ]);
    const excluded = await salesColl.aggregate([{ $match: { _id: 4 } }, { $project: { date: 0, store: 0, price: 0 } }]).toArray();
    expect(excluded).toEqual([{ _id: 4, item: "xyz", qty: 20 }]);
  });

  it("$project keeps _id as the first field", async () => {
    const [doc] = await salesColl.aggregate([{ $match: { _id: 2 } }, { $project: { t: { $type: "$qty" }, item: 1 } }]).toArray();
    expect(doc).toEqual({ _id: 2, item: "jkl", t: "int" });
    expect(Object.keys(doc)[0]).toBe("_id");
  });

  it("$addFields and $set add computed and nested fields; $unset removes fields", async () => {
    const out = await salesColl
      .aggregate([
        { $match: { _id: { $in: [3, 6] } } },
        { $sort: { _id: 1 } },
        { $addFields: { total: { $multiply: ["$price", "$qty"] }, "meta.src": "agg" } },
        { $set: { big: { $gte: ["$total", 40] }, qty: { $add: ["$qty", 1] } } },
        { $unset: ["date", "tags", "price"] },
      ])
      .toArray();
    expect(out).toEqual([
      { _id: 3, item: "xyz", qty: 11, store: "x", total: 50, meta: { src: "agg" }, big: true },
      { _id: 6, item: "def", qty: 6, store: "z", total: 37.5, meta: { src: "agg" }, big: false },
    ]);
    expect(Object.keys(out[0])).toEqual(["_id", "item", "qty", "store", "total", "meta", "big"]);
  });

  it("$replaceRoot promotes an embedded or merged document", async () => {
    const out = await salesColl
      .aggregate([
        { $match: { _id: { $in: [1, 2] } } },
        { $sort: { _id: 1 } },
        { $project: { sub: { item: "$item", qty: "$qty" }, store: 1 } },
        { $replaceRoot: { newRoot: { $mergeObjects: [{ id: "$_id", store: "$store" }, "$sub"] } } },
      ])
      .toArray();
    expect(out).toEqual([
      { id: 1, store: "x", item: "abc", qty: 2 },
      { id: 2, store: "y", item: "jkl", qty: 1 },
    ]);
    const plain = await salesColl.aggregate([{ $match: { _id: 1 } }, { $replaceRoot: { newRoot: { only: "$item" } } }]).toArray();
    expect(plain).toEqual([{ only: "abc" }]);
  });

  it("$replaceRoot fails on a value that is not a document", async () => {
    await expect(salesColl.aggregate([{ $replaceRoot: { newRoot: "$item" } }]).toArray()).rejects.toMatchObject({
      code: 40228,
    });
  });

  it("$count counts the documents reaching it", async () => {
    expect(await salesColl.aggregate([{ $match: { store: "x" } }, { $count: "n" }]).toArray()).toEqual([{ n: 3 }]);
    expect(await salesColl.aggregate([{ $match: { store: "none" } }, { $count: "n" }]).toArray()).toEqual([]);
  });
});

describe("$unwind", () => {
  it("unwinds arrays, treating a scalar as a one-element array and dropping empty, null and missing", async () => {
    const out = await salesColl
      .aggregate([{ $unwind: { path: "$tags", includeArrayIndex: "i" } }, { $project: { tags: 1, i: 1 } }, { $sort: { _id: 1, i: 1 } }])
      .toArray();
    expect(out).toEqual([
      { _id: 1, tags: "a", i: 0 },
      { _id: 1, tags: "b", i: 1 },
      { _id: 2, tags: "b", i: 0 },
      { _id: 6, tags: "c", i: null },
    ]);
    const short = await salesColl.aggregate([{ $unwind: "$tags" }, { $group: { _id: "$tags", n: { $sum: 1 } } }, { $sort: { _id: 1 } }]).toArray();
    expect(short).toEqual([
      { _id: "a", n: 1 },
      { _id: "b", n: 2 },
      { _id: "c", n: 1 },
    ]);
  });

  it("keeps documents with null, missing or empty arrays with preserveNullAndEmptyArrays", async () => {
    const out = await salesColl
      .aggregate([
        { $unwind: { path: "$tags", preserveNullAndEmptyArrays: true, includeArrayIndex: "i" } },
        { $project: { tags: 1, i: 1 } },
        { $sort: { _id: 1, i: 1 } },
      ])
      .toArray();
    expect(out).toEqual([
      { _id: 1, tags: "a", i: 0 },
      { _id: 1, tags: "b", i: 1 },
      { _id: 2, tags: "b", i: 0 },
      { _id: 3, i: null },
      { _id: 4, i: null },
      { _id: 5, tags: null, i: null },
      { _id: 6, tags: "c", i: null },
    ]);
    expect(out[3]).not.toHaveProperty("tags");
    expect(out[4]).not.toHaveProperty("tags");
  });
});

describe("$facet and $lookup", () => {
  it("$facet runs sub-pipelines over the same input into one document", async () => {
    const out = await salesColl
      .aggregate([
        {
          $facet: {
            byStore: [{ $group: { _id: "$store", n: { $sum: 1 } } }, { $sort: { _id: 1 } }],
            top: [{ $sort: { qty: -1 } }, { $limit: 1 }, { $project: { _id: 1 } }],
            total: [{ $count: "n" }],
            none: [{ $match: { qty: { $gt: 1000 } } }],
          },
        },
      ])
      .toArray();
    expect(out).toEqual([
      {
        byStore: [
          { _id: "x", n: 3 },
          { _id: "y", n: 2 },
          { _id: "z", n: 1 },
        ],
        top: [{ _id: 4 }],
        total: [{ n: 6 }],
        none: [],
      },
    ]);
  });

  it("$lookup joins on local and foreign fields", async () => {
    const out = await salesColl
      .aggregate([
        { $lookup: { from: "catalog", localField: "item", foreignField: "_id", as: "info" } },
        { $project: { item: 1, info: 1 } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(out).toEqual([
      { _id: 1, item: "abc", info: [{ _id: "abc", desc: "A" }] },
      { _id: 2, item: "jkl", info: [{ _id: "jkl", desc: "J" }] },
      { _id: 3, item: "xyz", info: [{ _id: "xyz", desc: "X" }] },
      { _id: 4, item: "xyz", info: [{ _id: "xyz", desc: "X" }] },
      { _id: 5, item: "abc", info: [{ _id: "abc", desc: "A" }] },
      { _id: 6, item: "def", info: [] },
    ]);
  });

  it("$lookup matches every element of an array local field", async () => {
    const bundles = server.db.collection<{ _id: string; items: string[] }>("bundles");
    await bundles.insertOne({ _id: "b1", items: ["abc", "jkl", "nope"] });
    const [doc] = await bundles.aggregate([{ $lookup: { from: "catalog", localField: "items", foreignField: "_id", as: "found" } }]).toArray();
    expect(doc._id).toBe("b1");
    expect(doc.items).toEqual(["abc", "jkl", "nope"]);
    const found = [...(doc.found as unknown[])].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(found).toEqual([
      { _id: "abc", desc: "A" },
      { _id: "jkl", desc: "J" },
    ]);
  });

  it("$lookup with let and a pipeline", async () => {
    const out = await server.db
      .collection("stores")
      .aggregate([
        {
          $lookup: {
            from: "sales",
            let: { sid: "$_id" },
            pipeline: [{ $match: { $expr: { $eq: ["$store", "$$sid"] } } }, { $sort: { _id: -1 } }, { $project: { _id: 1, qty: 1 } }],
            as: "sold",
          },
        },
        { $addFields: { totalQty: { $sum: "$sold.qty" } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(out).toEqual([
      { _id: "w", city: "Tromsø", sold: [], totalQty: 0 },
      {
        _id: "x",
        city: "Oslo",
        sold: [
          { _id: 5, qty: 10 },
          { _id: 3, qty: 10 },
          { _id: 1, qty: 2 },
        ],
        totalQty: 22,
      },
      {
        _id: "y",
        city: "Bergen",
        sold: [
          { _id: 4, qty: 20 },
          { _id: 2, qty: 1 },
        ],
        totalQty: 21,
      },
    ]);
  });

  it("$lookup from a missing collection yields empty arrays", async () => {
    const out = await salesColl
      .aggregate([{ $match: { _id: 1 } }, { $lookup: { from: "no_such_coll", localField: "item", foreignField: "k", as: "x" } }, { $project: { x: 1 } }])
      .toArray();
    expect(out).toEqual([{ _id: 1, x: [] }]);
  });
});

describe("grouping Date timestamps by UTC day", () => {
  const perDay = [
    { _id: "2023-12-31", total: 6, n: 2 },
    { _id: "2024-01-01", total: 30, n: 2 },
    { _id: "2024-01-31", total: 3, n: 1 },
    { _id: "2024-02-01", total: 4, n: 1 },
    { _id: "2024-02-29", total: 9, n: 2 },
    { _id: "2024-03-01", total: 8, n: 1 },
  ];

  it("$dateToString with %Y-%m-%d gives exact per-day sums", async () => {
    const out = await eventsColl
      .aggregate([
        { $group: { _id: { $dateToString: { format: "%Y-%m-%d", date: "$at" } }, total: { $sum: "$amount" }, n: { $sum: 1 } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(out).toEqual(perDay);
  });

  it("$dateTrunc with unit day gives midnight UTC dates with the same sums", async () => {
    const out = await eventsColl
      .aggregate([
        { $group: { _id: { $dateTrunc: { date: "$at", unit: "day" } }, total: { $sum: "$amount" }, n: { $sum: 1 } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(out).toEqual(perDay.map((d) => ({ ...d, _id: new Date(`${d._id}T00:00:00.000Z`) })));
  });

  it("$dateTrunc with unit month groups across the year boundary", async () => {
    const out = await eventsColl
      .aggregate([{ $group: { _id: { $dateTrunc: { date: "$at", unit: "month" } }, total: { $sum: "$amount" } } }, { $sort: { _id: 1 } }])
      .toArray();
    expect(out).toEqual([
      { _id: new Date("2023-12-01T00:00:00Z"), total: 6 },
      { _id: new Date("2024-01-01T00:00:00Z"), total: 33 },
      { _id: new Date("2024-02-01T00:00:00Z"), total: 13 },
      { _id: new Date("2024-03-01T00:00:00Z"), total: 8 },
    ]);
  });

  it("$dateToString honours a fixed timezone offset", async () => {
    const out = await eventsColl
      .aggregate([
        { $group: { _id: { $dateToString: { format: "%Y-%m-%d", date: "$at", timezone: "+01:00" } }, total: { $sum: "$amount" } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(out).toEqual([
      { _id: "2023-12-31", total: 1 },
      { _id: "2024-01-01", total: 15 },
      { _id: "2024-01-02", total: 20 },
      { _id: "2024-02-01", total: 7 },
      { _id: "2024-02-29", total: 9 },
      { _id: "2024-03-01", total: 8 },
    ]);
  });

  it("formats full timestamps and extracts date parts in UTC", async () => {
    const out = await eventsColl
      .aggregate([
        { $match: { _id: { $in: ["e4", "e8"] } } },
        { $sort: { _id: 1 } },
        {
          $project: {
            s: { $dateToString: { format: "%Y-%m-%dT%H:%M:%S.%LZ", date: "$at" } },
            y: { $year: "$at" },
            m: { $month: "$at" },
            d: { $dayOfMonth: "$at" },
            h: { $hour: "$at" },
            ms: { $millisecond: "$at" },
          },
        },
      ])
      .toArray();
    expect(out).toEqual([
      { _id: "e4", s: "2024-01-01T23:59:59.999Z", y: 2024, m: 1, d: 1, h: 23, ms: 999 },
      { _id: "e8", s: "2024-03-01T00:00:00.001Z", y: 2024, m: 3, d: 1, h: 0, ms: 1 },
    ]);
  });
});

describe("empty and missing collections", () => {
  it("returns [] for pipelines over a missing collection", async () => {
    const missing = server.db.collection("never_created_agg");
    expect.soft(await missing.aggregate([]).toArray()).toEqual([]);
    expect.soft(await missing.aggregate([{ $match: { a: 1 } }]).toArray()).toEqual([]);
    expect.soft(await missing.aggregate([{ $group: { _id: null, n: { $sum: 1 } } }]).toArray()).toEqual([]);
    expect.soft(await missing.aggregate([{ $count: "n" }]).toArray()).toEqual([]);
    expect.soft(await missing.aggregate([{ $unwind: "$x" }, { $sort: { x: 1 } }]).toArray()).toEqual([]);
  });

  it("returns [] for pipelines over an empty collection, but one document from $facet", async () => {
    await server.db.createCollection("empty_agg");
    const empty = server.db.collection("empty_agg");
    expect.soft(await empty.aggregate([{ $group: { _id: "$k", total: { $sum: "$v" } } }]).toArray()).toEqual([]);
    expect.soft(await empty.aggregate([{ $count: "n" }]).toArray()).toEqual([]);
    expect.soft(await empty.aggregate([{ $facet: { c: [{ $count: "n" }], all: [{ $match: {} }] } }]).toArray()).toEqual([{ c: [], all: [] }]);
  });
});
