// Usage: a tenant's requests and bandwidth in a period against the period before, and a billing subject's usage
// across its tenants against its plan (deleted tenants still count in the totals).
import type { Types } from "mongoose";
import { DailyUsage } from "#models/daily-usage.ts";
import { Tenant } from "#models/tenant.ts";
import { type Period, periodJson, previousPeriod, resolvePeriod } from "#app/schemas/period.ts";
import { hitRatio } from "./analytics.server.ts";
import type { Caller } from "./auth.server.ts";
import { PLANS, resolvePlan } from "./billing.server.ts";
import { connectDb } from "./db.server.ts";
import { findAccessibleTenant } from "./tenants.server.ts";

async function sums(match: Record<string, unknown>, start: Date, end: Date) {
  const [row] = await DailyUsage.aggregate<{ requests: number; bytes: number }>([
    { $match: { ...match, day: { $gte: start, $lt: end } } },
    { $group: { _id: null, requests: { $sum: "$requests" }, bytes: { $sum: "$bytes" } } },
  ]);
  return { requests: row?.requests ?? 0, bandwidthBytes: row?.bytes ?? 0 };
}

export async function tenantUsage(who: Caller, slug: string, period: Period = resolvePeriod("current_month")) {
  const tenant = await findAccessibleTenant(who, slug);
  const before = previousPeriod(period);
  const [current, previous] = await Promise.all([
    sums({ tenant: tenant._id }, period.start, period.end),
    sums({ tenant: tenant._id }, before.start, before.end),
  ]);
  const window = (p: Period, s: typeof current) => ({ ...s, start: p.start.toISOString(), end: p.end.toISOString() });
  return { current: window(period, current), previous: window(before, previous), period: periodJson(period) };
}

/** Requests and bandwidth of a billing subject this calendar month (UTC): what its quota counts. */
export async function monthToDate(billingSubject: string, now: Date = new Date()) {
  const month = resolvePeriod("current_month", now);
  return sums({ billingSubject }, month.start, month.end);
}

export async function accountUsage(who: Caller, period: Period = resolvePeriod("current_month"), now: Date = new Date()) {
  await connectDb();
  const subject = who.billingSubject;
  const tenants = await Tenant.find({ billingSubject: subject }, { slug: 1 }).sort({ createdAt: 1, _id: 1 }).lean();
  const [totals, perTenant, plan, quota] = await Promise.all([
    sums({ billingSubject: subject }, period.start, period.end),
    DailyUsage.aggregate<{ _id: Types.ObjectId; requests: number; bytes: number; hits: number; misses: number; bypasses: number }>([
      { $match: { tenant: { $in: tenants.map((t) => t._id) }, day: { $gte: period.start, $lt: period.end } } },
      {
        $group: {
          _id: "$tenant",
          requests: { $sum: "$requests" },
          bytes: { $sum: "$bytes" },
          hits: { $sum: "$hits" },
          misses: { $sum: "$misses" },
          bypasses: { $sum: "$bypasses" },
        },
      },
    ]),
    resolvePlan(subject, who.claimedPlan),
    monthToDate(subject, now),
  ]);
  const byTenant = new Map(perTenant.map((r) => [String(r._id), r]));
  const limits = PLANS[plan];
  return {
    period: periodJson(period),
    totals,
    tenants: tenants.map((t) => {
      const r = byTenant.get(String(t._id));
      return {
        slug: t.slug,
        requests: r?.requests ?? 0,
        bandwidthBytes: r?.bytes ?? 0,
        cacheHitRatio: r ? hitRatio(r.hits, r.misses, r.bypasses) : 0,
      };
    }),
    plan: {
      name: plan,
      limits: { tenants: limits.tenants, requests: limits.requests, bandwidthBytes: limits.bandwidthBytes },
      // Quotas are calendar months, whatever period the report covers.
      used: { tenants: tenants.length, requests: quota.requests, bandwidthBytes: quota.bandwidthBytes },
    },
  };
}

/** This calendar month's requests and bandwidth of each of the given tenants (UTC), for lists. */
export async function monthUsageByTenant(tenantIds: Types.ObjectId[], now: Date = new Date()) {
  await connectDb();
  const month = resolvePeriod("current_month", now);
  const rows = await DailyUsage.aggregate<{ _id: Types.ObjectId; requests: number; bytes: number }>([
    { $match: { tenant: { $in: tenantIds }, day: { $gte: month.start, $lt: month.end } } },
    { $group: { _id: "$tenant", requests: { $sum: "$requests" }, bytes: { $sum: "$bytes" } } },
  ]);
  return new Map(rows.map((r) => [String(r._id), { requests: r.requests, bandwidthBytes: r.bytes }]));
}
