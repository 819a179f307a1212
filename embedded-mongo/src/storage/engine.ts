// The storage engine: databases and collections, every change recorded as a journal op and committed once per
// command, replay of those ops on recovery, snapshots for compaction, and the TTL monitor.
import { type Binary, UUID } from "../bson";
import { CommandError, ErrorCode } from "../errors";
import { Collection } from "./collection";
import { DataFiles, type DataFilesOptions, type JournalOp, type SnapshotCollection } from "./datafiles";
import type { IndexSpec } from "./index";
import { TypeTag } from "./keystring";
import { fieldInterval } from "./index";
import { type Doc, deepFreeze } from "./paths";

export interface EngineOptions extends Partial<DataFilesOptions> {
  dbPath?: string;
  log: (line: string) => void;
}

const INVALID_DB_CHARS = /[/\\. "$*<>:|?\0]/;

export function validateDbName(db: unknown): string {
  if (typeof db !== "string" || db.length === 0 || db.length > 63 || INVALID_DB_CHARS.test(db)) {
    throw new CommandError(ErrorCode.InvalidNamespace, `Invalid database name: '${String(db)}'`);
  }
  return db;
}

export function validateCollectionName(db: string, name: unknown): string {
  if (typeof name !== "string") {
    throw new CommandError(ErrorCode.InvalidNamespace, `collection name has invalid type ${typeof name}`);
  }
  if (name.length === 0 || name.includes("\0") || name.startsWith(".") || name.includes("$")) {
    throw new CommandError(ErrorCode.InvalidNamespace, `Invalid collection name: ${db}.${name}`);
  }
  if (name.startsWith("system.")) {
    throw new CommandError(ErrorCode.InvalidNamespace, `Invalid system namespace: ${db}.${name}`);
  }
  if (Buffer.byteLength(`${db}.${name}`) > 255) {
    throw new CommandError(ErrorCode.InvalidNamespace, `Fully qualified namespace is too long: ${db}.${name}`);
  }
  return name;
}

export class Engine {
  private readonly dbs = new Map<string, Map<string, Collection>>();
  private pending: JournalOp[] = [];
  private replaying = false;
  private failure: Error | undefined;
  private ttlTimer: NodeJS.Timeout | undefined;
  readonly files: DataFiles | undefined;
  private readonly log: (line: string) => void;

  constructor(opts: EngineOptions) {
    this.log = opts.log;
    if (opts.dbPath) {
      this.files = new DataFiles(opts.dbPath, {
        log: opts.log,
        fsyncIntervalMs: opts.fsyncIntervalMs ?? 100,
        compactBytes: opts.compactBytes ?? 64 * 1024 * 1024,
      });
    }
  }

  /** Locks the data directory and rebuilds the state from it. */
  open(): { ops: number; discardedBytes: number } {
    if (!this.files) return { ops: 0, discardedBytes: 0 };
    this.files.lock();
    try {
      this.replaying = true;
      const report = this.files.recover((op) => this.apply(op));
      this.replaying = false;
      this.files.startTimers();
      return report;
    } catch (err) {
      this.files.releaseLock();
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.ttlTimer) clearInterval(this.ttlTimer);
    await this.files?.close();
  }

  // ---- reading -------------------------------------------------------------------------------------------

  databaseNames(): string[] {
    return [...this.dbs.keys()].filter((db) => (this.dbs.get(db)?.size ?? 0) > 0);
  }

  collections(db: string): Collection[] {
    return [...(this.dbs.get(db)?.values() ?? [])];
  }

  collection(db: string, name: string): Collection | undefined {
    return this.dbs.get(db)?.get(name);
  }

  allCollections(): Collection[] {
    return [...this.dbs.values()].flatMap((m) => [...m.values()]);
  }

  // ---- writing (each change validated, applied, then recorded for the command's journal record) -----------

  /** Throws when an earlier journal write failed: the store then refuses writes rather than lose them. */
  assertWritable(): void {
    if (this.failure) {
      throw new CommandError(
        ErrorCode.InternalError,
        `the store refuses writes after a journal failure: ${this.failure.message}; restart it`,
      );
    }
  }

  createCollection(db: string, name: string, options: Doc = {}): Collection {
    if (this.collection(db, name)) {
      throw new CommandError(ErrorCode.NamespaceExists, `Collection ${db}.${name} already exists.`);
    }
    return this.addCollection(db, name, new UUID(), options);
  }

  /** The collection, created implicitly as MongoDB does on a first write. */
  ensureCollection(db: string, name: string): Collection {
    return this.collection(db, name) ?? this.createCollection(validateDbName(db), validateCollectionName(db, name));
  }

  dropCollection(db: string, name: string): Collection | undefined {
    const coll = this.collection(db, name);
    if (!coll) return undefined;
    this.dbs.get(db)?.delete(name);
    if (this.dbs.get(db)?.size === 0) this.dbs.delete(db);
    this.record({ o: "dc", d: db, c: name });
    return coll;
  }

  dropDatabase(db: string): void {
    if (!this.dbs.has(db)) return;
    this.dbs.delete(db);
    this.record({ o: "dd", d: db });
  }

  createIndex(coll: Collection, spec: IndexSpec): void {
    coll.addIndex(spec);
    this.record({ o: "ci", d: coll.db, c: coll.name, spec });
  }

  dropIndex(coll: Collection, name: string): void {
    coll.dropIndex(name);
    this.record({ o: "di", d: coll.db, c: coll.name, name });
  }

  insert(coll: Collection, doc: Doc): void {
    deepFreeze(doc);
    coll.insert(doc);
    this.record({ o: "i", d: coll.db, c: coll.name, doc });
  }

  replace(coll: Collection, idKey: string, doc: Doc): void {
    deepFreeze(doc);
    coll.replace(idKey, doc);
    this.record({ o: "u", d: coll.db, c: coll.name, doc });
  }

  remove(coll: Collection, idKey: string): Doc | undefined {
    const prev = coll.remove(idKey);
    if (prev) this.record({ o: "r", d: coll.db, c: coll.name, id: prev._id });
    return prev;
  }

  /**
   * Writes the ops of the finished command as one journal record. Called after every command; a failure here
   * means the command is not acknowledged and the store stops taking writes (its memory is ahead of its disk).
   */
  commit(): void {
    if (this.pending.length === 0) return;
    const ops = this.pending;
    this.pending = [];
    if (!this.files) return;
    try {
      this.files.append(ops);
    } catch (err) {
      this.failure = err as Error;
      this.log(`journal write failed, refusing further writes: ${(err as Error).message}`);
      throw new CommandError(ErrorCode.InternalError, `journal write failed: ${(err as Error).message}`);
    }
    if (this.files.needsCompaction) void this.compact();
  }

  /** Snapshots the current state and starts a fresh journal (in the background). */
  compact(): Promise<void> {
    const files = this.files;
    if (!files) return Promise.resolve();
    // Writes go on while a snapshot is written, into the new journal, and do not start another compaction meanwhile:
    // a journal that outgrew the threshold by then is compacted at once, not only at the next write after it (unless
    // that compaction failed: then the next write tries again, as before).
    return files.compact(() => this.capture()).then(() => (files.needsCompaction && !files.lastCompactionFailed ? this.compact() : undefined));
  }

  private capture(): SnapshotCollection[] {
    return this.allCollections().map((c) => ({
      db: c.db,
      name: c.name,
      uuid: c.uuid,
      options: c.options,
      indexes: [...c.indexes.values()].filter((i) => !i.isIdIndex).map((i) => i.spec),
      docs: [...c.docs.values()],
    }));
  }

  private record(op: JournalOp): void {
    if (!this.replaying && this.files) this.pending.push(op);
  }

  private addCollection(db: string, name: string, uuid: Binary, options: Doc): Collection {
    let colls = this.dbs.get(db);
    if (!colls) {
      colls = new Map();
      this.dbs.set(db, colls);
    }
    const coll = new Collection(db, name, uuid, options);
    colls.set(name, coll);
    this.record({ o: "cc", d: db, c: name, uuid, options });
    return coll;
  }

  /** Replays one journal op (trusted: it was validated when first applied). */
  private apply(op: JournalOp): void {
    const db = op.d as string;
    const name = op.c as string;
    const coll = () => {
      const c = this.collection(db, name);
      if (!c) throw new Error(`journal refers to missing collection ${db}.${name}`);
      return c;
    };
    switch (op.o) {
      case "cc":
        if (!this.collection(db, name)) this.addCollection(db, name, op.uuid as Binary, (op.options as Doc) ?? {});
        return;
      case "dc":
        this.dropCollection(db, name);
        return;
      case "dd":
        this.dropDatabase(db);
        return;
      case "ci":
        coll().addIndex(op.spec as IndexSpec);
        return;
      case "di":
        coll().dropIndex(op.name as string);
        return;
      case "i":
        coll().insert(deepFreeze(op.doc as Doc));
        return;
      case "u": {
        const doc = deepFreeze(op.doc as Doc);
        coll().replace(Collection.idKey(doc._id), doc);
        return;
      }
      case "r":
        coll().remove(Collection.idKey(op.id));
        return;
      default:
        throw new Error(`unknown journal op ${op.o}`);
    }
  }

  // ---- TTL ----------------------------------------------------------------------------------------------

  /** Deletes documents whose TTL-indexed date is older than its index's expireAfterSeconds. */
  expireTtl(now = Date.now()): number {
    if (this.failure) return 0;
    let removed = 0;
    for (const coll of this.allCollections()) {
      for (const index of coll.indexes.values()) {
        const ttl = index.spec.expireAfterSeconds;
        if (typeof ttl !== "number" || index.fields.length !== 1) continue;
        const cutoff = new Date(now - ttl * 1000);
        const [lo, hi] = fieldInterval(index.fields[0].dir, TypeTag.Date, undefined, {
          value: cutoff,
          inclusive: false,
        });
        const ids = new Set<string>();
        index.tree.forRange(lo, hi, false, (_k, idKey) => {
          ids.add(idKey);
        });
        for (const idKey of ids) if (this.remove(coll, idKey)) removed++;
      }
    }
    try {
      this.commit();
    } catch {
      // already logged; the deletions are retried at the next pass after a restart
    }
    return removed;
  }

  startTtlMonitor(intervalMs: number): void {
    this.expireTtl();
    this.ttlTimer = setInterval(() => this.expireTtl(), intervalMs);
    this.ttlTimer.unref();
  }
}
