// The edge through an outage of its database (decision 012): one view, shared by the tenant directory and the quota
// gate, of whether the database answers; the loads both make through it; and when a kept answer may stand in.

/** Timings of the outage handling. */
export const OUTAGE = {
  /** A failed reload is tried again this often while requests come. */
  retryMs: 1_000,
  /** A load that has not answered in this time counts as failed (the database may hang rather than refuse). */
  loadTimeoutMs: 5_000,
  /** An outage is taken to be going on for this long after a failed load. */
  currentMs: 10_000,
};

/** What a kept answer records of its reloads: when the last one failed (null once one succeeds). */
export interface Reloaded {
  failedAt: number | null;
}

/**
 * Whether the edge's database is known not to answer: a load failed (or timed out) in the last `OUTAGE.currentMs` and
 * none has succeeded since. Shared by the tenant directory and the quota gate, so one failed load is enough for
 * both to serve their kept answers rather than each making requests wait for a load of its own.
 */
export class OutageWatch {
  private lastFailure = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly now: () => number = Date.now,
    /** How long past its age a kept answer may stand in while the database does not answer. */
    private readonly staleMaxMs = 600_000,
  ) {}

  /** Whether an answer `age` ms old may stand in for one the database did not give (however the outage stands). */
  mayStandIn(age: number): boolean {
    return age < this.staleMaxMs;
  }

  /**
   * Whether an answer `age` ms old, past its age, may still be served: only while an outage is going on, and not past
   * `staleMaxMs`. A key that went quiet after a blip is loaded afresh at its next request.
   */
  servesPastAge(age: number): boolean {
    return this.mayStandIn(age) && this.now() - this.lastFailure < OUTAGE.currentMs;
  }

  /**
   * Runs a load from the database with a time limit. A failure marks the outage and the kept answer (`kept()`, read
   * when it fails), with a warning once per outage for that answer, and is passed on; a success ends the outage.
   */
  async load<T>(work: Promise<T>, kept: () => Reloaded | undefined, warning: string): Promise<T> {
    let value: T;
    try {
      value = await within(work, OUTAGE.loadTimeoutMs, "the database");
    } catch (err) {
      const now = this.now();
      this.lastFailure = now;
      const answer = kept();
      if (answer) {
        if (answer.failedAt === null || now - answer.failedAt >= OUTAGE.currentMs) {
          console.warn(`edge: ${warning}, the database did not answer: ${(err as Error).message}`);
        }
        answer.failedAt = now;
      }
      throw err;
    }
    this.lastFailure = Number.NEGATIVE_INFINITY;
    return value;
  }
}

/**
 * The time since `at` (epoch ms) at `now`, or `whenBehind` when the clock reads earlier than `at`: a wall clock stepped
 * back (by NTP, or by hand) must not keep an answer, or hold off a retry, for as long as the step.
 */
export const elapsed = (now: number, at: number, whenBehind: number): number => (now >= at ? now - at : whenBehind);

/** Whether a kept answer is due a background reload: from half its age, or a second after a failed reload. */
export function reloadDue(age: number, maxAgeMs: number, answer: Reloaded, now: number): boolean {
  return answer.failedAt === null ? age >= maxAgeMs / 2 : elapsed(now, answer.failedAt, OUTAGE.retryMs) >= OUTAGE.retryMs;
}

/** `promise`, or a rejection naming `what` once `ms` have passed without it settling. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
