// The edge's usage pipeline: every request is added to an in-memory batch (synchronously: no request waits for the
// database); a timer writes the batch every few seconds with bulk $inc upserts, and `stop` writes what is left.
// A failed write keeps its batch and its sequence number and is retried with back-off, so a retry that finds its
// first attempt landed counts nothing twice; new traffic meanwhile goes into a new batch. Memory stays bounded: past
// `maxHeldLogs` request logs held, the oldest unwritten logs are dropped with a warning (counters are never dropped),
// and past `maxPathsPerBatch` distinct paths in a batch, a request on a new one is counted by day but not by path.
import { randomBytes } from "node:crypto";
import { type BatchWriter, DEFAULT_MAX_PATHS, type HeldLogs, pathsPerDay, recordBatch, type ServedRequest, UsageBatch, type UsageOwner } from "#app/server/traffic.server.ts";

export interface UsageRecorderOptions {
  intervalMs?: number;
  /** Share of requests that keep a request log, 0–1. */
  logSampleRate?: number;
  maxHeldLogs?: number;
  /** Distinct paths a batch counts by path (see `UsageBatch`); requests on further paths are counted by day only. */
  maxPathsPerBatch?: number;
  /** Writes one batch (the real `recordBatch` unless a test wraps it), calling `counted` once its daily usage is in. */
  write?: (batch: UsageBatch, writer: BatchWriter, counted: () => void) => Promise<void>;
  random?: () => number;
}

/** Requests and bytes. */
export type Usage = { requests: number; bytes: number };

/** A batch being written (or to be retried): `counted` once its daily usage is in the database. */
type Held = { batch: UsageBatch; seq: number; counted: boolean };

export class UsageRecorder {
  private current: UsageBatch;
  private held: Held | null = null;
  /** The logs of the last batch written, emptied, for the next batch to reuse. */
  private spareLogs: HeldLogs | undefined;
  private seq = 0;
  private readonly writerId = `edge-${randomBytes(6).toString("hex")}`;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private failures = 0;
  private retryAt = 0;
  droppedLogs = 0;
  /**
   * Counts the starts and ends of writes of batches' daily usage: odd while one is in flight. A reader of daily usage
   * that sees the same even number before and after its read knows its read holds exactly the batches `written`
   * counts.
   */
  writeGeneration = 0;
  /** Requests and bytes this recorder has written, per UTC month (by its start, epoch ms) and billing subject. */
  private readonly writtenTotals = new Map<number, Map<string, Usage>>();

  private readonly intervalMs: number;
  private readonly logSampleRate: number;
  private readonly maxHeldLogs: number;
  private readonly maxPathsPerBatch: number;
  private readonly write: (batch: UsageBatch, writer: BatchWriter, counted: () => void) => Promise<void>;
  private readonly random: () => number;

  constructor(opts: UsageRecorderOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 2_000;
    this.logSampleRate = Math.min(1, Math.max(0, opts.logSampleRate ?? 1));
    this.maxHeldLogs = opts.maxHeldLogs ?? 200_000;
    this.maxPathsPerBatch = opts.maxPathsPerBatch ?? DEFAULT_MAX_PATHS;
    this.current = new UsageBatch(undefined, this.maxPathsPerBatch);
    this.write = opts.write ?? recordBatch;
    this.random = opts.random ?? Math.random;
  }

  /** Adds a served request; `now` is the time now, when the caller has just read it (epoch ms). */
  record(owner: UsageOwner, event: ServedRequest, now?: number): void {
    const keepLog = this.logSampleRate >= 1 || this.random() < this.logSampleRate;
    // Its log's id is made as of now (not as of the request's start, which a long download leaves far behind).
    this.current.add(owner, event, keepLog, now);
    if (keepLog) this.boundLogs();
  }

  /**
   * Bytes sent so far by streamed answers still in progress, per billing subject: an answer is recorded when it ends,
   * and a quota check must not let a subject start more downloads while those under way already took it past its
   * bandwidth.
   */
  private readonly streaming = new Map<string, number>();

  /** Adds (or, at the end of an answer, takes back) bytes a streamed answer in progress has sent for a subject. */
  streamed(billingSubject: string, bytes: number): void {
    const total = (this.streaming.get(billingSubject) ?? 0) + bytes;
    if (total === 0) this.streaming.delete(billingSubject);
    else this.streaming.set(billingSubject, total);
  }

  /** Requests and bytes this recorder has written for a billing subject in the UTC month starting at `monthStart`. */
  written(billingSubject: string, monthStart: Date): Usage {
    const w = this.writtenTotals.get(monthStart.getTime())?.get(billingSubject);
    return { requests: w?.requests ?? 0, bytes: w?.bytes ?? 0 };
  }

  /**
   * Requests and bytes recorded for a billing subject since `from` that are not in the database yet, with the bytes
   * streamed answers in progress have sent so far.
   */
  unwritten(billingSubject: string, from: Date): Usage {
    // Checked on every request of a subject with a hard quota: only that subject's days are added up.
    const fromMs = from.getTime();
    let { requests, bytes } = this.current.subjectUsage(billingSubject, fromMs);
    // Answers in progress are this month's (they are counted in the day they end).
    bytes += this.streaming.get(billingSubject) ?? 0;
    // A held batch whose daily usage is in (its path usage or logs failed) counts as written, not here.
    if (this.held && !this.held.counted) {
      const held = this.held.batch.subjectUsage(billingSubject, fromMs);
      requests += held.requests;
      bytes += held.bytes;
    }
    return { requests, bytes };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush().catch(() => undefined), this.intervalMs);
    this.timer.unref();
  }

  /** Writes what is held (a failed batch first, then the current one). Rejects if a write fails. */
  flush(): Promise<void> {
    if (this.writing) return this.writing;
    this.writing = this.flushOnce().finally(() => (this.writing = null));
    return this.writing;
  }

  private async flushOnce(): Promise<void> {
    if (this.held && Date.now() < this.retryAt) return;
    if (!this.held) {
      if (this.current.empty) return;
      this.held = { batch: this.current, seq: ++this.seq, counted: false };
      this.current = new UsageBatch(this.spareLogs, this.maxPathsPerBatch);
      this.spareLogs = undefined;
      const unpathed = this.held.batch.notCountedByPath;
      if (unpathed > 0) {
        const perDay = pathsPerDay(this.maxPathsPerBatch);
        console.warn(
          `edge: ${unpathed} requests counted, but not by path: more distinct paths came in one batch than it counts (${this.maxPathsPerBatch}, ${perDay} per tenant and day)`,
        );
      }
    }
    const held = this.held;
    const { batch, seq } = held;
    // The generation is odd from the start of the attempt until its daily usage is in (or the attempt failed).
    let open = !held.counted;
    if (open) this.writeGeneration++;
    const counted = () => {
      if (!held.counted) {
        held.counted = true;
        this.addWritten(batch);
      }
      if (open) {
        open = false;
        this.writeGeneration++;
      }
    };
    try {
      await this.write(batch, { id: this.writerId, seq }, counted);
      counted();
      this.held = null;
      batch.logs.clear();
      this.spareLogs = batch.logs;
      this.failures = 0;
      this.retryAt = 0;
    } catch (err) {
      if (open) {
        open = false;
        this.writeGeneration++;
      }
      this.failures++;
      this.retryAt = Date.now() + Math.min(30_000, 500 * 2 ** (this.failures - 1));
      console.warn(`edge: usage write failed (attempt ${this.failures}, ${batch.requests} requests held): ${(err as Error).message}`);
      throw err;
    }
    // What arrived during the write goes out now rather than a whole interval later.
    if (!this.current.empty && this.current.requests >= 10_000) await this.flushOnce();
  }

  /** Stops the timer and writes everything, retrying for up to `deadlineMs`. */
  async stop(deadlineMs = 10_000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const until = Date.now() + deadlineMs;
    // Every write is waited for until the deadline, not past it (a database that never answers must not hold the
    // process): "late" when it has not finished by then.
    const byDeadline = (write: Promise<void>) =>
      Promise.race([
        write.then(() => null, (err: unknown) => err as Error),
        new Promise<"late">((r) => setTimeout(() => r("late"), Math.max(0, until - Date.now())).unref()),
      ]);
    const notWritten = (why: string) => console.error(`edge: usage not written at shutdown (${this.pendingRequests()} requests): ${why}`);
    for (;;) {
      if (this.writing && (await byDeadline(this.writing)) === "late") return notWritten(`a write did not finish in ${deadlineMs} ms`);
      if (!this.held && this.current.empty) return;
      this.retryAt = Math.min(this.retryAt, Date.now());
      const failed = await byDeadline(this.flush());
      if (failed === "late") return notWritten(`a write did not finish in ${deadlineMs} ms`);
      if (failed) {
        if (Date.now() >= until) return notWritten(failed.message);
        await new Promise((r) => setTimeout(r, Math.min(1_000, Math.max(0, until - Date.now()))));
      }
    }
  }


  private addWritten(batch: UsageBatch): void {
    for (const d of batch.days.values()) {
      const month = Date.UTC(d.day.getUTCFullYear(), d.day.getUTCMonth(), 1);
      let subjects = this.writtenTotals.get(month);
      if (!subjects) this.writtenTotals.set(month, (subjects = new Map()));
      const w = subjects.get(d.tenant.billingSubject);
      if (w) {
        w.requests += d.requests;
        w.bytes += d.bytes;
      } else subjects.set(d.tenant.billingSubject, { requests: d.requests, bytes: d.bytes });
    }
    // Quotas look at the current month: months before the previous one of the newest written are let go of.
    const newest = Math.max(...this.writtenTotals.keys());
    const keepFrom = Date.UTC(new Date(newest).getUTCFullYear(), new Date(newest).getUTCMonth() - 1, 1);
    for (const month of this.writtenTotals.keys()) if (month < keepFrom) this.writtenTotals.delete(month);
  }

  pendingRequests(): number {
    return this.current.requests + (this.held?.batch.requests ?? 0);
  }

  private boundLogs(): void {
    const held = this.held?.batch.logs.length ?? 0;
    const over = Math.min(held + this.current.logs.length - this.maxHeldLogs, this.current.logs.length);
    if (over <= 0) return;
    // Dropping moves an offset (no copy per request, however many logs are held).
    this.current.logs.dropOldest(over);
    if (this.droppedLogs === 0 || this.droppedLogs % 10_000 === 0) {
      console.warn(`edge: database unavailable, dropping the oldest unwritten request logs (counters are kept)`);
    }
    this.droppedLogs += over;
  }
}
