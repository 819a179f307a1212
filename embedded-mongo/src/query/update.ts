// Update documents: MongoDB's validation and error codes around mingo's operators, $setOnInsert, pipeline
// updates, replacements and the documents an upsert starts from.
import { ObjectId, Timestamp } from "../bson";
import { CommandError, ErrorCode, asCommandError } from "../errors";
import { Aggregator, update as mingoUpdate } from "./mingo";
import { bsonTypeName, typeTag, TypeTag, valuesEqual } from "../storage/keystring";
import { type Doc, cloneDeep, getPath, isDocument, setPath } from "../storage/paths";

const OPERATORS = new Set([
  "$set",
  "$unset",
  "$inc",
  "$mul",
  "$min",
  "$max",
  "$setOnInsert",
  "$push",
  "$pull",
  "$pullAll",
  "$pop",
  "$addToSet",
  "$rename",
  "$currentDate",
]);
const PIPELINE_STAGES = new Set(["$addFields", "$set", "$project", "$unset", "$replaceRoot", "$replaceWith"]);
const PUSH_MODIFIERS = new Set(["$each", "$slice", "$position", "$sort"]);

export type UpdateSpec = Doc | Doc[];

/** Checks the shape of an update (operators, replacement or pipeline) before any document is touched. */
export function validateUpdate(u: unknown): UpdateSpec {
  if (Array.isArray(u)) {
    for (const stage of u) {
      const name = isDocument(stage) ? Object.keys(stage)[0] : undefined;
      if (!name || Object.keys(stage as Doc).length !== 1 || !PIPELINE_STAGES.has(name)) {
        throw new CommandError(
          ErrorCode.InvalidOptions,
          `${name ?? "a non-object stage"} is not allowed to be used within an update`,
        );
      }
    }
    return u as Doc[];
  }
  if (!isDocument(u)) throw new CommandError(ErrorCode.FailedToParse, "Update argument must be either an object or an array");
  const keys = Object.keys(u);
  const operators = keys.filter((k) => k.startsWith("$"));
  if (operators.length === 0) {
    for (const k of keys) checkFieldName(k);
    return u;
  }
  if (operators.length !== keys.length) {
    const plain = keys.find((k) => !k.startsWith("$"));
    throw new CommandError(
      ErrorCode.FailedToParse,
      `Unknown modifier: ${plain}. Expected a valid update modifier or pipeline-style update specified as an array`,
    );
  }
  const targets: string[] = [];
  for (const op of operators) {
    if (!OPERATORS.has(op)) {
      throw new CommandError(
        ErrorCode.FailedToParse,
        `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`,
      );
    }
    const arg = u[op];
    if (!isDocument(arg)) {
      throw new CommandError(
        ErrorCode.FailedToParse,
        `Modifiers operate on fields but we found type ${bsonTypeName(arg)} instead. For example: {$mod: {<field>: ...}} not {${op}: ${JSON.stringify(arg)}}`,
      );
    }
    for (const [path, value] of Object.entries(arg)) {
      if (path === "") throw new CommandError(ErrorCode.EmptyFieldName, "An empty update path is not valid.");
      checkOperand(op, path, value);
      targets.push(path);
      if (op === "$rename") targets.push(value as string);
    }
  }
  checkConflicts(targets);
  return u;
}

function checkFieldName(k: string): void {
  if (k === "") throw new CommandError(ErrorCode.EmptyFieldName, "An empty update path is not valid.");
}

function checkOperand(op: string, path: string, value: unknown): void {
  switch (op) {
    case "$inc":
    case "$mul":
      if (typeTag(value) !== TypeTag.Number) {
        throw new CommandError(
          ErrorCode.TypeMismatch,
          `Cannot ${op === "$inc" ? "increment" : "multiply"} with non-numeric argument: {${path}: ${JSON.stringify(value)}}`,
        );
      }
      return;
    case "$rename":
      if (typeof value !== "string") {
        throw new CommandError(ErrorCode.BadValue, `The 'to' field for $rename must be a string: ${path}: ${JSON.stringify(value)}`);
      }
      if (value === path) throw new CommandError(ErrorCode.BadValue, `The source and target field for $rename must differ: ${path}: "${value}"`);
      if (path.includes("$") || value.includes("$")) {
        throw new CommandError(ErrorCode.BadValue, "The source and target field for $rename must not contain positional operators");
      }
      return;
    case "$currentDate":
      if (value === true || value === false) return;
      if (isDocument(value) && Object.keys(value).length === 1 && (value.$type === "date" || value.$type === "timestamp")) return;
      throw new CommandError(
        ErrorCode.BadValue,
        `${path} is not valid type for $currentDate. Please use a boolean ('true') or a $type expression ({$type: 'timestamp/date'}).`,
      );
    case "$pop":
      if (value !== 1 && value !== -1) throw new CommandError(ErrorCode.FailedToParse, "$pop expects 1 or -1");
      return;
    case "$pullAll":
      if (!Array.isArray(value)) throw new CommandError(ErrorCode.BadValue, `$pullAll requires an array argument but was given a ${bsonTypeName(value)}`);
      return;
    case "$push":
    case "$addToSet":
      if (isDocument(value) && "$each" in value) {
        if (!Array.isArray(value.$each)) {
          throw new CommandError(ErrorCode.BadValue, `The argument to $each in ${op} must be an array but it was of type: ${bsonTypeName(value.$each)}`);
        }
        for (const k of Object.keys(value)) {
          if (op === "$addToSet" && k !== "$each") {
            throw new CommandError(ErrorCode.BadValue, `Found unexpected fields after $each in $addToSet: ${JSON.stringify(value)}`);
          }
          if (!PUSH_MODIFIERS.has(k)) throw new CommandError(ErrorCode.BadValue, `Unrecognized clause in $push: ${k}`);
        }
        for (const k of ["$slice", "$position"]) {
          if (k in value && !Number.isInteger(value[k])) {
            throw new CommandError(ErrorCode.BadValue, `The value for ${k} must be an integer value but was given type: ${bsonTypeName(value[k])}`);
          }
        }
      }
      return;
    default:
      return;
  }
}

/** MongoDB rejects two operators aiming at the same path, or at a path and one inside it. */
function checkConflicts(paths: string[]): void {
  const sorted = [...paths].sort();
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1];
    const b = sorted[i];
    if (a === b || b.startsWith(`${a}.`)) {
      throw new CommandError(ErrorCode.ConflictingUpdateOperators, `Updating the path '${b}' would create a conflict at '${a}'`);
    }
  }
}

export function isReplacement(u: UpdateSpec): boolean {
  return !Array.isArray(u) && Object.keys(u).every((k) => !k.startsWith("$"));
}

export interface ApplyOptions {
  isInsert: boolean;
  arrayFilters?: Doc[];
  /** The update's query, for the positional `$` operator. */
  query?: Doc;
}

/** The new version of `doc` (never changed itself); throws MongoDB's errors for impossible updates. */
export function applyUpdate(doc: Doc, u: UpdateSpec, opts: ApplyOptions): Doc {
  let next: Doc;
  if (Array.isArray(u)) {
    try {
      const out = new Aggregator(u).run([cloneDeep(doc)]);
      next = out[0] as Doc;
    } catch (err) {
      throw asCommandError(err);
    }
  } else if (isReplacement(u)) {
    if ("_id" in u && doc._id !== undefined && !valuesEqual(u._id, doc._id)) {
      throw new CommandError(
        ErrorCode.ImmutableField,
        `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${JSON.stringify(u._id)}`,
      );
    }
    next = doc._id !== undefined ? { _id: doc._id } : {};
    for (const [k, v] of Object.entries(u)) if (k !== "_id") next[k] = cloneDeep(v);
    if (next._id === undefined && u._id !== undefined) next = { _id: cloneDeep(u._id), ...next };
  } else {
    next = cloneDeep(doc);
    checkTargets(doc, u);
    // MongoDB 5+ applies the paths of all operators in field-name order (numeric names numerically), which is
    // also the order new fields are appended in.
    const steps: Array<[string, string, unknown]> = [];
    for (const [op, arg] of Object.entries(u)) {
      if (op === "$setOnInsert" && !opts.isInsert) continue;
      for (const [path, value] of Object.entries(arg as Doc)) steps.push([op === "$setOnInsert" ? "$set" : op, path, value]);
    }
    steps.sort((a, b) => comparePaths(a[1], b[1]));
    for (const [op, path, value] of steps) applyStep(next, op, path, value, opts);
  }
  if (doc._id !== undefined && !valuesEqual(next._id, doc._id)) {
    throw new CommandError(ErrorCode.ImmutableField, "Performing an update on the path '_id' would modify the immutable field '_id'");
  }
  return next;
}

/** Compares update paths segment by segment: names lexicographically, numeric names numerically. */
function comparePaths(a: string, b: string): number {
  const pa = a.split(".");
  const pb = b.split(".");
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] === pb[i]) continue;
    const na = /^\d+$/.test(pa[i]);
    const nb = /^\d+$/.test(pb[i]);
    if (na && nb) return Number(pa[i]) - Number(pb[i]);
    return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}

let timestampCounter = 0;

/** One operator on one path. Equality-based array operators use BSON equality (mingo's ignores field order). */
function applyStep(next: Doc, op: string, path: string, value: unknown, opts: ApplyOptions): void {
  const positional = path.includes("$");
  let modifier: Doc;
  if (path === "_id" || path.startsWith("_id.")) {
    if (op === "$set" && valuesEqual(value, getPath(next, path))) return;
    throw new CommandError(ErrorCode.ImmutableField, "Performing an update on the path '_id' would modify the immutable field '_id'");
  }
  if (op === "$currentDate") {
    const stamp =
      isDocument(value) && value.$type === "timestamp"
        ? new Timestamp({ t: Math.floor(Date.now() / 1000), i: (timestampCounter = (timestampCounter + 1) % 0x7fffffff) + 1 })
        : new Date();
    modifier = { $set: { [path]: stamp } };
  } else if (!positional && (op === "$addToSet" || op === "$pullAll" || (op === "$pull" && !isDocument(value)))) {
    const current = getPath(next, path);
    if (current === undefined && op !== "$addToSet") return;
    const items = op === "$addToSet" ? (isDocument(value) && "$each" in value ? (value.$each as unknown[]) : [value]) : undefined;
    let result: unknown[];
    if (items) {
      result = [...((current as unknown[] | undefined) ?? [])];
      for (const item of items) if (!result.some((x) => valuesEqual(x, item))) result.push(cloneDeep(item));
    } else {
      const removed = op === "$pullAll" ? (value as unknown[]) : [value];
      result = (current as unknown[]).filter((x) => !removed.some((r) => valuesEqual(x, r)));
    }
    modifier = { $set: { [path]: result } };
  } else {
    if (applyPlain(next, op, path, value)) return;
    modifier = { [op]: { [path]: value } };
  }
  // mingo applies a step only when the document still matches the condition it is given, so the query goes
  // along only where the positional `$` needs it to find the matched element.
  const usesPositional = /(^|\.)\$(\.|$)/.test(path);
  try {
    mingoUpdate(next, modifier, opts.arrayFilters, usesPositional ? opts.query : undefined);
  } catch (err) {
    throw asCommandError(err);
  }
}

/**
 * `$set` and `$inc` of a number on a path through embedded documents only (no array, positional `$` or numeric name
 * on the way; missing documents created), applied directly: the same result as mingo's operators, which rebuild
 * their operator tables on every call (~0.1 ms a step). False, and `next` untouched, for anything else.
 */
export function applyPlain(next: Doc, op: string, path: string, value: unknown): boolean {
  if (op !== "$set" && !(op === "$inc" && typeof value === "number" && !Number.isNaN(value))) return false;
  const parts = path.split(".");
  for (const part of parts) if (part === "" || part.includes("$") || /^\d+$/.test(part) || part === "__proto__") return false;
  let cur: Doc = next;
  let i = 0;
  for (; i < parts.length - 1; i++) {
    if (!Object.hasOwn(cur, parts[i])) break;
    const inner = cur[parts[i]];
    if (!isDocument(inner) || Object.getPrototypeOf(inner) !== Object.prototype) return false;
    cur = inner;
  }
  const leaf = parts[parts.length - 1];
  const current = i === parts.length - 1 && Object.hasOwn(cur, leaf) ? cur[leaf] : undefined;
  if (op === "$inc" && current !== undefined && (typeof current !== "number" || Number.isNaN(current))) return false;
  for (; i < parts.length - 1; i++) {
    const created: Doc = {};
    cur[parts[i]] = created;
    cur = created;
  }
  cur[leaf] = op === "$inc" ? ((current as number | undefined) || 0) + (value as number) : cloneDeep(value);
  return true;
}

/** Every `$[id]` needs an array filter and every array filter must be used, or the statement fails. */
export function validateArrayFilters(u: UpdateSpec, arrayFilters: Doc[] | undefined): void {
  if (Array.isArray(u)) {
    if (arrayFilters?.length) throw new CommandError(ErrorCode.FailedToParse, "arrayFilters may not be specified for pipeline-style updates");
    return;
  }
  const declared = new Map<string, Doc>();
  for (const filter of arrayFilters ?? []) {
    const ids = new Set(Object.keys(filter).map((k) => k.split(".")[0]));
    if (ids.size !== 1) {
      throw new CommandError(ErrorCode.FailedToParse, "Each array filter must use a single top-level field name");
    }
    const [id] = ids;
    if (declared.has(id)) throw new CommandError(ErrorCode.FailedToParse, `Found multiple array filters with the same top-level field name ${id}`);
    declared.set(id, filter);
  }
  const used = new Set<string>();
  for (const arg of Object.values(u)) {
    if (!isDocument(arg)) continue;
    for (const path of Object.keys(arg)) {
      for (const m of path.matchAll(/\$\[([^\]]*)\]/g)) {
        if (m[1] === "") continue;
        if (!declared.has(m[1])) {
          throw new CommandError(ErrorCode.BadValue, `No array filter found for identifier '${m[1]}' in path '${path}'`);
        }
        used.add(m[1]);
      }
    }
  }
  for (const id of declared.keys()) {
    if (!used.has(id)) {
      throw new CommandError(ErrorCode.FailedToParse, `The array filter for identifier '${id}' was not used in the update ${JSON.stringify(u)}`);
    }
  }
}

/** The type checks mingo leaves out: numeric targets for $inc/$mul, arrays for $push & co, no field inside a scalar. */
function checkTargets(doc: Doc, u: Doc): void {
  for (const [op, arg] of Object.entries(u)) {
    for (const path of Object.keys(arg as Doc)) {
      if (path.includes("$")) continue;
      const parts = path.split(".");
      const removing = op === "$unset" || op === "$pull" || op === "$pullAll" || op === "$pop" || op === "$rename";
      // Walking into a scalar cannot create a field there; removing from one is a no-op.
      let cur: unknown = doc;
      let reachable = true;
      for (let i = 0; i < parts.length - 1 && reachable; i++) {
        let next: unknown;
        if (Array.isArray(cur)) {
          if (!/^\d+$/.test(parts[i])) {
            if (removing) break;
            throw new CommandError(ErrorCode.PathNotViable, `Cannot create field '${parts[i]}' in element {${parts[i - 1]}: ${short(cur)}}`);
          }
          next = cur[Number(parts[i])];
        } else {
          next = (cur as Doc)[parts[i]];
        }
        if (next === undefined) reachable = false;
        else if (!isDocument(next) && !Array.isArray(next)) {
          if (removing) reachable = false;
          else throw new CommandError(ErrorCode.PathNotViable, `Cannot create field '${parts[i + 1]}' in element {${parts[i]}: ${short(next)}}`);
        }
        cur = next;
      }
      if (!reachable) continue;
      const current = getPath(doc, path);
      if (current === undefined) continue;
      if ((op === "$inc" || op === "$mul") && typeTag(current) !== TypeTag.Number) {
        throw new CommandError(
          ErrorCode.TypeMismatch,
          `Cannot apply ${op} to a value of non-numeric type. {_id: ${short(doc._id)}} has the field '${parts[parts.length - 1]}' of non-numeric type ${bsonTypeName(current)}`,
        );
      }
      if ((op === "$push" || op === "$addToSet") && !Array.isArray(current)) {
        throw new CommandError(
          ErrorCode.BadValue,
          `The field '${path}' must be an array but is of type ${bsonTypeName(current)} in document {_id: ${short(doc._id)}}`,
        );
      }
      if ((op === "$pull" || op === "$pullAll") && !Array.isArray(current)) {
        throw new CommandError(ErrorCode.BadValue, "Cannot apply $pull to a non-array value");
      }
      if (op === "$pop" && !Array.isArray(current)) {
        throw new CommandError(ErrorCode.TypeMismatch, `Path '${path}' contains an element of non-array type '${bsonTypeName(current)}'`);
      }
    }
  }
}

/** The document an upsert starts from: the query's equality fields (including `$and` members and `$eq`). */
export function upsertSeed(query: Doc | undefined): Doc {
  const seed: Doc = {};
  const collect = (q: Doc) => {
    for (const [path, cond] of Object.entries(q)) {
      if (path === "$and" && Array.isArray(cond)) {
        for (const sub of cond) if (isDocument(sub)) collect(sub);
        continue;
      }
      if (path.startsWith("$")) continue;
      if (isDocument(cond) && Object.keys(cond).some((k) => k.startsWith("$"))) {
        if ("$eq" in cond) setPath(seed, path, cloneDeep(cond.$eq));
        continue;
      }
      setPath(seed, path, cloneDeep(cond));
    }
  };
  if (query) collect(query);
  return seed;
}

/** Builds the document an upsert inserts. */
export function upsertDocument(query: Doc | undefined, u: UpdateSpec, arrayFilters?: Doc[]): Doc {
  const seed = upsertSeed(query);
  let doc: Doc;
  if (!Array.isArray(u) && isReplacement(u)) {
    if (seed._id !== undefined && u._id !== undefined && !valuesEqual(seed._id, u._id)) {
      throw new CommandError(ErrorCode.ImmutableField, "The _id field in the replacement does not match the _id in the query");
    }
    doc = applyUpdate({}, u, { isInsert: true });
    if (doc._id === undefined && seed._id !== undefined) doc = { _id: seed._id, ...doc };
  } else {
    doc = applyUpdate(seed, u, { isInsert: true, arrayFilters, query: undefined });
  }
  return withId(doc);
}

/** `_id` first, generated when missing (as mongod does for documents without one). */
export function withId(doc: Doc): Doc {
  if (doc._id === undefined) return { _id: new ObjectId(), ...doc };
  if (Object.keys(doc)[0] === "_id") return doc;
  const { _id, ...rest } = doc;
  return { _id, ...rest };
}

function short(v: unknown): string {
  if (typeof v === "string") return `"${v}"`;
  if (v === null || v === undefined) return "null";
  if (typeof v === "object" && (v as { _bsontype?: string })._bsontype === "ObjectId") return `ObjectId('${String(v)}')`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
