// Query execution over one collection: picks the _id lookup, an index (equality prefix, one range, sort order)
// or a collection scan for the candidates, then lets mingo decide every match. An index only narrows the
// candidates; it never decides a match, so a plan can be slow but never wrong.
import { Query } from "./mingo";
import { CommandError, ErrorCode, asCommandError } from "../errors";
import type { Collection } from "../storage/collection";
import { type Bound, type Index, fieldInterval } from "../storage/index";
import { HIGH, TypeTag, encodeValue, invert, typeTag } from "../storage/keystring";
import { type Doc, isDocument, pathValues } from "../storage/paths";

export type SortSpec = Array<{ path: string; dir: 1 | -1 }>;

export interface QueryOptions {
  sort?: SortSpec;
  skip?: number;
  /** 0 or undefined: no limit. */
  limit?: number;
  /** Name of an index the client asked for (must exist). */
  hint?: string;
}

export interface QueryStats {
  stage: "IDHACK" | "IXSCAN" | "COLLSCAN";
  indexName?: string;
  keysExamined: number;
  docsExamined: number;
}

export interface QueryResult {
  /** Matches as [idKey, document], in result order. */
  matches: Array<[string, Doc]>;
  stats: QueryStats;
}

interface Constraint {
  eq?: unknown[];
  /** The path's whole condition is this one equality (so a point lookup on it decides the match). */
  pure?: boolean;
  range?: { tag: number; low?: Bound; high?: Bound };
}

const RANGE_TAGS = new Set<number>([TypeTag.Number, TypeTag.String, TypeTag.Date, TypeTag.ObjectId, TypeTag.Timestamp]);
const MAX_POINT_INTERVALS = 1000;

/** Compiles a filter with mingo, turning its complaints into BadValue errors. */
export function compileFilter(filter: Doc | undefined): (doc: Doc) => boolean {
  if (!filter || Object.keys(filter).length === 0) return () => true;
  try {
    const q = new Query(filter);
    return (doc) => q.test(doc);
  } catch (err) {
    throw asCommandError(err);
  }
}

/** Parses a sort document (`{ a: 1, b: -1 }`) into fields; `$natural` is handled by the caller. */
export function parseSort(sort: unknown): SortSpec | undefined {
  if (sort === undefined || sort === null) return undefined;
  if (!isDocument(sort)) throw new CommandError(ErrorCode.TypeMismatch, "sort must be an object");
  const spec: SortSpec = [];
  for (const [path, dir] of Object.entries(sort)) {
    if (isDocument(dir) && "$meta" in dir) {
      throw new CommandError(ErrorCode.NotImplemented, "$meta sort (text search) is not supported by the embedded store");
    }
    if (dir !== 1 && dir !== -1) {
      throw new CommandError(ErrorCode.BadValue, `$sort key ordering must be 1 (for ascending) or -1 (for descending)`);
    }
    spec.push({ path, dir });
  }
  return spec.length ? spec : undefined;
}

/** Runs a query: candidates from the best access path, mingo for the match, then sort, skip and limit. */
export function runQuery(coll: Collection | undefined, filter: Doc | undefined, opts: QueryOptions = {}): QueryResult {
  const stats: QueryStats = { stage: "COLLSCAN", keysExamined: 0, docsExamined: 0 };
  if (!coll) return { matches: [], stats };
  const skip = opts.skip ?? 0;
  const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
  const natural = opts.sort?.length === 1 && opts.sort[0].path === "$natural" ? opts.sort[0].dir : undefined;
  const sort = natural === undefined ? opts.sort : undefined;
  const hinted = opts.hint !== undefined ? coll.indexes.get(opts.hint) : undefined;
  if (opts.hint !== undefined && !hinted) {
    throw new CommandError(ErrorCode.BadValue, "hint provided does not correspond to an existing index");
  }

  const constraints = analyze(filter ?? {});
  const source = chooseSource(coll, constraints, sort, hinted, filter);
  stats.stage = source.stage;
  stats.indexName = source.index?.name;
  // A point lookup that covers every condition of the filter decides the match by itself.
  const covered =
    source.covers !== undefined &&
    filter !== undefined &&
    Object.keys(filter).every((k) => source.covers?.has(k) && constraints.get(k)?.pure === true);
  const match = covered ? () => true : compileFilter(filter);

  const matches: Array<[string, Doc]> = [];
  const wanted = skip + limit;
  const orderedEnough = !sort || source.ordered;
  const seen = source.index?.multikey ? new Set<string>() : undefined;
  for (const idKey of source.ids(stats)) {
    if (seen) {
      if (seen.has(idKey)) continue;
      seen.add(idKey);
    }
    const doc = coll.docs.get(idKey);
    if (!doc) continue;
    stats.docsExamined++;
    if (!match(doc)) continue;
    matches.push([idKey, doc]);
    if (orderedEnough && matches.length >= wanted) break;
  }
  if (natural === -1) matches.reverse();
  if (sort && !source.ordered) sortMatches(matches, sort);
  const end = limit === Infinity ? undefined : skip + limit;
  return { matches: skip || end !== undefined ? matches.slice(skip, end) : matches, stats };
}

/** Sorts [idKey, doc] pairs by a sort spec with BSON ordering (arrays: min element ascending, max descending). */
export function sortMatches(matches: Array<[string, Doc]>, sort: SortSpec): void {
  const keyed = matches.map((m) => ({ key: sortKey(m[1], sort), m }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (let i = 0; i < keyed.length; i++) matches[i] = keyed[i].m;
}

export function sortKey(doc: Doc, sort: SortSpec): string {
  let key = "";
  for (const { path, dir } of sort) {
    const values = pathValues(doc, path);
    let best = encodeValue(values[0]);
    for (let i = 1; i < values.length; i++) {
      const enc = encodeValue(values[i]);
      if (dir === 1 ? enc < best : enc > best) best = enc;
    }
    key += dir === 1 ? best : invert(best);
  }
  return key;
}

// ---- filter analysis --------------------------------------------------------------------------------------

function usableEq(v: unknown): boolean {
  if (v === undefined || Array.isArray(v) || v instanceof RegExp) return false;
  const t = (v as { _bsontype?: string } | null)?._bsontype;
  if (t === "BSONRegExp" || t === "MinKey" || t === "MaxKey") return false;
  if (isDocument(v)) return Object.keys(v).every((k) => !k.startsWith("$"));
  return true;
}

function isOperatorDoc(v: unknown): v is Doc {
  if (!isDocument(v)) return false;
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => k.startsWith("$"));
}

function isPureEquality(cond: unknown): boolean {
  if (!isOperatorDoc(cond)) return usableEq(cond);
  const keys = Object.keys(cond);
  if (keys.length !== 1) return false;
  if (keys[0] === "$eq") return usableEq(cond.$eq);
  return keys[0] === "$in" && Array.isArray(cond.$in) && cond.$in.length === 1 && usableEq(cond.$in[0]);
}

function analyze(filter: Doc, into = new Map<string, Constraint>()): Map<string, Constraint> {
  for (const [path, cond] of Object.entries(filter)) {
    if (path === "$and" && Array.isArray(cond)) {
      for (const sub of cond) if (isDocument(sub)) analyze(sub, into);
      continue;
    }
    if (path.startsWith("$")) continue;
    const seen = into.has(path);
    const c = into.get(path) ?? {};
    c.pure = !seen && isPureEquality(cond);
    if (isOperatorDoc(cond)) {
      if ("$eq" in cond && usableEq(cond.$eq)) c.eq ??= [cond.$eq];
      if (Array.isArray(cond.$in) && cond.$in.length > 0 && cond.$in.every(usableEq)) c.eq ??= [...cond.$in];
      for (const op of ["$gt", "$gte", "$lt", "$lte"] as const) {
        if (!(op in cond)) continue;
        const value = cond[op];
        const tag = typeTag(value);
        if (!RANGE_TAGS.has(tag)) continue;
        c.range ??= { tag };
        if (c.range.tag !== tag) continue;
        const bound = { value, inclusive: op === "$gte" || op === "$lte" };
        if (op === "$gt" || op === "$gte") c.range.low ??= bound;
        else c.range.high ??= bound;
      }
    } else if (usableEq(cond)) {
      c.eq ??= [cond];
    }
    if (c.eq || c.range) into.set(path, c);
  }
  return into;
}

// ---- access paths -----------------------------------------------------------------------------------------

interface Source {
  stage: QueryStats["stage"];
  index?: Index;
  ordered: boolean;
  /** Fields whose single plain equality the lookup itself guarantees (exact _id or unique-key lookups). */
  covers?: Set<string>;
  ids(stats: QueryStats): Iterable<string>;
}

function chooseSource(
  coll: Collection,
  constraints: Map<string, Constraint>,
  sort: SortSpec | undefined,
  hinted: Index | undefined,
  filter?: Doc,
): Source {
  const idEq = constraints.get("_id")?.eq;
  if (idEq && !hinted) {
    return {
      stage: "IDHACK",
      ordered: idEq.length <= 1,
      covers: idEq.length === 1 ? new Set(["_id"]) : undefined,
      *ids(stats) {
        const keys = new Set(idEq.map((v) => encodeValue(v)));
        for (const k of keys) {
          stats.keysExamined++;
          yield k;
        }
      },
    };
  }

  let best: { index: Index; prefix: number; range: boolean; score: number } | undefined;
  for (const index of hinted ? [hinted] : coll.indexes.values()) {
    if (index.partial && !hinted) continue;
    let prefix = 0;
    while (prefix < index.fields.length) {
      const eq = constraints.get(index.fields[prefix].path)?.eq;
      if (!eq || (index.sparse && eq.some((v) => v === null))) break;
      prefix++;
    }
    const range = prefix < index.fields.length && constraints.get(index.fields[prefix].path)?.range !== undefined;
    let score = prefix * 2 + (range ? 1 : 0);
    if (index.unique && prefix === index.fields.length) score += 100;
    if (score === 0 && !hinted) continue;
    if (!best || score > best.score || (score === best.score && index.fields.length < best.index.fields.length)) {
      best = { index, prefix, range, score };
    }
  }

  if (best) return indexSource(best.index, best.prefix, best.range, constraints, sort);

  // A top-level $or whose every branch an index can serve: the union of the branches' candidates.
  const branches = !hinted && Array.isArray(filter?.$or) ? (filter.$or as unknown[]) : undefined;
  if (branches && branches.length > 0 && branches.every(isDocument)) {
    const sources: Source[] = [];
    for (const branch of branches as Doc[]) {
      const merged = analyze(branch, new Map([...constraints].map(([k, c]) => [k, { ...c }])));
      const s = chooseSource(coll, merged, undefined, undefined);
      if (s.stage === "COLLSCAN") {
        sources.length = 0;
        break;
      }
      sources.push(s);
    }
    if (sources.length) {
      return {
        stage: "IXSCAN",
        index: sources.find((s) => s.index)?.index,
        ordered: false,
        *ids(stats) {
          const seen = new Set<string>();
          for (const s of sources) {
            for (const id of s.ids(stats)) {
              if (seen.has(id)) continue;
              seen.add(id);
              yield id;
            }
          }
        },
      };
    }
  }

  // No constraint an index can serve: an index can still hand out documents in the requested order.
  if (sort) {
    for (const index of coll.indexes.values()) {
      if (index.partial || index.sparse || index.multikey) continue;
      const direction = sortDirection(index, 0, sort, constraints);
      if (direction) return indexSource(index, 0, false, constraints, sort);
    }
  }

  return {
    stage: "COLLSCAN",
    ordered: false,
    ids: () => coll.docs.keys(),
  };
}

/** 1 or -1 when walking `index` forwards or backwards from field `from` yields `sort`'s order; else 0. */
function sortDirection(index: Index, from: number, sort: SortSpec, constraints: Map<string, Constraint>): 0 | 1 | -1 {
  if (index.multikey) return 0;
  const fixed = (path: string) => (constraints.get(path)?.eq?.length ?? 0) === 1;
  const wanted = sort.filter((s) => !fixed(s.path));
  if (wanted.length === 0) return 1;
  let direction: 0 | 1 | -1 = 0;
  for (let i = 0; i < wanted.length; i++) {
    const field = index.fields[from + i];
    if (!field || field.path !== wanted[i].path) return 0;
    const d = field.dir === wanted[i].dir ? 1 : -1;
    if (direction === 0) direction = d;
    else if (direction !== d) return 0;
  }
  return direction;
}

function indexSource(
  index: Index,
  prefix: number,
  range: boolean,
  constraints: Map<string, Constraint>,
  sort: SortSpec | undefined,
): Source {
  // Point prefixes: the cartesian product of the equality values of the leading fields.
  let points = [""];
  let usedPrefix = 0;
  for (let i = 0; i < prefix; i++) {
    const field = index.fields[i];
    const values = constraints.get(field.path)?.eq ?? [];
    if (points.length * values.length > MAX_POINT_INTERVALS) break;
    const encoded = [...new Set(values.map((v) => encodeValue(v)))].map((e) => (field.dir === 1 ? e : invert(e)));
    encoded.sort();
    points = points.flatMap((p) => encoded.map((e) => p + e));
    usedPrefix++;
  }
  let intervals: Array<[string, string]>;
  const rangeField = index.fields[usedPrefix];
  const rangeC = usedPrefix === prefix && range && rangeField ? constraints.get(rangeField.path)?.range : undefined;
  if (rangeC && rangeField) {
    const [lo, hi] = fieldInterval(rangeField.dir, rangeC.tag, rangeC.low, rangeC.high);
    intervals = points.map((p) => [p + lo, p + hi]);
  } else {
    intervals = points.map((p) => [p, p + HIGH]);
  }

  const singlePoint = points.length === 1;
  const direction = sort && singlePoint ? sortDirection(index, usedPrefix, sort, constraints) : 0;
  const ordered = !sort || direction !== 0;
  const exact = index.unique && usedPrefix === index.fields.length && !index.multikey;

  return {
    stage: "IXSCAN",
    index,
    ordered,
    covers: exact && singlePoint ? new Set(index.fields.map((f) => f.path)) : undefined,
    *ids(stats) {
      if (exact) {
        for (const [lo] of intervals) {
          stats.keysExamined++;
          const owner = index.ownerOf(lo);
          if (owner !== undefined) yield owner;
        }
        return;
      }
      const list = direction === -1 ? [...intervals].reverse() : intervals;
      for (const [lo, hi] of list) {
        if (direction === -1) {
          for (const [key, idKey] of index.tree.entriesReversed(hi)) {
            if (key < lo) break;
            stats.keysExamined++;
            yield idKey;
          }
        } else {
          for (const [key, idKey] of index.tree.entries(lo)) {
            if (key >= hi) break;
            stats.keysExamined++;
            yield idKey;
          }
        }
      }
    },
  };
}
