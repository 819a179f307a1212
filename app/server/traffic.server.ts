// Recording traffic: a batch of request events becomes $inc upserts of daily usage and daily path usage, plus
// request logs, in bulk. The ingest endpoint and the edge both record through here.
import { createHash, timingSafeEqual } from "node:crypto";
import type { AnyBulkWriteOperation } from "mongoose";
import { DailyPathUsage } from "#models/daily-path-usage.ts";
import { DailyUsage } from "#models/daily-usage.ts";
import { REQUEST_LOG_RETENTION_SECONDS, RequestLog } from "#models/request-log.ts";
import { Tenant } from "#models/tenant.ts";
import { startOfUtcDay } from "#app/schemas/period.ts";
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

export const MAX_EVENT_AGE_MS = 400 * 86_400_000;
export const MAX_EVENT_FUTURE_MS = 5 * 60_000;

const CACHE_FIELD: Record<CacheStatus, "hits" | "misses" | "bypasses" | "errors"> = {
  HIT: "hits",
  MISS: "misses",
  BYPASS: "bypasses",
  ERROR: "errors",
};

type Counters = Record<string, number>;

function add(into: Counters, key: string, n: number): void {
  into[key] = (into[key] ?? 0) + n;
}

/** The $inc of one event into its day's document. */
function countInto(c: Counters, e: RequestEvent): void {
  const cache = CACHE_FIELD[e.cacheStatus];
  for (const prefix of ["", `${e.kind}.`]) {
    add(c, `${prefix}requests`, 1);
    add(c, `${prefix}bytes`, e.bytes);
    add(c, `${prefix}${cache}`, 1);
  }
  add(c, `status.s${Math.floor(e.status / 100)}xx`, 1);
}

/**
 * Records a batch. Events of an unknown tenant, older than 400 days or more than 5 minutes ahead are rejected;
 * the rest count in daily usage (and, within the log retention, as request logs).
 */
export async function recordRequests(events: RequestEvent[], now: Date = new Date()): Promise<{ accepted: number; rejected: number }> {
  if (events.length === 0) return { accepted: 0, rejected: 0 };
  await connectDb();
  const slugs = [...new Set(events.map((e) => e.tenant))];
  const tenants = await Tenant.find({ slug: { $in: slugs } }, { slug: 1, billingSubject: 1, ownerId: 1 }).lean();
  const bySlug = new Map(tenants.map((t) => [t.slug, t]));

  const days = new Map<string, { tenant: (typeof tenants)[number]; day: Date; inc: Counters }>();
  const paths = new Map<string, { tenant: (typeof tenants)[number]; day: Date; path: string; requests: number; bytes: number }>();
  const logs: Array<Record<string, unknown>> = [];
  const logCutoff = now.getTime() - REQUEST_LOG_RETENTION_SECONDS * 1000;
  let accepted = 0;
  for (const e of events) {
    const tenant = bySlug.get(e.tenant);
    const t = e.timestamp.getTime();
    if (!tenant || Number.isNaN(t) || t < now.getTime() - MAX_EVENT_AGE_MS || t > now.getTime() + MAX_EVENT_FUTURE_MS) continue;
    accepted++;
    const day = startOfUtcDay(e.timestamp);
    const dayKey = `${tenant._id}|${day.getTime()}`;
    const d = days.get(dayKey) ?? { tenant, day, inc: {} };
    countInto(d.inc, e);
    days.set(dayKey, d);
    const pathKey = `${dayKey}|${e.path}`;
    const p = paths.get(pathKey) ?? { tenant, day, path: e.path, requests: 0, bytes: 0 };
    p.requests += 1;
    p.bytes += e.bytes;
    paths.set(pathKey, p);
    if (e.log !== false && t >= logCutoff) {
      logs.push({
        tenant: tenant._id,
        timestamp: e.timestamp,
        method: e.method,
        path: e.path,
        status: e.status,
        cacheStatus: e.cacheStatus,
        kind: e.kind,
        bytes: e.bytes,
        durationMs: e.durationMs,
      });
    }
  }

  await upsertAll(
    DailyUsage,
    [...days.values()].map((d) => ({
      updateOne: {
        filter: { tenant: d.tenant._id, day: d.day },
        update: {
          $inc: d.inc,
          $setOnInsert: { slug: d.tenant.slug, billingSubject: d.tenant.billingSubject, ownerId: d.tenant.ownerId },
        },
        upsert: true,
      },
    })),
  );
  await upsertAll(
    DailyPathUsage,
    [...paths.values()].map((p) => ({
      updateOne: {
        filter: { tenant: p.tenant._id, day: p.day, path: p.path },
        update: { $inc: { requests: p.requests, bytes: p.bytes } },
        upsert: true,
      },
    })),
  );
  if (logs.length) await RequestLog.insertMany(logs, { ordered: false, lean: true });
  return { accepted, rejected: events.length - accepted };
}

/**
 * Runs $inc upserts in bulk. Two writers creating the same day's document at once may see a duplicate-key error
 * on one side; those operations are run again, when the document exists and the $inc simply applies.
 */
async function upsertAll(
  model: { bulkWrite: (ops: AnyBulkWriteOperation[], opts: { ordered: boolean }) => Promise<unknown> },
  ops: AnyBulkWriteOperation[],
): Promise<void> {
  let pending = ops;
  for (let attempt = 0; pending.length > 0; attempt++) {
    try {
      await model.bulkWrite(pending, { ordered: false });
      return;
    } catch (err) {
      const writeErrors = (err as { writeErrors?: Array<{ index: number; code: number }> }).writeErrors;
      if (attempt >= 3 || !writeErrors?.length || writeErrors.some((w) => w.code !== 11000)) throw err;
      pending = writeErrors.map((w) => pending[w.index]);
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
