// One secondary (or _id) index: key extraction with multikey expansion, the ordered key tree, uniqueness.
import { Query } from "../query/mingo";
import { CommandError, ErrorCode } from "../errors";
import { createKeyTree, type OrderedTree } from "./btree";
import { HIGH, bracketStart, encodeValue, invert } from "./keystring";
import { type Doc, isDocument, pathValues } from "./paths";

export interface IndexSpec {
  v: number;
  key: Record<string, number>;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Doc;
  expireAfterSeconds?: number;
  [option: string]: unknown;
}

export interface IndexField {
  path: string;
  parts: string[];
  dir: 1 | -1;
}

/** One key a document contributes: the encoded key and the values it was built from. */
export interface IndexEntry {
  key: string;
  values: unknown[];
}

export interface Bound {
  value: unknown;
  inclusive: boolean;
}

/** The key-string interval `[lo, hi)` of one field's values inside one type bracket, honouring direction. */
export function fieldInterval(dir: 1 | -1, tag: number, low?: Bound, high?: Bound): [string, string] {
  if (dir === 1) {
    const lo = low ? encodeValue(low.value) + (low.inclusive ? "" : HIGH) : bracketStart(tag);
    const hi = high ? encodeValue(high.value) + (high.inclusive ? HIGH : "") : bracketStart(tag) + HIGH;
    return [lo, hi];
  }
  const start = String.fromCharCode(0xffff - tag);
  const lo = high ? invert(encodeValue(high.value)) + (high.inclusive ? "" : HIGH) : start;
  const hi = low ? invert(encodeValue(low.value)) + (low.inclusive ? HIGH : "") : start + HIGH;
  return [lo, hi];
}

export class Index {
  readonly spec: IndexSpec;
  readonly name: string;
  readonly fields: IndexField[];
  readonly unique: boolean;
  readonly sparse: boolean;
  readonly tree: OrderedTree = createKeyTree();
  readonly partial: Query | undefined;
  /** index key → idKey of the one document holding it (unique indexes only). */
  private readonly owners: Map<string, string> | undefined;
  /** Set once any document contributed more than one key; a multikey index cannot give sort order. */
  multikey = false;

  constructor(spec: IndexSpec) {
    this.spec = spec;
    this.name = spec.name;
    this.fields = Object.entries(spec.key).map(([path, dir]) => ({
      path,
      parts: path.split("."),
      dir: dir === -1 ? -1 : 1,
    }));
    this.unique = spec.unique === true || spec.name === "_id_";
    this.sparse = spec.sparse === true;
    this.partial = spec.partialFilterExpression ? new Query(spec.partialFilterExpression) : undefined;
    this.owners = this.unique ? new Map() : undefined;
  }

  get isIdIndex(): boolean {
    return this.name === "_id_";
  }

  /** The keys a document contributes; none when a sparse or partial index leaves it out. */
  entriesFor(doc: Doc): IndexEntry[] {
    if (this.partial && !this.partial.test(doc)) return [];
    if (this.sparse && this.fields.every((f) => !hasPath(doc, f.parts))) return [];
    const perField = this.fields.map((f) => pathValues(doc, f.parts));
    // The common case, one value per field (no arrays on the way): one key, built without the expansion below.
    if (perField.every((values) => values.length === 1)) {
      let key = "";
      const values: unknown[] = [];
      for (let i = 0; i < perField.length; i++) {
        const v = perField[i][0];
        const enc = encodeValue(v);
        key += this.fields[i].dir === 1 ? enc : invert(enc);
        values.push(v);
      }
      return [{ key, values }];
    }
    const arrayFields = perField.filter((values) => values.length > 1);
    if (arrayFields.length > 1) {
      throw new CommandError(ErrorCode.CannotIndexParallelArrays, `cannot index parallel arrays [${this.fields.map((f) => f.path).join("] [")}]`);
    }
    const entries: IndexEntry[] = [];
    const seen = new Set<string>();
    const build = (i: number, prefix: string, values: unknown[]): void => {
      if (i === this.fields.length) {
        if (!seen.has(prefix)) {
          seen.add(prefix);
          entries.push({ key: prefix, values });
        }
        return;
      }
      for (const v of perField[i]) {
        const enc = encodeValue(v);
        build(i + 1, prefix + (this.fields[i].dir === 1 ? enc : invert(enc)), [...values, v]);
      }
    };
    build(0, "", []);
    return entries;
  }

  /** The first entry another document already holds in this unique index. */
  findConflict(entries: IndexEntry[], idKey: string | undefined): IndexEntry | undefined {
    if (!this.owners) return undefined;
    for (const e of entries) {
      const owner = this.owners.get(e.key);
      if (owner !== undefined && owner !== idKey) return e;
    }
    return undefined;
  }

  add(idKey: string, entries: IndexEntry[]): void {
    if (entries.length > 1) this.multikey = true;
    for (const e of entries) {
      this.tree.set(e.key + idKey, idKey);
      this.owners?.set(e.key, idKey);
    }
  }

  remove(idKey: string, entries: IndexEntry[]): void {
    for (const e of entries) {
      this.tree.delete(e.key + idKey);
      if (this.owners?.get(e.key) === idKey) this.owners.delete(e.key);
    }
  }

  /** The owner of an exact key in a unique index, without a tree walk. */
  ownerOf(key: string): string | undefined {
    return this.owners?.get(key);
  }

  clear(): void {
    this.tree.clear();
    this.owners?.clear();
    this.multikey = false;
  }

  duplicateKeyError(ns: string, entry: IndexEntry): CommandError {
    const keyValue: Doc = {};
    this.fields.forEach((f, i) => {
      keyValue[f.path] = entry.values[i] === undefined ? null : entry.values[i];
    });
    const shown = this.fields.map((f) => `${f.path}: ${formatValue(keyValue[f.path])}`).join(", ");
    return new CommandError(
      ErrorCode.DuplicateKey,
      `E11000 duplicate key error collection: ${ns} index: ${this.name} dup key: { ${shown} }`,
      { keyPattern: { ...this.spec.key }, keyValue },
    );
  }
}

function hasPath(value: unknown, parts: string[], i = 0): boolean {
  if (i === parts.length) return true;
  if (Array.isArray(value)) return value.some((el) => isDocument(el) && hasPath(el, parts, i));
  if (!isDocument(value) || !(parts[i] in value)) return false;
  return hasPath(value[parts[i]], parts, i + 1);
}

/** MongoDB's shell-like rendering of a key value in an E11000 message. */
function formatValue(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v instanceof Date) return `new Date(${v.getTime()})`;
  const bsonType = (v as { _bsontype?: string })._bsontype;
  if (bsonType === "ObjectId") return `ObjectId('${(v as { toHexString(): string }).toHexString()}')`;
  if (Array.isArray(v)) return `[ ${v.map((x) => formatValue(x)).join(", ")} ]`;
  if (isDocument(v)) {
    return `{ ${Object.entries(v)
      .map(([k, x]) => `${k}: ${formatValue(x)}`)
      .join(", ")} }`;
  }
  return String(v);
}
