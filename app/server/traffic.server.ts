// Recording traffic: request events are aggregated into a usage batch — $inc upserts of daily usage and daily path
// usage, plus request logs — written in bulk. The ingest endpoint records events through here, and the edge
// records the batches it aggregates in memory.
import { createHash, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { type AnyBulkWriteOperation, Types } from "mongoose";
import { DailyPathUsage } from "#models/daily-path-usage.ts";
import { DailyUsage } from "#models/daily-usage.ts";
import {
  REQUEST_LOG_BUCKET_MAX,
  REQUEST_LOG_BUCKET_SPAN_MS,
  REQUEST_LOG_RETENTION_SECONDS,
  RequestLogBucket,
  RequestLogBucketBuilder,
  type RequestLogBucketDoc,
  type RequestLogDoc,
} from "#models/request-log.ts";
import { Tenant } from "#models/tenant.ts";
import { CACHE_STATUSES, type CacheStatus, REQUEST_KINDS, type RequestKind } from "#app/schemas/usage.ts";
import { connectDb } from "./db.server.ts";
import { env } from "./env.server.ts";
import { ApiError } from "./http.server.ts";

export interface RequestEvent {
  /** The tenant's slug. */
  tenant: string;
  timestamp: Date;
  method: string;
  path: string;
  status: number;
  bytes: number;
  cacheStatus: CacheStatus;
  kind: RequestKind;
  durationMs: number;
  /** Whether to keep a request log of it (the edge samples; ingest keeps all). Default true. */
  log?: boolean;
}

/** A request as usage counts it, its time in epoch ms (the edge reads the clock per request and makes no Date). */
export type ServedRequest = Omit<RequestEvent, "tenant" | "timestamp" | "log"> & { time: number };

/** What a tenant's usage is filed under. */
export interface UsageOwner {
  _id: Types.ObjectId;
  slug: string;
  billingSubject: string;
  ownerId: string;
  /** `_id` as hex, when the caller has it already (the edge keeps one owner per tenant config). */
  idHex?: string;
}

export const MAX_EVENT_AGE_MS = 400 * 86_400_000;
export const MAX_EVENT_FUTURE_MS = 5 * 60_000;

export type Counters = Record<string, number>;

const TALLY = ["requests", "bytes", "hits", "misses", "bypasses", "errors"] as const;
/** The DailyUsage counters, in the order a day's counter array keeps them. */
const COUNTER_FIELDS = [
  ...["", "asset.", "api."].flatMap((prefix) => TALLY.map((t) => `${prefix}${t}`)),
  ...[1, 2, 3, 4, 5].map((c) => `status.s${c}xx`),
];
const CACHE_OFFSET: Record<CacheStatus, number> = { HIT: 2, MISS: 3, BYPASS: 4, ERROR: 5 };
const KIND_BASE: Record<RequestKind, number> = { asset: 6, api: 12 };
const STATUS_BASE = 17;
const DAY_MS = 86_400_000;

/**
 * How many distinct paths a batch counts, over its day parts (each tenant's day at most a fifth of them, so one
 * tenant's scan leaves room for the others), and how many requests came on paths past that.
 */
interface PathRoom {
  readonly max: number;
  readonly maxPerDay: number;
  used: number;
  notCounted: number;
}

/** One tenant's counters for one UTC day: a fixed array (adding to it happens on every edge request). */
class DayPart {
  readonly counts = new Float64Array(COUNTER_FIELDS.length);
  /** This tenant's and day's path counters, by path. */
  readonly paths = new Map<string, PathPart>();
  /** The path counters added to last. */
  private lastPath: PathPart | undefined;
  constructor(
    readonly tenant: UsageOwner,
    readonly day: Date,
    private readonly room: PathRoom,
  ) {}

  /**
   * A path's counters (made at zero the first time, if the batch has room for another path); a run of one path finds
   * them without a look-up.
   */
  path(path: string): PathPart | undefined {
    const last = this.lastPath;
    if (last !== undefined && last.path === path) return last;
    let p = this.paths.get(path);
    if (!p) {
      if (this.room.used >= this.room.max || this.paths.size >= this.room.maxPerDay) return undefined;
      this.room.used++;
      p = { tenant: this.tenant._id, day: this.day, path, requests: 0, bytes: 0 };
      this.paths.set(path, p);
    }
    this.lastPath = p;
    return p;
  }

  get requests(): number {
    return this.counts[0];
  }

  get bytes(): number {
    return this.counts[1];
  }

  /** The counters as a $inc (fields that stayed at zero left out). */
  get inc(): Counters {
    const out: Counters = {};
    for (let i = 0; i < COUNTER_FIELDS.length; i++) if (this.counts[i] !== 0) out[COUNTER_FIELDS[i]] = this.counts[i];
    return out;
  }
}

interface PathPart {
  tenant: Types.ObjectId;
  day: Date;
  path: string;
  requests: number;
  bytes: number;
}

/** A request log waiting in a batch: the stored log and the tenant it is filed under. */
export interface HeldLog {
  tenant: Types.ObjectId;
  log: RequestLogDoc;
}

/** A held log's code: its cache status (low four bits) and kind (high four bits), as indexes into their lists. */
const CACHE_CODE = Object.fromEntries(CACHE_STATUSES.map((c, i) => [c, i])) as Record<CacheStatus, number>;
const KIND_CODE = Object.fromEntries(REQUEST_KINDS.map((k, i) => [k, i << 4])) as Record<RequestKind, number>;

/** The middle five bytes of the ObjectIds given to held logs (random per process, as the driver's own are). */
const ID_PROCESS = randomBytes(5);
let idCounter = randomInt(0x1000000);

/**
 * The distinct values of a column of held logs, numbered in the order they first come; a log keeps its value's
 * number. Values are told apart as Map keys are (a tenant's id by its object: one per tenant config, so a tenant may
 * have a few numbers). A run of one value, the common case, looks nothing up.
 */
class ValueTable<T> {
  readonly values: T[] = [];
  private readonly numbers = new Map<T, number>();
  private last: T | undefined;
  private lastNumber = -1;

  numberOf(value: T): number {
    if (value === this.last && this.lastNumber >= 0) return this.lastNumber;
    let n = this.numbers.get(value);
    if (n === undefined) {
      n = this.values.push(value) - 1;
      this.numbers.set(value, n);
    }
    this.last = value;
    this.lastNumber = n;
    return n;
  }
}

/**
 * Request logs held in memory until they are written, kept column by column in typed arrays: numbers as they are,
 * tenants, methods and paths as the numbers of their values in a table of the batch's distinct ones. A held log is
 * thus no objects or references for the garbage collector to trace, promote or record (a reference stored in a
 * large old array costs a write barrier) while the batch waits its 2 s, which at the edge's rate (a log per request)
 * cost more than serving the request. Each log's ObjectId is fixed when it is added (its bytes in a column), so a
 * retried write stores it under the same id; a log is made into an object only to be written.
 */
export class HeldLogs {
  /** Live logs are at column positions [head, end): dropping the oldest moves `head`, room is made when adding. */
  private head = 0;
  private end = 0;
  private capacity = 0;
  private tenants = new ValueTable<Types.ObjectId>();
  private methods = new ValueTable<string>();
  private paths = new ValueTable<string>();
  private tenantIx = new Uint32Array(0);
  private methodIx = new Uint32Array(0);
  private pathIx = new Uint32Array(0);
  private ids = Buffer.alloc(0);
  private times = new Float64Array(0);
  private statuses = new Uint16Array(0);
  /** Cache status (low four bits) and kind (high four bits), as indexes into CACHE_STATUSES and REQUEST_KINDS. */
  private codes = new Uint8Array(0);
  private sizes = new Float64Array(0);
  private durations = new Float64Array(0);

  /** The logs as held logs (themselves when they are already). */
  static from(logs: HeldLogs | readonly HeldLog[]): HeldLogs {
    if (logs instanceof HeldLogs) return logs;
    const out = new HeldLogs();
    for (const { tenant, log } of logs) out.push(tenant, { ...log, time: log.timestamp.getTime() }, log._id);
    return out;
  }

  get length(): number {
    return this.end - this.head;
  }

  /**
   * Adds a log, with a new id unless one is given: made at `madeAt`, the time now (epoch ms; the edge passes it when it
   * has just read the clock for a request answered at once).
   */
  push(tenant: Types.ObjectId, log: ServedRequest, id?: Types.ObjectId, madeAt = Date.now()): void {
    if (this.end === this.capacity) this.makeRoom();
    const k = this.end;
    if (id) this.ids.set(id.id, k * 12);
    else newObjectId(this.ids, k * 12, madeAt);
    this.tenantIx[k] = this.tenants.numberOf(tenant);
    this.methodIx[k] = this.methods.numberOf(log.method);
    this.pathIx[k] = this.paths.numberOf(log.path);
    this.times[k] = log.time;
    this.statuses[k] = log.status;
    this.codes[k] = CACHE_CODE[log.cacheStatus] | KIND_CODE[log.kind];
    this.sizes[k] = log.bytes;
    this.durations[k] = log.durationMs;
    this.end = k + 1;
  }

  tenantAt(i: number): Types.ObjectId {
    return this.tenants.values[this.tenantIx[this.head + i]];
  }

  /** Epoch ms of log i. */
  timeAt(i: number): number {
    return this.times[this.head + i];
  }

  idAt(i: number): Types.ObjectId {
    const at = (this.head + i) * 12;
    return new Types.ObjectId(Buffer.from(this.ids.subarray(at, at + 12)));
  }

  /** Log i as stored. */
  logAt(i: number): HeldLog["log"] {
    const k = this.head + i;
    return { _id: this.idAt(i), timestamp: new Date(this.times[k]), ...this.fieldsAt(k) };
  }

  /** Adds log i to a bucket being built (its columns copied, no object made of its id or time). */
  addTo(bucket: RequestLogBucketBuilder, i: number): void {
    const k = this.head + i;
    bucket.add(this.ids, k * 12, this.fieldsAt(k), this.times[k]);
  }

  /** The fields of the log at column position k, apart from its id and time. */
  private fieldsAt(k: number): Omit<HeldLog["log"], "_id" | "timestamp"> {
    const code = this.codes[k];
    return {
      method: this.methods.values[this.methodIx[k]],
      path: this.paths.values[this.pathIx[k]],
      status: this.statuses[k],
      cacheStatus: CACHE_STATUSES[code & 0xf],
      kind: REQUEST_KINDS[code >> 4],
      bytes: this.sizes[k],
      durationMs: this.durations[k],
    };
  }

  /** Log i and its tenant, or undefined past the end (negative i counts from the end, as for an array). */
  at(i: number): HeldLog | undefined {
    const k = i < 0 ? this.length + i : i;
    return k >= 0 && k < this.length ? { tenant: this.tenantAt(k), log: this.logAt(k) } : undefined;
  }

  toArray(): HeldLog[] {
    return Array.from({ length: this.length }, (_, i) => this.at(i) as HeldLog);
  }

  /**
   * Empties it for reuse, keeping its columns: a new batch every 2 s would otherwise grow fresh columns by doubling
   * (tens of thousands of logs each time), costing more per log than adding one to columns that are there.
   */
  clear(): void {
    this.head = this.end = 0;
    this.newTables();
  }

  /** Empty tables of tenants, methods and paths. */
  private newTables(): void {
    this.tenants = new ValueTable();
    this.methods = new ValueTable();
    this.paths = new ValueTable();
  }

  /**
   * The live logs as plain data, to be handed to another thread (see `UsageBatchData`): the columns copied, and the
   * tables of tenants (as hex), methods and paths.
   */
  toData(): HeldLogsData {
    const from = this.head;
    const to = this.end;
    return {
      length: to - from,
      tenants: this.tenants.values.map((t) => t.toHexString()),
      tenantIx: this.tenantIx.slice(from, to),
      methods: [...this.methods.values],
      methodIx: this.methodIx.slice(from, to),
      paths: [...this.paths.values],
      pathIx: this.pathIx.slice(from, to),
      ids: new Uint8Array(this.ids.subarray(from * 12, to * 12)),
      times: this.times.slice(from, to),
      statuses: this.statuses.slice(from, to),
      codes: this.codes.slice(from, to),
      sizes: this.sizes.slice(from, to),
      durations: this.durations.slice(from, to),
    };
  }

  /**
   * Takes the logs given as data by `toData` (their ids kept, so a retried write still stores each at most once), in
   * place of the none it holds.
   */
  load(data: HeldLogsData): void {
    if (this.length !== 0) throw new Error("logs are loaded into empty held logs only");
    this.head = 0;
    this.capacity = this.end = data.length;
    this.newTables();
    // The tables get the same numbers in the same order.
    for (const hex of data.tenants) this.tenants.numberOf(new Types.ObjectId(hex));
    for (const method of data.methods) this.methods.numberOf(method);
    for (const path of data.paths) this.paths.numberOf(path);
    this.tenantIx = data.tenantIx;
    this.methodIx = data.methodIx;
    this.pathIx = data.pathIx;
    this.ids = Buffer.from(data.ids.buffer, data.ids.byteOffset, data.length * 12);
    this.times = data.times;
    this.statuses = data.statuses;
    this.codes = data.codes;
    this.sizes = data.sizes;
    this.durations = data.durations;
  }

  /** Drops the oldest n logs (at once: their room is taken back when more is needed). */
  dropOldest(n: number): void {
    this.head += Math.max(0, Math.min(n, this.length));
    if (this.head === this.end) this.clear();
  }

  /** Moves the live logs to the front: in place when that frees an eighth of the columns, else into ones twice as long. */
  private makeRoom(): void {
    const live = this.length;
    const capacity = this.capacity === 0 ? 1024 : this.capacity - live >= this.capacity / 8 ? this.capacity : this.capacity * 2;
    const from = this.head;
    const to = this.end;
    if (capacity === this.capacity) {
      this.ids.copyWithin(0, from * 12, to * 12);
      for (const column of [this.tenantIx, this.methodIx, this.pathIx, this.times, this.statuses, this.codes, this.sizes, this.durations]) {
        column.copyWithin(0, from, to);
      }
    } else {
      const ids = Buffer.alloc(capacity * 12);
      ids.set(this.ids.subarray(from * 12, to * 12));
      this.ids = ids;
      this.tenantIx = moved(this.tenantIx, new Uint32Array(capacity), from, to);
      this.methodIx = moved(this.methodIx, new Uint32Array(capacity), from, to);
      this.pathIx = moved(this.pathIx, new Uint32Array(capacity), from, to);
      this.times = moved(this.times, new Float64Array(capacity), from, to);
      this.statuses = moved(this.statuses, new Uint16Array(capacity), from, to);
      this.codes = moved(this.codes, new Uint8Array(capacity), from, to);
      this.sizes = moved(this.sizes, new Float64Array(capacity), from, to);
      this.durations = moved(this.durations, new Float64Array(capacity), from, to);
      this.capacity = capacity;
    }
    this.head = 0;
    this.end = live;
    // The dropped logs' values are let go of here: the tables are made again from the live logs.
    if (from > 0) this.renumber();
  }

  /** Tables of the live logs' values only, and the logs' numbers in them. */
  private renumber(): void {
    const { tenants, methods, paths } = this;
    this.newTables();
    for (let k = this.head; k < this.end; k++) {
      this.tenantIx[k] = this.tenants.numberOf(tenants.values[this.tenantIx[k]]);
      this.methodIx[k] = this.methods.numberOf(methods.values[this.methodIx[k]]);
      this.pathIx[k] = this.paths.numberOf(paths.values[this.pathIx[k]]);
    }
  }
}

/** Held logs as plain data (`HeldLogs.toData`): every column has one entry per log, in order. */
export interface HeldLogsData {
  length: number;
  /** Tables of tenant ids (hex), methods and paths, and per log the number of its value in them. */
  tenants: string[];
  tenantIx: Uint32Array<ArrayBuffer>;
  methods: string[];
  methodIx: Uint32Array<ArrayBuffer>;
  paths: string[];
  pathIx: Uint32Array<ArrayBuffer>;
  /** 12 bytes per log. */
  ids: Uint8Array<ArrayBuffer>;
  times: Float64Array<ArrayBuffer>;
  statuses: Uint16Array<ArrayBuffer>;
  codes: Uint8Array<ArrayBuffer>;
  sizes: Float64Array<ArrayBuffer>;
  durations: Float64Array<ArrayBuffer>;
}

/** The values [from, to) of a column, at the start of a new one. */
function moved<T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(column: T, into: T, from: number, to: number): T {
  into.set(column.subarray(from, to) as never);
  return into;
}

/**
 * Writes a new ObjectId at `offset`, laid out as the driver's: the second it is made at (now, not the time of a log
 * that ingest may date weeks back: unique ids rest on fewer than 2^24 ids a second per process), the process bytes,
 * a counter.
 */
function newObjectId(into: Buffer, offset: number, madeAt: number): void {
  // Byte by byte: Buffer#copy is a call into C++, and writeUInt32BE checks its arguments, both dearer than stores.
  const second = Math.floor(madeAt / 1000);
  into[offset] = second >>> 24;
  into[offset + 1] = (second >>> 16) & 0xff;
  into[offset + 2] = (second >>> 8) & 0xff;
  into[offset + 3] = second & 0xff;
  for (let b = 0; b < 5; b++) into[offset + 4 + b] = ID_PROCESS[b];
  idCounter = (idCounter + 1) % 0x1000000;
  into[offset + 9] = idCounter >>> 16;
  into[offset + 10] = (idCounter >>> 8) & 0xff;
  into[offset + 11] = idCounter & 0xff;
}

/** The distinct paths one tenant's day may have counted in a batch that counts `maxPaths`: a fifth of them. */
export const pathsPerDay = (maxPaths: number) => Math.max(1, Math.ceil(maxPaths / 5));

/** The distinct paths a batch counts by default (a 2-s batch of the edge at 25,000 requests a second, each on a new path). */
export const DEFAULT_MAX_PATHS = 50_000;

/**
 * Usage aggregated in memory: one counter set per tenant and day (each with its counters per path), and the
 * request logs to keep. Adding is cheap; writing it is `recordBatch`.
 */
export class UsageBatch {
  readonly days = new Map<string, DayPart>();
  /** The day parts of each billing subject (what a quota check adds up: not every tenant's day of the batch). */
  private readonly bySubject = new Map<string, DayPart[]>();
  requests = 0;
  /** The day part of the last request added, the owner object it came with and the start of its day (epoch ms). */
  private last: DayPart | undefined;
  private lastOwner: UsageOwner | undefined;
  private lastDay = Number.NaN;

  /** Distinct paths counted so far (at most `maxPaths`), and the requests on further paths. */
  private readonly pathRoom: PathRoom;

  /**
   * The logs it keeps: empty ones of an earlier batch may be given, to reuse their columns. Past `maxPaths` distinct
   * paths (or a fifth of them for one tenant's day), a request on a new path is counted in its day's counters but not
   * by path: a batch's memory stays bounded however many paths come (a scan, or traffic held through a database
   * outage), and one tenant's scan does not take the others' room.
   */
  constructor(
    readonly logs: HeldLogs = new HeldLogs(),
    maxPaths = DEFAULT_MAX_PATHS,
  ) {
    if (logs.length !== 0) throw new Error("a batch starts with no logs");
    this.pathRoom = { max: maxPaths, maxPerDay: pathsPerDay(maxPaths), used: 0, notCounted: 0 };
  }

  /** Requests it counted but not by path (they came on new paths past its `maxPaths`). */
  get notCountedByPath(): number {
    return this.pathRoom.notCounted;
  }

  /** Counts a request, and keeps its log if asked (its id made at `madeAt`, see `HeldLogs.push`). */
  add(tenant: UsageOwner, e: ServedRequest, keepLog: boolean, madeAt?: number): void {
    const dayMs = Math.floor(e.time / DAY_MS) * DAY_MS;
    // Consecutive requests are mostly one tenant's on one day: the last day part is kept at hand, found again by the
    // owner object it came with (a tenant's owner object changes when its config is reloaded, its day part does not).
    let d = this.last;
    if (!d || tenant !== this.lastOwner || dayMs !== this.lastDay) {
      const key = dayKey(tenant, dayMs);
      d = this.days.get(key);
      if (!d) d = this.newDay(key, tenant, dayMs);
      this.last = d;
      this.lastOwner = tenant;
      this.lastDay = dayMs;
    }
    const c = d.counts;
    const cache = CACHE_OFFSET[e.cacheStatus];
    const kind = KIND_BASE[e.kind];
    c[0] += 1;
    c[1] += e.bytes;
    c[cache] += 1;
    c[kind] += 1;
    c[kind + 1] += e.bytes;
    c[kind + cache] += 1;
    const statusClass = Math.floor(e.status / 100);
    if (statusClass >= 1 && statusClass <= 5) c[STATUS_BASE + statusClass] += 1;
    const p = d.path(e.path);
    if (p) {
      p.requests += 1;
      p.bytes += e.bytes;
    } else this.pathRoom.notCounted++;
    this.requests++;
    // The log's id is fixed now (and names the bucket the log starts), so a retried write cannot store it twice.
    if (keepLog) this.logs.push(tenant._id, e, undefined, madeAt);
  }

  private newDay(key: string, tenant: UsageOwner, dayMs: number): DayPart {
    const d = new DayPart(tenant, new Date(dayMs), this.pathRoom);
    this.days.set(key, d);
    const ofSubject = this.bySubject.get(tenant.billingSubject);
    if (ofSubject) ofSubject.push(d);
    else this.bySubject.set(tenant.billingSubject, [d]);
    return d;
  }

  /** Requests and bytes the batch counts for a billing subject on days from `fromMs` (epoch ms) on. */
  subjectUsage(billingSubject: string, fromMs: number): { requests: number; bytes: number } {
    let requests = 0;
    let bytes = 0;
    for (const d of this.bySubject.get(billingSubject) ?? []) {
      if (d.day.getTime() < fromMs) continue;
      requests += d.requests;
      bytes += d.bytes;
    }
    return { requests, bytes };
  }

  get empty(): boolean {
    return this.days.size === 0 && this.logs.length === 0;
  }

  /** The batch as plain data, to be handed to another thread and written there (`fromData`, then `recordBatch`). */
  toData(): UsageBatchData {
    const owners: UsageBatchData["owners"] = [];
    // By owner object, not tenant id: each day part keeps the owner it was made with (a tenant's slug or billing
    // subject may have changed between two of its days in one batch).
    const ownerIx = new Map<UsageOwner, number>();
    const days: UsageBatchData["days"] = [];
    for (const d of this.days.values()) {
      const t = d.tenant;
      let owner = ownerIx.get(t);
      if (owner === undefined) {
        owner = owners.push({ id: hexOf(t), slug: t.slug, billingSubject: t.billingSubject, ownerId: t.ownerId }) - 1;
        ownerIx.set(t, owner);
      }
      days.push({ owner, day: d.day.getTime(), counts: d.counts.slice(), paths: [...d.paths.values()].map((p) => [p.path, p.requests, p.bytes]) });
    }
    return { requests: this.requests, owners, days, logs: this.logs.toData() };
  }

  /** A batch given as data by `toData`. */
  static fromData(data: UsageBatchData): UsageBatch {
    // Every path the data holds (it was bounded when it was added up).
    const batch = new UsageBatch(undefined, Number.POSITIVE_INFINITY);
    batch.logs.load(data.logs);
    const owners = data.owners.map((o) => ({ _id: new Types.ObjectId(o.id), slug: o.slug, billingSubject: o.billingSubject, ownerId: o.ownerId, idHex: o.id }));
    for (const { owner, day, counts, paths } of data.days) {
      const d = batch.newDay(dayKey(owners[owner], day), owners[owner], day);
      d.counts.set(counts);
      for (const [path, requests, bytes] of paths) {
        const p = d.path(path) as PathPart;
        p.requests = requests;
        p.bytes = bytes;
      }
    }
    batch.requests = data.requests;
    return batch;
  }
}

/** A tenant's id in hex (worked out once per tenant config at the edge: `idHex`). */
const hexOf = (tenant: UsageOwner) => tenant.idHex ?? tenant._id.toHexString();

/** A tenant's day in a batch's `days`. */
const dayKey = (tenant: UsageOwner, dayMs: number) => `${hexOf(tenant)}|${dayMs}`;

/** A usage batch as plain data (`UsageBatch.toData`): what crosses to the thread that writes it. */
export interface UsageBatchData {
  requests: number;
  owners: Array<{ id: string; slug: string; billingSubject: string; ownerId: string }>;
  /** Per tenant (an index into `owners`) and UTC day (epoch ms): the counters, and per path [path, requests, bytes]. */
  days: Array<{ owner: number; day: number; counts: Float64Array; paths: Array<[string, number, number]> }>;
  logs: HeldLogsData;
}


/**
 * A writer that retries a batch must not count it twice: its batches carry its id and a sequence number, each
 * document remembers the last sequence number applied per writer, and an update for a number already applied
 * matches nothing.
 */
export interface BatchWriter {
  id: string;
  seq: number;
}

/**
 * Writes a batch: daily usage and path usage as $inc upserts, logs inserted (each at most once). `counted` is called
 * once the daily usage is written (what quotas read), before the path usage and the logs.
 */
export async function recordBatch(batch: UsageBatch, writer?: BatchWriter, counted?: () => void): Promise<void> {
  if (batch.empty) return;
  await connectDb();
  const seqField = writer ? `flushSeq.${writer.id}` : undefined;
  const guard = seqField ? { [seqField]: { $not: { $gte: (writer as BatchWriter).seq } } } : {};
  const mark = seqField ? { $set: { [seqField]: (writer as BatchWriter).seq } } : {};
  await upsertAll(
    DailyUsage,
    [...batch.days.values()].map((d) => ({
      updateOne: {
        filter: { tenant: d.tenant._id, day: d.day, ...guard },
        update: {
          $inc: d.inc,
          ...mark,
          $setOnInsert: { slug: d.tenant.slug, billingSubject: d.tenant.billingSubject, ownerId: d.tenant.ownerId },
        },
        upsert: true,
      },
    })),
    seqField && writer ? (filters) => alreadyApplied(DailyUsage, filters, seqField, writer.seq) : undefined,
  );
  counted?.();
  await upsertAll(
    DailyPathUsage,
    [...batch.days.values()].flatMap((d) => [...d.paths.values()]).map((p) => ({
      updateOne: {
        filter: { tenant: p.tenant, day: p.day, path: p.path, ...guard },
        update: { $inc: { requests: p.requests, bytes: p.bytes }, ...mark },
        upsert: true,
      },
    })),
    seqField && writer ? (filters) => alreadyApplied(DailyPathUsage, filters, seqField, writer.seq) : undefined,
  );
  await writeRequestLogs(batch.logs);
}

/**
 * The buckets a list of logs is stored in (models/request-log.ts): per tenant and UTC hour, in the order the logs
 * came, at most REQUEST_LOG_BUCKET_MAX each. The same list always gives the same buckets, each named by its first
 * log's id.
 */
export function requestLogBuckets(logs: HeldLogs | readonly HeldLog[]): RequestLogBucketDoc[] {
  const held = HeldLogs.from(logs);
  const builder = new LogBucketPlanner(held);
  for (let i = 0; i < held.length; i++) builder.add(i);
  return builder.plans.map((plan) => bucketOf(held, plan));
}

/** A bucket to be: which held logs go in it (by index). */
type BucketPlan = { tenant: Types.ObjectId; members: number[] };

/** The bucket a plan describes, its logs' columns copied into it. */
function bucketOf(logs: HeldLogs, plan: BucketPlan): RequestLogBucketDoc {
  const bucket = new RequestLogBucketBuilder(plan.members.length, plan.tenant);
  for (const i of plan.members) logs.addTo(bucket, i);
  return bucket.done();
}

/** Plans the buckets of requestLogBuckets one log at a time (so that a caller may pause between logs). */
class LogBucketPlanner {
  readonly plans: BucketPlan[] = [];
  private readonly open = new Map<string, BucketPlan>();
  // Consecutive logs are mostly one tenant's in one hour: the last bucket is kept at hand.
  private lastTenant: Types.ObjectId | undefined;
  private lastHex = "";
  private lastKey = "";
  private lastHour = Number.NaN;
  private last: BucketPlan | undefined;

  constructor(private readonly logs: HeldLogs) {}

  add(i: number): void {
    const tenant = this.logs.tenantAt(i);
    const at = this.logs.timeAt(i);
    const hour = Math.floor(at / REQUEST_LOG_BUCKET_SPAN_MS);
    if (tenant !== this.lastTenant) {
      this.lastTenant = tenant;
      this.lastHex = tenant.toHexString();
      this.last = undefined;
    }
    let key = this.lastKey;
    let plan = this.last && hour === this.lastHour ? this.last : undefined;
    if (!plan) {
      key = `${this.lastHex}|${hour}`;
      plan = this.open.get(key);
    }
    if (!plan) {
      plan = { tenant, members: [] };
      this.open.set(key, plan);
      this.plans.push(plan);
    }
    plan.members.push(i);
    if (plan.members.length === REQUEST_LOG_BUCKET_MAX) {
      this.open.delete(key);
      this.last = undefined;
    } else {
      this.last = plan;
      this.lastKey = key;
      this.lastHour = hour;
    }
  }
}

/**
 * Logs per insert: 40 full buckets, built and serialised in about 2 ms (mostly byte copies). Each insert also costs
 * the driver and the store about a millisecond of their own, whatever its size: with 1,000 logs per insert the edge's
 * database thread spent ~2 µs per logged request at 25,000 requests a second, with 10,000 ~0.7 µs.
 */
const LOGS_PER_INSERT = 10_000;

/**
 * Stores request logs, each at most once: a retried write finds the buckets it stored before under the same ids.
 * Buckets are built and inserted a slice at a time, so the thread writing them answers other work between slices
 * (requests, where the edge's database runs on its serving thread) and a long backlog is not built all at once.
 */
export async function writeRequestLogs(logs: HeldLogs | readonly HeldLog[]): Promise<void> {
  const held = HeldLogs.from(logs);
  // Grouped 2,000 logs at a time, letting the edge answer requests in between.
  const builder = new LogBucketPlanner(held);
  for (let i = 0; i < held.length; i++) {
    if (i > 0 && i % 2_000 === 0) await new Promise((resolve) => setImmediate(resolve));
    builder.add(i);
  }
  const plans = builder.plans;
  for (let i = 0; i < plans.length; ) {
    const slice: RequestLogBucketDoc[] = [];
    for (let n = 0; i < plans.length && n < LOGS_PER_INSERT; i++) {
      slice.push(bucketOf(held, plans[i]));
      n += plans[i].members.length;
    }
    try {
      await RequestLogBucket.collection.insertMany(slice, { ordered: false });
    } catch (err) {
      // A retried batch finds the buckets it already stored: their ids are taken, which is what we want.
      const writeErrors = (err as { writeErrors?: Array<{ code?: number; err?: { code?: number } }> }).writeErrors;
      if (!writeErrors?.length || writeErrors.some((w) => (w.code ?? w.err?.code) !== 11000)) throw err;
    }
  }
}

/**
 * Which of a writer's upserts (their filters) a document already holds, by the writer's sequence number: a retried
 * batch whose first attempt landed finds each of its documents there. One query per tenant's day, its paths in one
 * `$in` on the unique index (at most UPSERTS_PER_WRITE: `upsertAll` checks a command's upserts at a time), not one
 * per document: a batch of 50,000 paths would take as many round trips.
 */
async function alreadyApplied(
  model: { find: (filter: Record<string, unknown>, projection: Record<string, number>) => { lean: () => Promise<unknown> } },
  filters: Array<Record<string, unknown>>,
  seqField: string,
  seq: number,
): Promise<boolean[]> {
  const writer = seqField.slice("flushSeq.".length);
  const keyOf = (tenant: unknown, day: unknown, path: unknown) => `${String(tenant)}|${(day as Date).getTime()}|${path ?? ""}`;
  const groups = new Map<string, { tenant: unknown; day: unknown; paths: string[] }>();
  for (const { tenant, day, path } of filters) {
    const id = keyOf(tenant, day, undefined);
    let group = groups.get(id);
    if (!group) groups.set(id, (group = { tenant, day, paths: [] }));
    if (typeof path === "string") group.paths.push(path);
  }
  const applied = new Set<string>();
  for (const { tenant, day, paths } of groups.values()) {
    const docs = (await model.find({ tenant, day, ...(paths.length ? { path: { $in: paths } } : {}) }, { path: 1, flushSeq: 1 }).lean()) as Array<{ path?: string; flushSeq?: Record<string, number> }>;
    for (const doc of docs) if ((doc.flushSeq?.[writer] ?? -1) >= seq) applied.add(keyOf(tenant, day, doc.path));
  }
  return filters.map(({ tenant, day, path }) => applied.has(keyOf(tenant, day, path)));
}

/**
 * Records events (the ingest endpoint). Events of an unknown tenant, older than 400 days or more than 5 minutes
 * ahead are rejected; the rest count in daily usage (and, within the log retention, as request logs).
 */
export async function recordRequests(events: RequestEvent[], now: Date = new Date()): Promise<{ accepted: number; rejected: number }> {
  if (events.length === 0) return { accepted: 0, rejected: 0 };
  await connectDb();
  const slugs = [...new Set(events.map((e) => e.tenant))];
  const tenants = await Tenant.find({ slug: { $in: slugs } }, { slug: 1, billingSubject: 1, ownerId: 1 }).lean<UsageOwner[]>();
  const bySlug = new Map(tenants.map((t) => [t.slug, t]));
  const batch = new UsageBatch();
  const logCutoff = now.getTime() - REQUEST_LOG_RETENTION_SECONDS * 1000;
  for (const e of events) {
    const tenant = bySlug.get(e.tenant);
    const time = e.timestamp.getTime();
    if (!tenant || Number.isNaN(time) || time < now.getTime() - MAX_EVENT_AGE_MS || time > now.getTime() + MAX_EVENT_FUTURE_MS) continue;
    const { method, path, status, bytes, cacheStatus, kind, durationMs } = e;
    batch.add(tenant, { time, method, path, status, bytes, cacheStatus, kind, durationMs }, e.log !== false && time >= logCutoff);
  }
  await recordBatch(batch);
  return { accepted: batch.requests, rejected: events.length - batch.requests };
}

/**
 * Runs $inc upserts in bulk. Two writers creating the same day's document at once may see a duplicate-key error
 * on one side: such an operation is run again (once the document exists the $inc applies), unless the writer's
 * guard says it was in fact applied before (a retried batch).
 */
async function upsertAll(
  model: { bulkWrite: (ops: AnyBulkWriteOperation[], opts: { ordered: boolean }) => Promise<unknown> },
  ops: AnyBulkWriteOperation[],
  applied?: (filters: Array<Record<string, unknown>>) => Promise<boolean[]>,
): Promise<void> {
  // In commands of UPSERTS_PER_WRITE at most: a database runs one command at a time per connection, and the embedded
  // store one at a time in all, so the edge's tenant and quota reads never queue behind a whole scan's paths.
  for (let i = 0; i < ops.length; i += UPSERTS_PER_WRITE) await upsertSome(model, ops.slice(i, i + UPSERTS_PER_WRITE), applied);
}

/** Upserts per bulk write command (see `upsertAll`). */
const UPSERTS_PER_WRITE = 1_000;

async function upsertSome(
  model: { bulkWrite: (ops: AnyBulkWriteOperation[], opts: { ordered: boolean }) => Promise<unknown> },
  ops: AnyBulkWriteOperation[],
  applied?: (filters: Array<Record<string, unknown>>) => Promise<boolean[]>,
): Promise<void> {
  let pending = ops;
  for (let attempt = 0; pending.length > 0; attempt++) {
    try {
      await model.bulkWrite(pending, { ordered: false });
      return;
    } catch (err) {
      const writeErrors = (err as { writeErrors?: Array<{ index: number; code: number }> }).writeErrors;
      if (attempt >= 5 || !writeErrors?.length || writeErrors.some((w) => w.code !== 11000)) throw err;
      const failed = writeErrors.map((w) => pending[w.index] as { updateOne: { filter: Record<string, unknown> } });
      const done = applied ? await applied(failed.map((op) => op.updateOne.filter)) : [];
      pending = failed.filter((_, i) => !done[i]) as AnyBulkWriteOperation[];
    }
  }
}

/** An edge that reports from elsewhere proves itself with X-Ingest-Key, compared in constant time. */
export function requireIngestKey(request: Request): void {
  const given = request.headers.get("x-ingest-key") ?? "";
  const digest = (v: string) => createHash("sha256").update(v).digest();
  if (!given || !timingSafeEqual(digest(given), digest(env.ingestKey))) {
    throw new ApiError("unauthorized", "A valid X-Ingest-Key header is required");
  }
}
