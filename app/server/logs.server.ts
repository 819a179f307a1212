// Request logs, newest first, paged with an opaque, signed cursor over (timestamp, _id): new logs arriving while
// someone pages never make a page repeat or skip an entry.
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { Types } from "mongoose";
import {
  REQUEST_LOG_BUCKET_SPAN_MS,
  REQUEST_LOG_RETENTION_SECONDS,
  RequestLogBucket,
  type RequestLogBucketDoc,
  RequestLogBucketView,
  type RequestLogDoc,
} from "#models/request-log.ts";
import type { LogsQuery } from "#app/schemas/logs.ts";
import { escapeRegex } from "#app/utils/regex.ts";
import type { Caller } from "./auth.server.ts";
import { env } from "./env.server.ts";
import { invalid } from "./http.server.ts";
import { findAccessibleTenant } from "./tenants.server.ts";

const cursorKey = Buffer.from(hkdfSync("sha256", env.sessionSecret, "cms-edge", "request-log cursor", 32));

function sign(tenantId: string, payload: string): string {
  return createHmac("sha256", cursorKey).update(`${tenantId}.${payload}`).digest("base64url").slice(0, 22);
}

export function encodeCursor(tenantId: string, timestamp: Date, id: Types.ObjectId): string {
  const payload = Buffer.from(`${timestamp.getTime()}.${id.toHexString()}`).toString("base64url");
  return `${payload}.${sign(tenantId, payload)}`;
}

/** The position a cursor stands for; a cursor that was altered, or made for another tenant, is a 400. */
export function decodeCursor(tenantId: string, cursor: string): { timestamp: Date; id: Types.ObjectId } {
  const bad = () => invalid("Invalid query", [{ path: "cursor", message: "is not a cursor this endpoint issued" }]);
  const [payload, mac, extra] = cursor.split(".");
  if (!payload || !mac || extra !== undefined) throw bad();
  const expected = Buffer.from(sign(tenantId, payload));
  const given = Buffer.from(mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw bad();
  const [ms, hex] = Buffer.from(payload, "base64url").toString().split(".");
  if (!/^\d+$/.test(ms ?? "") || !Types.ObjectId.isValid(hex ?? "")) throw bad();
  return { timestamp: new Date(Number(ms)), id: new Types.ObjectId(hex) };
}

/** Newest first: by timestamp, then by id. */
const newerFirst = (a: RequestLogDoc, b: RequestLogDoc) =>
  b.timestamp.getTime() - a.timestamp.getTime() || (a._id.toHexString() < b._id.toHexString() ? 1 : a._id.equals(b._id) ? 0 : -1);

/**
 * A page of a tenant's logs. Buckets are read newest `end` first and their logs filtered here; reading stops once
 * the page (plus one, to know there is more) is full and the next bucket ends before the page's oldest log — no
 * later bucket can hold a log that belongs on the page.
 */
export async function listLogs(who: Caller, slug: string, q: LogsQuery) {
  const tenant = await findAccessibleTenant(who, slug);
  const tenantId = tenant._id.toHexString();
  // Logs older than the retention are hidden even while the bucket that holds them waits for its TTL.
  let from = Date.now() - REQUEST_LOG_RETENTION_SECONDS * 1000;
  if (q.from) from = Math.max(from, Date.parse(q.from));
  let to = q.to ? Date.parse(q.to) : Infinity;
  const after = q.cursor ? decodeCursor(tenantId, q.cursor) : undefined;
  if (after) to = Math.min(to, after.timestamp.getTime());
  const afterMs = after?.timestamp.getTime();
  const afterHex = after?.id.toHexString();
  const statusClass = q.status?.endsWith("xx") ? Number(q.status[0]) : undefined;
  const status = q.status && statusClass === undefined ? Number(q.status) : undefined;
  /** Whether log i of a bucket belongs on the page (read from its columns: only the kept ones become objects). */
  const wanted = (b: RequestLogBucketView, i: number): boolean => {
    const t = b.timeAt(i);
    if (t < from || t > to) return false;
    if (t === afterMs && b.idHexAt(i) >= (afterHex as string)) return false;
    const s = b.statusAt(i);
    if (status !== undefined && s !== status) return false;
    if (statusClass !== undefined && Math.floor(s / 100) !== statusClass) return false;
    if (q.cache && b.stringAt("cacheStatus", i) !== q.cache) return false;
    if (q.kind && b.stringAt("kind", i) !== q.kind) return false;
    return !q.path || b.stringAt("path", i).startsWith(q.path);
  };

  const end: Record<string, Date> = { $gte: new Date(from) };
  const filter: Record<string, unknown> = { tenant: tenant._id, end };
  if (Number.isFinite(to)) {
    filter.start = { $lte: new Date(to) };
    // A bucket's logs share one UTC hour, so one that starts by `to` ends within the hour after it: the index range
    // stops there, and a deep page (a CSV export's hundredth) does not walk every newer bucket.
    end.$lt = new Date(to + REQUEST_LOG_BUCKET_SPAN_MS);
  }
  // With a filter, the database returns only buckets whose distinct values include one that passes it (`wanted`
  // decides exactly), so a filter that matches rarely costs index and document reads in the database, not round
  // trips of buckets.
  if (status !== undefined) filter.statusValues = status;
  if (statusClass !== undefined) filter.statusValues = { $elemMatch: { $gte: statusClass * 100, $lt: (statusClass + 1) * 100 } };
  if (q.cache) filter.cacheStatuses = q.cache;
  if (q.kind) filter.kinds = q.kind;
  if (q.path) filter.paths = { $regex: `^${escapeRegex(q.path)}` };
  const keep = q.limit + 1;
  let page: RequestLogDoc[] = [];
  // Buckets are fetched a few at a time, as many as the matches seen so far suggest the page still needs: a busy
  // tenant's full buckets fill a page from one or two, a quiet tenant's hold a log or two each.
  let read = 0;
  let matched = 0;
  let before: { end: Date; _id: Types.ObjectId } | undefined;
  for (let done = false; !done; ) {
    const need = keep - page.length;
    const count = Math.min(256, Math.max(2, matched > 0 ? Math.ceil(need / (matched / read)) + 1 : read * 2));
    const next = before ? { ...filter, $or: [{ end: { $lt: before.end } }, { end: before.end, _id: { $lt: before._id } }] } : filter;
    const buckets = await RequestLogBucket.find(next).sort({ end: -1, _id: -1 }).limit(count).lean<RequestLogBucketDoc[]>();
    done = buckets.length < count;
    for (const bucket of buckets) {
      if (page.length === keep && bucket.end < page[keep - 1].timestamp) {
        done = true;
        break;
      }
      read++;
      before = bucket;
      const view = new RequestLogBucketView(bucket);
      const found: RequestLogDoc[] = [];
      for (let i = 0; i < view.length; i++) if (wanted(view, i)) found.push(view.logAt(i));
      if (found.length === 0) continue;
      matched += found.length;
      page = page.concat(found).sort(newerFirst).slice(0, keep);
    }
  }
  const hasMore = page.length > q.limit;
  page = page.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    logs: page.map((d) => ({
      id: d._id.toHexString(),
      timestamp: d.timestamp.toISOString(),
      method: d.method,
      path: d.path,
      status: d.status,
      cacheStatus: d.cacheStatus,
      kind: d.kind,
      bytes: d.bytes,
      durationMs: d.durationMs,
    })),
    pagination: { limit: q.limit, nextCursor: hasMore && last ? encodeCursor(tenantId, last.timestamp, last._id) : null, hasMore },
  };
}
