// Request logs read out of their buckets: buckets of several writers overlap in time (an edge's and the ingest
// route's, two edges'), yet every page is in exact newest-first order and following the cursor neither repeats nor
// skips; logs older than the retention are hidden even while their bucket waits for its TTL.
import { Types } from "mongoose";
import { beforeAll, describe, expect, it } from "vitest";
import * as logsRoute from "#app/routes/api.tenants.$slug.logs.ts";
import * as tenantsRoute from "#app/routes/api.tenants.ts";
import { type HeldLog, writeRequestLogs } from "#app/server/traffic.server.ts";
import { REQUEST_LOG_RETENTION_SECONDS, RequestLogBucket } from "#models/request-log.ts";
import { Tenant } from "#models/tenant.ts";
import { localCookie } from "#tests/fixtures/auth.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { call, read } from "#tests/fixtures/http.ts";

let cookie: string;
let tenant: Types.ObjectId;
const NOW = Date.now();
const MIN = 60_000;
/** Every stored log, newest first as the API must list them. */
let expected: HeldLog["log"][] = [];

const entry = (at: number, path: string, status = 200): HeldLog["log"] => ({
  _id: new Types.ObjectId(),
  timestamp: new Date(at),
  method: "GET",
  path,
  status,
  cacheStatus: "HIT",
  kind: "asset",
  bytes: 10,
  durationMs: 1,
});

const shown = (l: HeldLog["log"]) => ({
  id: l._id.toHexString(),
  timestamp: l.timestamp.toISOString(),
  method: l.method,
  path: l.path,
  status: l.status,
  cacheStatus: l.cacheStatus,
  kind: l.kind,
  bytes: l.bytes,
  durationMs: l.durationMs,
});

type Page = { logs: Array<ReturnType<typeof shown>>; pagination: { limit: number; nextCursor: string | null; hasMore: boolean } };

async function list(query: string): Promise<Page> {
  const res = await read(await call(logsRoute, `/api/tenants/buckets/logs${query}`, { params: { slug: "buckets" }, cookie }));
  expect(res.status).toBe(200);
  return res.body as unknown as Page;
}

async function pageThrough(query: string, limit: number): Promise<Array<ReturnType<typeof shown>>> {
  const seen: Array<ReturnType<typeof shown>> = [];
  let cursor: string | null = null;
  do {
    const p: Page = await list(`?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    seen.push(...p.logs);
    cursor = p.pagination.nextCursor;
  } while (cursor);
  return seen;
}

beforeAll(async () => {
  await resetDb();
  cookie = await localCookie({ userId: "buckets-owner", plan: "pro" });
  expect((await call(tenantsRoute, "/api/tenants", { method: "POST", json: { slug: "buckets", cms: "storyblok" }, cookie })).status).toBe(201);
  tenant = (await Tenant.findOne({ slug: "buckets" }).lean())?._id as Types.ObjectId;

  const base = Math.floor((NOW - 90 * MIN) / 3_600_000) * 3_600_000 + 5 * MIN;
  // Writer A: one log a second for 10 minutes; writer B: every 7 s over the same span, several in A's milliseconds;
  // writer C: a late flush of older logs. Their buckets overlap in time.
  const a = Array.from({ length: 600 }, (_, i) => entry(base + i * 1000, `/a/${i}.png`, i % 3 ? 200 : 404));
  const b = Array.from({ length: 90 }, (_, i) => entry(base + i * 7000, `/b/${i}.png`));
  const c = Array.from({ length: 30 }, (_, i) => entry(base - 30 * MIN + i * 60_000, `/c/${i}.png`, 500));
  // Two buckets of writer A end after writer B's and contain logs older than B's newest.
  await writeRequestLogs(a.slice(0, 300).map((log) => ({ tenant, log })));
  await writeRequestLogs(b.map((log) => ({ tenant, log })));
  await writeRequestLogs(a.slice(300).map((log) => ({ tenant, log })));
  await writeRequestLogs(c.map((log) => ({ tenant, log })));
  // Around the retention cutoff: a log a minute past it and one ten minutes inside it (in one bucket unless an hour
  // starts between them), and a bucket of a log two days past it.
  const cutoff = NOW - REQUEST_LOG_RETENTION_SECONDS * 1000;
  const old = entry(cutoff - MIN, "/old.png");
  const fresh = entry(cutoff + 10 * MIN, "/fresh.png");
  const older = entry(cutoff - 2 * DAY_MS, "/old-too.png");
  await writeRequestLogs([older, old, fresh].map((log) => ({ tenant, log })));
  expect(await RequestLogBucket.countDocuments({ tenant, end: { $lt: new Date(cutoff) } })).toBeGreaterThanOrEqual(1);
  expected = [...a, ...b, ...c, fresh].sort(
    (x, y) => y.timestamp.getTime() - x.timestamp.getTime() || (x._id.toHexString() < y._id.toHexString() ? 1 : -1),
  );
});

const DAY_MS = 86_400_000;

describe("request logs stored in buckets", () => {
  it("lists the newest first across overlapping buckets", async () => {
    const p = await list("?limit=25");
    expect(p.logs).toEqual(expected.slice(0, 25).map(shown));
    expect(p.pagination).toEqual({ limit: 25, nextCursor: expect.any(String), hasMore: true });
  });

  it("pages through every log once, in order, at page sizes that cut through ties and bucket edges", async () => {
    for (const limit of [1, 7, 50, 200]) {
      if (limit === 1) {
        // One page at a time through the first 40 only: the whole walk at 1 per page is covered by the others.
        let cursor: string | null = null;
        const seen: string[] = [];
        for (let i = 0; i < 40; i++) {
          const p: Page = await list(`?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
          seen.push(p.logs[0].id);
          cursor = p.pagination.nextCursor;
        }
        expect(seen).toEqual(expected.slice(0, 40).map((l) => l._id.toHexString()));
        continue;
      }
      expect(await pageThrough("", limit)).toEqual(expected.map(shown));
    }
  });

  it("filters inside buckets, with the same order and paging", async () => {
    const want = (f: (l: HeldLog["log"]) => boolean) => expected.filter(f).map(shown);
    expect(await pageThrough("&status=404", 30)).toEqual(want((l) => l.status === 404));
    expect(await pageThrough("&status=5xx", 7)).toEqual(want((l) => l.status >= 500));
    expect(await pageThrough("&path=/b/", 11)).toEqual(want((l) => l.path.startsWith("/b/")));
    const from = expected[300].timestamp.toISOString();
    const to = expected[100].timestamp.toISOString();
    expect(await pageThrough(`&from=${from}&to=${to}&path=/a/`, 13)).toEqual(
      want((l) => l.timestamp >= new Date(from) && l.timestamp <= new Date(to) && l.path.startsWith("/a/")),
    );
  });

  it("hides logs older than the retention while their bucket is still stored", async () => {
    const last = (await pageThrough("", 200)).at(-1);
    expect(last?.path).toBe("/fresh.png");
    expect(await pageThrough("&path=/old", 50)).toEqual([]);
    expect(await pageThrough(`&to=${new Date(NOW - REQUEST_LOG_RETENTION_SECONDS * 1000 + 60 * MIN).toISOString()}`, 5)).toEqual([shown(expected.at(-1) as HeldLog["log"])]);
  });
});
