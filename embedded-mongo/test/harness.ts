// How the compatibility suite reaches a server: the embedded store (in memory, one per test file), or the real
// MongoDB named by MONGODB_URI, so that anyone with a mongod can show that both behave alike.
import { randomBytes } from "node:crypto";
import { MongoClient, type Db } from "mongodb";
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
