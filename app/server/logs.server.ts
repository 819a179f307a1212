// Request logs, newest first, paged with an opaque, signed cursor over (timestamp, _id): new logs arriving while
// someone pages never make a page repeat or skip an entry.
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { Types } from "mongoose";
import { RequestLog } from "#models/request-log.ts";
import type { LogsQuery } from "#app/schemas/logs.ts";
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

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export async function listLogs(who: Caller, slug: string, q: LogsQuery) {
  const tenant = await findAccessibleTenant(who, slug);
  const tenantId = tenant._id.toHexString();
  const filter: Record<string, unknown> = { tenant: tenant._id };
  const time: Record<string, Date> = {};
  if (q.from) time.$gte = new Date(q.from);
  if (q.to) time.$lte = new Date(q.to);
  if (q.status) {
    filter.status = q.status.endsWith("xx")
      ? { $gte: Number(q.status[0]) * 100, $lt: (Number(q.status[0]) + 1) * 100 }
      : Number(q.status);
  }
  if (q.cache) filter.cacheStatus = q.cache;
  if (q.kind) filter.kind = q.kind;
  if (q.path) filter.path = { $regex: `^${escapeRegex(q.path)}` };
  if (q.cursor) {
    const after = decodeCursor(tenantId, q.cursor);
    // The bound on timestamp lets the index start at the cursor; the $or settles ties on the same millisecond.
    time.$lte = time.$lte && time.$lte < after.timestamp ? time.$lte : after.timestamp;
    filter.$or = [{ timestamp: { $lt: after.timestamp } }, { timestamp: after.timestamp, _id: { $lt: after.id } }];
  }
  if (Object.keys(time).length) filter.timestamp = time;
  const docs = await RequestLog.find(filter)
    .sort({ timestamp: -1, _id: -1 })
    .limit(q.limit + 1)
    .lean();
  const page = docs.slice(0, q.limit);
  const hasMore = docs.length > q.limit;
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
