// The Logs tab and its CSV download: filters (each and combined), cursor paging with no repeat or skip, the CSV
// stream (every matching log, in order, escaped, following the cursor past 200), 404s and invalid filters.
import { Types } from "mongoose";
import { beforeAll, describe, expect, it } from "vitest";
import * as tenantsRoute from "#app/routes/api.tenants.ts";
import * as ingestRoute from "#app/routes/api.usage.ingest.ts";
import * as csvRoute from "#app/routes/tenants.$slug.logs[.]csv.ts";
import * as logsPage from "#app/routes/tenants.$slug.logs.tsx";
import { env } from "#app/server/env.server.ts";
import { writeRequestLogs } from "#app/server/traffic.server.ts";
import type { RequestLogDoc } from "#models/request-log.ts";
import { Tenant } from "#models/tenant.ts";
import { localCookie } from "#tests/fixtures/auth.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { call, read } from "#tests/fixtures/http.ts";

// ---- the logs, and a model of what any filter should answer -----------------------------------------------------

const MIN = 60_000;
/** A whole minute three hours ago: every log is well inside the 30 days kept, and `datetime-local` minutes line up. */
const BASE = Math.floor((Date.now() - 3 * 60 * MIN) / MIN) * MIN;

/** A log as ingested: the stored fields, the tenant's slug, the time as ISO text. */
type Log = Omit<RequestLogDoc, "_id" | "timestamp"> & {
  tenant: string;
  timestamp: string;
  /** Insertion order: among logs of the same millisecond, the later one is listed first. */
  seq: number;
};

let seq = 0;
const log = (tenant: string, at: number, fields: Partial<Omit<Log, "tenant" | "timestamp" | "seq">> = {}): Log => ({
  tenant,
  timestamp: new Date(at).toISOString(),
  method: "GET",
  path: "/x.jpg",
  status: 200,
  cacheStatus: "MISS",
  kind: "asset",
  bytes: 100,
  durationMs: 1,
  ...fields,
  seq: seq++,
});

const STATUSES = [200, 200, 304, 404, 502, 206, 201];
const CACHES = ["HIT", "MISS", "HIT", "BYPASS", "ERROR"] as const;
/**
 * i = 69, 70 and 71 share one millisecond, and sit across the boundary of the first two pages of 50; i = 61 is 400 ms
 * into its second (20 min 20.4 s after BASE), which a `to` given to that second takes in.
 */
const mainAt = (i: number) => BASE + (i >= 69 && i <= 71 ? 69 : i) * 20_000 + (i === 61 ? 400 : 0);
const MAIN: Log[] = [
  ...Array.from({ length: 120 }, (_, i) => {
    const kind = i % 4 === 0 ? "api" : "asset";
    return log("logp-main", mainAt(i), {
      method: i % 10 === 0 ? "HEAD" : "GET",
      path: kind === "api" ? `/~api/entries/${i}` : i % 3 === 0 ? `/img/a/${i}.jpg` : `/img/b/${i}.png`,
      status: STATUSES[i % STATUSES.length],
      cacheStatus: CACHES[i % CACHES.length],
      kind,
      bytes: i * 1537,
      durationMs: (i % 9) * 3.5,
    });
  }),
  // Paths a CSV must quote: a comma, a quote, a newline.
  log("logp-main", BASE - 1 * MIN, { path: "/files/a,b.jpg" }),
  log("logp-main", BASE - 2 * MIN, { path: '/files/say "hi".jpg' }),
  log("logp-main", BASE - 3 * MIN, { path: "/files/line\nbreak.jpg" }),
  log("logp-main", BASE - 4 * MIN, { path: "/files/plain.jpg" }),
];
/**
 * Text a spreadsheet would run as a formula. Ingest only takes paths starting with "/", so these are written to the
 * store directly: the CSV must not trust what the store holds.
 */
const FORMULAS: Log[] = [
  log("logp-main", BASE - 10 * MIN, { path: '=HYPERLINK("https://evil.example")' }),
  log("logp-main", BASE - 11 * MIN, { path: "+1+1" }),
  log("logp-main", BASE - 12 * MIN, { path: "-2+3" }),
  log("logp-main", BASE - 13 * MIN, { path: "@SUM(A1)" }),
];
/** 450 logs, three of them in one millisecond across the first CSV page boundary (positions 199–201). */
const BIG: Log[] = Array.from({ length: 450 }, (_, i) =>
  log("logp-big", BASE + (i >= 248 && i <= 250 ? 248 : i) * 1000, { path: `/big/${i}.jpg`, status: i % 2 ? 200 : 404 }),
);
const LIVE: Log[] = Array.from({ length: 120 }, (_, i) => log("logp-live", BASE + i * 1000, { path: `/live/${i}.jpg` }));
const BOBS: Log[] = [log("logp-bob", BASE, { path: "/bob.jpg" })];

const all: Log[] = [];

interface Filters {
  status?: string;
  cache?: string;
  kind?: string;
  path?: string;
  from?: string;
  to?: string;
}

/**
 * What the page's filters mean, written out plainly: `from` and `to` in UTC, `to` taking in the whole of its last
 * unit (the minute of 10:05, the second of 10:05:09).
 */
function model(tenant: string, f: Filters = {}): Log[] {
  const fromMs = f.from ? Date.parse(`${f.from}Z`) : -Infinity;
  const toMs = f.to ? Date.parse(`${f.to}Z`) + ({ 16: 59_999, 19: 999 }[f.to.length] ?? 0) : Infinity;
  return all
    .filter((l) => l.tenant === tenant)
    .filter((l) => !f.status || (f.status.endsWith("xx") ? Math.floor(l.status / 100) === Number(f.status[0]) : l.status === Number(f.status)))
    .filter((l) => !f.cache || l.cacheStatus === f.cache)
    .filter((l) => !f.kind || l.kind === f.kind)
    .filter((l) => !f.path || l.path.startsWith(f.path))
    .filter((l) => Date.parse(l.timestamp) >= fromMs && Date.parse(l.timestamp) <= toMs)
    .sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp) || b.seq - a.seq);
}

// ---- calling the routes -------------------------------------------------------------------------------------

interface Row {
  id: string;
  timestamp: string;
  method: string;
  path: string;
  status: number;
  cacheStatus: string;
  kind: string;
  bytes: number;
  durationMs: number;
}
interface PageData {
  asked: Filters;
  invalid: Partial<Record<keyof Filters, string>>;
  problems: string[];
  filtered: boolean;
  logs: Row[];
  links: { next: string | null; newest: string | null; csv: string; clear: string };
}

let alice: string;
let bob: string;
const slugOf = (url: string) => /^\/tenants\/([^/]+)\//.exec(url)?.[1] ?? "";
const qs = (f: Filters) => new URLSearchParams(f as Record<string, string>).toString();
const localMinute = (ms: number) => new Date(ms).toISOString().slice(0, 16);

async function page(url: string, cookie = alice): Promise<PageData> {
  const res = await read(await call(logsPage, url, { params: { slug: slugOf(url) }, cookie }));
  expect(res.status, url).toBe(200);
  return res.body as unknown as PageData;
}

/** Every log the page lists for a URL, following "Next page" to the end, as a user would. */
async function everyPage(url: string, onPage?: (p: PageData, n: number) => Promise<void>): Promise<{ rows: Row[]; pages: PageData[] }> {
  const rows: Row[] = [];
  const pages: PageData[] = [];
  for (let next: string | null = url; next; ) {
    const p = await page(next);
    expect(p.logs.length).toBeLessThanOrEqual(50);
    rows.push(...p.logs);
    pages.push(p);
    await onPage?.(p, pages.length);
    next = p.links.next;
    expect(pages.length).toBeLessThan(50);
  }
  return { rows, pages };
}

const csv = (url: string, cookie = alice) => call(csvRoute, url, { params: { slug: slugOf(url) }, cookie });

/** RFC 4180, as a spreadsheet reads it. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += c;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

const HEADER = ["timestamp", "method", "path", "status", "cacheStatus", "kind", "bytes", "durationMs"];
const csvLine = (l: Log) => [
  l.timestamp,
  l.method,
  /^[=+\-@]/.test(l.path) ? `'${l.path}` : l.path,
  String(l.status),
  l.cacheStatus,
  l.kind,
  String(l.bytes),
  String(l.durationMs),
];
const key = (l: { timestamp: string; path: string }) => `${l.timestamp} ${l.path}`;

/** The body of a streamed response, read chunk by chunk to the end. */
async function readStream(res: Response): Promise<{ text: string; chunks: number }> {
  expect(res.body).toBeInstanceOf(ReadableStream);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  let chunks = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks++;
    text += decoder.decode(value, { stream: true });
  }
  return { text: text + decoder.decode(), chunks };
}

async function ingest(logs: Log[]) {
  for (let i = 0; i < logs.length; i += 1000) {
    const events = logs.slice(i, i + 1000).map(({ seq: _seq, ...event }) => event);
    const res = await read(await call(ingestRoute, "/api/usage/ingest", { method: "POST", json: { events }, headers: { "X-Ingest-Key": env.ingestKey } }));
    expect(res.body).toEqual({ ok: true, accepted: events.length, rejected: 0 });
  }
  all.push(...logs);
}

beforeAll(async () => {
  await resetDb();
  alice = await localCookie({ userId: "logp-alice", plan: "pro" });
  bob = await localCookie({ userId: "logp-bob", plan: "pro" });
  for (const [slug, cookie] of [["logp-main", alice], ["logp-big", alice], ["logp-live", alice], ["logp-bob", bob]]) {
    expect((await call(tenantsRoute, "/api/tenants", { method: "POST", json: { slug, cms: "storyblok" }, cookie })).status).toBe(201);
  }
  await ingest([...MAIN, ...BIG, ...LIVE, ...BOBS]);
  const main = await Tenant.findOne({ slug: "logp-main" }).lean();
  // Paths the ingest route would refuse, stored as they are.
  await writeRequestLogs(
    FORMULAS.map(({ tenant: _slug, seq: _seq, ...fields }) => ({
      tenant: main?._id as Types.ObjectId,
      log: { _id: new Types.ObjectId(), ...fields, timestamp: new Date(fields.timestamp) },
    })),
  );
  all.push(...FORMULAS);
});

// ---- the page -------------------------------------------------------------------------------------------------

describe("the Logs page", () => {
  it("lists the newest 50 with every field, and links the next page and the CSV", async () => {
    const p = await page("/tenants/logp-main/logs");
    const expected = model("logp-main");
    expect(p.problems).toEqual([]);
    expect(p.filtered).toBe(false);
    expect(p.logs.map(key)).toEqual(expected.slice(0, 50).map(key));
    const newest = expected[0];
    expect(p.logs[0]).toEqual({ id: expect.any(String), ...Object.fromEntries(Object.entries(newest).filter(([k]) => k !== "tenant" && k !== "seq")) });
    expect(p.links.next).toMatch(/^\/tenants\/logp-main\/logs\?cursor=[^&]+$/);
    expect(p.links.newest).toBeNull();
    expect(p.links.csv).toBe("/tenants/logp-main/logs.csv");
    expect(p.links.clear).toBe("/tenants/logp-main/logs");
  });

  it("pages through every log once, newest first, across same-millisecond logs at a page boundary", async () => {
    const { rows, pages } = await everyPage("/tenants/logp-main/logs");
    const expected = model("logp-main");
    expect(expected).toHaveLength(128);
    expect(pages.map((p) => p.logs.length)).toEqual([50, 50, 28]);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    expect(rows.map(key)).toEqual(expected.map(key));
    // The tie straddles pages 1 and 2.
    expect(pages[0].logs.at(-1)?.timestamp).toBe(pages[1].logs[0].timestamp);
    // Past the first page: "Back to the newest" drops the cursor, and the last page has no "Next page".
    expect(pages[1].links.newest).toBe("/tenants/logp-main/logs");
    expect(pages[2].links.next).toBeNull();
    expect(pages[1].links.csv).toBe("/tenants/logp-main/logs.csv");
  });

  it("never repeats or skips while new logs arrive, and the newest page then shows them", async () => {
    const before = model("logp-live");
    const arriving = Array.from({ length: 7 }, (_, i) => log("logp-live", Date.now() - 60_000 + i, { path: `/live/new-${i}.jpg` }));
    const { rows } = await everyPage("/tenants/logp-live/logs", async (_p, n) => {
      if (n === 1) await ingest(arriving);
    });
    expect(rows.map(key)).toEqual(before.map(key));
    const newest = await page("/tenants/logp-live/logs");
    expect(newest.logs.slice(0, 7).map(key)).toEqual(model("logp-live").slice(0, 7).map(key));
    expect(newest.logs.slice(0, 7).map((r) => r.path).sort()).toEqual(arriving.map((l) => l.path).sort());
  });

  const CASES: Filters[] = [
    { status: "200" },
    { status: "2xx" },
    { status: "4xx" },
    { status: "502" },
    { cache: "HIT" },
    { cache: "BYPASS" },
    { cache: "ERROR" },
    { kind: "api" },
    { kind: "asset" },
    { path: "/img/a/" },
    { path: "/files/" },
    { from: localMinute(BASE + 10 * MIN) },
    { to: localMinute(BASE + 5 * MIN) },
    // A `to` to the minute takes that whole minute: the logs at :00, :20 and :40 of BASE + 20 min are in.
    { from: localMinute(BASE + 10 * MIN), to: localMinute(BASE + 20 * MIN) },
    // To the second: the log at 20 min 20.4 s is in.
    { from: `${localMinute(BASE + 10 * MIN)}:20`, to: `${localMinute(BASE + 20 * MIN)}:20` },
    { status: "2xx", kind: "asset", cache: "HIT", path: "/img/", from: localMinute(BASE), to: localMinute(BASE + 30 * MIN) },
    { kind: "api", status: "5xx" },
    { path: "/nothing/" },
  ];

  it.each(CASES)("filters by %o, through every page, with the filters in every link", async (f) => {
    const expected = model("logp-main", f);
    const { rows, pages } = await everyPage(`/tenants/logp-main/logs?${qs(f)}`);
    expect(rows.map(key)).toEqual(expected.map(key));
    for (const p of pages) {
      expect(p.problems).toEqual([]);
      expect(p.asked).toEqual(f);
      expect(p.filtered).toBe(true);
      expectLink(p.links.csv, "/tenants/logp-main/logs.csv", f);
      if (p.links.next) expectLink(p.links.next, "/tenants/logp-main/logs", f, { cursor: true });
    }
    if (pages.length > 1) expectLink(pages[1].links.newest, "/tenants/logp-main/logs", f);
  });

  it("checks the filter cases above are worth having: each matches some logs but not all, but the last", () => {
    const total = model("logp-main").length;
    for (const f of CASES.slice(0, -1)) expect(model("logp-main", f).length, JSON.stringify(f)).toBeGreaterThan(0);
    for (const f of CASES) expect(model("logp-main", f).length, JSON.stringify(f)).toBeLessThan(total);
    expect(model("logp-main", { from: localMinute(BASE + 10 * MIN), to: localMinute(BASE + 20 * MIN) })).toHaveLength(33);
    const toSecond = model("logp-main", { to: `${localMinute(BASE + 20 * MIN)}:20` });
    expect(toSecond.map((l) => l.timestamp).filter((t) => t.endsWith(":20.400Z"))).toHaveLength(1);
  });

  it("takes empty fields (what a GET form sends) as no filter", async () => {
    const p = await page("/tenants/logp-main/logs?status=&cache=&kind=&path=&from=&to=");
    expect(p.problems).toEqual([]);
    expect(p.filtered).toBe(false);
    expect(p.logs.map(key)).toEqual(model("logp-main").slice(0, 50).map(key));
    expect(p.links.csv).toBe("/tenants/logp-main/logs.csv");
  });

  it("shows an invalid filter as a problem, applies the others, and keeps it out of the links", async () => {
    const p = await page("/tenants/logp-main/logs?status=abc&kind=api");
    expect(p.problems).toEqual(["Status: must be a status code (200) or a class (2xx … 5xx)"]);
    expect(p.invalid).toEqual({ status: "must be a status code (200) or a class (2xx … 5xx)" });
    expect(p.asked).toEqual({ status: "abc", kind: "api" });
    expect(p.logs.map(key)).toEqual(model("logp-main", { kind: "api" }).slice(0, 50).map(key));
    expect(p.links.csv).toBe("/tenants/logp-main/logs.csv?kind=api");

    const cases: Array<[string, Partial<Record<keyof Filters, string>>, Filters]> = [
      ["cache=hit", { cache: "must be one of HIT, MISS, BYPASS, ERROR" }, {}],
      ["kind=video", { kind: "must be asset or api" }, {}],
      ["path=img/", { path: "must be a path prefix starting with /" }, {}],
      ["from=2024-02-31T10:00&kind=asset", { from: "must be a date and time (UTC)" }, { kind: "asset" }],
      ["to=yesterday", { to: "must be a date and time (UTC)" }, {}],
      [`from=${localMinute(BASE + 20 * MIN)}&to=${localMinute(BASE + 10 * MIN)}`, { from: "must not be after To" }, { to: localMinute(BASE + 10 * MIN) }],
    ];
    for (const [query, invalid, applied] of cases) {
      const res = await page(`/tenants/logp-main/logs?${query}`);
      expect(res.invalid, query).toEqual(invalid);
      expect(res.problems, query).toHaveLength(1);
      expect(res.logs.map(key), query).toEqual(model("logp-main", applied).slice(0, 50).map(key));
      expectLink(res.links.csv, "/tenants/logp-main/logs.csv", applied);
    }
  });

  it("shows a cursor it cannot use (altered, or another tenant's) as a problem and lists the newest", async () => {
    const big = await page("/tenants/logp-big/logs");
    const foreign = new URL(big.links.next as string, "http://x").searchParams.get("cursor") as string;
    for (const cursor of ["garbage", `${foreign.slice(0, -2)}xx`, foreign]) {
      const p = await page(`/tenants/logp-main/logs?kind=asset&cursor=${encodeURIComponent(cursor)}`);
      expect(p.problems).toEqual(["That page link is not valid here; showing the newest logs"]);
      expect(p.invalid).toEqual({});
      expect(p.logs.map(key)).toEqual(model("logp-main", { kind: "asset" }).slice(0, 50).map(key));
      expect(p.links.newest).toBeNull();
    }
  });

  it("is a 404 for another user's tenant or a missing one, and sends a signed-out visitor to sign in", async () => {
    for (const [url, cookie] of [
      ["/tenants/logp-bob/logs", alice],
      ["/tenants/logp-main/logs", bob],
      ["/tenants/logp-nobody/logs", alice],
      ["/tenants/logp-main/logs?status=abc", bob],
    ] as const) {
      const res = await call(logsPage, url, { params: { slug: slugOf(url) }, cookie });
      expect(res.status, url).toBe(404);
    }
    const anon = await call(logsPage, "/tenants/logp-main/logs?kind=api", { params: { slug: "logp-main" } });
    expect(anon.status).toBe(302);
    expect(anon.headers.get("location")).toBe(`/sign-in?redirectTo=${encodeURIComponent("/tenants/logp-main/logs?kind=api")}`);
  });

  it("has a title", () => {
    const meta = logsPage.meta({ params: { slug: "logp-main" } } as never);
    expect(meta).toEqual([{ title: "logp-main logs · CMS edge" }]);
  });
});

// ---- the CSV --------------------------------------------------------------------------------------------------

describe("GET /tenants/{slug}/logs.csv", () => {
  it("streams every log, newest first, with the download headers and proper escaping", async () => {
    const res = await csv("/tenants/logp-main/logs.csv");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="logp-main-logs.csv"');
    expect(res.headers.get("cache-control")).toBe("no-store");
    const { text } = await readStream(res);
    expect(text.startsWith("timestamp,method,path,status,cacheStatus,kind,bytes,durationMs\r\n")).toBe(true);
    expect(text.endsWith("\r\n")).toBe(true);
    const expected = model("logp-main");
    expect(parseCsv(text)).toEqual([HEADER, ...expected.map(csvLine)]);
    // The raw text, as a spreadsheet gets it.
    expect(text).toContain(',"/files/a,b.jpg",');
    expect(text).toContain(',"/files/say ""hi"".jpg",');
    expect(text).toContain(',"/files/line\nbreak.jpg",');
    expect(text).toContain(',/files/plain.jpg,');
    expect(text).toContain(`,"'=HYPERLINK(""https://evil.example"")",`);
    expect(text).toContain(",'+1+1,");
    expect(text).toContain(",'-2+3,");
    expect(text).toContain(",'@SUM(A1),");
  });

  it.each<Filters>([
    { status: "4xx" },
    { cache: "HIT", kind: "asset" },
    { path: "/files/" },
    { from: localMinute(BASE + 10 * MIN), to: localMinute(BASE + 20 * MIN) },
    { status: "2xx", kind: "asset", cache: "HIT", path: "/img/", from: localMinute(BASE), to: localMinute(BASE + 30 * MIN) },
  ])("holds exactly the logs the page lists for %o, in the same order", async (f) => {
    const p = await page(`/tenants/logp-main/logs?${qs(f)}`);
    const { text } = await readStream(await csv(p.links.csv));
    const { rows } = await everyPage(`/tenants/logp-main/logs?${qs(f)}`);
    const expected = model("logp-main", f);
    expect(rows.map(key)).toEqual(expected.map(key));
    expect(parseCsv(text)).toEqual([HEADER, ...expected.map(csvLine)]);
  });

  it("is only the header row when nothing matches", async () => {
    const { text } = await readStream(await csv("/tenants/logp-main/logs.csv?path=/nothing/"));
    expect(text).toBe("timestamp,method,path,status,cacheStatus,kind,bytes,durationMs\r\n");
  });

  it("follows the cursor past 200 logs, a page per chunk, across a same-millisecond boundary", async () => {
    const { text, chunks } = await readStream(await csv("/tenants/logp-big/logs.csv?path=/big/"));
    const expected = model("logp-big", { path: "/big/" });
    expect(expected).toHaveLength(450);
    const rows = parseCsv(text);
    expect(rows).toEqual([HEADER, ...expected.map(csvLine)]);
    expect(new Set(rows.map((r) => r.join())).size).toBe(451);
    expect(chunks).toBe(3);
    const only404 = parseCsv((await readStream(await csv("/tenants/logp-big/logs.csv?status=404"))).text);
    expect(only404).toEqual([HEADER, ...model("logp-big", { status: "404" }).map(csvLine)]);
  });

  it("reads the next page only when the client wants it, so logs arriving meanwhile neither repeat nor skip a row", async () => {
    const expected = model("logp-big");
    const res = await csv("/tenants/logp-big/logs.csv");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    let text = decoder.decode(first.value, { stream: true });
    expect(parseCsv(text)).toHaveLength(201);
    // Newer logs arrive after the first page was sent: a page by offset would now repeat 5 rows.
    await ingest(Array.from({ length: 5 }, (_, i) => log("logp-big", Date.now() - 30_000 + i, { path: `/big/late-${i}.jpg` })));
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(parseCsv(text)).toEqual([HEADER, ...expected.map(csvLine)]);
    expect(model("logp-big")).toHaveLength(455);
  });

  it("answers 400 in plain text for an invalid filter", async () => {
    const cases: Array<[string, string]> = [
      ["status=abc", "status: must be a status code (200) or a class (2xx … 5xx)"],
      ["cache=hit", "cache: must be one of HIT, MISS, BYPASS, ERROR"],
      ["kind=video&status=200", "kind: must be asset or api"],
      ["path=img/", "path: must be a path prefix starting with /"],
      ["from=2024-02-31T10:00", "from: must be a date and time (UTC)"],
      [`from=${localMinute(BASE + 20 * MIN)}&to=${localMinute(BASE + 10 * MIN)}`, "from: must not be after To"],
    ];
    for (const [query, line] of cases) {
      const res = await csv(`/tenants/logp-main/logs.csv?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(res.headers.get("content-disposition")).toBeNull();
      expect(await res.text()).toBe(`Invalid filters\n${line}\n`);
    }
  });

  it("is a 404 for another user's tenant or a missing one, and sends a signed-out visitor to sign in", async () => {
    const missing = await csv("/tenants/logp-nobody/logs.csv");
    expect(missing.status).toBe(404);
    const missingText = await missing.text();
    for (const [url, cookie] of [
      ["/tenants/logp-bob/logs.csv", alice],
      ["/tenants/logp-main/logs.csv", bob],
      ["/tenants/logp-main/logs.csv?status=2xx", bob],
    ] as const) {
      const res = await csv(url, cookie);
      expect(res.status, url).toBe(404);
      expect(res.headers.get("content-disposition")).toBeNull();
      // Exactly what a slug nobody has gets: nothing tells that the tenant exists.
      expect((await res.text()).replace(slugOf(url), "logp-nobody")).toBe(missingText);
    }
    const anon = await call(csvRoute, "/tenants/logp-main/logs.csv", { params: { slug: "logp-main" } });
    expect(anon.status).toBe(302);
    expect(anon.headers.get("location")).toBe(`/sign-in?redirectTo=${encodeURIComponent("/tenants/logp-main/logs.csv")}`);
    // Bob's own download holds only Bob's log.
    expect(parseCsv((await readStream(await csv("/tenants/logp-bob/logs.csv", bob))).text)).toEqual([HEADER, ...BOBS.map(csvLine)]);
  });
});

/** A link the page renders: its path, the filters it carries, and a cursor or none. */
function expectLink(href: string | null, path: string, filters: Filters, opts: { cursor?: boolean } = {}) {
  expect(href).not.toBeNull();
  const url = new URL(href as string, "http://localhost");
  expect(url.pathname).toBe(path);
  const { cursor, ...rest } = Object.fromEntries(url.searchParams);
  expect(rest).toEqual(filters);
  if (opts.cursor) expect(cursor).toMatch(/^[\w-]+\.[\w-]+$/);
  else expect(cursor).toBeUndefined();
}
