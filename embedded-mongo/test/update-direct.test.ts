// `$set` and `$inc` on plain paths are applied without mingo (update.ts, applyPlain): each case here is run both
// ways, and the direct result must equal mingo's field for field and in key order; what the direct path leaves to
// mingo must come back untouched.
import { describe, expect, it } from "vitest";
import { Long, ObjectId } from "../src/bson";
import { update as mingoUpdate } from "../src/query/mingo";
import { applyPlain } from "../src/query/update";
import { type Doc, cloneDeep } from "../src/storage/paths";

/** A document's fields and the fields of its embedded documents, in order, with their values. */
const shape = (v: unknown): unknown => (v !== null && typeof v === "object" && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype ? Object.entries(v).map(([k, x]) => [k, shape(x)]) : v);

const id = new ObjectId("64b7f0c2a1b2c3d4e5f60718");
const start: Doc = { _id: id, n: 10, f: 1.5, zero: 0, neg: -0, s: "text", o: { p: 1, q: { r: 2 } }, d: new Date(0), arr: [{ x: 1 }] };

describe("$set and $inc applied directly", () => {
  const direct: Array<[string, string, unknown]> = [
    ["$inc", "n", 3],
    ["$inc", "n", -0.25],
    ["$inc", "f", 2],
    ["$inc", "zero", 5],
    ["$inc", "neg", 1],
    ["$inc", "missing", 7],
    ["$inc", "o.p", 1],
    ["$inc", "o.q.r", -2],
    ["$inc", "o.new", 4],
    ["$inc", "fresh.deep.counter", 1],
    ["$inc", "flushSeq.w-1a2b", 12],
    ["$set", "s", "changed"],
    ["$set", "s", "text"],
    ["$set", "n", "now a string"],
    ["$set", "o", { z: 1, a: [1, { b: 2 }] }],
    ["$set", "o.q", null],
    ["$set", "o.q.t", new Date(5)],
    ["$set", "brand.new.path", { x: [1, 2] }],
    ["$set", "d", new Date(9)],
    ["$set", "idCopy", id],
    ["$set", "constructor.name", "field"],
  ];
  for (const [op, path, value] of direct) {
    it(`${op} ${path} gives mingo's document`, () => {
      const ours = cloneDeep(start);
      const theirs = cloneDeep(start);
      expect(applyPlain(ours, op, path, value)).toBe(true);
      mingoUpdate(theirs, { [op]: { [path]: value } }, undefined, undefined);
      if (path.startsWith("constructor.")) {
        // mingo reaches Object's own `constructor` on the way; a stored document only has the field asked for.
        expect(ours.constructor).toEqual({ name: "field" });
        return;
      }
      expect(shape(ours)).toEqual(shape(theirs));
    });
  }

  it("copies a $set value rather than sharing it", () => {
    const value = { list: [1, 2], inner: { k: 1 } };
    const doc = cloneDeep(start);
    applyPlain(doc, "$set", "copy", value);
    value.list.push(3);
    value.inner.k = 2;
    expect(doc.copy).toEqual({ list: [1, 2], inner: { k: 1 } });
  });

  const toMingo: Array<[string, string, unknown, string]> = [
    ["$inc", "s", 1, "a string target"],
    ["$inc", "n", "1", "a string amount"],
    ["$inc", "n", Long.fromNumber(1), "a Long amount"],
    ["$inc", "n", Number.NaN, "a NaN amount"],
    ["$inc", "nan", 1, "a NaN target"],
    ["$inc", "d", 1, "a date target"],
    ["$inc", "arr.x", 1, "an array on the way"],
    ["$set", "arr.0.x", 2, "a numeric name"],
    ["$set", "fresh.0", 2, "a numeric name under a missing field"],
    ["$set", "arr.$.x", 2, "the positional operator"],
    ["$set", "arr.$[].x", 2, "the all-elements operator"],
    ["$set", "s.inner", 2, "a scalar on the way"],
    ["$set", "d.inner", 2, "a date on the way"],
    ["$set", "__proto__.polluted", 1, "__proto__"],
    ["$unset", "n", "", "another operator"],
    ["$max", "n", 20, "another operator"],
  ];
  for (const [op, path, value, why] of toMingo) {
    it(`leaves ${op} ${path} to mingo (${why}), the document untouched`, () => {
      const doc = cloneDeep({ ...start, nan: Number.NaN });
      const before = shape(cloneDeep(doc));
      expect(applyPlain(doc, op, path, value)).toBe(false);
      expect(shape(doc)).toEqual(before);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }
});
