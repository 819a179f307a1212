// find/findAndModify projections, applied by mingo to a copy (mingo may change the documents it projects).
import { CommandError, ErrorCode, asCommandError } from "../errors";
import { Query } from "./mingo";
import { type Doc, cloneDeep, getPath, isDocument } from "../storage/paths";

/** A function projecting one stored document, or undefined when there is nothing to project. */
export function projector(projection: Doc | undefined, filter: Doc | undefined): ((doc: Doc) => Doc) | undefined {
  if (!projection || Object.keys(projection).length === 0) return undefined;
  const simple = topLevelFields(projection);
  if (simple) return simple;
  const exclusionStyle = exclusionWithSlices(projection);
  if (exclusionStyle) return exclusionStyle;
  let query: Query;
  try {
    // Only the positional `$` projection needs the filter (and then the document matched it).
    const positional = Object.keys(projection).some((k) => k.endsWith(".$"));
    query = new Query(positional ? (filter ?? {}) : {});
    // Validate the projection once, up front, so a bad one fails the command rather than a later getMore.
    query.find([{}], projection).all();
  } catch (err) {
    throw asCommandError(err);
  }
  return (doc) => {
    try {
      return (query.find([cloneDeep(doc)], projection).all()[0] as Doc) ?? {};
    } catch (err) {
      throw asCommandError(err);
    }
  };
}

/**
 * A projection of only exclusions and `$slice`s keeps every other field (MongoDB treats `$slice` alone as an
 * exclusion-style projection; mingo would treat it as an inclusion).
 */
function exclusionWithSlices(projection: Doc): ((doc: Doc) => Doc) | undefined {
  const entries = Object.entries(projection);
  const slices: Array<[string, unknown]> = [];
  const excluded: string[] = [];
  for (const [path, spec] of entries) {
    if (isDocument(spec) && Object.keys(spec).length === 1 && "$slice" in spec) slices.push([path, spec.$slice]);
    else if (spec === 0 || spec === false) excluded.push(path);
    else return undefined;
  }
  if (slices.length === 0) return undefined;
  for (const [, arg] of slices) {
    const ok = Number.isInteger(arg) || (Array.isArray(arg) && arg.length === 2 && arg.every(Number.isInteger) && (arg[1] as number) > 0);
    if (!ok) throw new CommandError(ErrorCode.BadValue, "$slice only supports numbers and [skip, limit] arrays");
  }
  return (stored) => {
    const doc = cloneDeep(stored);
    for (const path of excluded) removePath(doc, path.split("."));
    for (const [path, arg] of slices) {
      const parts = path.split(".");
      const parent = parts.length === 1 ? doc : getPath(doc, parts.slice(0, -1).join("."));
      const key = parts[parts.length - 1];
      if (!isDocument(parent) || !Array.isArray(parent[key])) continue;
      parent[key] = sliceArray(parent[key] as unknown[], arg as number | [number, number]);
    }
    return doc;
  };
}

function sliceArray(arr: unknown[], arg: number | [number, number]): unknown[] {
  if (typeof arg === "number") return arg >= 0 ? arr.slice(0, arg) : arr.slice(Math.max(arr.length + arg, 0));
  const [skip, limit] = arg;
  const start = skip >= 0 ? Math.min(skip, arr.length) : Math.max(arr.length + skip, 0);
  return arr.slice(start, start + limit);
}

function removePath(doc: unknown, parts: string[]): void {
  if (Array.isArray(doc)) {
    for (const el of doc) removePath(el, parts);
    return;
  }
  if (!isDocument(doc)) return;
  if (parts.length === 1) delete doc[parts[0]];
  else removePath(doc[parts[0]], parts.slice(1));
}

/**
 * The common case without mingo: only top-level field names with 1/true (inclusion, `_id` unless excluded) or
 * 0/false (exclusion). Values are shared with the stored document, which is immutable.
 */
function topLevelFields(projection: Doc): ((doc: Doc) => Doc) | undefined {
  const entries = Object.entries(projection);
  if (!entries.every(([k, v]) => !k.includes(".") && !k.startsWith("$") && (v === 0 || v === 1 || v === true || v === false))) {
    return undefined;
  }
  const included = entries.filter(([k, v]) => k !== "_id" && (v === 1 || v === true)).map(([k]) => k);
  const excluded = entries.filter(([k, v]) => k !== "_id" && (v === 0 || v === false)).map(([k]) => k);
  if (included.length && excluded.length) return undefined; // mingo reports the mix as an error
  const withId = projection._id === undefined || projection._id === 1 || projection._id === true;
  // `{ _id: 1 }` alone is an inclusion of _id only; `{ _id: 0 }` alone excludes it.
  if (included.length || (excluded.length === 0 && withId)) {
    return (doc) => {
      const out: Doc = {};
      if (withId && doc._id !== undefined) out._id = doc._id;
      for (const k of included) if (doc[k] !== undefined) out[k] = doc[k];
      return out;
    };
  }
  const drop = new Set(excluded);
  if (!withId) drop.add("_id");
  return (doc) => {
    const out: Doc = {};
    for (const k of Object.keys(doc)) if (!drop.has(k)) out[k] = doc[k];
    return out;
  };
}
