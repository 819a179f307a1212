// A request log bucket's columns: every field of every log reads back as it was added, strings are kept once per
// bucket, and the builder refuses what the format cannot hold.
import { BSON, Binary } from "mongodb";
import { Types } from "mongoose";
import { describe, expect, it } from "vitest";
import { REQUEST_LOG_BUCKET_MAX, RequestLogBucketBuilder, type RequestLogBucketDoc, RequestLogBucketView, type RequestLogDoc } from "#models/request-log.ts";

const tenant = new Types.ObjectId();

function logs(n: number): RequestLogDoc[] {
  return Array.from({ length: n }, (_, i) => ({
    _id: new Types.ObjectId(),
    timestamp: new Date(Date.UTC(2026, 10, 30, 10) + i * 997),
    method: ["GET", "HEAD", "DELETE"][i % 3],
    // Every log its own path past the first few: up to the bucket's 250 distinct values.
    path: i < 5 ? "/same.png" : `/ïmg/${i}/${"x".repeat(i)}.png?q=ü`,
    status: [200, 206, 304, 404, 429, 502, 599][i % 7],
    cacheStatus: (["HIT", "MISS", "BYPASS", "ERROR"] as const)[i % 4],
    kind: (["asset", "api"] as const)[i % 2],
    bytes: [0, 10_240, 2 ** 40 + 3, 1][i % 4],
    durationMs: [0.125, 1234.5678, 0, 17][i % 4],
  }));
}

function build(entries: RequestLogDoc[]): RequestLogBucketDoc {
  const ids = Buffer.concat(entries.map((l) => l._id.id));
  const builder = new RequestLogBucketBuilder(entries.length, tenant);
  entries.forEach(({ _id, timestamp, ...log }, i) => builder.add(ids, i * 12, log, timestamp.getTime()));
  return builder.done();
}

describe("request log bucket columns", () => {
  it("reads back every field of 250 logs, from the built document and after a BSON round trip, with strings kept once", () => {
    // Out of time order, as the ingest route may give them.
    const entries = logs(REQUEST_LOG_BUCKET_MAX).reverse();
    const doc = build(entries);
    expect(doc).toMatchObject({
      _id: entries[0]._id,
      tenant,
      start: entries[entries.length - 1].timestamp,
      end: entries[0].timestamp,
      count: 250,
      methods: ["GET", "DELETE", "HEAD"],
      cacheStatuses: ["MISS", "HIT", "ERROR", "BYPASS"],
      kinds: ["api", "asset"],
    });
    expect(new Set(doc.statusValues)).toEqual(new Set([200, 206, 304, 404, 429, 502, 599]));
    expect(doc.statusValues).toHaveLength(7);
    expect(doc.paths).toHaveLength(246);
    expect(doc.paths.filter((p) => p === "/same.png")).toHaveLength(1);
    for (const column of ["ids", "times", "statuses", "sizes", "durations", "methodIx", "pathIx", "cacheIx", "kindIx"] as const) {
      expect(Buffer.isBuffer(doc[column]), column).toBe(true);
    }

    const read = (d: RequestLogBucketDoc) => {
      const view = new RequestLogBucketView(d);
      return Array.from({ length: view.length }, (_, i) => view.logAt(i));
    };
    expect(read(doc)).toEqual(entries);
    // As the driver hands it back: binary fields as BSON Binary, views into the reply's bytes at any offset.
    const stored = BSON.deserialize(BSON.serialize({ pad: "odd", doc }), { promoteBuffers: false }).doc as RequestLogBucketDoc;
    expect(stored.times).toBeInstanceOf(Binary);
    expect(read(stored)).toEqual(entries);
    const view = new RequestLogBucketView(stored);
    expect([view.timeAt(3), view.statusAt(3), view.idHexAt(3), view.stringAt("path", 3)]).toEqual([
      entries[3].timestamp.getTime(),
      entries[3].status,
      entries[3]._id.toHexString(),
      entries[3].path,
    ]);
  });

  it("stores a log's fields as fixed little-endian bytes and one-byte indexes into the bucket's distinct values", () => {
    const id = new Types.ObjectId("6a5b4c3d2e1f0a9b8c7d6e5f");
    const builder = new RequestLogBucketBuilder(2, tenant);
    const log = { method: "HEAD", path: "/a.png", status: 206, cacheStatus: "MISS" as const, kind: "api" as const, bytes: 1.5, durationMs: 2 };
    builder.add(id.id, 0, log, 1_000);
    builder.add(id.id, 0, { ...log, path: "/b.png", status: 404 }, 256);
    const doc = builder.done();
    const hex = (b: unknown) => (b as Buffer).toString("hex");
    expect({
      ids: hex(doc.ids),
      times: hex(doc.times),
      statuses: hex(doc.statuses),
      sizes: hex(doc.sizes),
      durations: hex(doc.durations),
      pathIx: hex(doc.pathIx),
      methodIx: hex(doc.methodIx),
      cacheIx: hex(doc.cacheIx),
      kindIx: hex(doc.kindIx),
      paths: doc.paths,
      statusValues: doc.statusValues,
      start: doc.start,
      end: doc.end,
    }).toEqual({
      ids: "6a5b4c3d2e1f0a9b8c7d6e5f".repeat(2),
      times: "0000000000408f40" + "0000000000007040",
      statuses: "ce00" + "9401",
      sizes: "000000000000f83f".repeat(2),
      durations: "0000000000000040".repeat(2),
      pathIx: "0001",
      methodIx: "0000",
      cacheIx: "0000",
      kindIx: "0000",
      paths: ["/a.png", "/b.png"],
      statusValues: [206, 404],
      start: new Date(256),
      end: new Date(1_000),
    });
  });

  it("refuses a bucket over 250 logs, a log past its capacity, a bucket not filled, and columns of the wrong length", () => {
    expect(() => new RequestLogBucketBuilder(REQUEST_LOG_BUCKET_MAX + 1, tenant)).toThrow(RangeError);
    expect(() => new RequestLogBucketBuilder(0, tenant)).toThrow(RangeError);
    const [one, two] = logs(2);
    const builder = new RequestLogBucketBuilder(1, tenant);
    expect(() => builder.done()).toThrow("the bucket holds 0 of its 1 logs");
    builder.add(one._id.id, 0, one, one.timestamp.getTime());
    expect(() => builder.add(two._id.id, 0, two, two.timestamp.getTime())).toThrow("the bucket is full");
    const doc = builder.done();
    expect(() => new RequestLogBucketView({ ...doc, count: 2 })).toThrow(`request log bucket ${doc._id}: ids does not match its 2 logs`);
    expect(() => new RequestLogBucketView({ ...doc, pathIx: Buffer.alloc(0) })).toThrow(`request log bucket ${doc._id}: pathIx does not match its 1 logs`);
    expect(() => new RequestLogBucketView({ ...doc, kindIx: Buffer.from([1]) })).toThrow(`request log bucket ${doc._id}: kindIx does not match its 1 logs`);
  });
});
