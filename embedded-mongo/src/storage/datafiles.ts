// The data directory: the lock, the journal (one record per write command, written before the reply), snapshots,
// crash recovery that discards a torn or corrupt tail, and compaction that bounds the journal.
//
// Files: `embedded-mongo.lock`, `snapshot.<gen>` (the whole state when journal <gen> began) and `journal.<gen>`.
// Recovery loads the newest complete snapshot and replays every journal of that generation or later, in order.
// Record framing: u32 LE payload length, u32 LE CRC-32 of the payload, payload = one or more BSON documents.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { crc32 } from "node:zlib";
import { BSON } from "../bson";
import type { Doc } from "./paths";

export type JournalOp = Doc & { o: string };

export interface SnapshotCollection {
  db: string;
  name: string;
  uuid: unknown;
  options: Doc;
  indexes: Doc[];
  docs: Doc[];
}

export interface DataFilesOptions {
  log: (line: string) => void;
  /** How often written journal data is forced to disk (MongoDB's default journal commit interval is 100 ms). */
  fsyncIntervalMs: number;
  /** Journal size that triggers compaction (at least the size of the last snapshot). */
  compactBytes: number;
}

const LOCK_FILE = "embedded-mongo.lock";
const HEADER_BYTES = 8;
const MAX_RECORD_BYTES = 512 * 1024 * 1024;
const SNAPSHOT_CHUNK_DOCS = 1000;
const lockedInThisProcess = new Set<string>();

export class DataDirectoryLockedError extends Error {}

export class DataFiles {
  readonly dir: string;
  private readonly opts: DataFilesOptions;
  private fd: number | undefined;
  private gen = 0;
  private journalBytes = 0;
  private snapshotBytes = 0;
  private dirty = false;
  private syncing = false;
  private timer: NodeJS.Timeout | undefined;
  private compaction: Promise<void> | undefined;
  private lockPath: string;
  private closed = false;

  constructor(dir: string, opts: DataFilesOptions) {
    this.dir = path.resolve(dir);
    this.opts = opts;
    this.lockPath = path.join(this.dir, LOCK_FILE);
  }

  /** Takes the directory for this process, or explains who holds it. */
  lock(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    if (lockedInThisProcess.has(this.dir)) {
      throw new DataDirectoryLockedError(`data directory ${this.dir} is already in use by this process`);
    }
    const content = JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = fs.openSync(this.lockPath, "wx");
        fs.writeSync(fd, content);
        fs.fsyncSync(fd);
        fs.closeSync(fd);
        lockedInThisProcess.add(this.dir);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        const holder = readLock(this.lockPath);
        if (holder && holder.host === os.hostname() && holder.pid !== process.pid && isAlive(holder.pid)) {
          throw new DataDirectoryLockedError(
            `data directory ${this.dir} is in use by another embedded-mongo process (pid ${holder.pid}, since ${holder.since}); stop it or choose another --dbpath`,
          );
        }
        // A lock left by a process that is gone (a crash): take it over.
        this.opts.log(`removing stale lock ${this.lockPath} (pid ${holder?.pid ?? "unknown"} is not running)`);
        fs.rmSync(this.lockPath, { force: true });
      }
    }
    throw new DataDirectoryLockedError(`could not lock data directory ${this.dir}`);
  }

  /** Rebuilds the state through `apply` and opens the journal for appending. */
  recover(apply: (op: JournalOp) => void): { ops: number; discardedBytes: number } {
    const names = fs.readdirSync(this.dir);
    for (const name of names) if (name.endsWith(".tmp")) fs.rmSync(path.join(this.dir, name), { force: true });
    const gens = (prefix: string) =>
      names
        .map((n) => new RegExp(`^${prefix}\\.(\\d+)$`).exec(n))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1]))
        .sort((a, b) => a - b);
    const snapshots = gens("snapshot");
    const base = snapshots.length ? snapshots[snapshots.length - 1] : 0;
    let ops = 0;
    if (snapshots.length) {
      const file = path.join(this.dir, `snapshot.${base}`);
      const scan = scanRecords(fs.readFileSync(file));
      const ended = scan.ops.length > 0 && scan.ops[scan.ops.length - 1].o === "end";
      if (scan.badAt !== undefined || !ended || scan.ops[0]?.o !== "snapshot") {
        throw new Error(`snapshot ${file} is damaged (${scan.reason ?? "incomplete"}); restore it from a backup`);
      }
      for (const op of scan.ops) if (op.o !== "snapshot" && op.o !== "end") apply(op);
      ops += scan.ops.length;
      this.snapshotBytes = fs.statSync(file).size;
    }
    for (const old of snapshots.slice(0, -1)) fs.rmSync(path.join(this.dir, `snapshot.${old}`), { force: true });
    let discardedBytes = 0;
    let current = base;
    let damaged = false;
    for (const gen of gens("journal")) {
      const file = path.join(this.dir, `journal.${gen}`);
      if (gen < base) {
        fs.rmSync(file, { force: true });
        continue;
      }
      if (damaged) {
        // Everything after a damaged record is unreliable: keep it aside, never replay it.
        const aside = `${file}.discarded-${Date.now()}`;
        fs.renameSync(file, aside);
        discardedBytes += fs.statSync(aside).size;
        this.opts.log(`set aside ${path.basename(file)} (it follows a damaged journal) as ${path.basename(aside)}`);
        continue;
      }
      const buf = fs.readFileSync(file);
      const scan = scanRecords(buf);
      for (const op of scan.ops) if (op.o !== "journal") apply(op);
      ops += scan.ops.length;
      current = gen;
      if (scan.badAt !== undefined) {
        damaged = true;
        discardedBytes += buf.length - scan.badAt;
        this.opts.log(
          `discarded ${buf.length - scan.badAt} bytes of a torn or corrupt journal tail in ${path.basename(file)} at offset ${scan.badAt} (${scan.reason})`,
        );
        fs.truncateSync(file, scan.badAt);
      }
    }
    this.openJournal(current);
    return { ops, discardedBytes };
  }

  /** Appends one record (the ops of one command). Synchronous: the reply is sent only after the OS has it. */
  append(ops: JournalOp[]): void {
    if (this.fd === undefined) throw new Error("journal is closed");
    const record = encodeRecord(ops);
    writeFully(this.fd, record);
    this.journalBytes += record.length;
    this.dirty = true;
  }

  /** Starts the periodic fsync. */
  startTimers(): void {
    this.timer = setInterval(() => this.syncSoon(), this.opts.fsyncIntervalMs);
    this.timer.unref();
  }

  get needsCompaction(): boolean {
    return !this.compaction && this.journalBytes > Math.max(this.opts.compactBytes, this.snapshotBytes);
  }

  get compacting(): Promise<void> | undefined {
    return this.compaction;
  }

  /** Whether the last compaction failed (its journals are kept; the next write tries again). */
  get lastCompactionFailed(): boolean {
    return this.compactionFailed;
  }

  private compactionFailed = false;

  /**
   * Writes a snapshot of `state` (captured now, synchronously, together with a switch to a new journal) in the
   * background, then deletes the files it replaces.
   */
  compact(capture: () => SnapshotCollection[]): Promise<void> {
    if (this.compaction) return this.compaction;
    if (this.closed) return Promise.resolve();
    const gen = this.gen + 1;
    const previousFd = this.fd;
    this.openJournal(gen);
    if (previousFd !== undefined) {
      fs.fdatasyncSync(previousFd);
      fs.closeSync(previousFd);
    }
    const state = capture();
    this.compaction = this.writeSnapshot(gen, state)
      .then(() => {
        this.compactionFailed = false;
      })
      .catch((err: unknown) => {
        this.compactionFailed = true;
        this.opts.log(`compaction to snapshot.${gen} failed, the journals are kept: ${(err as Error).message}`);
      })
      .finally(() => {
        this.compaction = undefined;
      });
    return this.compaction;
  }

  /** Flushes and closes; the lock is released last. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    // (A compaction that ends may start the next one: each is waited for.)
    while (this.compaction) await this.compaction;
    if (this.fd !== undefined) {
      fs.fdatasyncSync(this.fd);
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
    this.releaseLock();
  }

  /** Releases the lock without flushing (the process is going away). */
  releaseLock(): void {
    if (!lockedInThisProcess.has(this.dir)) return;
    const holder = readLock(this.lockPath);
    if (holder?.pid === process.pid) fs.rmSync(this.lockPath, { force: true });
    lockedInThisProcess.delete(this.dir);
  }

  private syncSoon(): void {
    if (!this.dirty || this.syncing || this.fd === undefined) return;
    this.dirty = false;
    this.syncing = true;
    fs.fdatasync(this.fd, (err) => {
      this.syncing = false;
      if (err) {
        this.dirty = true;
        this.opts.log(`journal fsync failed, retrying: ${err.message}`);
      }
    });
  }

  private openJournal(gen: number): void {
    const file = path.join(this.dir, `journal.${gen}`);
    const exists = fs.existsSync(file) && fs.statSync(file).size > 0;
    this.fd = fs.openSync(file, "a");
    this.gen = gen;
    if (!exists) {
      const header = encodeRecord([{ o: "journal", gen, createdAt: new Date() }]);
      writeFully(this.fd, header);
      fs.fdatasyncSync(this.fd);
      fsyncDir(this.dir);
      this.journalBytes = header.length;
    } else {
      this.journalBytes = fs.fstatSync(this.fd).size;
    }
  }

  private async writeSnapshot(gen: number, state: SnapshotCollection[]): Promise<void> {
    const tmp = path.join(this.dir, `snapshot.${gen}.tmp`);
    const final = path.join(this.dir, `snapshot.${gen}`);
    const handle = await fs.promises.open(tmp, "w");
    let bytes = 0;
    let count = 0;
    const write = async (ops: JournalOp[]) => {
      const record = encodeRecord(ops);
      await handle.write(record);
      bytes += record.length;
    };
    try {
      await write([{ o: "snapshot", gen, createdAt: new Date() }]);
      for (const c of state) {
        await write([
          { o: "cc", d: c.db, c: c.name, uuid: c.uuid, options: c.options },
          ...c.indexes.map((spec) => ({ o: "ci", d: c.db, c: c.name, spec })),
        ]);
        for (let i = 0; i < c.docs.length; i += SNAPSHOT_CHUNK_DOCS) {
          await write(c.docs.slice(i, i + SNAPSHOT_CHUNK_DOCS).map((doc) => ({ o: "i", d: c.db, c: c.name, doc })));
          count += Math.min(SNAPSHOT_CHUNK_DOCS, c.docs.length - i);
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      await write([{ o: "end", docs: count }]);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, final);
    fsyncDir(this.dir);
    this.snapshotBytes = bytes;
    for (const name of await fs.promises.readdir(this.dir)) {
      const m = /^(snapshot|journal)\.(\d+)$/.exec(name);
      if (m && Number(m[2]) < gen) await fs.promises.rm(path.join(this.dir, name), { force: true });
    }
    this.opts.log(`compacted: snapshot.${gen} holds ${count} documents (${bytes} bytes)`);
  }
}

function encodeRecord(ops: JournalOp[]): Buffer {
  const parts = ops.map((op) => BSON.serialize(op, { ignoreUndefined: true }));
  const payload = Buffer.concat(parts);
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

interface Scan {
  ops: JournalOp[];
  badAt?: number;
  reason?: string;
}

/** Reads records until the end or the first one that is torn, fails its checksum or is not valid BSON. */
export function scanRecords(buf: Buffer): Scan {
  const ops: JournalOp[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const bad = (reason: string): Scan => ({ ops, badAt: offset, reason });
    if (buf.length - offset < HEADER_BYTES) return bad("truncated record header");
    const length = buf.readUInt32LE(offset);
    const sum = buf.readUInt32LE(offset + 4);
    if (length < 5 || length > MAX_RECORD_BYTES) return bad(`impossible record length ${length}`);
    if (offset + HEADER_BYTES + length > buf.length) return bad("truncated record");
    const payload = buf.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length);
    if (crc32(payload) !== sum) return bad("checksum mismatch");
    const recordOps: JournalOp[] = [];
    let p = 0;
    try {
      while (p < payload.length) {
        const docLength = payload.readInt32LE(p);
        if (docLength < 5 || p + docLength > payload.length) throw new Error("bad document length");
        recordOps.push(BSON.deserialize(payload.subarray(p, p + docLength)) as JournalOp);
        p += docLength;
      }
    } catch (err) {
      return bad(`invalid BSON: ${(err as Error).message}`);
    }
    ops.push(...recordOps);
    offset += HEADER_BYTES + length;
  }
  return { ops };
}

function writeFully(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function readLock(file: string): { pid: number; host: string; since: string } | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
