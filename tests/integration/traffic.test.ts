// Traffic in, numbers out: POST /api/usage/ingest records a known set of events, and analytics, daily bandwidth,
// tenant usage, account usage and request logs report them to the unit.
import type { Types } from "mongoose";
import { beforeAll, describe, expect, it } from "vitest";
import * as analyticsRoute from "#app/routes/api.tenants.$slug.analytics.ts";
import * as bandwidthRoute from "#app/routes/api.tenants.$slug.bandwidth-daily.ts";
import * as logsRoute from "#app/routes/api.tenants.$slug.logs.ts";
import * as tenantRoute from "#app/routes/api.tenants.$slug.ts";
import * as tenantUsageRoute from "#app/routes/api.tenants.$slug.usage.ts";
import * as tenants from "#app/routes/api.tenants.ts";
import * as accountUsageRoute from "#app/routes/api.tenants.usage.ts";
import * as ingest from "#app/routes/api.usage.ingest.ts";
import { analyticsSchema, bandwidthSchema, tenantUsageSchema, accountUsageSchema } from "#app/schemas/usage.ts";
import { logsSchema } from "#app/schemas/logs.ts";
import { env } from "#app/server/env.server.ts";
import { DailyUsage } from "#models/daily-usage.ts";
import { Tenant } from "#models/tenant.ts";
import { localCookie } from "#tests/fixtures/auth.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { call, read } from "#tests/fixtures/http.ts";
import { countLogs } from "#tests/support/request-logs.ts";

const DAY = 86_400_000;
const PERIOD_MESSAGE = "must be one of current_month, previous_month, 7d, 30d, 90d, or a month as YYYY-MM from 1970-01 to 9999-11";
const T0 = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
const iso = (ms: number) => new Date(ms).toISOString();
const dayOf = (ms: number) => iso(ms).slice(0, 10);

interface Ev {
  tenant: string;
  timestamp: string;
  method: string;
  path: string;
  status: number;
  bytes: number;
  cacheStatus: "HIT" | "MISS" | "BYPASS" | "ERROR";
  kind: "asset" | "api";
  durationMs: number;
}

const ev = (tenant: string, at: number, path: string, status: number, cacheStatus: Ev["cacheStatus"], kind: Ev["kind"], bytes: number, method = "GET"): Ev => ({
  tenant,
  timestamp: iso(at),
  method,
  path,
  status,
  bytes,
  cacheStatus,
  kind,
  durationMs: 12.5,
});

// Today's events are in the early hours, so "today" is complete whatever time the test runs.
const h = (day: number, seconds: number) => T0 - day * DAY + 60_000 + seconds * 1000;
const main: Ev[] = [
  ev("stats-co", h(0, 1), "/img/a.jpg", 200, "HIT", "asset", 1000),
  ev("stats-co", h(0, 2), "/img/a.jpg", 200, "HIT", "asset", 1000),
  ev("stats-co", h(0, 3), "/img/b.png", 200, "MISS", "asset", 5000),
  ev("stats-co", h(0, 4), "/~api/entries", 200, "MISS", "api", 300),
  ev("stats-co", h(0, 5), "/~api/entries", 200, "BYPASS", "api", 400),
  ev("stats-co", h(0, 6), "/img/c.gif", 404, "MISS", "asset", 100),
  ev("stats-co", h(0, 7), "/img/a.jpg", 304, "HIT", "asset", 0),
  ev("stats-co", h(0, 8), "/~api/x", 502, "ERROR", "api", 50),
  ev("stats-co", T0 - 1, "/img/a.jpg", 200, "HIT", "asset", 1000),
  ev("stats-co", T0 - 2, "/img/b.png", 200, "HIT", "asset", 0, "HEAD"),
  ev("stats-co", h(10, 0), "/video.mp4", 206, "MISS", "asset", 1_000_000),
  ev("stats-co", h(40, 0), "/img/a.jpg", 200, "MISS", "asset", 2000),
  ev("stats-co", T0 - 399 * DAY, "/img/old.jpg", 200, "MISS", "asset", 7),
  ev("stats-two", h(0, 9), "/x.jpg", 200, "HIT", "asset", 123),
  ev("stats-gone", h(0, 10), "/y.jpg", 200, "MISS", "asset", 77),
];
const rejected: Ev[] = [
  ev("stats-co", Date.now() - 401 * DAY, "/too-old.jpg", 200, "HIT", "asset", 1),
  ev("stats-co", Date.now() + 10 * 60_000, "/future.jpg", 200, "HIT", "asset", 1),
  ev("nobody-has-this", h(0, 11), "/z.jpg", 200, "HIT", "asset", 1),
];

let owner: string;
let goneId: Types.ObjectId | undefined;
const keyHeader = () => ({ "X-Ingest-Key": env.ingestKey });
const postIngest = (json: unknown, headers: Record<string, string> = keyHeader()) => call(ingest, "/api/usage/ingest", { method: "POST", json, headers });
const get = (route: Parameters<typeof call>[0], url: string, slug = "stats-co", cookie = owner) => call(route, url, { params: { slug }, cookie });

beforeAll(async () => {
  await resetDb();
  owner = await localCookie({ userId: "stats-owner", plan: "pro" });
  for (const slug of ["stats-co", "stats-two", "stats-gone"]) {
    const res = await call(tenants, "/api/tenants", { method: "POST", json: { slug, cms: "storyblok" }, cookie: owner });
    expect(res.status).toBe(201);
  }
  const res = await read(await postIngest({ events: [...main, ...rejected] }));
  expect(res.status).toBe(200);
  expect(res.contentType).toBe("application/json; charset=utf-8");
  expect(res.cacheControl).toBe("no-store");
  expect(res.body).toEqual({ ok: true, accepted: main.length, rejected: rejected.length });
  goneId = (await Tenant.findOne({ slug: "stats-gone" }).lean())?._id;
  expect(await countLogs(goneId)).toBe(1);
  const gone = await call(tenantRoute, "/api/tenants/stats-gone", { method: "DELETE", params: { slug: "stats-gone" }, cookie: owner });
  expect(gone.status).toBe(200);
});

describe("POST /api/usage/ingest", () => {
  it("answers 401 without or with a wrong X-Ingest-Key, and records nothing", async () => {
    const before = await DailyUsage.countDocuments();
    const attempts: Array<Record<string, string>> = [
      {},
      { "X-Ingest-Key": "wrong" },
      { "X-Ingest-Key": `${env.ingestKey}x` },
      { Authorization: `Bearer ${env.ingestKey}` },
    ];
    for (const headers of attempts) {
      const res = await read(await postIngest({ events: [ev("stats-co", h(0, 30), "/a", 200, "HIT", "asset", 1)] }, headers));
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: "unauthorized", message: "A valid X-Ingest-Key header is required" } });
    }
    expect(await DailyUsage.countDocuments()).toBe(before);
  });

  it("validates the body: at most 1000 events, each field", async () => {
    const one = ev("stats-co", h(0, 31), "/a", 200, "HIT", "asset", 1);
    const tooMany = await read(await postIngest({ events: Array.from({ length: 1001 }, () => one) }));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toEqual({
      error: { code: "invalid_request", message: "Invalid request body", issues: [{ path: "events", message: "must hold at most 1000 events" }] },
    });
    const invalidBody = (path: string, message: string) => ({
      error: { code: "invalid_request", message: "Invalid request body", issues: [{ path, message }] },
    });
    const cases: Array<[unknown, unknown]> = [
      [{ events: [{ ...one, status: 99 }] }, invalidBody("events.0.status", "Too small: expected number to be >=100")],
      [{ events: [{ ...one, cacheStatus: "hit" }] }, invalidBody("events.0.cacheStatus", 'Invalid option: expected one of "HIT"|"MISS"|"BYPASS"|"ERROR"')],
      [{ events: [{ ...one, kind: "video" }] }, invalidBody("events.0.kind", 'Invalid option: expected one of "asset"|"api"')],
      [{ events: [{ ...one, timestamp: "yesterday" }] }, invalidBody("events.0.timestamp", "must be an ISO date-time")],
      [{ events: [{ ...one, bytes: -1 }] }, invalidBody("events.0.bytes", "Too small: expected number to be >=0")],
      [{ events: [{ ...one, path: "no-slash" }] }, invalidBody("events.0.path", "must start with /")],
      [{ events: [{ ...one, tenant: "Not A Slug" }] }, invalidBody("events.0.tenant", "may contain only a-z, 0-9 and hyphens, and must start with a letter")],
      [{ events: [{ ...one, extra: 1 }] }, invalidBody("events.0.extra", "is not a known field")],
      [{ events: "none" }, invalidBody("events", "Invalid input: expected array, received string")],
      [{}, invalidBody("events", "Invalid input: expected array, received undefined")],
    ];
    for (const [body, expected] of cases) {
      const res = await read(await postIngest(body));
      expect(res.status).toBe(400);
      expect(res.contentType).toBe("application/json; charset=utf-8");
      expect(res.cacheControl).toBe("no-store");
      expect(res.body).toEqual(expected);
    }
    const media = await read(
      await call(ingest, "/api/usage/ingest", { method: "POST", body: "x", headers: { ...keyHeader(), "Content-Type": "text/plain" } }),
    );
    expect(media.status).toBe(415);
    expect(media.contentType).toBe("application/json; charset=utf-8");
    expect(media.body).toEqual({ error: { code: "unsupported_media_type", message: "Request bodies must be application/json" } });
    const huge = await read(await postIngest({ events: [{ ...one, path: `/${"x".repeat(5 * 1024 * 1024)}` }] }));
    expect(huge.status).toBe(413);
    expect(huge.body).toEqual({ error: { code: "payload_too_large", message: "Request bodies are limited to 4096 KiB" } });
  });

  it("takes a full batch of 1000 events (over the API's 64 KiB)", async () => {
    const batch = Array.from({ length: 1000 }, (_, i) => ev("stats-big", h(3, i), `/batch/${i % 50}.jpg`, 200, "MISS", "asset", 10));
    const cookie = await localCookie({ userId: "stats-big", plan: "pro" });
    expect((await call(tenants, "/api/tenants", { method: "POST", json: { slug: "stats-big", cms: "storyblok" }, cookie })).status).toBe(201);
    expect(JSON.stringify({ events: batch }).length).toBeGreaterThan(64 * 1024);
    expect((await read(await postIngest({ events: batch }))).body).toEqual({ ok: true, accepted: 1000, rejected: 0 });
    const usage = await DailyUsage.findOne({ slug: "stats-big" }).lean();
    expect([usage?.requests, usage?.bytes, usage?.misses, usage?.asset?.requests]).toEqual([1000, 10_000, 1000, 1000]);
  });

  it("accepts an empty batch", async () => {
    expect((await read(await postIngest({ events: [] }))).body).toEqual({ ok: true, accepted: 0, rejected: 0 });
  });

  it("keeps one daily usage document per tenant and day, and logs only within the 30-day retention", async () => {
    const days = await DailyUsage.find({ slug: "stats-co" }).sort({ day: 1 }).lean();
    expect(days.map((d) => dayOf(d.day.getTime()))).toEqual([
      dayOf(T0 - 399 * DAY),
      dayOf(h(40, 0)),
      dayOf(h(10, 0)),
      dayOf(T0 - DAY),
      dayOf(T0),
    ]);
    // 11 of stats-co's events are within 30 days, and stats-two's one; stats-gone's logs went with it.
    const logsOf = async (slug: string) => countLogs((await Tenant.findOne({ slug }).lean())?._id);
    expect([await logsOf("stats-co"), await logsOf("stats-two")]).toEqual([11, 1]);
    expect(await Tenant.countDocuments({ slug: "stats-gone" })).toBe(0);
    expect(await countLogs(goneId)).toBe(0);
    expect(await DailyUsage.countDocuments({ slug: "stats-gone" })).toBe(1);
  });
});

describe("GET /api/tenants/{slug}/analytics", () => {
  it("reports the last 7 days exactly", async () => {
    const res = await read(await get(analyticsRoute, "/api/tenants/stats-co/analytics?period=7d"));
    expect(res.status).toBe(200);
    expect(res.contentType).toBe("application/json; charset=utf-8");
    expect(res.cacheControl).toBe("no-store");
    const daily = Array.from({ length: 7 }, (_, i) => ({ date: dayOf(T0 - (6 - i) * DAY), requests: 0, bandwidthBytes: 0, cacheHitRatio: 0 }));
    daily[5] = { date: dayOf(T0 - DAY), requests: 2, bandwidthBytes: 1000, cacheHitRatio: 1 };
    daily[6] = { date: dayOf(T0), requests: 8, bandwidthBytes: 7850, cacheHitRatio: 3 / 7 };
    expect(res.body).toEqual({
      slug: "stats-co",
      period: { name: "7d", start: iso(T0 - 6 * DAY), end: iso(T0 + DAY) },
      totals: { requests: 10, bandwidthBytes: 8850, cacheHits: 5, cacheMisses: 3, cacheBypasses: 1, errors: 1 },
      cacheHitRatio: 5 / 9,
      originRequestsAvoided: 5,
      traffic: {
        asset: { requests: 7, bandwidthBytes: 8100, cacheHitRatio: 5 / 7 },
        api: { requests: 3, bandwidthBytes: 750, cacheHitRatio: 0 },
      },
      statusClasses: { "2xx": 7, "3xx": 1, "4xx": 1, "5xx": 1 },
      topPaths: [
        { path: "/img/a.jpg", requests: 4, bandwidthBytes: 3000 },
        { path: "/img/b.png", requests: 2, bandwidthBytes: 5000 },
        { path: "/~api/entries", requests: 2, bandwidthBytes: 700 },
        { path: "/img/c.gif", requests: 1, bandwidthBytes: 100 },
        { path: "/~api/x", requests: 1, bandwidthBytes: 50 },
      ],
      daily,
    });
    expect(analyticsSchema.safeParse(res.body).success).toBe(true);
  });

  it("includes older days in 30 days, zero-filled, and a month as YYYY-MM", async () => {
    const res = await read(await get(analyticsRoute, "/api/tenants/stats-co/analytics?period=30d"));
    const body = res.body as { totals: Record<string, number>; cacheHitRatio: number; daily: Array<{ date: string; requests: number }> };
    expect(body.totals).toEqual({ requests: 11, bandwidthBytes: 1_008_850, cacheHits: 5, cacheMisses: 4, cacheBypasses: 1, errors: 1 });
    expect(body.cacheHitRatio).toBe(0.5);
    expect(body.daily).toHaveLength(30);
    expect(body.daily.filter((d) => d.requests > 0).map((d) => d.date)).toEqual([dayOf(h(10, 0)), dayOf(T0 - DAY), dayOf(T0)]);

    const oldMonth = dayOf(T0 - 399 * DAY).slice(0, 7);
    const month = await read(await get(analyticsRoute, `/api/tenants/stats-co/analytics?period=${oldMonth}`));
    const m = month.body as { period: { name: string }; totals: { requests: number; bandwidthBytes: number }; topPaths: unknown[]; daily: unknown[] };
    expect(m.period.name).toBe(oldMonth);
    expect(m.totals).toMatchObject({ requests: 1, bandwidthBytes: 7 });
    expect(m.topPaths).toEqual([{ path: "/img/old.jpg", requests: 1, bandwidthBytes: 7 }]);
  });

  it("is all zeros, with a zero ratio, for a tenant without traffic", async () => {
    const quiet = await localCookie({ userId: "stats-quiet", plan: "pro" });
    expect((await call(tenants, "/api/tenants", { method: "POST", json: { slug: "stats-quiet", cms: "storyblok" }, cookie: quiet })).status).toBe(201);
    const res = await read(await get(analyticsRoute, "/api/tenants/stats-quiet/analytics?period=7d", "stats-quiet", quiet));
    expect(res.body).toMatchObject({
      totals: { requests: 0, bandwidthBytes: 0, cacheHits: 0, cacheMisses: 0, cacheBypasses: 0, errors: 0 },
      cacheHitRatio: 0,
      originRequestsAvoided: 0,
      traffic: { asset: { requests: 0, bandwidthBytes: 0, cacheHitRatio: 0 }, api: { requests: 0, bandwidthBytes: 0, cacheHitRatio: 0 } },
      statusClasses: { "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 },
      topPaths: [],
    });
    expect((res.body as { daily: unknown[] }).daily).toHaveLength(7);
  });

  it("answers 400 for an invalid period, 404 for another tenant, 405 for other methods", async () => {
    const bad = await read(await get(analyticsRoute, "/api/tenants/stats-co/analytics?period=2024-13"));
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({
      error: {
        code: "invalid_request",
        message: "Invalid query",
        issues: [{ path: "period", message: "must be one of current_month, previous_month, 7d, 30d, 90d, or a month as YYYY-MM from 1970-01 to 9999-11" }],
      },
    });
    const stranger = await localCookie({ userId: "stats-stranger" });
    expect((await read(await get(analyticsRoute, "/api/tenants/stats-co/analytics", "stats-co", stranger))).status).toBe(404);
    const post = await read(
      await call(analyticsRoute, "/api/tenants/stats-co/analytics", { method: "POST", json: {}, params: { slug: "stats-co" }, cookie: owner }),
    );
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect(post.contentType).toBe("application/json; charset=utf-8");
    expect(post.cacheControl).toBe("no-store");
    expect(post.body).toEqual({ error: { code: "method_not_allowed", message: "POST is not allowed here" } });
  });
});

describe("GET /api/tenants/{slug}/bandwidth-daily", () => {
  it("defaults to the last 30 days including today, one point per day", async () => {
    const res = await read(await get(bandwidthRoute, "/api/tenants/stats-co/bandwidth-daily"));
    expect(res.status).toBe(200);
    const points = Array.from({ length: 30 }, (_, i) => ({ date: dayOf(T0 - (29 - i) * DAY), bandwidthBytes: 0, requests: 0 }));
    points[19] = { date: dayOf(h(10, 0)), bandwidthBytes: 1_000_000, requests: 1 };
    points[28] = { date: dayOf(T0 - DAY), bandwidthBytes: 1000, requests: 2 };
    points[29] = { date: dayOf(T0), bandwidthBytes: 7850, requests: 8 };
    expect(res.body).toEqual({ slug: "stats-co", from: dayOf(T0 - 29 * DAY), to: dayOf(T0), points });
    expect(bandwidthSchema.safeParse(res.body).success).toBe(true);
  });

  it("takes from and to as inclusive days", async () => {
    const from = dayOf(h(40, 0));
    const to = dayOf(h(38, 0));
    const res = await read(await get(bandwidthRoute, `/api/tenants/stats-co/bandwidth-daily?from=${from}&to=${to}`));
    expect(res.body).toEqual({
      slug: "stats-co",
      from,
      to,
      points: [
        { date: from, bandwidthBytes: 2000, requests: 1 },
        { date: dayOf(h(39, 0)), bandwidthBytes: 0, requests: 0 },
        { date: to, bandwidthBytes: 0, requests: 0 },
      ],
    });
    const single = await read(await get(bandwidthRoute, `/api/tenants/stats-co/bandwidth-daily?from=${dayOf(T0)}&to=${dayOf(T0)}`));
    expect((single.body as { points: unknown[] }).points).toEqual([{ date: dayOf(T0), bandwidthBytes: 7850, requests: 8 }]);
  });

  it.each([
    ["from=2024-02-30", "from", "must be a date as YYYY-MM-DD"],
    ["to=2024/01/01", "to", "must be a date as YYYY-MM-DD"],
    ["from=2024-03-02&to=2024-03-01", "from", "must not be after to"],
    ["from=2023-01-01&to=2024-01-02", "to", "the range may span at most 366 days"],
    ["days=7", "days", "is not a known field"],
  ])("answers 400 for %s", async (query, path, message) => {
    const res = await read(await get(bandwidthRoute, `/api/tenants/stats-co/bandwidth-daily?${query}`));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: "invalid_request", message: "Invalid query", issues: [{ path, message }] } });
  });

  it("accepts a range of exactly 366 days (a leap year)", async () => {
    const res = await read(await get(bandwidthRoute, "/api/tenants/stats-co/bandwidth-daily?from=2024-01-01&to=2024-12-31"));
    expect(res.status).toBe(200);
    expect((res.body as { points: unknown[] }).points).toHaveLength(366);
  });
});

describe("GET /api/tenants/{slug}/usage", () => {
  it("compares the period with the one before it", async () => {
    const res = await read(await get(tenantUsageRoute, "/api/tenants/stats-co/usage?period=30d"));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      current: { requests: 11, bandwidthBytes: 1_008_850, start: iso(T0 - 29 * DAY), end: iso(T0 + DAY) },
      previous: { requests: 1, bandwidthBytes: 2000, start: iso(T0 - 59 * DAY), end: iso(T0 - 29 * DAY) },
      period: { name: "30d", start: iso(T0 - 29 * DAY), end: iso(T0 + DAY) },
    });
    expect(tenantUsageSchema.safeParse(res.body).success).toBe(true);
    const week = await read(await get(tenantUsageRoute, "/api/tenants/stats-co/usage?period=7d"));
    expect(week.body).toMatchObject({ current: { requests: 10, bandwidthBytes: 8850 }, previous: { requests: 1, bandwidthBytes: 1_000_000 } });
  });

  it("defaults to the current month against the previous month", async () => {
    const now = new Date();
    const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    const prevStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1);
    const end = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    const sum = (from: number, to: number) => {
      const inside = main.filter((e) => e.tenant === "stats-co" && Date.parse(e.timestamp) >= from && Date.parse(e.timestamp) < to);
      return { requests: inside.length, bandwidthBytes: inside.reduce((s, e) => s + e.bytes, 0) };
    };
    const res = await read(await get(tenantUsageRoute, "/api/tenants/stats-co/usage"));
    expect(res.body).toEqual({
      current: { ...sum(start, end), start: iso(start), end: iso(end) },
      previous: { ...sum(prevStart, start), start: iso(prevStart), end: iso(start) },
      period: { name: "current_month", start: iso(start), end: iso(end) },
    });
  });

  it("answers 400 for an invalid period and 404 for another tenant", async () => {
    const bad = await read(await get(tenantUsageRoute, "/api/tenants/stats-co/usage?period=week"));
    expect(bad.status).toBe(400);
    expect(bad.contentType).toBe("application/json; charset=utf-8");
    expect(bad.cacheControl).toBe("no-store");
    expect(bad.body).toEqual({ error: { code: "invalid_request", message: "Invalid query", issues: [{ path: "period", message: PERIOD_MESSAGE }] } });
    const stranger = await localCookie({ userId: "stats-stranger" });
    const hidden = await read(await get(tenantUsageRoute, "/api/tenants/stats-co/usage", "stats-co", stranger));
    expect(hidden.status).toBe(404);
    expect(hidden.contentType).toBe("application/json; charset=utf-8");
    expect(hidden.body).toEqual({ error: { code: "not_found", message: 'No tenant "stats-co"' } });
  });
});

describe("GET /api/tenants/usage", () => {
  it("adds up the billing subject's tenants, deleted ones included in the totals", async () => {
    const res = await read(await call(accountUsageRoute, "/api/tenants/usage?period=7d", { cookie: owner }));
    expect(res.status).toBe(200);
    const now = new Date();
    const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    const monthEvents = main.filter((e) => Date.parse(e.timestamp) >= monthStart && Date.parse(e.timestamp) < T0 + DAY);
    expect(res.body).toEqual({
      period: { name: "7d", start: iso(T0 - 6 * DAY), end: iso(T0 + DAY) },
      totals: { requests: 12, bandwidthBytes: 9050 },
      tenants: [
        { slug: "stats-co", requests: 10, bandwidthBytes: 8850, cacheHitRatio: 5 / 9 },
        { slug: "stats-two", requests: 1, bandwidthBytes: 123, cacheHitRatio: 1 },
      ],
      plan: {
        name: "pro",
        limits: { tenants: 100, requests: 5_000_000, bandwidthBytes: 200_000_000_000 },
        used: {
          tenants: 2,
          requests: monthEvents.length,
          bandwidthBytes: monthEvents.reduce((s, e) => s + e.bytes, 0),
        },
      },
    });
    expect(accountUsageSchema.safeParse(res.body).success).toBe(true);
  });

  it("is the organization's usage when one is active, and empty for a new subject", async () => {
    const inOrg = await localCookie({ userId: "stats-owner", orgId: "org_stats", plan: "free" });
    const res = await read(await call(accountUsageRoute, "/api/tenants/usage?period=7d", { cookie: inOrg }));
    expect(res.body).toEqual({
      period: { name: "7d", start: iso(T0 - 6 * DAY), end: iso(T0 + DAY) },
      totals: { requests: 0, bandwidthBytes: 0 },
      tenants: [],
      plan: {
        name: "free",
        limits: { tenants: 1, requests: 500_000, bandwidthBytes: 5_000_000_000 },
        used: { tenants: 0, requests: 0, bandwidthBytes: 0 },
      },
    });
  });

  it("answers 400 for an invalid period and 401 without a session", async () => {
    const bad = await read(await call(accountUsageRoute, "/api/tenants/usage?period=yesterday", { cookie: owner }));
    expect(bad.status).toBe(400);
    expect(bad.contentType).toBe("application/json; charset=utf-8");
    expect(bad.cacheControl).toBe("no-store");
    expect(bad.body).toEqual({ error: { code: "invalid_request", message: "Invalid query", issues: [{ path: "period", message: PERIOD_MESSAGE }] } });
    const anonymous = await read(await call(accountUsageRoute, "/api/tenants/usage"));
    expect(anonymous.status).toBe(401);
    expect(anonymous.contentType).toBe("application/json; charset=utf-8");
    expect(anonymous.cacheControl).toBe("no-store");
    expect(anonymous.headers.get("location")).toBeNull();
    expect(anonymous.body).toEqual({
      error: { code: "unauthorized", message: "Sign in, or send a session token as Authorization: Bearer <token>" },
    });
  });
});

describe("GET /api/tenants/{slug}/logs", () => {
  type Page = { logs: Array<{ id: string; timestamp: string; path: string; status: number; cacheStatus: string; kind: string }>; pagination: { limit: number; nextCursor: string | null; hasMore: boolean } };
  const logs = async (query = "", slug = "stats-co", cookie = owner) => read(await get(logsRoute, `/api/tenants/${slug}/logs${query}`, slug, cookie));
  const page = async (query = "") => (await logs(query)).body as unknown as Page;

  it("lists logs newest first with every field, 50 by default", async () => {
    const res = await logs();
    expect(res.status).toBe(200);
    expect(res.contentType).toBe("application/json; charset=utf-8");
    const body = res.body as unknown as Page;
    expect(body.pagination).toEqual({ limit: 50, nextCursor: null, hasMore: false });
    expect(body.logs).toHaveLength(11);
    expect(body.logs[0]).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      timestamp: iso(h(0, 8)),
      method: "GET",
      path: "/~api/x",
      status: 502,
      cacheStatus: "ERROR",
      kind: "api",
      bytes: 50,
      durationMs: 12.5,
    });
    const times = body.logs.map((l) => l.timestamp);
    expect(times).toEqual([...times].sort().reverse());
    expect(body.logs.at(-1)).toMatchObject({ path: "/video.mp4", status: 206, timestamp: iso(h(10, 0)) });
    expect(logsSchema.safeParse(body).success).toBe(true);
  });

  it("pages with a cursor that never repeats or skips, even while new logs arrive", async () => {
    const all = (await page()).logs.map((l) => l.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let round = 0;
    do {
      const p: Page = await page(`?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...p.logs.map((l) => l.id));
      cursor = p.pagination.nextCursor;
      expect(p.pagination.hasMore).toBe(cursor !== null);
      // Newer traffic lands between pages.
      await postIngest({ events: [ev("stats-co", Date.now() - 1000 - round, `/new-${round}.jpg`, 200, "HIT", "asset", 1)] });
      round++;
    } while (cursor);
    expect(seen).toEqual(all);
    expect(round).toBe(4);
  });

  it("keeps order across logs of the very same millisecond", async () => {
    const twin = await localCookie({ userId: "stats-twin", plan: "pro" });
    expect((await call(tenants, "/api/tenants", { method: "POST", json: { slug: "stats-twin", cms: "storyblok" }, cookie: twin })).status).toBe(201);
    const at = h(1, 100);
    await postIngest({ events: Array.from({ length: 7 }, (_, i) => ev("stats-twin", at, `/same-${i}`, 200, "HIT", "asset", i)) });
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await logs(`?limit=2${cursor ? `&cursor=${cursor}` : ""}`, "stats-twin", twin);
      const p = res.body as unknown as Page;
      ids.push(...p.logs.map((l) => l.id));
      cursor = p.pagination.nextCursor;
    } while (cursor);
    expect(ids).toHaveLength(7);
    expect(new Set(ids).size).toBe(7);
    expect(ids).toEqual([...ids].sort().reverse());
  });

  it("filters by status, status class, cache status, kind, path prefix and time range", async () => {
    const paths = async (query: string) => (await page(`?${query}`)).logs.filter((l) => !l.path.startsWith("/new-")).map((l) => l.path);
    expect(await paths("status=404")).toEqual(["/img/c.gif"]);
    expect(await paths("status=3xx")).toEqual(["/img/a.jpg"]);
    expect(await paths("status=5xx")).toEqual(["/~api/x"]);
    expect(await paths("cache=BYPASS")).toEqual(["/~api/entries"]);
    expect(await paths("kind=api")).toEqual(["/~api/x", "/~api/entries", "/~api/entries"]);
    expect(await paths("path=/img/b")).toEqual(["/img/b.png", "/img/b.png"]);
    expect(await paths(`from=${iso(h(0, 3))}&to=${iso(h(0, 5))}`)).toEqual(["/~api/entries", "/~api/entries", "/img/b.png"]);
    expect(await paths(`kind=asset&cache=HIT&status=2xx&to=${iso(T0)}`)).toEqual(["/img/a.jpg", "/img/b.png"]);
    expect(await paths("path=/img/(")).toEqual([]);
  });

  it.each([
    ["?limit=0", "limit", "must be a whole number from 1 to 200"],
    ["?limit=201", "limit", "must be a whole number from 1 to 200"],
    ["?limit=ten", "limit", "must be a whole number from 1 to 200"],
    ["?status=600", "status", "must be a status code (200) or a class (2xx … 5xx)"],
    ["?status=2x", "status", "must be a status code (200) or a class (2xx … 5xx)"],
    ["?cache=hit", "cache", 'Invalid option: expected one of "HIT"|"MISS"|"BYPASS"|"ERROR"'],
    ["?kind=video", "kind", 'Invalid option: expected one of "asset"|"api"'],
    ["?path=img", "path", "must be a path prefix starting with /"],
    ["?from=yesterday", "from", "must be an ISO date-time"],
    ["?from=2026-02-02T00:00:00Z&to=2026-02-01T00:00:00Z", "from", "from must not be after to"],
    ["?cursor=abc", "cursor", "is not a cursor this endpoint issued"],
    ["?sort=asc", "sort", "is not a known field"],
  ])("answers 400 for %s", async (query, path, message) => {
    const res = await logs(query);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: "invalid_request", message: "Invalid query", issues: [{ path, message }] } });
  });

  it("refuses a tampered cursor, and a cursor of another tenant", async () => {
    const first = await page("?limit=2");
    const cursor = first.pagination.nextCursor as string;
    const [payload, mac] = cursor.split(".");
    const decoded = Buffer.from(payload, "base64url").toString();
    const forged = `${Buffer.from(decoded.replace(/^\d/, "9")).toString("base64url")}.${mac}`;
    // The MAC's last character changed (to one it is not: "A" when it ends in "A" would be the same cursor).
    const retagged = `${payload}.${mac.slice(0, -1)}${mac.endsWith("A") ? "B" : "A"}`;
    const refused = { error: { code: "invalid_request", message: "Invalid query", issues: [{ path: "cursor", message: "is not a cursor this endpoint issued" }] } };
    // The genuine cursor is taken: only the tampering makes the difference.
    expect((await logs(`?limit=2&cursor=${encodeURIComponent(cursor)}`)).status).toBe(200);
    for (const bad of [forged, retagged, `${cursor}.x`]) {
      const res = await logs(`?cursor=${encodeURIComponent(bad)}`);
      expect(res.status).toBe(400);
      expect(res.contentType).toBe("application/json; charset=utf-8");
      expect(res.body).toEqual(refused);
    }
    const twin = await localCookie({ userId: "stats-twin", plan: "pro" });
    const other = await logs(`?cursor=${encodeURIComponent(cursor)}`, "stats-twin", twin);
    expect(other.status).toBe(400);
    expect(other.contentType).toBe("application/json; charset=utf-8");
    expect(other.body).toEqual(refused);
  });

  it("accepts limit=200, the largest page", async () => {
    const pager = await localCookie({ userId: "stats-pager", plan: "pro" });
    expect((await call(tenants, "/api/tenants", { method: "POST", json: { slug: "stats-pager", cms: "storyblok" }, cookie: pager })).status).toBe(201);
    const events = Array.from({ length: 201 }, (_, i) => ev("stats-pager", h(2, i), `/page/${i}.jpg`, 200, "HIT", "asset", i));
    expect((await read(await postIngest({ events }))).body).toEqual({ ok: true, accepted: 201, rejected: 0 });
    // The same 200 newest logs, read in two pages of 100.
    const first = (await logs("?limit=100", "stats-pager", pager)).body as unknown as Page;
    const second = (await logs(`?limit=100&cursor=${first.pagination.nextCursor}`, "stats-pager", pager)).body as unknown as Page;

    const res = await logs("?limit=200", "stats-pager", pager);
    expect(res.status).toBe(200);
    expect(res.contentType).toBe("application/json; charset=utf-8");
    expect(res.cacheControl).toBe("no-store");
    expect(res.body).toEqual({
      logs: [...first.logs, ...second.logs],
      pagination: { limit: 200, nextCursor: expect.any(String), hasMore: true },
    });
    const body = res.body as unknown as Page;
    expect(body.logs).toHaveLength(200);
    expect(body.logs[0].path).toBe("/page/200.jpg");
    expect(body.logs[199].path).toBe("/page/1.jpg");
  });

  it("answers 404 for a tenant the caller cannot access", async () => {
    const stranger = await localCookie({ userId: "stats-stranger" });
    const res = await logs("", "stats-co", stranger);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: "not_found", message: 'No tenant "stats-co"' } });
  });
});

describe("methods the traffic routes do not serve", () => {
  const routes: Array<[string, Parameters<typeof call>[0], string, string]> = [
    ["analytics", analyticsRoute, "/api/tenants/stats-co/analytics", "GET, HEAD"],
    ["bandwidth-daily", bandwidthRoute, "/api/tenants/stats-co/bandwidth-daily", "GET, HEAD"],
    ["logs", logsRoute, "/api/tenants/stats-co/logs", "GET, HEAD"],
    ["{slug}/usage", tenantUsageRoute, "/api/tenants/stats-co/usage", "GET, HEAD"],
    ["tenants/usage", accountUsageRoute, "/api/tenants/usage", "GET, HEAD"],
    ["usage/ingest", ingest, "/api/usage/ingest", "POST"],
  ];
  const cases = routes.flatMap(([name, route, url, allow]) =>
    (allow === "POST" ? ["GET", "PUT", "DELETE", "PATCH"] : ["POST", "PUT", "DELETE", "PATCH"]).map((method) => [name, method, route, url, allow] as const),
  );

  it.each(cases)("%s: %s answers 405 with Allow and the error JSON", async (_name, method, route, url, allow) => {
    const res = await read(
      await call(route, url, {
        method,
        json: method === "GET" ? undefined : {},
        params: { slug: "stats-co" },
        cookie: owner,
        headers: keyHeader(),
      }),
    );
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe(allow);
    expect(res.contentType).toBe("application/json; charset=utf-8");
    expect(res.cacheControl).toBe("no-store");
    expect(res.body).toEqual({ error: { code: "method_not_allowed", message: `${method} is not allowed here` } });
  });

  it.each(routes.filter(([, , , allow]) => allow !== "POST"))("%s: HEAD is served by the GET handler", async (_name, route, url) => {
    const [head, get] = await Promise.all(
      ["HEAD", "GET"].map(async (method) => read(await call(route, url, { method, params: { slug: "stats-co" }, cookie: owner }))),
    );
    expect(head.status).toBe(200);
    expect([...head.headers]).toEqual([...get.headers]);
    // The loader answers HEAD exactly as GET; Remix's request handler then drops the body (contract-remix-dispatch).
    expect(head.body).toEqual(get.body);
  });
});
