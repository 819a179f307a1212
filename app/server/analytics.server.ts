// A tenant's analytics and daily bandwidth, computed by aggregation from its daily usage and daily path usage.
import type { Types } from "mongoose";
import { DailyPathUsage } from "#models/daily-path-usage.ts";
import { DailyUsage } from "#models/daily-usage.ts";
import { MAX_RANGE_DAYS, type Period, dayKey, daysOf, periodJson, resolveDayRange, resolvePeriod } from "#app/schemas/period.ts";
import type { Caller } from "./auth.server.ts";
import { invalid } from "./http.server.ts";
import { findAccessibleTenant } from "./tenants.server.ts";

export const TOP_PATHS = 10;

/** Hits over everything that could have been a hit (errors excluded); 0 without traffic. */
export const hitRatio = (hits: number, misses: number, bypasses: number) => {
  const total = hits + misses + bypasses;
  return total === 0 ? 0 : hits / total;
};

interface Sums {
  requests: number;
  bytes: number;
  hits: number;
  misses: number;
  bypasses: number;
  errors: number;
}

const sumOf = (prefix: string) => ({
  requests: { $sum: `$${prefix}requests` },
  bytes: { $sum: `$${prefix}bytes` },
  hits: { $sum: `$${prefix}hits` },
  misses: { $sum: `$${prefix}misses` },
  bypasses: { $sum: `$${prefix}bypasses` },
  errors: { $sum: `$${prefix}errors` },
});

const zero: Sums = { requests: 0, bytes: 0, hits: 0, misses: 0, bypasses: 0, errors: 0 };

/** Per-day rows of one tenant in [start, end), summed by day (one stored document per day). */
async function dailyRows(tenant: Types.ObjectId, start: Date, end: Date) {
  return DailyUsage.aggregate<Sums & { _id: Date }>([
    { $match: { tenant, day: { $gte: start, $lt: end } } },
    { $group: { _id: "$day", ...sumOf("") } },
    { $sort: { _id: 1 } },
  ]);
}

export async function tenantAnalytics(who: Caller, slug: string, period: Period = resolvePeriod("current_month")) {
  const tenant = await findAccessibleTenant(who, slug);
  const inPeriod = { tenant: tenant._id, day: { $gte: period.start, $lt: period.end } };
  const [[facets], topPaths] = await Promise.all([
    DailyUsage.aggregate<{
      totals: Array<Sums & { s2xx: number; s3xx: number; s4xx: number; s5xx: number }>;
      asset: Sums[];
      api: Sums[];
      daily: Array<Sums & { _id: Date }>;
    }>([
      { $match: inPeriod },
      {
        $facet: {
          totals: [
            {
              $group: {
                _id: null,
                ...sumOf(""),
                s2xx: { $sum: "$status.s2xx" },
                s3xx: { $sum: "$status.s3xx" },
                s4xx: { $sum: "$status.s4xx" },
                s5xx: { $sum: "$status.s5xx" },
              },
            },
          ],
          asset: [{ $group: { _id: null, ...sumOf("asset.") } }],
          api: [{ $group: { _id: null, ...sumOf("api.") } }],
          daily: [{ $group: { _id: "$day", ...sumOf("") } }],
        },
      },
    ]),
    DailyPathUsage.aggregate<{ _id: string; requests: number; bytes: number }>([
      { $match: inPeriod },
      { $group: { _id: "$path", requests: { $sum: "$requests" }, bytes: { $sum: "$bytes" } } },
      { $sort: { requests: -1, bytes: -1, _id: 1 } },
      { $limit: TOP_PATHS },
    ]),
  ]);
  const totals = facets?.totals[0] ?? { ...zero, s2xx: 0, s3xx: 0, s4xx: 0, s5xx: 0 };
  const split = (s: Sums | undefined) => {
    const v = s ?? zero;
    return { requests: v.requests, bandwidthBytes: v.bytes, cacheHitRatio: hitRatio(v.hits, v.misses, v.bypasses) };
  };
  const rows = facets?.daily ?? [];
  const byDay = new Map(rows.map((r) => [dayKey(new Date(r._id)), r]));
  return {
    slug: tenant.slug,
    period: periodJson(period),
    totals: {
      requests: totals.requests,
      bandwidthBytes: totals.bytes,
      cacheHits: totals.hits,
      cacheMisses: totals.misses,
      cacheBypasses: totals.bypasses,
      errors: totals.errors,
    },
    cacheHitRatio: hitRatio(totals.hits, totals.misses, totals.bypasses),
    // Every hit is a request the origin did not have to answer.
    originRequestsAvoided: totals.hits,
    traffic: { asset: split(facets?.asset[0]), api: split(facets?.api[0]) },
    statusClasses: { "2xx": totals.s2xx, "3xx": totals.s3xx, "4xx": totals.s4xx, "5xx": totals.s5xx },
    topPaths: topPaths.map((p) => ({ path: p._id, requests: p.requests, bandwidthBytes: p.bytes })),
    daily: daysOf(period.start, period.end).map((date) => {
      const r = byDay.get(date);
      return {
        date,
        requests: r?.requests ?? 0,
        bandwidthBytes: r?.bytes ?? 0,
        cacheHitRatio: r ? hitRatio(r.hits, r.misses, r.bypasses) : 0,
      };
    }),
  };
}

/** Whether the tenant has ever been sent a request (any day's usage, whatever the period shown). */
export async function tenantHasTraffic(who: Caller, slug: string): Promise<boolean> {
  const tenant = await findAccessibleTenant(who, slug);
  return (await DailyUsage.exists({ tenant: tenant._id, requests: { $gt: 0 } })) !== null;
}

/** Daily bandwidth for [from, to] (inclusive days), zero-filled; by default the last 30 days including today. */
export async function bandwidthDaily(who: Caller, slug: string, range: { from?: string; to?: string }, now: Date = new Date()) {
  const tenant = await findAccessibleTenant(who, slug);
  const { from, to, end } = resolveDayRange(range.from, range.to, now);
  if (from > to) throw invalid("Invalid query", [{ path: "from", message: "must not be after to" }]);
  if ((end.getTime() - from.getTime()) / 86_400_000 > MAX_RANGE_DAYS) {
    throw invalid("Invalid query", [{ path: "to", message: `the range may span at most ${MAX_RANGE_DAYS} days` }]);
  }
  const rows = await dailyRows(tenant._id, from, end);
  const byDay = new Map(rows.map((r) => [dayKey(new Date(r._id)), r]));
  return {
    slug: tenant.slug,
    from: dayKey(from),
    to: dayKey(to),
    points: daysOf(from, end).map((date) => ({
      date,
      bandwidthBytes: byDay.get(date)?.bytes ?? 0,
      requests: byDay.get(date)?.requests ?? 0,
    })),
  };
}
