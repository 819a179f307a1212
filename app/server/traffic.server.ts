// Recording traffic: request events are aggregated into a usage batch — $inc upserts of daily usage and daily path
// usage, plus request logs — written in bulk. The ingest endpoint records events through here, and the edge
// records the batches it aggregates in memory.
import { createHash, timingSafeEqual } from "node:crypto";
import { type AnyBulkWriteOperation, Types } from "mongoose";
import { DailyPathUsage } from "#models/daily-path-usage.ts";
import { DailyUsage } from "#models/daily-usage.ts";
import {
  REQUEST_LOG_BUCKET_MAX,
  REQUEST_LOG_BUCKET_SPAN_MS,
  REQUEST_LOG_RETENTION_SECONDS,
  RequestLogBucket,
} from "#models/request-log.ts";
import { Tenant } from "#models/tenant.ts";
import type { CacheStatus, RequestKind } from "#app/schemas/usage.ts";
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

/** One tenant's counters for one UTC day: a fixed array (adding to it happens on every edge request). */
class DayPart {
  readonly counts = new Float64Array(COUNTER_FIELDS.length);
  /** This tenant's and day's path counters, by path. */
  readonly paths = new Map<string, PathPart>();
  constructor(
    readonly tenant: UsageOwner,
    readonly day: Date,
  ) {}

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
  log: {
    _id: Types.ObjectId;
    timestamp: Date;
    method: string;
    path: string;
    status: number;
    cacheStatus: CacheStatus;
    kind: RequestKind;
    bytes: number;
    durationMs: number;
  };
}

/**
 * Usage aggregated in memory: one counter set per tenant and day (each with its counters per path), and the
 * request logs to keep. Adding is cheap; writing it is `recordBatch`.
 */
export class UsageBatch {
  readonly days = new Map<string, DayPart>();
  readonly logs: HeldLog[] = [];
  requests = 0;
  private last: DayPart | undefined;

  add(tenant: UsageOwner, e: Omit<RequestEvent, "tenant">, keepLog: boolean): void {
    const dayMs = Math.floor(e.timestamp.getTime() / DAY_MS) * DAY_MS;
    // Consecutive requests are mostly one tenant's on one day: the last day part is kept at hand.
    let d = this.last;
    if (!d || d.tenant !== tenant || d.day.getTime() !== dayMs) {
      const dayKey = `${tenant.idHex ?? tenant._id.toHexString()}|${dayMs}`;
      d = this.days.get(dayKey);
      if (!d) {
        d = new DayPart(tenant, new Date(dayMs));
        this.days.set(dayKey, d);
      }
      this.last = d;
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
    const p = this.pathPart(d, e.path);
    p.requests += 1;
    p.bytes += e.bytes;
    this.requests++;
    if (keepLog) {
      this.logs.push({
        tenant: tenant._id,
        log: {
          // The id is fixed now (and names the bucket the log starts), so a retried write cannot store it twice.
          _id: new Types.ObjectId(),
          timestamp: e.timestamp,
          method: e.method,
          path: e.path,
          status: e.status,
          cacheStatus: e.cacheStatus,
          kind: e.kind,
          bytes: e.bytes,
          durationMs: e.durationMs,
        },
      });
    }
  }

  private pathPart(d: DayPart, path: string): PathPart {
    let p = d.paths.get(path);
    if (!p) {
      p = { tenant: d.tenant._id, day: d.day, path, requests: 0, bytes: 0 };
      d.paths.set(path, p);
    }
    return p;
  }

  get empty(): boolean {
    return this.days.size === 0 && this.logs.length === 0;
  }
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

/** Writes a batch: daily usage and path usage as $inc upserts, logs inserted (each at most once). */
export async function recordBatch(batch: UsageBatch, writer?: BatchWriter): Promise<void> {
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
    seqField && writer ? (filter) => alreadyApplied(DailyUsage, filter, seqField, writer.seq) : undefined,
  );
  await upsertAll(
    DailyPathUsage,
    [...batch.days.values()].flatMap((d) => [...d.paths.values()]).map((p) => ({
      updateOne: {
        filter: { tenant: p.tenant, day: p.day, path: p.path, ...guard },
        update: { $inc: { requests: p.requests, bytes: p.bytes }, ...mark },
        upsert: true,
      },
    })),
    seqField && writer ? (filter) => alreadyApplied(DailyPathUsage, filter, seqField, writer.seq) : undefined,
  );
  await writeRequestLogs(batch.logs);
}

/** A request log bucket as stored (models/request-log.ts). */
export type LogBucket = { _id: Types.ObjectId; tenant: Types.ObjectId; start: Date; end: Date; logs: HeldLog["log"][] };

/**
 * The buckets a list of logs is stored in: per tenant and UTC hour, in the order the logs came, at most
 * REQUEST_LOG_BUCKET_MAX each. The same list always gives the same buckets, each named by its first log's id.
 */
export function requestLogBuckets(logs: readonly HeldLog[]): LogBucket[] {
  const builder = new LogBucketBuilder();
  for (const held of logs) builder.add(held);
  return builder.buckets;
}

/** Builds the buckets of requestLogBuckets one log at a time (so that a caller may pause between logs). */
class LogBucketBuilder {
  readonly buckets: LogBucket[] = [];
  private readonly open = new Map<string, LogBucket>();
  // Consecutive logs are mostly one tenant's in one hour: the last bucket is kept at hand.
  private lastTenant: Types.ObjectId | undefined;
  private lastHex = "";
  private lastKey = "";
  private lastHour = Number.NaN;
  private last: LogBucket | undefined;

  add({ tenant, log }: HeldLog): void {
    const hour = Math.floor(log.timestamp.getTime() / REQUEST_LOG_BUCKET_SPAN_MS);
    if (tenant !== this.lastTenant) {
      this.lastTenant = tenant;
      this.lastHex = tenant.toHexString();
      this.last = undefined;
    }
    let key = this.lastKey;
    let bucket = this.last && hour === this.lastHour ? this.last : undefined;
    if (!bucket) {
      key = `${this.lastHex}|${hour}`;
      bucket = this.open.get(key);
    }
    if (!bucket) {
      bucket = { _id: log._id, tenant, start: log.timestamp, end: log.timestamp, logs: [] };
      this.open.set(key, bucket);
      this.buckets.push(bucket);
    }
    bucket.logs.push(log);
    if (log.timestamp < bucket.start) bucket.start = log.timestamp;
    if (log.timestamp > bucket.end) bucket.end = log.timestamp;
    if (bucket.logs.length === REQUEST_LOG_BUCKET_MAX) {
      this.open.delete(key);
      this.last = undefined;
    } else {
      this.last = bucket;
      this.lastKey = key;
      this.lastHour = hour;
    }
  }
}

/**
 * Stores request logs, each at most once: a retried write finds the buckets it stored before under the same ids.
 * Buckets go in slices of about REQUEST_LOG_BUCKET_MAX logs: serialising one holds the event loop for about a
 * millisecond (the edge answers requests between slices), where one insert of a whole 2-second batch could hold it
 * for tens.
 */
export async function writeRequestLogs(logs: readonly HeldLog[]): Promise<void> {
  // Grouped 2,000 logs at a time, letting the edge answer requests in between.
  const builder = new LogBucketBuilder();
  for (let i = 0; i < logs.length; i++) {
    if (i > 0 && i % 2_000 === 0) await new Promise((resolve) => setImmediate(resolve));
    builder.add(logs[i]);
  }
  const buckets = builder.buckets;
  for (let i = 0; i < buckets.length; ) {
    const slice: LogBucket[] = [];
    for (let n = 0; i < buckets.length && n < REQUEST_LOG_BUCKET_MAX; i++) {
      slice.push(buckets[i]);
      n += buckets[i].logs.length;
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

async function alreadyApplied(
  model: { findOne: (filter: Record<string, unknown>, projection: Record<string, number>) => { lean: () => Promise<unknown> } },
  filter: Record<string, unknown>,
  seqField: string,
  seq: number,
): Promise<boolean> {
  const { [seqField]: _guard, ...key } = filter;
  const doc = (await model.findOne(key, { flushSeq: 1 }).lean()) as { flushSeq?: Record<string, number> } | null;
  const applied = doc?.flushSeq?.[seqField.slice("flushSeq.".length)];
  return applied !== undefined && applied >= seq;
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
    const t = e.timestamp.getTime();
    if (!tenant || Number.isNaN(t) || t < now.getTime() - MAX_EVENT_AGE_MS || t > now.getTime() + MAX_EVENT_FUTURE_MS) continue;
    batch.add(tenant, e, e.log !== false && t >= logCutoff);
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
  applied?: (filter: Record<string, unknown>) => Promise<boolean>,
): Promise<void> {
  let pending = ops;
  for (let attempt = 0; pending.length > 0; attempt++) {
    try {
      await model.bulkWrite(pending, { ordered: false });
      return;
    } catch (err) {
      const writeErrors = (err as { writeErrors?: Array<{ index: number; code: number }> }).writeErrors;
      if (attempt >= 5 || !writeErrors?.length || writeErrors.some((w) => w.code !== 11000)) throw err;
      const again: AnyBulkWriteOperation[] = [];
      for (const w of writeErrors) {
        const op = pending[w.index] as { updateOne: { filter: Record<string, unknown> } };
        if (!applied || !(await applied(op.updateOne.filter))) again.push(op as AnyBulkWriteOperation);
      }
      pending = again;
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
