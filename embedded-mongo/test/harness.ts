// How the compatibility suite reaches a server: the embedded store (in memory, one per test file), or the real
// MongoDB named by MONGODB_URI, so that anyone with a mongod can show that both behave alike.
import { randomBytes } from "node:crypto";
import { type Document, MongoClient, type Db } from "mongodb";
import { afterAll, beforeAll } from "vitest";
import ConnectionString from "mongodb-connection-string-url";
import { type RunningStore, start } from "../src/index";

/** Set when the suite runs against a real MongoDB: tests of the store's own files and process are skipped. */
export const realMongoUri = process.env.MONGODB_URI;
export const onRealMongo = realMongoUri !== undefined && realMongoUri !== "";

export interface TestServer {
  /** A connection string to a fresh database, unique to this test server. */
  uri: string;
  dbName: string;
  client: MongoClient;
  db: Db;
  /** The embedded store, when the suite runs on it. */
  store?: RunningStore;
  close(): Promise<void>;
}

/** A fresh database on the embedded store (in memory) or on MONGODB_URI, with a connected driver client. */
export async function openTestServer(opts: { ttlMonitorIntervalMs?: number } = {}): Promise<TestServer> {
  const dbName = `compat_${randomBytes(6).toString("hex")}`;
  let store: RunningStore | undefined;
  let uri: string;
  if (onRealMongo) {
    const cs = new ConnectionString(realMongoUri as string);
    cs.pathname = `/${dbName}`;
    uri = cs.toString();
  } else {
    store = await start({ log: () => {}, ttlMonitorIntervalMs: opts.ttlMonitorIntervalMs });
    uri = `${store.uri}/${dbName}`;
  }
  const client = new MongoClient(uri);
  await client.connect();
  const db = client.db(dbName);
  return {
    uri,
    dbName,
    client,
    db,
    store,
    async close() {
      if (onRealMongo) await db.dropDatabase().catch(() => {});
      await client.close();
      await store?.stop();
    },
  };
}

/** A test server for the whole file: opened before its first test, closed after its last. */
export function useTestServer(opts: { ttlMonitorIntervalMs?: number } = {}): TestServer {
  const server = {} as TestServer;
  beforeAll(async () => {
    Object.assign(server, await openTestServer(opts));
  });
  afterAll(async () => {
    await server.close?.();
  });
  return server;
}

/** What a failed operation rejects with (a MongoServerError or a bulk write error). */
export interface ServerErr {
  name: string;
  message: string;
  errmsg?: string;
  code?: number;
  codeName?: string;
  keyPattern?: Document;
  keyValue?: Document;
  writeErrors?: Array<{ index: number; code: number; errmsg: string }>;
  [field: string]: unknown;
}

/** The error an operation fails with; the test fails if it succeeds. */
export async function caught(p: Promise<unknown>): Promise<ServerErr> {
  try {
    await p;
  } catch (err) {
    return err as ServerErr;
  }
  throw new Error("expected the operation to fail, but it succeeded");
}
