// One collection in memory: frozen documents by _id key and the indexes over them, changed only through
// primitives that validate every unique constraint before touching anything.
import type { Binary } from "../bson";
import { type Index, type IndexEntry, Index as IndexImpl, type IndexSpec } from "./index";
import { encodeValue } from "./keystring";
import type { Doc } from "./paths";

export class Collection {
  readonly db: string;
  readonly name: string;
  readonly uuid: Binary;
  readonly options: Doc;
  /** idKey (encoded _id) → stored document, in insertion ("natural") order. */
  readonly docs = new Map<string, Doc>();
  readonly indexes = new Map<string, Index>();

  constructor(db: string, name: string, uuid: Binary, options: Doc = {}) {
    this.db = db;
    this.name = name;
    this.uuid = uuid;
    this.options = options;
    this.indexes.set("_id_", new IndexImpl({ v: 2, key: { _id: 1 }, name: "_id_" }));
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  get idIndex(): Index {
    return this.indexes.get("_id_") as Index;
  }

  static idKey(id: unknown): string {
    return encodeValue(id);
  }

  /** Adds a document (already carrying its _id); throws E11000 without changing anything. */
  insert(doc: Doc): string {
    const idKey = Collection.idKey(doc._id);
    // A new document may not share a key with anyone, not even a stored document with its own _id.
    const planned = this.plan(doc, undefined);
    for (const [index, entries] of planned) index.add(idKey, entries);
    this.docs.set(idKey, doc);
    return idKey;
  }

  /** Swaps a stored document for its new version (same _id); throws E11000 without changing anything. */
  replace(idKey: string, next: Doc): void {
    const prev = this.docs.get(idKey);
    if (!prev) throw new Error(`replace of a missing document in ${this.ns}`);
    const planned = this.plan(next, idKey);
    for (const [index, entries] of planned) {
      const old = index.entriesFor(prev);
      if (sameKeys(old, entries)) continue;
      index.remove(idKey, old);
      index.add(idKey, entries);
    }
    this.docs.set(idKey, next);
  }

  remove(idKey: string): Doc | undefined {
    const prev = this.docs.get(idKey);
    if (!prev) return undefined;
    for (const index of this.indexes.values()) index.remove(idKey, index.entriesFor(prev));
    this.docs.delete(idKey);
    return prev;
  }

  /** Builds a new index over the stored documents; throws E11000 (and keeps nothing) on existing duplicates. */
  addIndex(spec: IndexSpec): Index {
    const index = new IndexImpl(spec);
    for (const [idKey, doc] of this.docs) {
      const entries = index.entriesFor(doc);
      const conflict = index.findConflict(entries, idKey);
      if (conflict) throw index.duplicateKeyError(this.ns, conflict);
      index.add(idKey, entries);
    }
    this.indexes.set(spec.name, index);
    return index;
  }

  dropIndex(name: string): void {
    this.indexes.delete(name);
  }

  /** The keys of a document in every index, after checking that no other document holds a unique one. */
  private plan(doc: Doc, idKey: string | undefined): Array<[Index, IndexEntry[]]> {
    const planned: Array<[Index, IndexEntry[]]> = [];
    for (const index of this.indexes.values()) {
      const entries = index.entriesFor(doc);
      const conflict = index.findConflict(entries, idKey);
      if (conflict) throw index.duplicateKeyError(this.ns, conflict);
      planned.push([index, entries]);
    }
    return planned;
  }
}

function sameKeys(a: IndexEntry[], b: IndexEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].key !== b[i].key) return false;
  return true;
}
