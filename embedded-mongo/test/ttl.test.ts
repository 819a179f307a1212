// TTL indexes as mongod 7.0 applies them: a background monitor deletes documents whose indexed date (the
// earliest one, for arrays of dates) is older than expireAfterSeconds, and leaves every other document alone.
// The embedded store's monitor runs every 200 ms here; a real mongod's runs every 60 s, so the polls wait longer.
import type { Collection, Document } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, onRealMongo, openTestServer } from "./harness";

const POLL_TIMEOUT_MS = onRealMongo ? 75_000 : 5_000;
const TEST_TIMEOUT_MS = POLL_TIMEOUT_MS + 15_000;
const MONITOR_INTERVAL_MS = 200;

let server: TestServer;

const now = Date.now();
const HOUR = 3_600_000;
const past = new Date(now - 60_000);
const future = new Date(now + HOUR);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function ids(c: Collection): Promise<unknown[]> {
  return (await c.find({}).sort({ _id: 1 }).toArray()).map((d) => d._id);
}

/** Polls until the collection holds exactly `expected` (by _id) or the timeout passes; returns the last state. */
async function waitForIds(c: Collection, expected: string[]): Promise<unknown[]> {
  const want = [...expected].sort();
  const deadline = Date.now() + POLL_TIMEOUT_MS;
  let last = await ids(c);
  while (JSON.stringify(last) !== JSON.stringify(want) && Date.now() < deadline) {
    await sleep(onRealMongo ? 1000 : 50);
    last = await ids(c);
  }
  return last;
}

/** After the expected state is reached, a few more monitor passes must not delete anything else. */
async function expectStable(c: Collection, expected: string[]): Promise<void> {
  if (!onRealMongo) await sleep(MONITOR_INTERVAL_MS * 3);
  expect(await ids(c)).toEqual([...expected].sort());
}

const sessionsDocs: Document[] = [
  { _id: "past", expiresAt: past },
  { _id: "epoch", expiresAt: new Date(0) },
  { _id: "future", expiresAt: future },
  { _id: "no-field" },
  { _id: "null", expiresAt: null },
  { _id: "string", expiresAt: "2000-01-01T00:00:00Z" },
  { _id: "number", expiresAt: 0 },
  { _id: "timestamp-like-object", expiresAt: { at: past } },
  { _id: "array-earliest-past", expiresAt: [future, past] },
  { _id: "array-all-future", expiresAt: [future, new Date(now + 2 * HOUR)] },
  { _id: "array-date-among-others", expiresAt: ["soon", past, 7] },
  { _id: "array-no-date", expiresAt: ["2000-01-01", 5] },
  { _id: "updated-into-past", expiresAt: future },
  { _id: "updated-into-future", expiresAt: past },
];
const sessionsKept = [
  "future",
  "no-field",
  "null",
  "string",
  "number",
  "timestamp-like-object",
  "array-all-future",
  "array-no-date",
  "updated-into-future",
];

const auditDocs: Document[] = [
  { _id: "two-hours-old", createdAt: new Date(now - 2 * HOUR) },
  { _id: "half-hour-old", createdAt: new Date(now - HOUR / 2) },
  { _id: "in-the-future", createdAt: future },
  { _id: "no-date" },
];
const auditKept = ["half-hour-old", "in-the-future", "no-date"];

beforeAll(async () => {
  server = await openTestServer({ ttlMonitorIntervalMs: MONITOR_INTERVAL_MS });
  // Everything is set up before the first test so that one monitor pass (60 s on a real mongod) serves them all.
  const sessions = server.db.collection("sessions");
  await sessions.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 });
  await sessions.insertMany(sessionsDocs.map((d) => ({ ...d })));
  await sessions.updateOne({ _id: "updated-into-past" } as Document, { $set: { expiresAt: past } });
  await sessions.updateOne({ _id: "updated-into-future" } as Document, { $set: { expiresAt: future } });

  const audit = server.db.collection("audit");
  await audit.insertMany(auditDocs.map((d) => ({ ...d })));
  await audit.createIndex({ createdAt: 1 }, { expireAfterSeconds: 3600 });

  const plain = server.db.collection("plain");
  await plain.createIndex({ expiresAt: 1 });
  await plain.insertOne({ _id: "old", expiresAt: new Date(0) } as Document);
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  await server.close();
});

describe("TTL indexes", () => {
  it("lists the TTL option on the index", async () => {
    const indexes = await server.db.collection("sessions").listIndexes().toArray();
    expect(indexes.find((i) => i.name === "expiresAt_1")).toEqual({
      v: 2,
      key: { expiresAt: 1 },
      name: "expiresAt_1",
      expireAfterSeconds: 0,
    });
  });

  it(
    "expireAfterSeconds 0 deletes past dates (arrays by their earliest date) and keeps everything else",
    async () => {
      const sessions = server.db.collection("sessions");
      expect(await waitForIds(sessions, sessionsKept)).toEqual([...sessionsKept].sort());
      await expectStable(sessions, sessionsKept);
      expect(await sessions.findOne({ _id: "array-all-future" } as Document)).toEqual({
        _id: "array-all-future",
        expiresAt: [future, new Date(now + 2 * HOUR)],
      });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "a positive expireAfterSeconds deletes only documents older than that many seconds",
    async () => {
      const audit = server.db.collection("audit");
      expect(await waitForIds(audit, auditKept)).toEqual([...auditKept].sort());
      await expectStable(audit, auditKept);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "an index without expireAfterSeconds deletes nothing",
    async () => {
      // By now the monitor has run (the tests above saw its deletions).
      expect(await server.db.collection("plain").find({}).toArray()).toEqual([{ _id: "old", expiresAt: new Date(0) }]);
    },
    TEST_TIMEOUT_MS,
  );
});
