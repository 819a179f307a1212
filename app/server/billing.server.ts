// Plans and billing subjects: which plan a caller is on, its limits, and tenant slots reserved atomically on the
// subject's Account so that concurrent creates never exceed the plan.
import { Account } from "#models/account.ts";
import { Tenant } from "#models/tenant.ts";
import { connectDb } from "./db.server";

export const PLAN_NAMES = ["free", "pro"] as const;
export type Plan = (typeof PLAN_NAMES)[number];

export interface PlanLimits {
  tenants: number;
  domainsPerTenant: number;
  requests: number;
  bandwidthBytes: number;
  /** Whether traffic past the monthly quota is refused (free) or billed as overage (pro). */
  hardQuota: boolean;
}

const GB = 1_000_000_000;

export const PLANS: Record<Plan, PlanLimits> = {
  free: { tenants: 1, domainsPerTenant: 0, requests: 500_000, bandwidthBytes: 5 * GB, hardQuota: true },
  pro: { tenants: 100, domainsPerTenant: 10, requests: 5_000_000, bandwidthBytes: 200 * GB, hardQuota: false },
};

export const isPlan = (v: unknown): v is Plan => v === "free" || v === "pro";

export function billingSubjectOf(userId: string, orgId: string | null): string {
  return orgId ? `org:${orgId}` : `user:${userId}`;
}

/** The session's plan claim, else the subject's Account, else free. */
export async function resolvePlan(subject: string, claimedPlan: Plan | null): Promise<Plan> {
  if (claimedPlan) return claimedPlan;
  const account = await Account.findOne({ subject }, { plan: 1 }).lean();
  return isPlan(account?.plan) ? account.plan : "free";
}

/**
 * The plan of a subject when no session is at hand (the edge's quotas): the claim its signed-in requests last made,
 * as `recordClaimedPlan` kept it, else its Account's plan, else free — the order `resolvePlan` follows (decision 020).
 */
export async function planWithoutSession(subject: string): Promise<Plan> {
  const account = await Account.findOne({ subject }, { plan: 1, claimedPlan: 1 }).lean();
  if (isPlan(account?.claimedPlan)) return account.claimedPlan;
  return isPlan(account?.plan) ? account.plan : "free";
}

/** Claims this process recorded lately, per billing subject: a signed-in request repeating one costs no query. */
const recordedClaims = new Map<string, { plan: Plan | null; at: number }>();
/** How long a claim recorded here is taken as still recorded (another process may have recorded another since). */
const RECORDED_CLAIM_MS = 10_000;

/**
 * Keeps the plan a signed-in request claims for its billing subject (null: it claims none) on the subject's Account,
 * for `planWithoutSession` (an Account is made for it when there is none). An unchanged claim writes nothing, and
 * one this process recorded in the last 10 s is not even read; the Account's `updatedAt` is left alone (it dates
 * tenant-slot changes, see `healCount`).
 */
export async function recordClaimedPlan(subject: string, claimedPlan: Plan | null): Promise<void> {
  const now = Date.now();
  const recorded = recordedClaims.get(subject);
  if (recorded && recorded.plan === claimedPlan && now - recorded.at >= 0 && now - recorded.at < RECORDED_CLAIM_MS) return;
  await connectDb();
  const account = await Account.findOne({ subject }, { claimedPlan: 1 }).lean();
  if ((account?.claimedPlan ?? null) !== claimedPlan) {
    const write = (upsert: boolean) => {
      const made = new Date();
      return Account.updateOne({ subject }, { $set: { claimedPlan }, $setOnInsert: { createdAt: made, updatedAt: made } }, { upsert, timestamps: false });
    };
    try {
      await write(true);
    } catch (err) {
      // Another request made the Account meanwhile (the unique index on subject): the claim is set on it.
      if ((err as { code?: number }).code !== 11000) throw err;
      await write(false);
    }
  }
  // Subjects come from sessions: the memo is bounded.
  if (recordedClaims.size >= 10_000) recordedClaims.clear();
  recordedClaims.set(subject, { plan: claimedPlan, at: now });
}

const STALE_RESERVATION_MS = 60_000;

/**
 * Takes one of the subject's tenant slots if it has one left: a conditional $inc on its Account (created on first
 * use). A duplicate-key error means the Account exists and is full, or was created by a concurrent call: look
 * again. A count left too high by a crash between reserving and inserting is corrected once no create has
 * touched the Account for a minute.
 */
export async function reserveTenantSlot(subject: string, limit: number): Promise<boolean> {
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      await Account.findOneAndUpdate(
        { subject, tenantCount: { $lt: limit } },
        { $inc: { tenantCount: 1 } },
        { upsert: true, returnDocument: "after" },
      );
      return true;
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
    }
    const account = await Account.findOne({ subject }).lean();
    if (!account) continue;
    if (account.tenantCount < limit) continue;
    if (!(await healCount(subject, account.tenantCount, account.updatedAt))) return false;
  }
  return false;
}

async function healCount(subject: string, counted: number, updatedAt: Date | undefined): Promise<boolean> {
  if (!updatedAt || Date.now() - updatedAt.getTime() < STALE_RESERVATION_MS) return false;
  const actual = await Tenant.countDocuments({ billingSubject: subject });
  if (actual >= counted) return false;
  const healed = await Account.updateOne({ subject, tenantCount: counted, updatedAt }, { $set: { tenantCount: actual } });
  return healed.modifiedCount === 1;
}

/** Gives a slot back (a failed insert, a deleted tenant). */
export async function releaseTenantSlot(subject: string): Promise<void> {
  await Account.updateOne({ subject, tenantCount: { $gt: 0 } }, { $inc: { tenantCount: -1 } });
}
