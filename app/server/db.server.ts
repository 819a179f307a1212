// The MongoDB connection (mongoose): one per process, opened on first use, with the models' indexes built.
import mongoose from "mongoose";
import { allModels } from "#models/index.ts";
import { env } from "./env.server";

const state = globalThis as typeof globalThis & {
  __dbConnection?: Promise<typeof mongoose>;
  __dbCloseOnSignal?: boolean;
  __dbClosedByOwner?: boolean;
};

// When the server is told to stop, it closes its listener and finishes the requests in flight; the open database
// connection would then keep the process alive, so it is closed shortly after.
if (!state.__dbCloseOnSignal) {
  state.__dbCloseOnSignal = true;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      if (state.__dbClosedByOwner) return;
      setTimeout(() => void mongoose.disconnect(), 1_000).unref();
    });
  }
}

/** For a process that closes the connection itself at shutdown (the edge writes its usage first). */
export function closeDbByOwner(): void {
  state.__dbClosedByOwner = true;
}

/** Connects once (the promise is shared across live reloads and concurrent callers). */
export function connectDb(): Promise<typeof mongoose> {
  if (!env.mongodbUri) {
    return Promise.reject(new Error("MONGODB_URI is not set: start the app with `npm start`, which starts the embedded store"));
  }
  state.__dbConnection ??= (async () => {
    mongoose.set("strictQuery", true);
    const conn = await mongoose.connect(env.mongodbUri as string, { serverSelectionTimeoutMS: 5_000, autoIndex: false });
    // Unique indexes must exist before the first write: uniqueness and plan limits rest on them.
    await Promise.all(allModels.map((m) => m.createCollection().catch(() => undefined)));
    await Promise.all(allModels.map((m) => m.createIndexes()));
    return conn;
  })().catch((err) => {
    state.__dbConnection = undefined;
    throw err;
  });
  return state.__dbConnection;
}

/** Whether the database answers a ping within a short time. */
export async function pingDb(): Promise<boolean> {
  try {
    await Promise.race([
      (async () => {
        await connectDb();
        await mongoose.connection.db?.admin().ping();
      })(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), 2_000)),
    ]);
    return true;
  } catch {
    return false;
  }
}
