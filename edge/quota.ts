// Monthly quotas at the edge: a billing subject on a plan with a hard quota (free) that has used its month's
// requests or bandwidth is refused until 00:00 UTC on the 1st of next month. What the database holds is read at most
// every `maxAgeMs` per subject; what this edge has recorded but not written yet is added on every check.
import { resolvePeriod } from "#app/schemas/period.ts";
import { PLANS, type Plan } from "#app/server/billing.server.ts";
import { Coalescer } from "./cache.ts";
import { type SubjectUsage, subjectUsage } from "./database.ts";
import { elapsed, OutageWatch, type Reloaded, reloadDue } from "./outage.ts";
import type { Usage, UsageRecorder } from "./usage.ts";

export interface QuotaRefusal {
  /** Seconds until the quota resets. */
  retryAfter: number;
  resetsAt: Date;
  message: string;
}

/**
 * A subject's plan and month-to-date usage as read from the database, with what this edge had written of that
 * month when the read began (`written`): usage it writes later is added from the recorder, so a batch moving from
 * unwritten to written is never lost from the count between two reads.
 */
type Stored = Reloaded & Usage & {
  plan: Plan;
  written: Usage;
  /**
   * False when this edge was writing a batch's daily usage during the read, so the read may or may not hold it: it
   * is then counted twice (refusing early rather than serving past the quota) until a read soon after settles it.
   */
  settled: boolean;
  at: number;
  month: number;
};

/** An unsettled read is read again once this old. */
const UNSETTLED_MAX_AGE_MS = 100;


/** A UTC month: its start (a Date and epoch ms) and its end (epoch ms). */
type Month = { start: Date; startMs: number; endMs: number };

export class QuotaGate {
  private readonly stored = new Map<string, Stored>();
  private readonly loads = new Coalescer<Stored>();
  /** The month of the last check (worked out again only when the clock leaves it: checks run on every request). */
  private month: Month | undefined;

  constructor(
    private readonly recorder: UsageRecorder,
    private readonly maxAgeMs = 5_000,
    /** The clock, in epoch ms. */
    private readonly now: () => number = Date.now,
    /** Whether the database answers, and how long past its age a usage read may stand in when not (decision 012). */
    private readonly outage = new OutageWatch(now),
    /** Reads a subject's plan and month-to-date usage (on this thread, unless the edge's database runs on its own). */
    private readonly load: (billingSubject: string, now: Date) => Promise<SubjectUsage> = subjectUsage,
  ) {}

  /** Null when the subject may be served, else why not and until when. */
  async check(billingSubject: string): Promise<QuotaRefusal | null> {
    const kept = this.checkKept(billingSubject);
    if (kept !== undefined) return kept;
    const nowMs = this.now();
    const month = this.monthAt(nowMs);
    return this.decide(billingSubject, await this.storedFor(billingSubject, new Date(nowMs), month.startMs), nowMs, month);
  }

  /** `check` without waiting: the answer when the subject's stored usage is fresh, else undefined. */
  checkKept(billingSubject: string): QuotaRefusal | null | undefined {
    const have = this.stored.get(billingSubject);
    if (!have) return undefined;
    const nowMs = this.now();
    // (Behind the time it was read at, the clock was stepped back: the answer counts as just expired.)
    const age = elapsed(nowMs, have.at, this.maxAgeMs);
    // As the tenant directory does: reloaded ahead from half its age, so under steady traffic no request waits for
    // the database; past its age used only while the database is known not to answer (decision 012).
    if (age >= this.maxAgeMs && !this.outage.servesPastAge(age)) return undefined;
    // An unsettled read is read again soon, unless a reload failed since (then the outage's retry spacing holds).
    const due = reloadDue(age, this.maxAgeMs, have, nowMs) || (!have.settled && have.failedAt === null && age >= UNSETTLED_MAX_AGE_MS);
    if (due && !this.loads.running(billingSubject)) {
      this.reload(billingSubject, new Date(nowMs), this.monthAt(nowMs).startMs).catch(() => undefined);
    }
    // Pro and other plans without a hard quota: nothing to add up.
    if (!PLANS[have.plan].hardQuota) return null;
    const month = this.monthAt(nowMs);
    if (have.month !== month.startMs) return undefined;
    return this.decide(billingSubject, have, nowMs, month);
  }

  private monthAt(nowMs: number): Month {
    const known = this.month;
    if (known && nowMs >= known.startMs && nowMs < known.endMs) return known;
    const { start, end } = resolvePeriod("current_month", new Date(nowMs));
    return (this.month = { start, startMs: start.getTime(), endMs: end.getTime() });
  }

  private decide(billingSubject: string, s: Stored, nowMs: number, month: Month): QuotaRefusal | null {
    const limits = PLANS[s.plan];
    if (!limits.hardQuota) return null;
    const pending = this.recorder.unwritten(billingSubject, month.start);
    const written = this.recorder.written(billingSubject, month.start);
    // (Never less than what was read: written totals of an old month may have been let go of since.)
    const requests = s.requests + Math.max(0, written.requests - s.written.requests) + pending.requests;
    const bytes = s.bytes + Math.max(0, written.bytes - s.written.bytes) + pending.bytes;
    const over = requests >= limits.requests ? "requests" : bytes >= limits.bandwidthBytes ? "bandwidth" : null;
    if (!over) return null;
    const resetsAt = new Date(month.endMs);
    return {
      resetsAt,
      retryAfter: Math.max(1, Math.ceil((month.endMs - nowMs) / 1000)),
      message: `Monthly ${over} quota of the ${s.plan} plan used up; service resumes ${resetsAt.toISOString()}.`,
    };
  }

  private async storedFor(subject: string, now: Date, month: number): Promise<Stored> {
    const have = this.stored.get(subject);
    if (have && have.month === month && elapsed(now.getTime(), have.at, this.maxAgeMs) < this.maxAgeMs) return have;
    try {
      return await this.reload(subject, now, month);
    } catch (err) {
      // The database did not answer: the last usage read this month, while it is not too old.
      if (have && have.month === month && this.outage.mayStandIn(elapsed(now.getTime(), have.at, this.maxAgeMs))) return have;
      throw err;
    }
  }

  private reload(subject: string, now: Date, month: number): Promise<Stored> {
    return this.loads.run(subject, async () => {
      const generation = this.recorder.writeGeneration;
      const written = this.recorder.written(subject, new Date(month));
      const { plan, requests, bytes } = await this.outage.load(this.load(subject, now), () => this.stored.get(subject), `quota of ${subject}: using the last usage read`);
      const settled = generation % 2 === 0 && generation === this.recorder.writeGeneration;
      const value = { plan, requests, bytes, written, settled, at: now.getTime(), month, failedAt: null };
      this.stored.set(subject, value);
      return value;
    }).promise;
  }
}
