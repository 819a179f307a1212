// mingo, configured to decide like MongoDB: equality, comparisons, $in, $type and $all use BSON semantics (field
// order matters in documents, numbers compare across int/long/double/decimal, type brackets, array elements) and a
// few pipeline stages get MongoDB's edge cases ($count of nothing, $project's _id first, $lookup over arrays).
import { Aggregator as MingoAggregator } from "mingo/aggregator";
import { Context, evalExpr } from "mingo/core";
import { Lazy } from "mingo/lazy";
import * as accumulatorOperators from "mingo/operators/accumulator";
import * as expressionOperators from "mingo/operators/expression";
import * as pipelineOperators from "mingo/operators/pipeline";
import * as projectionOperators from "mingo/operators/projection";
import * as queryOperators from "mingo/operators/query";
import * as windowOperators from "mingo/operators/window";
import { Query as MingoQuery } from "mingo/query";
import type { AnyObject, Options } from "mingo/types";
import { update as mingoUpdate } from "mingo/updater";
import { CommandError } from "../errors";
import { bsonTypeName, encodeValue, typeTag } from "../storage/keystring";
import { type Doc, cloneDeep, isDocument, pathValues } from "../storage/paths";

type Predicate = (doc: Doc) => boolean;
type QueryOperator = (selector: string, value: unknown, options: Options) => Predicate;

/**
 * The values a query condition on `path` is tested against, as MongoDB does: arrays met on the way are walked
 * element by element, and an array at the end counts both as itself and as each of its elements.
 */
export function matchValues(doc: Doc, parts: string[]): unknown[] {
  const out: unknown[] = [];
  const walk = (value: unknown, i: number): void => {
    if (i === parts.length) {
      out.push(value);
      if (Array.isArray(value)) for (const el of value) out.push(el);
      return;
    }
    const part = parts[i];
    if (Array.isArray(value)) {
      if (/^\d+$/.test(part) && Number(part) < value.length) walk(value[Number(part)], i + 1);
      for (const el of value) if (isDocument(el)) walk(el[part], i + 1);
      return;
    }
    if (isDocument(value)) walk(value[part], i + 1);
    else out.push(undefined);
  };
  walk(doc, 0);
  if (out.length === 0) out.push(undefined);
  return out;
}

function bsonEquals(a: unknown, b: unknown): boolean {
  if (typeof a === "string" && typeof b === "string") return a === b;
  if (typeof a === "number" && typeof b === "number") return a === b || (Number.isNaN(a) && Number.isNaN(b));
  return encodeValue(a) === encodeValue(b);
}

const fieldOperator =
  (build: (value: unknown, options: Options, selector: string) => (values: unknown[]) => boolean): QueryOperator =>
  (selector, value, options) => {
    const parts = selector.split(".");
    const test = build(value, options, selector);
    return (doc) => test(matchValues(doc, parts));
  };

const $eq = fieldOperator((value) => (values) => values.some((v) => bsonEquals(v, value)));
const $ne = fieldOperator((value) => (values) => !values.some((v) => bsonEquals(v, value)));

function inPredicate(list: unknown, op: string): (values: unknown[]) => boolean {
  if (!Array.isArray(list)) throw new CommandError(2, `${op} needs an array`);
  const regexes = list.filter((v): v is RegExp => v instanceof RegExp);
  const encoded = new Set(list.filter((v) => !(v instanceof RegExp)).map((v) => encodeValue(v)));
  return (values) =>
    values.some(
      (v) => encoded.has(encodeValue(v)) || (typeof v === "string" && regexes.some((r) => r.test(v))),
    );
}

const $in = fieldOperator((list) => inPredicate(list, "$in"));
const $nin = fieldOperator((list) => {
  const inList = inPredicate(list, "$nin");
  return (values) => !inList(values);
});

function comparison(accept: (order: number) => boolean): QueryOperator {
  return fieldOperator((value) => {
    const tag = typeTag(value);
    const enc = encodeValue(value);
    return (values) =>
      values.some((v) => {
        if (typeTag(v) !== tag) return false;
        const e = encodeValue(v);
        return accept(e < enc ? -1 : e > enc ? 1 : 0);
      });
  });
}

const NUMBER_TYPES = ["double", "int", "long", "decimal"];
const TYPE_CODES: Record<number, string> = {
  1: "double",
  2: "string",
  3: "object",
  4: "array",
  5: "binData",
  6: "undefined",
  7: "objectId",
  8: "bool",
  9: "date",
  10: "null",
  11: "regex",
  13: "javascript",
  14: "symbol",
  16: "int",
  17: "timestamp",
  18: "long",
  19: "decimal",
  [-1]: "minKey",
  127: "maxKey",
};

const $type = fieldOperator((spec) => {
  const wanted = new Set<string>();
  for (const t of Array.isArray(spec) ? spec : [spec]) {
    const name = typeof t === "number" ? TYPE_CODES[t] : t;
    if (typeof name !== "string") throw new CommandError(2, `Invalid numerical type code: ${String(t)}`);
    if (name === "number") NUMBER_TYPES.forEach((n) => wanted.add(n));
    else wanted.add(name);
  }
  return (values) => values.some((v) => v !== undefined && wanted.has(bsonTypeName(v)));
});

const $all: QueryOperator = (selector, list, options) => {
  if (!Array.isArray(list)) throw new CommandError(2, "$all needs an array");
  const parts = selector.split(".");
  const tests = list.map((item): Predicate => {
    if (isDocument(item) && "$elemMatch" in item) {
      const q = new MingoQuery({ [selector]: { $elemMatch: item.$elemMatch } }, options);
      return (doc) => q.test(doc);
    }
    if (item instanceof RegExp) return (doc) => matchValues(doc, parts).some((v) => typeof v === "string" && item.test(v));
    return (doc) => matchValues(doc, parts).some((v) => bsonEquals(v, item));
  });
  return (doc) => tests.length > 0 && tests.every((t) => t(doc));
};

// ---- pipeline stages with MongoDB's edge cases --------------------------------------------------------------

type Stage = (coll: ReturnType<typeof Lazy>, expr: unknown, options: Options) => ReturnType<typeof Lazy>;
const builtin = pipelineOperators as unknown as Record<string, Stage>;

const idFirst = (doc: Doc): Doc => {
  if (!("_id" in doc) || Object.keys(doc)[0] === "_id") return doc;
  const { _id, ...rest } = doc;
  return { _id, ...rest };
};

const $project: Stage = (coll, expr, options) => builtin.$project(coll, expr, options).map((d) => idFirst(d as Doc));

const $count: Stage = (coll, expr, options) => {
  const docs = coll.collect() as Doc[];
  if (docs.length === 0) return Lazy([]);
  return builtin.$count(Lazy(docs), expr, options);
};

function replaceRoot(newRoot: unknown, options: Options, stage: string): Stage {
  return (coll) =>
    coll.map((obj) => {
      const out = evalExpr(obj, newRoot, options);
      if (!isDocument(out)) {
        throw new CommandError(
          40228,
          `'${stage === "$replaceWith" ? "replacement document" : "newRoot"}' must evaluate to an object, but resulting value was: ${JSON.stringify(out) ?? "MISSING"}. Type of resulting value: '${bsonTypeName(out)}'.`,
        );
      }
      return out;
    });
}

const $replaceRoot: Stage = (coll, expr, options) =>
  replaceRoot((expr as { newRoot: unknown }).newRoot, options, "$replaceRoot")(coll, expr, options);
const $replaceWith: Stage = (coll, expr, options) => replaceRoot(expr, options, "$replaceWith")(coll, expr, options);

/** Equality $lookup with BSON equality; the pipeline forms go to mingo. */
const $lookup: Stage = (coll, expr, options) => {
  const spec = expr as { from?: unknown; localField?: string; foreignField?: string; as: string; pipeline?: unknown; let?: unknown };
  if (spec.pipeline !== undefined || typeof spec.localField !== "string" || typeof spec.foreignField !== "string" || typeof spec.from !== "string") {
    return builtin.$lookup(coll, expr, options);
  }
  const resolver = options.collectionResolver;
  const foreign = (resolver ? resolver(spec.from) : []) as Doc[];
  const byKey = new Map<string, Doc[]>();
  for (const doc of foreign) {
    for (const v of new Set(pathValues(doc, spec.foreignField).map((x) => encodeValue(x)))) {
      const list = byKey.get(v) ?? [];
      list.push(doc);
      byKey.set(v, list);
    }
  }
  const localField = spec.localField;
  return coll.map((obj) => {
    const seen = new Set<Doc>();
    for (const v of pathValues(obj as Doc, localField)) for (const d of byKey.get(encodeValue(v)) ?? []) seen.add(d);
    const joined = foreign.filter((d) => seen.has(d)).map((d) => cloneDeep(d));
    return { ...(obj as Doc), [spec.as]: joined };
  });
};

const $typeExpression = (obj: AnyObject, expr: unknown, options: Options) => {
  const v = evalExpr(obj, expr, options);
  return v === undefined ? "missing" : bsonTypeName(v);
};

const context = Context.init({
  accumulator: accumulatorOperators,
  expression: { ...expressionOperators, $type: $typeExpression } as never,
  pipeline: { ...pipelineOperators, $project, $count, $replaceRoot, $replaceWith, $lookup } as never,
  projection: projectionOperators,
  query: {
    ...queryOperators,
    $eq,
    $ne,
    $in,
    $nin,
    $gt: comparison((o) => o > 0),
    $gte: comparison((o) => o >= 0),
    $lt: comparison((o) => o < 0),
    $lte: comparison((o) => o <= 0),
    $type,
    $all,
  } as never,
  window: windowOperators,
});

/** Server-side JavaScript ($where, $function, $accumulator) is not supported. */
export const MINGO_OPTIONS = { scriptEnabled: false, context } as Partial<Options>;

export class Query extends MingoQuery {
  constructor(condition: AnyObject, options: Partial<Options> = {}) {
    super(condition, { ...MINGO_OPTIONS, ...options });
  }
}

export class Aggregator extends MingoAggregator {
  constructor(pipeline: AnyObject[], options: Partial<Options> = {}) {
    super(pipeline, { ...MINGO_OPTIONS, ...options });
  }
}

export function update(
  obj: AnyObject,
  modifier: AnyObject,
  arrayFilters: AnyObject[] | undefined,
  condition: AnyObject | undefined,
): string[] {
  return mingoUpdate(obj, modifier, arrayFilters, condition, { cloneMode: "deep", queryOptions: MINGO_OPTIONS });
}
