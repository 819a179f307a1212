// The edge's database: the tenant look-ups, quota reads and usage writes it makes, behind one interface. `npm start`
// runs them on a thread of their own (`DatabaseThread`, decision 015) so the serving thread never runs the database
// driver's code; `inlineDatabase` runs them on the caller's thread (tests that wrap a write use it).
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import mongoose from "mongoose";
import type { TenantDoc } from "#models/tenant.ts";
import { type Plan, planWithoutSession } from "#app/server/billing.server.ts";
import { type BatchWriter, recordBatch, UsageBatch, type UsageBatchData } from "#app/server/traffic.server.ts";
import { monthToDate } from "#app/server/usage.server.ts";
import { type EdgeTenantConfig, loadTenantConfig } from "./tenants.ts";

/** A billing subject's plan and what it has used this month (UTC), as the database holds them. */
export type SubjectUsage = { plan: Plan; requests: number; bytes: number };

export interface EdgeDatabase {
  /** The tenant a directory key (`slug:…`, `domain:…`) names, with its API token decrypted; null when none. */
  tenant(key: string): Promise<EdgeTenantConfig | null>;
  /** A subject's plan and month-to-date usage. */
  usage(billingSubject: string, now: Date): Promise<SubjectUsage>;
  /** Writes a usage batch (`recordBatch`), calling `counted` once its daily usage is in. */
  write(batch: UsageBatch, writer: BatchWriter, counted: () => void): Promise<void>;
  /** Lets go of what it holds (the thread and its connection). */
  close(): Promise<void>;
}

/** Reads a subject's plan and month-to-date usage (on whichever thread calls it). */
export async function subjectUsage(billingSubject: string, now: Date): Promise<SubjectUsage> {
  const [plan, used] = await Promise.all([planWithoutSession(billingSubject), monthToDate(billingSubject, now)]);
  return { plan, requests: used.requests, bytes: used.bandwidthBytes };
}

/** The database on the caller's thread, through the process's mongoose connection. */
export const inlineDatabase: EdgeDatabase = {
  tenant: loadTenantConfig,
  usage: subjectUsage,
  write: recordBatch,
  close: async () => undefined,
};

/** What the serving thread asks the database thread. */
export type DatabaseRequest =
  | { id: number; op: "tenant"; key: string }
  | { id: number; op: "usage"; billingSubject: string; now: number }
  | { id: number; op: "write"; batch: UsageBatchData; writer: BatchWriter }
  | { id: number; op: "connect" }
  | { id: number; op: "close" };

/**
 * What the database thread answers: a tenant's document as BSON (so its ObjectIds and Dates arrive as they left, as
 * the driver's own classes), a subject's usage, `counted` ahead of the end of a write, or the error a request failed
 * with (its message).
 */
export type DatabaseAnswer = { id: number; ok: true; value?: unknown; doc?: Uint8Array | null; apiToken?: string | null };
export type DatabaseReply = DatabaseAnswer | { id: number; ok: false; message: string } | { id: number; counted: true };

/** Where tsx's ESM API module is, as its package's exports name it (an eval'd thread resolves no bare names). */
function tsxApiUrl(): string {
  const manifest = createRequire(import.meta.url).resolve("tsx/package.json");
  const { exports } = JSON.parse(fs.readFileSync(manifest, "utf8")) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(path.join(path.dirname(manifest), exports["./esm/api"].import.default)).href;
}

type Pending = { resolve: (answer: DatabaseAnswer) => void; reject: (err: Error) => void; counted?: () => void };

/**
 * The thread's bootstrap: it registers tsx (the edge's TypeScript loader, whatever runs the edge: tsx, or vitest in
 * tests), then loads database-worker.ts.
 */
function workerBoot(): string {
  const worker = new URL("./database-worker.ts", import.meta.url).href;
  return `import(${JSON.stringify(tsxApiUrl())}).then(({ register }) => { register(); return import(${JSON.stringify(worker)}); });`;
}

/**
 * The database on a thread of its own. The thread is started on first use and again after it stops (a crash fails
 * the requests it was answering, which the callers retry as they would a database error).
 */
export class DatabaseThread implements EdgeDatabase {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  /** Connects the thread to the database (and builds the indexes), failing as `connectDb` does. */
  async connect(): Promise<void> {
    await this.ask({ id: 0, op: "connect" });
  }

  async tenant(key: string): Promise<EdgeTenantConfig | null> {
    const reply = await this.ask({ id: 0, op: "tenant", key });
    return reply.doc ? { doc: mongoose.mongo.BSON.deserialize(reply.doc) as TenantDoc, apiToken: reply.apiToken ?? null } : null;
  }

  async usage(billingSubject: string, now: Date): Promise<SubjectUsage> {
    return (await this.ask({ id: 0, op: "usage", billingSubject, now: now.getTime() })).value as SubjectUsage;
  }

  async write(batch: UsageBatch, writer: BatchWriter, counted: () => void): Promise<void> {
    const data = batch.toData();
    // The logs' columns are copies made for the thread: moved to it rather than copied again.
    const columns = Object.values(data.logs).filter((v): v is ArrayBufferView<ArrayBuffer> => ArrayBuffer.isView(v));
    await this.ask({ id: 0, op: "write", batch: data, writer }, columns.map((column) => column.buffer), counted);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    // The thread closes its connection, then is stopped (whatever it answers).
    await this.ask({ id: 0, op: "close" }).catch(() => undefined);
    await worker.terminate();
  }

  private ask(request: DatabaseRequest, transfer: ArrayBuffer[] = [], counted?: () => void): Promise<DatabaseAnswer> {
    if (this.closed && request.op !== "close") return Promise.reject(new Error("the edge's database is closed"));
    const worker = this.started();
    const id = this.nextId++;
    // The thread keeps the process alive while it has something to answer, and only then (an edge not closed must
    // not hang its process).
    if (this.pending.size === 0) worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, counted });
      worker.postMessage({ ...request, id }, transfer);
    });
  }

  /** The request `id` is answered: it no longer waits for the thread. */
  private settled(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
    return p;
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(workerBoot(), { eval: true });
    worker.unref();
    worker.on("message", (reply: DatabaseReply) => {
      if ("counted" in reply) {
        this.pending.get(reply.id)?.counted?.();
        return;
      }
      const p = this.settled(reply.id);
      if (reply.ok) p?.resolve(reply);
      else p?.reject(new Error(reply.message));
    });
    const stopped = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const p of this.pending.values()) p.reject(new Error(`the edge's database thread stopped: ${why}`));
      this.pending.clear();
    };
    worker.on("error", (err) => {
      console.error(`edge: database thread failed: ${err.stack ?? err.message}`);
      stopped(err.message);
    });
    worker.on("exit", (code) => stopped(`exit code ${code}`));
    this.worker = worker;
    return worker;
  }
}
