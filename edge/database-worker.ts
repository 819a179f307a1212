// The edge's database thread (see `DatabaseThread` in database.ts): answers the serving thread's tenant look-ups,
// quota reads and usage writes through this thread's own mongoose connection.
import fs from "node:fs";
import os from "node:os";
import { parentPort } from "node:worker_threads";
import mongoose from "mongoose";
import { closeDbByOwner, connectDb } from "#app/server/db.server.ts";
import { recordBatch, UsageBatch } from "#app/server/traffic.server.ts";
import type { DatabaseReply, DatabaseRequest } from "./database.ts";
import { subjectUsage } from "./database.ts";
import { EDGE_DATABASE_THREAD_NICENESS } from "./node-flags.ts";
import { loadTenantConfig } from "./tenants.ts";

const port = parentPort;
if (!port) throw new Error("database-worker.ts runs as a worker thread");
closeDbByOwner();
yieldToServing();

/**
 * Lowers this thread's priority below the serving thread's (on Linux a priority is a thread's: `/proc/thread-self`
 * names this one); elsewhere it stays as it is. Never raised if it already runs lower.
 */
function yieldToServing(): void {
  if (process.platform !== "linux") return;
  try {
    const thread = Number(fs.readlinkSync("/proc/thread-self").split("/").pop());
    os.setPriority(thread, Math.max(os.getPriority(thread), EDGE_DATABASE_THREAD_NICENESS));
  } catch (err) {
    console.warn(`edge: database thread priority not lowered: ${(err as Error).message}`);
  }
}

async function answer(request: DatabaseRequest): Promise<DatabaseReply> {
  const { id } = request;
  // Every request but the last connects first (once: the connection is shared), whichever comes first to a new thread.
  if (request.op !== "close") await connectDb();
  switch (request.op) {
    case "tenant": {
      const config = await loadTenantConfig(request.key);
      return { id, ok: true, doc: config ? mongoose.mongo.BSON.serialize(config.doc) : null, apiToken: config?.apiToken ?? null };
    }
    case "usage":
      return { id, ok: true, value: await subjectUsage(request.billingSubject, new Date(request.now)) };
    case "write":
      await recordBatch(UsageBatch.fromData(request.batch), request.writer, () => port?.postMessage({ id, counted: true } satisfies DatabaseReply));
      return { id, ok: true };
    case "connect":
      return { id, ok: true };
    case "close":
      await mongoose.disconnect();
      return { id, ok: true };
  }
}

port.on("message", (request: DatabaseRequest) => {
  answer(request).then(
    (reply) => port.postMessage(reply),
    (err: unknown) => port.postMessage({ id: request.id, ok: false, message: (err as Error).message ?? String(err) } satisfies DatabaseReply),
  );
});
