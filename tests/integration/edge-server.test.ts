// The edge end to end: a real node:http edge in this process, real origins on loopback, the real store. Assets and
// the `/~api` proxy as PRODUCT.md describes them — hits and misses, cache keys, versions, config changes within a
// second, coalescing, Range, types, bots, errors, header hygiene, token injection, rewriting — and quotas.
import http from "node:http";
import net from "node:net";
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PLANS } from "#app/server/billing.server.ts";
import { encryptToken } from "#app/server/crypto.server.ts";
import { createEdge, type Edge } from "#edge/server.ts";
import { Account } from "#models/account.ts";
import { DailyUsage } from "#models/daily-usage.ts";
import { Domain } from "#models/domain.ts";
import { Tenant } from "#models/tenant.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { edgeRequest } from "#tests/support/edge-client.ts";
import { listeningEdge } from "#tests/support/listening-edge.ts";
import { storedLogs } from "#tests/support/request-logs.ts";
import { bytesOf, GZIP_RANGED, IMAGE, LARGE_PDF, LONG_VIDEO, NOISE, startOrigin, startUnconnectable, type TestOrigin, VIDEO } from "#tests/support/origin.ts";

let origin: TestOrigin;
let edge: Edge;
let port = 0;
const acmeId = new Types.ObjectId();
const TOKEN = "tok-secret-123";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Longer than the edge keeps a tenant's configuration. */
const CONFIG_SETTLES_MS = 1_050;

const get = (path: string, opts: { host?: string; method?: string; headers?: Record<string, string> } = {}) =>
  edgeRequest(port, opts.host ?? `acme.localhost:${port}`, path, opts);

/** The headers a test pins down (the rest — Date, Keep-Alive — belong to node:http). */
function pick(headers: Record<string, unknown>, names: string[]) {
  return Object.fromEntries(names.filter((n) => headers[n] !== undefined).map((n) => [n, headers[n]]));
}

/** GET requests for `paths` sent at once on one raw connection (pipelined), and how many bytes have come back. */
function pipelined(port: number, host: string, paths: string[]) {
  const socket = net.connect(port, "127.0.0.1");
  let received = 0;
  socket.on("data", (chunk: Buffer) => (received += chunk.length));
  socket.on("error", () => undefined);
  socket.write(paths.map((path) => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`).join(""));
  return { socket, received: () => received };
}

/** A raw client that reads `limit` bytes of what it is sent, then nothing more (its socket's buffers fill). */
function stoppingReader(port: number, limit: number) {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  let received = 0;
  socket.on("data", (chunk: Buffer) => {
    received += chunk.length;
    if (received > limit) socket.pause();
  });
  return { socket, received: () => received, get: (host: string, path: string) => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`) };
}

function tenant(slug: string, id: Types.ObjectId, extra: Record<string, unknown> = {}) {
  return {
    _id: id,
    slug,
    ownerId: "u1",
    billingSubject: "user:u1",
    cms: "generic",
    originUrl: `${origin.base}/media`,
    videoOrigin: `${origin.base}/video`,
    cacheTTL: 3600,
    websiteDomain: "www.acme.example",
    apiOrigin: `${origin.base}/api`,
    apiAuthMode: "bearer",
    apiToken: encryptToken(TOKEN, id.toHexString()),
    apiTokenUpdatedAt: new Date("2026-01-01T00:00:00Z"),
    ...extra,
  };
}

beforeAll(async () => {
  await resetDb();
  origin = await startOrigin(TOKEN);
  await Account.create({ subject: "user:u1", plan: "pro" });
  await Tenant.create([tenant("acme", acmeId)]);
  edge = createEdge({
    edgeHost: "localhost",
    allowPrivateOrigins: true,
    cacheBytes: 8 * 1024 * 1024,
    maxObjectBytes: 64 * 1024,
    maxParseBytes: 2 * 1024,
    headersTimeoutMs: 500,
    bodyTimeoutMs: 500,
    connectTimeoutMs: 1_000,
    // Usage is checked in edge-usage-flow.test.ts; here it is only kept in memory.
    usage: { intervalMs: 3_600_000 },
  });
  port = await edge.listen(0, "127.0.0.1");
});

afterAll(async () => {
  await edge?.close();
  await origin?.close();
});

describe("the asset proxy", () => {
  it("serves a miss from the origin and then a hit from memory, with the origin's entity headers and X-Cache", async () => {
    const first = await get("/img.png");
    const second = await get("/img.png");
    const names = ["content-type", "content-length", "etag", "cache-control", "accept-ranges", "x-cache", "x-content-type-options"];
    expect({ status: first.status, headers: pick(first.headers, names) }).toEqual({
      status: 200,
      headers: {
        "content-type": "image/png",
        "content-length": String(IMAGE.length),
        etag: '"img-v1"',
        "cache-control": "public, max-age=31536000",
        "accept-ranges": "bytes",
        "x-cache": "MISS",
        "x-content-type-options": "nosniff",
      },
    });
    expect(first.body.equals(IMAGE)).toBe(true);
    expect(second.status).toBe(200);
    expect(second.headers["x-cache"]).toBe("HIT");
    expect(second.headers.age).toBe("0");
    expect(second.body.equals(IMAGE)).toBe(true);
    expect(origin.count("/media/img.png")).toBe(1);
    // The same object by path on the bare edge host is the same cache entry.
    const byPath = await get("/acme/img.png", { host: `localhost:${port}` });
    expect([byPath.status, byPath.headers["x-cache"], byPath.body.equals(IMAGE)]).toEqual([200, "HIT", true]);
    // A conditional request with the current ETag is answered 304 without a body.
    const conditional = await get("/img.png", { headers: { "if-none-match": '"img-v1"' } });
    expect([conditional.status, conditional.headers["x-cache"], conditional.body.length]).toEqual([304, "HIT", 0]);
    // HEAD: the headers of a GET, no body.
    const head = await get("/img.png", { method: "HEAD" });
    expect([head.status, head.headers["content-length"], head.headers["x-cache"], head.body.length]).toEqual([200, String(IMAGE.length), "HIT", 0]);
  });

  it("gives a hit the seconds since the object was stored as Age, and otherwise the same headers on every hit", async () => {
    const before = Date.now();
    expect((await get("/img.png?aged=1")).headers["x-cache"]).toBe("MISS");
    const first = await get("/img.png?aged=1");
    await new Promise((r) => setTimeout(r, 1_100));
    const later = await get("/img.png?aged=1");
    const upper = Math.floor((Date.now() - before) / 1000);
    expect(first.headers.age).toBe("0");
    expect(Number(later.headers.age)).toBeGreaterThanOrEqual(1);
    expect(Number(later.headers.age)).toBeLessThanOrEqual(upper);
    const names = ["content-type", "content-length", "etag", "cache-control", "accept-ranges", "x-cache", "x-content-type-options"];
    expect(Object.keys(later.headers).sort()).toEqual(Object.keys(first.headers).sort());
    expect(pick(later.headers, names)).toEqual({
      "content-type": "image/png",
      "content-length": String(IMAGE.length),
      etag: '"img-v1"',
      "cache-control": "public, max-age=31536000",
      "accept-ranges": "bytes",
      "x-cache": "HIT",
      "x-content-type-options": "nosniff",
    });
    expect(pick(first.headers, names)).toEqual(pick(later.headers, names));
    expect(later.body.equals(IMAGE)).toBe(true);
  });

  it("answers a HEAD miss like a GET without the body, asking the origin with GET and filling the cache", async () => {
    const head = await get("/img.png?via=head", { method: "HEAD" });
    expect({ status: head.status, headers: pick(head.headers, ["content-type", "content-length", "etag", "x-cache"]), body: head.body.length }).toEqual({
      status: 200,
      headers: { "content-type": "image/png", "content-length": String(IMAGE.length), etag: '"img-v1"', "x-cache": "MISS" },
      body: 0,
    });
    const hit = await get("/img.png?via=head");
    expect([hit.status, hit.headers["x-cache"], hit.body.equals(IMAGE)]).toEqual([200, "HIT", true]);
    expect(origin.seen.filter((r) => r.url === "/media/img.png?via=head").map((r) => r.method)).toEqual(["GET"]);
  });

  it("keys the cache on the sorted query (the same parameters in another order or spelling are one entry), and sends the origin the query as spelled", async () => {
    const a = await get("/photo.jpg?w=300&fm=webp");
    const b = await get("/photo.jpg?fm=webp&w=300");
    const c = await get("/photo.jpg?fm=webp&w=301");
    expect([a.headers["x-cache"], a.text]).toEqual(["MISS", "jpeg for ?w=300&fm=webp"]);
    expect([b.headers["x-cache"], b.text]).toEqual(["HIT", "jpeg for ?w=300&fm=webp"]);
    expect([c.headers["x-cache"], c.text]).toEqual(["MISS", "jpeg for ?fm=webp&w=301"]);
    expect(origin.count("/media/photo.jpg")).toBe(2);
    // A signature over the query (imgix's `s`) holds only for the query as it was signed: order, escapes, bare flags.
    const signed = await get("/photo.jpg?txt=a%20b,c&w=400&flag&s=5f1e");
    const respelled = await get("/photo.jpg?s=5f1e&flag=&txt=a+b%2Cc&w=400");
    expect([signed.headers["x-cache"], signed.text]).toEqual(["MISS", "jpeg for ?txt=a%20b,c&w=400&flag&s=5f1e"]);
    expect([respelled.headers["x-cache"], respelled.text]).toEqual(["HIT", "jpeg for ?txt=a%20b,c&w=400&flag&s=5f1e"]);
    expect(origin.seen.filter((r) => r.url.startsWith("/media/photo.jpg")).map((r) => r.url)).toEqual([
      "/media/photo.jpg?w=300&fm=webp",
      "/media/photo.jpg?fm=webp&w=301",
      "/media/photo.jpg?txt=a%20b,c&w=400&flag&s=5f1e",
    ]);
  });

  it("makes one origin request for 50 concurrent misses of one object", async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => get("/wait.png")));
    // The origin answers after 200 ms: a request a slow machine sends later than that is a hit of the answer kept.
    expect(answers.map((a) => `${a.status} ${a.headers["x-cache"] === "HIT" ? "MISS" : a.headers["x-cache"]} ${a.text}`)).toEqual(Array(50).fill("200 MISS waited"));
    expect(origin.count("/media/wait.png")).toBe(1);
    expect((await get("/wait.png")).headers["x-cache"]).toBe("HIT");
  });

  it("sends the website as Referer, and sees a config change and a cache-version bump within a second", async () => {
    const before = await get("/referer.png");
    expect([before.headers["x-cache"], before.text]).toEqual(["MISS", "referer=https://www.acme.example/"]);
    expect((await get("/referer.png")).headers["x-cache"]).toBe("HIT");

    await Tenant.updateOne({ _id: acmeId }, { $set: { websiteDomain: "https://shop.acme.example/landing" } });
    await sleep(CONFIG_SETTLES_MS);
    const changed = await get("/referer.png");
    expect([changed.headers["x-cache"], changed.text]).toEqual(["MISS", "referer=https://shop.acme.example/landing"]);
    // A bare origin is sent with the slash a browser's origin-only Referer has.
    await Tenant.updateOne({ _id: acmeId }, { $set: { websiteDomain: "https://shop.acme.example" } });
    await sleep(CONFIG_SETTLES_MS);
    expect((await get("/referer.png")).text).toBe("referer=https://shop.acme.example/");
    await Tenant.updateOne({ _id: acmeId }, { $set: { websiteDomain: "https://shop.acme.example/landing" } });
    await sleep(CONFIG_SETTLES_MS);

    // refresh-cache: the assets version goes up and every asset is fetched again.
    const img = origin.count("/media/img.png");
    await Tenant.updateOne({ _id: acmeId }, { $inc: { "cacheVersions.assets": 1 } });
    await sleep(CONFIG_SETTLES_MS);
    expect((await get("/img.png")).headers["x-cache"]).toBe("MISS");
    expect((await get("/img.png")).headers["x-cache"]).toBe("HIT");
    expect(origin.count("/media/img.png")).toBe(img + 1);
  });

  it("serves byte ranges: a miss as a range from the origin, then from the cache once the whole object is in", async () => {
    const first = await get("/clip.mp4", { headers: { range: "bytes=0-99" } });
    expect({ status: first.status, headers: pick(first.headers, ["content-type", "content-range", "content-length", "x-cache"]) }).toEqual({
      status: 206,
      headers: { "content-type": "video/mp4", "content-range": `bytes 0-99/${VIDEO.length}`, "content-length": "100", "x-cache": "MISS" },
    });
    expect(first.body.equals(VIDEO.subarray(0, 100))).toBe(true);
    // The whole object is fetched behind the range, from the video origin.
    await expect.poll(() => origin.seen.filter((r) => r.url === "/video/clip.mp4" && !r.headers.range).length).toBe(1);
    await expect.poll(async () => (await get("/clip.mp4", { headers: { range: "bytes=100-199" } })).headers["x-cache"]).toBe("HIT");
    const requests = origin.count("/video/clip.mp4");

    const middle = await get("/clip.mp4", { headers: { range: "bytes=1000-1999" } });
    expect([middle.status, middle.headers["content-range"], middle.headers["x-cache"]]).toEqual([206, `bytes 1000-1999/${VIDEO.length}`, "HIT"]);
    expect(middle.body.equals(VIDEO.subarray(1000, 2000))).toBe(true);
    const suffix = await get("/clip.mp4", { headers: { range: "bytes=-10" } });
    expect([suffix.status, suffix.headers["content-range"]]).toEqual([206, `bytes 49990-49999/${VIDEO.length}`]);
    expect(suffix.body.equals(VIDEO.subarray(-10))).toBe(true);
    const open = await get("/clip.mp4", { headers: { range: "bytes=49000-" } });
    expect(open.body.equals(VIDEO.subarray(49000))).toBe(true);
    const beyond = await get("/clip.mp4", { headers: { range: "bytes=60000-" } });
    expect([beyond.status, beyond.headers["content-range"], beyond.body.length]).toEqual([416, `bytes */${VIDEO.length}`, 0]);
    const whole = await get("/clip.mp4");
    expect([whole.status, whole.headers["x-cache"], whole.body.equals(VIDEO)]).toEqual([200, "HIT", true]);
    // Each header once, though the origin sent its own Accept-Ranges (node:http would join two as "bytes, bytes").
    expect(pick(whole.headers, ["accept-ranges", "x-content-type-options", "content-length"])).toEqual({
      "accept-ranges": "bytes",
      "x-content-type-options": "nosniff",
      "content-length": String(VIDEO.length),
    });
    expect(origin.count("/video/clip.mp4")).toBe(requests);
  });

  it("passes ranges of an object over the size cap through from the origin, uncached, never fetching it whole", async () => {
    for (let i = 0; i < 2; i++) {
      const part = await get("/long.mp4", { headers: { range: "bytes=100000-100999" } });
      expect({ status: part.status, headers: pick(part.headers, ["content-type", "content-range", "content-length", "x-cache"]) }).toEqual({
        status: 206,
        headers: { "content-type": "video/mp4", "content-range": `bytes 100000-100999/${LONG_VIDEO.length}`, "content-length": "1000", "x-cache": "MISS" },
      });
      expect(part.body.equals(LONG_VIDEO.subarray(100_000, 101_000))).toBe(true);
    }
    const tail = await get("/long.mp4", { headers: { range: "bytes=299990-" } });
    expect([tail.status, tail.headers["content-range"], tail.body.equals(LONG_VIDEO.subarray(299_990))]).toEqual([206, `bytes 299990-299999/${LONG_VIDEO.length}`, true]);
    await sleep(100);
    expect(origin.seen.filter((r) => r.url === "/video/long.mp4").map((r) => r.headers.range)).toEqual(["bytes=100000-100999", "bytes=100000-100999", "bytes=299990-"]);
  });

  it("serves several ranges, or a range whose If-Range no longer matches, as the whole object", async () => {
    const before = origin.seen.filter((r) => r.url === "/media/img.png").length;
    // A miss: the ranges are not forwarded; the whole object is fetched (and kept).
    await Tenant.updateOne({ _id: acmeId }, { $inc: { "cacheVersions.assets": 1 } });
    await sleep(CONFIG_SETTLES_MS);
    const multi = await get("/img.png", { headers: { range: "bytes=0-1,5-6" } });
    expect([multi.status, multi.headers["x-cache"], multi.headers["content-range"], multi.body.equals(IMAGE)]).toEqual([200, "MISS", undefined, true]);
    expect(origin.seen.filter((r) => r.url === "/media/img.png").slice(before).map((r) => r.headers.range)).toEqual([undefined]);
    const hitMulti = await get("/img.png", { headers: { range: "bytes=0-1,5-6" } });
    expect([hitMulti.status, hitMulti.headers["x-cache"], hitMulti.body.length]).toEqual([200, "HIT", IMAGE.length]);
    const stale = await get("/img.png", { headers: { range: "bytes=0-9", "if-range": '"img-v0"' } });
    expect([stale.status, stale.body.length]).toEqual([200, IMAGE.length]);
    const current = await get("/img.png", { headers: { range: "bytes=0-9", "if-range": '"img-v1"' } });
    expect([current.status, current.headers["content-range"], current.body.equals(IMAGE.subarray(0, 10))]).toEqual([
      206,
      `bytes 0-9/${IMAGE.length}`,
      true,
    ]);
  });

  it("answers conditional requests as RFC 9110 says: If-None-Match by weak comparison, If-Modified-Since, and If-Range by strong comparison", async () => {
    const LAST_MODIFIED = "Tue, 01 Sep 2026 10:00:00 GMT";
    // A miss that matches is a 304 already.
    const miss = await get("/weak.png", { headers: { "if-none-match": 'W/"weak-1"' } });
    expect({ status: miss.status, headers: pick(miss.headers, ["etag", "last-modified", "x-cache", "content-length"]), bytes: miss.body.length }).toEqual({
      status: 304,
      headers: { etag: 'W/"weak-1"', "last-modified": LAST_MODIFIED, "x-cache": "MISS" },
      bytes: 0,
    });
    const answers = async (headers: Record<string, string>) => {
      const r = await get("/weak.png", { headers });
      return [r.status, r.headers["x-cache"], r.body.length, r.headers["content-range"]];
    };
    const notModified = [304, "HIT", 0, undefined];
    const whole = [200, "HIT", IMAGE.length, undefined];
    expect(await answers({ "if-none-match": '"other", W/"weak-1"' })).toEqual(notModified);
    expect(await answers({ "if-none-match": '"weak-1"' })).toEqual(notModified);
    expect(await answers({ "if-none-match": "*" })).toEqual(notModified);
    expect(await answers({ "if-none-match": '"other"' })).toEqual(whole);
    // If-Modified-Since: at or after Last-Modified is a 304, before it the object; with an If-None-Match it is ignored.
    expect(await answers({ "if-modified-since": LAST_MODIFIED })).toEqual(notModified);
    expect(await answers({ "if-modified-since": "Mon, 31 Aug 2026 10:00:00 GMT" })).toEqual(whole);
    expect(await answers({ "if-none-match": '"other"', "if-modified-since": LAST_MODIFIED })).toEqual(whole);
    // If-Range: a weak ETag never holds (the whole object), the exact Last-Modified does (the range).
    expect(await answers({ range: "bytes=0-3", "if-range": 'W/"weak-1"' })).toEqual(whole);
    expect(await answers({ range: "bytes=0-3", "if-range": LAST_MODIFIED })).toEqual([206, "HIT", 4, `bytes 0-3/${IMAGE.length}`]);
    expect(origin.count("/media/weak.png")).toBe(1);
  });

  it("answers a range that cannot be satisfied with 416 on a miss as on a hit", async () => {
    const body = "jpeg for ?n=416";
    const miss = await get("/photo.jpg?n=416", { headers: { range: "bytes=-0" } });
    expect([miss.status, miss.headers["x-cache"], miss.headers["content-range"], miss.body.length]).toEqual([416, "MISS", `bytes */${body.length}`, 0]);
    const hit = await get("/photo.jpg?n=416", { headers: { range: "bytes=-0" } });
    expect([hit.status, hit.headers["x-cache"], hit.headers["content-range"], hit.body.length]).toEqual([416, "HIT", `bytes */${body.length}`, 0]);
    const beyond = await get("/photo.jpg?n=417", { headers: { range: `bytes=${body.length}-` } });
    expect([beyond.status, beyond.headers["x-cache"], beyond.headers["content-range"]]).toEqual([416, "MISS", `bytes */${body.length}`]);
  });

  it("lets go of the origin when a client leaves in the middle of a streamed object, and counts what it was sent", async () => {
    const recorded = edge.deps.recorder.pendingRequests();
    const received = await new Promise<number>((resolve, reject) => {
      const req = http.get({ host: "127.0.0.1", port, path: "/stream.mp4", headers: { host: `acme.localhost:${port}` } }, (res) => {
        res.on("end", () => reject(new Error(`the whole answer came (${res.statusCode})`)));
        let bytes = 0;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes >= 100_000) {
            req.destroy();
            resolve(bytes);
          }
        });
      });
      req.on("error", (err) => ((err as NodeJS.ErrnoException).code === "ECONNRESET" ? undefined : reject(err)));
    });
    expect(received).toBeGreaterThanOrEqual(100_000);
    await expect.poll(() => origin.cutOff).toBe(1);
    await expect.poll(() => edge.deps.recorder.pendingRequests()).toBe(recorded + 1);
  });

  it("decodes an answer the origin encoded although asked for it as is (gzip, deflate, br), and refuses one it cannot read", async () => {
    for (const enc of ["gzip", "deflate", "br"]) {
      const miss = await get(`/encoded.png?enc=${enc}`);
      const hit = await get(`/encoded.png?enc=${enc}`);
      for (const [res, cache] of [[miss, "MISS"], [hit, "HIT"]] as const) {
        expect({ status: res.status, headers: pick(res.headers, ["content-type", "content-encoding", "content-length", "etag", "x-cache"]) }).toEqual({
          status: 200,
          headers: { "content-type": "image/png", "content-length": String(IMAGE.length), etag: 'W/"enc-1"', "x-cache": cache },
        });
        expect(res.body.equals(IMAGE)).toBe(true);
      }
    }
    const unknown = await get("/encoded.png?enc=compress");
    expect([unknown.status, unknown.headers["x-cache"], unknown.text]).toEqual([502, "ERROR", "The origin's answer is in an encoding the edge does not read.\n"]);
    const corrupt = await get("/corrupt.png");
    expect([corrupt.status, corrupt.headers["x-cache"], corrupt.text]).toEqual([502, "ERROR", "The origin's answer could not be decoded.\n"]);
    const before = origin.count("/media/corrupt.png");
    expect((await get("/corrupt.png")).headers["x-cache"]).toBe("ERROR");
    expect(origin.count("/media/corrupt.png")).toBe(before + 1);
    // Empty, without a length: an empty answer.
    const empty = await get("/empty-encoded.png");
    expect({ status: empty.status, headers: pick(empty.headers, ["content-encoding", "content-length", "x-cache"]), body: empty.body.length }).toEqual({
      status: 200,
      headers: { "content-length": "0", "x-cache": "MISS" },
      body: 0,
    });
  });

  it("streams a decoded answer over the size cap through uncached, and cuts it off where it fails to decode", async () => {
    for (const cache of ["MISS", "MISS"]) {
      const big = await get("/encoded-big.bin");
      expect({ status: big.status, headers: pick(big.headers, ["content-encoding", "content-length", "transfer-encoding", "etag", "x-cache"]) }).toEqual({
        status: 200,
        headers: { "transfer-encoding": "chunked", etag: 'W/"big-1"', "x-cache": cache },
      });
      expect(big.body.equals(NOISE)).toBe(true);
    }
    // Broken past the first 64 KB it decodes to: the headers are out, so the connection is cut short.
    await expect(get("/encoded-big.bin?broken=1")).rejects.toThrow(/aborted/);
  });

  it("fetches the whole object when the origin answers a range encoded, and cuts the range from it decoded", async () => {
    const part = await get("/gzip-ranged.bin", { headers: { range: "bytes=100-199" } });
    expect({ status: part.status, headers: pick(part.headers, ["content-encoding", "content-range", "content-length", "x-cache"]) }).toEqual({
      status: 206,
      headers: { "content-range": `bytes 100-199/${GZIP_RANGED.length}`, "content-length": "100", "x-cache": "MISS" },
    });
    expect(part.body.equals(GZIP_RANGED.subarray(100, 200))).toBe(true);
    expect(origin.seen.filter((r) => r.url === "/media/gzip-ranged.bin").map((r) => r.headers.range)).toEqual(["bytes=100-199", undefined]);
    const hit = await get("/gzip-ranged.bin", { headers: { range: "bytes=29990-" } });
    expect([hit.status, hit.headers["x-cache"], hit.body.equals(GZIP_RANGED.subarray(29_990))]).toEqual([206, "HIT", true]);
  });

  it("streams an object over the size cap through without caching it", async () => {
    const a = await get("/big.pdf");
    const b = await get("/big.pdf");
    expect([a.status, a.headers["content-type"], a.headers["x-cache"], a.body.equals(LARGE_PDF)]).toEqual([200, "application/pdf", "MISS", true]);
    expect([b.status, b.headers["x-cache"], b.body.equals(LARGE_PDF)]).toEqual([200, "MISS", true]);
    expect(origin.count("/media/big.pdf")).toBe(2);
    // A client that has it already is answered 304 without its body, by ETag or by date; one with another version
    // gets it whole.
    const byTag = await get("/big.pdf", { headers: { "if-none-match": '"pdf-0", "pdf-1"' } });
    expect([byTag.status, byTag.headers["x-cache"], byTag.headers.etag, byTag.body.length]).toEqual([304, "MISS", '"pdf-1"', 0]);
    const byDate = await get("/big.pdf", { headers: { "if-modified-since": "Wed, 02 Sep 2026 10:00:00 GMT" } });
    expect([byDate.status, byDate.body.length]).toEqual([304, 0]);
    const other = await get("/big.pdf", { headers: { "if-none-match": '"pdf-0"' } });
    expect([other.status, other.body.equals(LARGE_PDF)]).toEqual([200, true]);
    expect(origin.count("/media/big.pdf")).toBe(5);
  });

  it("refuses a response type outside allowedTypes (the default list, then the tenant's own) with 403", async () => {
    const html = await get("/page.html");
    expect({ status: html.status, cache: html.headers["x-cache"], type: html.headers["content-type"], body: html.text }).toEqual({
      status: 403,
      cache: "MISS",
      type: "text/plain; charset=utf-8",
      body: "This type of file is not served here.\n",
    });
    expect((await get("/photo.jpg?only=png")).status).toBe(200);
    await Tenant.updateOne({ _id: acmeId }, { $set: { allowedTypes: ["png"] } });
    await sleep(CONFIG_SETTLES_MS);
    const jpeg = await get("/photo.jpg?only=png");
    expect([jpeg.status, jpeg.headers["x-cache"], jpeg.text]).toEqual([403, "HIT", "This type of file is not served here.\n"]);
    expect((await get("/img.png")).status).toBe(200);
    await Tenant.updateOne({ _id: acmeId }, { $set: { allowedTypes: null } });
  });

  it("never serves an origin's error page a browser would run: its status and other headers are kept, its body replaced", async () => {
    const names = ["content-type", "content-length", "etag", "location", "x-cache", "x-content-type-options"];
    const gone = await get("/gone.png");
    expect({ status: gone.status, headers: pick(gone.headers, names), text: gone.text }).toEqual({
      status: 404,
      headers: { "content-type": "text/plain; charset=utf-8", "content-length": "25", "x-cache": "MISS", "x-content-type-options": "nosniff" },
      text: "The origin answered 404.\n",
    });
    const moved = await get("/moved.png");
    expect({ status: moved.status, headers: pick(moved.headers, names), text: moved.text }).toEqual({
      status: 301,
      headers: {
        "content-type": "text/plain; charset=utf-8",
        "content-length": "25",
        location: "https://elsewhere.example/new.png",
        "x-cache": "MISS",
        "x-content-type-options": "nosniff",
      },
      text: "The origin answered 301.\n",
    });
    // An error page a browser shows as text passes as it is.
    const missing = await get("/missing.png");
    expect([missing.status, missing.headers["content-type"], missing.text]).toEqual([404, "text/plain", "no such file"]);
    // The API's too; an API page it serves runs sandboxed (no script, no access to the edge's origin).
    const page = await get("/~api/page");
    expect([page.status, page.headers["content-type"], page.headers["x-cache"], page.text]).toEqual([404, "text/plain; charset=utf-8", "MISS", "The origin answered 404.\n"]);
    for (const expected of ["MISS", "HIT"]) {
      const served = await get("/~api/page200");
      expect([served.status, served.headers["x-cache"], served.headers["content-security-policy"], served.headers["x-content-type-options"], served.text]).toEqual([
        200,
        expected,
        "sandbox",
        "nosniff",
        "<p>hi</p><script>alert(document.domain)</script>",
      ]);
    }
  });

  it("refuses known bad bots, other methods, unknown tenants and paths that step outside the origin", async () => {
    const seen = origin.seen.length;
    const bot = await get("/img.png", { headers: { "user-agent": "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)" } });
    expect([bot.status, bot.headers["x-cache"], bot.text]).toEqual([403, "BYPASS", "Forbidden.\n"]);
    const browser = await get("/img.png", { headers: { "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0" } });
    expect(browser.status).toBe(200);
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const refused = await get("/img.png", { method });
      expect([refused.status, refused.headers.allow, refused.headers["x-cache"], refused.text]).toEqual([
        405,
        "GET, HEAD",
        "BYPASS",
        "Only GET and HEAD are served.\n",
      ]);
    }
    const noTenant = [404, "text/plain; charset=utf-8", "BYPASS", "No tenant is served at this address.\n"];
    const answer = (r: Awaited<ReturnType<typeof get>>) => [r.status, r.headers["content-type"], r.headers["x-cache"], r.text];
    expect(answer(await get("/img.png", { host: `nobody.localhost:${port}` }))).toEqual(noTenant);
    expect(answer(await get("/", { host: `localhost:${port}` }))).toEqual(noTenant);
    expect(answer(await get("/img.png", { host: `elsewhere.example` }))).toEqual(noTenant);
    for (const path of ["/../other/img.png", "/a/%2e%2e/%2e%2e/img.png", "/a\\..\\img.png", "/..%2F..%2Fother/img.png", "//["]) {
      expect(answer(await get(path)), path).toEqual([400, "text/plain; charset=utf-8", "BYPASS", "Bad request.\n"]);
    }
    expect(origin.seen.length).toBe(seen);
  });

  it("answers 404 at a path its provider serves nothing at, contacting nothing and counting nothing", async () => {
    await Tenant.create([
      tenant("blok", new Types.ObjectId(), { cms: "storyblok", originUrl: null, billingSubject: "user:noroute" }),
      tenant("shop", new Types.ObjectId(), { cms: "shopify", storeDomain: "acme-shop.myshopify.com", originUrl: null, billingSubject: "user:noroute" }),
    ]);
    const seen = origin.seen.length;
    for (const [slug, path] of [["blok", "/img.png"], ["blok", "/a/f/img.png"], ["shop", "/files/img.png"], ["shop", "/cdn/shop/img.png"]]) {
      const res = await get(path, { host: `${slug}.localhost:${port}` });
      expect([res.status, res.headers["x-cache"], res.text], `${slug} ${path}`).toEqual([404, "BYPASS", "Not found.\n"]);
    }
    expect(origin.seen.length).toBe(seen);
    expect(edge.deps.recorder.unwritten("user:noroute", new Date(0))).toEqual({ requests: 0, bytes: 0 });
  });

  it("answers origin errors and unreachable origins with 502 and X-Cache ERROR, and never caches them", async () => {
    const failed = await get("/fail.png");
    expect({ status: failed.status, cache: failed.headers["x-cache"], cc: failed.headers["cache-control"], body: failed.text }).toEqual({
      status: 502,
      cache: "ERROR",
      cc: "no-store",
      body: "The origin answered with an error (503).\n",
    });
    expect((await get("/fail.png")).headers["x-cache"]).toBe("ERROR");
    expect(origin.count("/media/fail.png")).toBe(2);

    const slow = await get("/slow.png");
    expect([slow.status, slow.headers["x-cache"], slow.text]).toEqual([502, "ERROR", "The origin did not answer in time.\n"]);
    // An origin that stops sending in the middle of a body is given up on after the idle timeout.
    const stalled = await get("/stall.png");
    expect([stalled.status, stalled.headers["x-cache"], stalled.text]).toEqual([502, "ERROR", "The origin did not answer in time.\n"]);

    // A 404 from the origin is passed on as it is, and not kept.
    const missing = await get("/missing.png");
    expect([missing.status, missing.headers["x-cache"], missing.text]).toEqual([404, "MISS", "no such file"]);
    expect((await get("/missing.png")).headers["x-cache"]).toBe("MISS");

    const closed = await startOrigin();
    await closed.close();
    await Tenant.create(tenant("gone", new Types.ObjectId(), { originUrl: `${closed.base}/media` }));
    const unreachable = await get("/img.png", { host: `gone.localhost:${port}` });
    expect([unreachable.status, unreachable.headers["x-cache"], unreachable.text]).toEqual([502, "ERROR", "The origin could not be reached.\n"]);
  });

  it("gives up on an origin that does not complete the connection after the connect timeout (1 s here)", async () => {
    const silent = await startUnconnectable();
    try {
      await Tenant.create(tenant("silent", new Types.ObjectId(), { originUrl: `${silent.base}/media` }));
      const started = Date.now();
      const res = await get("/img.png", { host: `silent.localhost:${port}` });
      const waited = Date.now() - started;
      expect([res.status, res.headers["x-cache"], res.text]).toEqual([502, "ERROR", "The origin did not answer in time.\n"]);
      // Not before the timeout, and well before undici's own default (10 s) or the kernel's SYN retries.
      expect(waited).toBeGreaterThanOrEqual(950);
      expect(waited).toBeLessThan(5_000);
    } finally {
      await silent.close();
    }
  });

  it("never stores or replays the origin's Set-Cookie, hop-by-hop or host-wide policy headers, and never forwards the client's credentials", async () => {
    for (const expected of ["MISS", "HIT"]) {
      const res = await get("/cookie.png", {
        headers: {
          cookie: "sid=client-session",
          authorization: "Bearer client-token",
          "proxy-authorization": "Basic cHJveHk6c2VjcmV0",
          "x-forwarded-for": "203.0.113.9",
          "accept-language": "fr",
          referer: "https://evil.example/",
          "user-agent": "Mozilla/5.0",
          te: "trailers",
          connection: "keep-alive, x-hop",
          "x-hop": "1",
        },
      });
      expect([res.status, res.headers["x-cache"], res.text, res.headers["x-kept"]]).toEqual([200, expected, "with cookies", "yes"]);
      // Exactly these: the origin's Set-Cookie, hop-by-hop headers and policies for the edge's host (Alt-Svc, HSTS,
      // Clear-Site-Data, NEL…) gone (Keep-Alive and Connection are the edge's own).
      expect(Object.keys(res.headers).sort()).toEqual(
        ["accept-ranges", ...(expected === "HIT" ? ["age"] : []), "connection", "content-length", "content-type", "date", "keep-alive", "x-cache", "x-content-type-options", "x-kept"],
      );
      expect([res.headers.connection, res.headers["keep-alive"]]).toEqual(["keep-alive", "timeout=5"]);
    }
    const seen = origin.seen.filter((r) => r.url.startsWith("/media/cookie.png"));
    expect(seen).toHaveLength(1);
    // Exactly what the edge builds: nothing of the client's headers is passed on.
    expect(seen[0].headers).toEqual({
      host: `127.0.0.1:${origin.port}`,
      connection: "keep-alive",
      accept: "*/*",
      "accept-encoding": "identity",
      "user-agent": "cms-edge/1",
      referer: "https://shop.acme.example/landing",
    });
  });
});

describe("the response size cap", () => {
  it("refuses an origin response declared over the cap, and cuts off a streamed one that grows past it", async () => {
    const { edge: capped, port: cappedPort } = await listeningEdge({ cacheBytes: 1024 * 1024, maxObjectBytes: 16 * 1024, maxResponseBytes: 100_000 });
    try {
      const declared = await edgeRequest(cappedPort, `acme.localhost:${cappedPort}`, "/big.pdf");
      expect([declared.status, declared.headers["x-cache"], declared.text]).toEqual([502, "ERROR", "The origin's response is larger than the edge serves.\n"]);
      // No length announced: the client gets the first 100,000 bytes or so and then the connection is cut.
      const cut = await new Promise<{ bytes: number; complete: boolean }>((resolve) => {
        let bytes = 0;
        http
          .get({ host: "127.0.0.1", port: cappedPort, path: "/stream.mp4", headers: { host: `acme.localhost:${cappedPort}` } }, (res) => {
            res.on("data", (c: Buffer) => (bytes += c.length));
            res.on("end", () => resolve({ bytes, complete: res.complete }));
            res.on("error", () => resolve({ bytes, complete: false }));
          })
          .on("error", () => resolve({ bytes, complete: false }));
      });
      expect(cut.complete).toBe(false);
      expect(cut.bytes).toBeLessThanOrEqual(100_000);
      // Cut at the cap, not before: at most one read of the origin's body (64 KB) short of it.
      expect(cut.bytes).toBeGreaterThan(100_000 - 65_536);
    } finally {
      await capped.close();
    }
  });
});

describe("the memory misses hold", () => {
  it("streams a miss through uncached when the bodies being read already hold what misses may, and gives it all back", async () => {
    const { edge: bounded, port: boundedPort } = await listeningEdge({ maxObjectBytes: 64 * 1024, missBufferBytes: 130_000 });
    const fetchOne = (n: number) => edgeRequest(boundedPort, `acme.localhost:${boundedPort}`, `/halves.bin?n=${n}`);
    try {
      // Four different objects of 60,000 bytes at once (the origin sends no second half before all four are asked
      // for): 130,000 bytes hold two of them while they are read, so at least one streams through uncached — a third
      // may fit if its answer comes once the first two are done.
      origin.halvesTogether = 4;
      const first = await Promise.all([1, 2, 3, 4].map(fetchOne));
      origin.halvesTogether = 1;
      expect(first.map((r) => [r.status, r.headers["x-cache"], r.headers["content-length"], r.body.length])).toEqual(
        Array.from({ length: 4 }, () => [200, "MISS", "60000", 60_000]),
      );
      expect(bounded.deps.missBuffer.used).toBe(0);
      const again = await Promise.all([1, 2, 3, 4].map(fetchOne));
      const kept = again.filter((r) => r.headers["x-cache"] === "HIT").length;
      expect(kept === 2 || kept === 3, `${kept} of 4 kept`).toBe(true);
      for (const [i, r] of [...first, ...again].entries()) expect(r.body.equals(bytesOf(60_000, (i % 4) + 1))).toBe(true);
      // Bodies without a length are held as they come: once the four first halves are in (120,000 bytes), a second
      // half does not fit, so four at once cannot all be kept either.
      origin.halvesTogether = Number.POSITIVE_INFINITY;
      const pending = Promise.all(
        [1, 2, 3, 4].map((n) => edgeRequest(boundedPort, `acme.localhost:${boundedPort}`, `/halves-unannounced.bin?n=${n}`)),
      );
      await expect.poll(() => bounded.deps.missBuffer.used, { timeout: 5_000 }).toBe(120_000);
      origin.halvesTogether = 1;
      origin.releaseHalves();
      const unannounced = await pending;
      for (const [i, r] of unannounced.entries()) expect([r.status, r.headers["x-cache"], r.body.equals(bytesOf(60_000, i + 1))]).toEqual([200, "MISS", true]);
      expect(bounded.deps.missBuffer.used).toBe(0);
      const unannouncedAgain = await Promise.all(
        [1, 2, 3, 4].map((n) => edgeRequest(boundedPort, `acme.localhost:${boundedPort}`, `/halves-unannounced.bin?n=${n}`)),
      );
      expect(unannouncedAgain.filter((r) => r.headers["x-cache"] === "HIT").length).toBeLessThan(4);
      // One at a time, each fits.
      await fetchOne(5);
      expect((await fetchOne(5)).headers["x-cache"]).toBe("HIT");
      expect(bounded.deps.missBuffer.used).toBe(0);
    } finally {
      origin.halvesTogether = 1;
      await bounded.close();
    }
  });

  it("leaves a miss of the whole object in flight to its own client when a range of it is asked meanwhile", async () => {
    // 40,000 bytes hold the first half of the 60,000-byte object (sent without a length), not the whole: once the
    // second half comes, the whole object's miss streams through to its client.
    const { edge: e, port: p } = await listeningEdge({ missBufferBytes: 40_000 });
    const host = `acme.localhost:${p}`;
    const asked = () => origin.seen.filter((r) => r.url === "/media/halves-ranged.bin?n=9").map((r) => r.headers.range ?? "whole");
    try {
      origin.halvesTogether = Number.POSITIVE_INFINITY;
      const whole = edgeRequest(p, host, "/halves-ranged.bin?n=9");
      await expect.poll(() => e.deps.missBuffer.used, { timeout: 5_000 }).toBe(30_000);
      // The range is a miss fetched as a range; the whole object behind it, to fill the cache, is the miss in flight.
      const part = await edgeRequest(p, host, "/halves-ranged.bin?n=9", { headers: { range: "bytes=0-9" } });
      expect([part.status, part.headers["content-range"], part.headers["x-cache"], part.body.equals(bytesOf(60_000, 9).subarray(0, 10))]).toEqual([
        206,
        "bytes 0-9/60000",
        "MISS",
        true,
      ]);
      origin.releaseHalves();
      const answer = await whole;
      expect([answer.status, answer.headers["x-cache"], answer.body.length, answer.body.equals(bytesOf(60_000, 9))]).toEqual([200, "MISS", 60_000, true]);
      expect(asked()).toEqual(["whole", "bytes=0-9"]);
      expect(e.deps.missBuffer.used).toBe(0);
    } finally {
      origin.halvesTogether = 1;
      await e.close();
    }
  });

  it("lets go of a streamed answer queued behind another on a connection its client closes, and counts it as sent nothing", async () => {
    const { edge: e, port: p } = await listeningEdge({ maxObjectBytes: 64 * 1024 });
    const host = `acme.localhost:${p}`;
    const logged = async () => (await storedLogs(acmeId)).filter((l) => l.path === "/slow.mp4").length;
    const before = await logged();
    const cut = origin.cutOff;
    const seen = origin.count("/video/slow.mp4");
    // Two videos pipelined on one connection (12 s each, sent without a length, over the 64 KB cap): the second's
    // answer waits behind the first's while its origin streams.
    const { socket, received } = pipelined(p, host, ["/slow.mp4?first=1", "/slow.mp4?second=1"]);
    try {
      await expect.poll(() => origin.count("/video/slow.mp4"), { timeout: 5_000 }).toBe(seen + 2);
      // Both are past the cap (and streaming) once the first has sent its client more than that.
      await expect.poll(() => received(), { timeout: 5_000 }).toBeGreaterThan(80 * 1024);
      socket.destroy();
      // Both origin requests are let go of at once, not when the second video ends, and the memory its start took is given back.
      await expect.poll(() => origin.cutOff, { timeout: 3_000 }).toBe(cut + 2);
      await expect.poll(() => e.deps.missBuffer.used, { timeout: 3_000 }).toBe(0);
    } finally {
      socket.destroy();
      await e.close(0);
    }
    // (Both came at once: the one sent something first.)
    const logs = (await storedLogs(acmeId)).filter((l) => l.path === "/slow.mp4").slice(before).sort((a, b) => b.bytes - a.bytes);
    expect(logs.map((l) => [l.status, l.cacheStatus, l.bytes > 0])).toEqual([
      [200, "MISS", true],
      [200, "MISS", false],
    ]);
    expect(await logged()).toBe(before + 2);
  });

  it("lets go of a streamed answer whose connection closed before its turn on it came, and counts it as sent nothing", async () => {
    const { edge: e, port: p } = await listeningEdge({ maxObjectBytes: 64 * 1024, missBufferBytes: 40_000 });
    const host = `acme.localhost:${p}`;
    const logsOf = async () => (await storedLogs(acmeId)).filter((l) => l.path === "/halves-unannounced.bin");
    const before = (await logsOf()).length;
    origin.halvesTogether = Number.POSITIVE_INFINITY;
    // A video streaming first on the connection; behind it, an object without a length whose first half (30,000
    // bytes) is held in the misses' memory while its second half is held back by the origin.
    const { socket, received } = pipelined(p, host, ["/slow.mp4?turn=1", "/halves-unannounced.bin?turn=1"]);
    try {
      await expect.poll(() => received(), { timeout: 5_000 }).toBeGreaterThan(80 * 1024);
      await expect.poll(() => e.deps.missBuffer.used, { timeout: 5_000 }).toBe(30_000);
      socket.destroy();
      await new Promise((r) => setTimeout(r, 100));
      // The second half comes: 60,000 bytes do not fit the misses' memory, so the answer would stream, on a
      // connection that is already gone.
      origin.releaseHalves();
      await expect.poll(() => e.deps.missBuffer.used, { timeout: 3_000 }).toBe(0);
      await expect.poll(() => e.deps.recorder.pendingRequests(), { timeout: 3_000 }).toBe(2);
    } finally {
      origin.halvesTogether = 1;
      socket.destroy();
      await e.close(0);
    }
    expect((await logsOf()).slice(before).map((l) => [l.status, l.cacheStatus, l.bytes])).toEqual([[200, "MISS", 0]]);
  });

  it("cuts off a client that reads nothing of a streamed answer, letting go of the origin and the misses' memory", async () => {
    const { edge: e, port: p } = await listeningEdge({ maxObjectBytes: 64 * 1024, clientStallMs: 500 });
    const cut = origin.cutOff;
    // Reads a megabyte, then nothing more: the socket's buffers fill, and the edge's writes wait.
    const { socket, get } = stoppingReader(p, 1_000_000);
    get(`acme.localhost:${p}`, "/endless.mp4");
    try {
      await expect.poll(() => origin.cutOff, { timeout: 10_000 }).toBe(cut + 1);
      expect(e.deps.missBuffer.used).toBe(0);
    } finally {
      socket.destroy();
      await e.close(0);
    }
    const [log] = (await storedLogs(acmeId)).filter((l) => l.path === "/endless.mp4");
    expect([log.status, log.cacheStatus, log.bytes > 1_000_000]).toEqual([200, "MISS", true]);
  });

  it("counts an answer queued behind another on its connection once it is sent, and as sent nothing if the connection ends first", async () => {
    const { edge: e, port: p } = await listeningEdge({ maxObjectBytes: 64 * 1024 });
    const host = `acme.localhost:${p}`;
    const logsOf = async (path: string) => (await storedLogs(acmeId)).filter((l) => l.path === path);
    const before = { img: (await logsOf("/img.png")).length, photo: (await logsOf("/photo.jpg")).length };
    try {
      expect((await edgeRequest(p, host, "/img.png")).headers["x-cache"]).toBe("MISS");
      // Two hits one after the other on a connection: both sent, both counted whole.
      const both = pipelined(p, host, ["/img.png", "/img.png"]);
      await expect.poll(() => both.received(), { timeout: 5_000 }).toBeGreaterThan(2 * 10_240);
      both.socket.destroy();
      // A hit and a miss queued behind a 12-s video, the connection closed while the video streams: never sent.
      const behind = pipelined(p, host, ["/slow.mp4?queued=1", "/img.png", "/photo.jpg?queued=1"]);
      await expect.poll(() => behind.received(), { timeout: 5_000 }).toBeGreaterThan(16 * 1024);
      // (The miss's origin answer is in: it waits for its turn.)
      await expect.poll(() => origin.count("/media/photo.jpg") > 0 && e.deps.cache.count > 1, { timeout: 5_000 }).toBe(true);
      behind.socket.destroy();
      await expect.poll(() => e.deps.recorder.pendingRequests(), { timeout: 3_000 }).toBe(6);
    } finally {
      await e.close(0);
    }
    const img = (await logsOf("/img.png")).slice(before.img);
    expect(img.map((l) => [l.status, l.cacheStatus, l.bytes])).toEqual([
      [200, "MISS", 10_240],
      [200, "HIT", 10_240],
      [200, "HIT", 10_240],
      [200, "HIT", 0],
    ]);
    const photo = (await logsOf("/photo.jpg")).slice(before.photo);
    expect(photo.map((l) => [l.status, l.cacheStatus, l.bytes])).toEqual([[200, "MISS", 0]]);
  });

  it("still rewrites and keeps the API's JSON when the misses' memory is used up", async () => {
    const { edge: tight, port: tightPort } = await listeningEdge({ missBufferBytes: 1_000 });
    try {
      const at = (path: string) => edgeRequest(tightPort, `acme.localhost:${tightPort}`, path);
      // An asset over the budget streams through uncached…
      expect((await at("/img.png?tight=1")).headers["x-cache"]).toBe("MISS");
      expect((await at("/img.png?tight=1")).headers["x-cache"]).toBe("MISS");
      // …while JSON the edge rewrites (5 KB here) is read whole, rewritten and kept.
      const json = await at("/~api/large?tight=1");
      expect([json.status, json.headers["x-parsed"], json.headers["x-cache"]]).toEqual([200, "1", "MISS"]);
      expect((JSON.parse(json.text) as { items: Array<{ image: string }> }).items[0].image).toBe(`http://acme.localhost:${tightPort}/img.png`);
      expect((await at("/~api/large?tight=1")).headers["x-cache"]).toBe("HIT");
      expect(tight.deps.missBuffer.used).toBe(0);
    } finally {
      await tight.close();
    }
    // JSON over the parse cap (2 KB here; this one comes without a length) is held out of that memory past the cap:
    // it streams through, unrewritten and uncached.
    const { edge: capped, port: cappedPort } = await listeningEdge({ missBufferBytes: 1_000, maxParseBytes: 2 * 1024 });
    try {
      for (let i = 0; i < 2; i++) {
        const json = await edgeRequest(cappedPort, `acme.localhost:${cappedPort}`, "/~api/large?capped=1");
        expect([json.status, json.headers["x-parsed"], json.headers["x-cache"], json.text.includes(`${origin.base}/media/img.png`)]).toEqual([200, "0", "MISS", true]);
      }
      expect(capped.deps.missBuffer.used).toBe(0);
    } finally {
      await capped.close();
    }
  });
});

describe("time to live", () => {
  it("serves an asset for cacheTTL seconds and an API answer for apiCacheTTL seconds, then asks the origin again", async () => {
    await Tenant.updateOne({ _id: acmeId }, { $set: { apiCacheTTL: 30 } });
    await sleep(CONFIG_SETTLES_MS);
    const start = Date.now();
    // Only the clock moves (timers stay real, so the origins and the store answer as usual).
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    try {
      const at = (seconds: number) => vi.setSystemTime(start + seconds * 1000);
      const asset = async () => (await get("/img.png?ttl=1")).headers["x-cache"];
      const api = async () => (await get("/~api/entries?ttl=1")).headers["x-cache"];
      const fetched = () => [origin.seen.filter((r) => r.url === "/media/img.png?ttl=1").length, origin.seen.filter((r) => r.url === "/api/entries?ttl=1").length];
      const before = fetched();
      expect([await asset(), await api()]).toEqual(["MISS", "MISS"]);
      at(29.5);
      expect([await asset(), await api()]).toEqual(["HIT", "HIT"]);
      at(30.5);
      expect([await asset(), await api()]).toEqual(["HIT", "MISS"]);
      at(3_599.5);
      expect(await asset()).toBe("HIT");
      at(3_600.5);
      expect(await asset()).toBe("MISS");
      expect(fetched().map((n, i) => n - before[i])).toEqual([2, 2]);
    } finally {
      vi.useRealTimers();
    }
  });
  it("holds what is already cached to a lowered TTL, and serves it as long as the TTL it was stored under when raised", async () => {
    await Tenant.updateOne({ _id: acmeId }, { $set: { apiCacheTTL: 3_600 } });
    await sleep(CONFIG_SETTLES_MS);
    const start = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    try {
      const at = (seconds: number) => vi.setSystemTime(start + seconds * 1000);
      const both = async () => [(await get("/img.png?ttl=2")).headers["x-cache"], (await get("/~api/entries?ttl=2")).headers["x-cache"]];
      const fetched = () => [origin.seen.filter((r) => r.url === "/media/img.png?ttl=2").length, origin.seen.filter((r) => r.url === "/api/entries?ttl=2").length];
      const before = fetched();
      expect(await both()).toEqual(["MISS", "MISS"]);
      at(100);
      expect(await both()).toEqual(["HIT", "HIT"]);
      // Lowered to 60 s: the entries stored 100 s ago are past it, the new ones kept for 60 s. (The edge's clock for
      // tenant configs is the real one: the change is seen a second later.)
      await Tenant.updateOne({ _id: acmeId }, { $set: { cacheTTL: 60, apiCacheTTL: 60 } });
      await sleep(CONFIG_SETTLES_MS);
      at(102);
      expect(await both()).toEqual(["MISS", "MISS"]);
      at(161);
      expect(await both()).toEqual(["HIT", "HIT"]);
      at(162.5);
      expect(await both()).toEqual(["MISS", "MISS"]);
      // Raised again: an entry stored under 60 s is not kept past it (its TTL is the one it was stored under).
      await Tenant.updateOne({ _id: acmeId }, { $set: { cacheTTL: 3_600, apiCacheTTL: 3_600 } });
      await sleep(CONFIG_SETTLES_MS);
      at(164);
      expect(await both()).toEqual(["HIT", "HIT"]);
      at(223);
      expect(await both()).toEqual(["MISS", "MISS"]);
      at(1_000);
      expect(await both()).toEqual(["HIT", "HIT"]);
      expect(fetched().map((n, i) => n - before[i])).toEqual([4, 4]);
    } finally {
      vi.useRealTimers();
      await Tenant.updateOne({ _id: acmeId }, { $set: { cacheTTL: 3_600, apiCacheTTL: 30 } });
      await sleep(CONFIG_SETTLES_MS);
    }
  });
});

describe("the API proxy", () => {
  const apiRequests = () => origin.seen.filter((r) => r.url.startsWith("/api/"));
  const leaked = (res: { headers: Record<string, unknown>; text: string }) => JSON.stringify(res.headers).includes(TOKEN) || res.text.includes(TOKEN);

  it("injects the token on a miss only, strips /~api, sorts the query and rewrites the provider's asset URLs", async () => {
    const before = apiRequests().length;
    const miss = await get("/~api/entries?locale=en&content_type=post");
    expect({ status: miss.status, headers: pick(miss.headers, ["content-type", "x-cache", "x-parsed", "set-cookie"]) }).toEqual({
      status: 200,
      headers: { "content-type": "application/json; charset=utf-8", "x-cache": "MISS", "x-parsed": "1" },
    });
    const edgeBase = `http://acme.localhost:${port}`;
    expect(JSON.parse(miss.text)).toEqual({
      query: "?content_type=post&locale=en",
      items: [
        { title: "Hero", image: `${edgeBase}/img.png?w=300` },
        { title: "Clip", video: `${edgeBase}/clip.mp4`, other: "https://elsewhere.example/x.png" },
      ],
    });
    const sent = apiRequests().slice(before);
    expect(sent.map((r) => [r.url, r.headers.authorization])).toEqual([["/api/entries?content_type=post&locale=en", `Bearer ${TOKEN}`]]);

    const hit = await get("/~api/entries?content_type=post&locale=en");
    expect([hit.status, hit.headers["x-cache"], hit.headers["x-parsed"], hit.text]).toEqual([200, "HIT", "1", miss.text]);
    expect(apiRequests().length).toBe(before + 1);
    expect(leaked(miss) || leaked(hit)).toBe(false);

    // By path on the bare host, the rewritten addresses are the path-based ones.
    const byPath = await get("/acme/~api/entries?content_type=post&locale=en", { host: `localhost:${port}` });
    expect((JSON.parse(byPath.text) as { items: Array<{ image?: string }> }).items[0].image).toBe(`http://localhost:${port}/acme/img.png?w=300`);
  });

  it("keeps a rewritten answer under the provider settings it was rewritten with: a changed one is a miss, rewritten anew", async () => {
    const path = "/~api/entries?content_type=post&locale=en";
    const edgeBase = `http://acme.localhost:${port}`;
    await get(path);
    expect((await get(path)).headers["x-cache"]).toBe("HIT");
    // The video origin moves: the clip's address on the old one is no longer the tenant's asset, so it is left alone.
    await Tenant.updateOne({ _id: acmeId }, { $set: { videoOrigin: `${origin.base}/films` } });
    await sleep(CONFIG_SETTLES_MS);
    try {
      const moved = await get(path);
      expect([moved.status, moved.headers["x-cache"], moved.headers["x-parsed"]]).toEqual([200, "MISS", "1"]);
      expect((JSON.parse(moved.text) as { items: unknown[] }).items).toEqual([
        { title: "Hero", image: `${edgeBase}/img.png?w=300` },
        { title: "Clip", video: `${origin.base}/video/clip.mp4`, other: "https://elsewhere.example/x.png" },
      ]);
    } finally {
      await Tenant.updateOne({ _id: acmeId }, { $set: { videoOrigin: `${origin.base}/video` } });
      await sleep(CONFIG_SETTLES_MS);
    }
    // Back to the old setting: the answer rewritten with it is still kept.
    expect((await get(path)).headers["x-cache"]).toBe("HIT");
  });

  it("neither reads nor stores a preview answer: the same query without the parameter is still a miss", async () => {
    const before = apiRequests().length;
    const preview = await get("/~api/entries?only=preview&preview=1");
    expect([preview.status, preview.headers["x-cache"]]).toEqual([200, "BYPASS"]);
    const plainAnswer = await get("/~api/entries?only=preview");
    expect([plainAnswer.status, plainAnswer.headers["x-cache"]]).toEqual([200, "MISS"]);
    expect(apiRequests().length).toBe(before + 2);
  });

  it("bypasses the cache for preview requests, without forwarding the bypass parameter", async () => {
    const before = apiRequests().length;
    const preview = await get("/~api/entries?locale=en&content_type=post&preview=1");
    expect([preview.status, preview.headers["x-cache"], (JSON.parse(preview.text) as { query: string }).query]).toEqual([
      200,
      "BYPASS",
      "?content_type=post&locale=en",
    ]);
    const again = await get("/~api/entries?preview=true&content_type=post&locale=en");
    expect(again.headers["x-cache"]).toBe("BYPASS");
    expect(apiRequests().slice(before).map((r) => [r.url, r.headers.authorization])).toEqual([
      ["/api/entries?content_type=post&locale=en", `Bearer ${TOKEN}`],
      ["/api/entries?content_type=post&locale=en", `Bearer ${TOKEN}`],
    ]);
    // The cached entry is untouched by the bypasses.
    expect((await get("/~api/entries?content_type=post&locale=en")).headers["x-cache"]).toBe("HIT");

    await Tenant.updateOne({ _id: acmeId }, { $set: { previewBypassParam: "draft" } });
    await sleep(CONFIG_SETTLES_MS);
    const draft = await get("/~api/entries?content_type=post&locale=en&draft");
    expect(draft.headers["x-cache"]).toBe("BYPASS");
    expect((await get("/~api/entries?content_type=post&locale=en")).headers["x-cache"]).toBe("HIT");
  });

  it("forwards the query as the client spelled it (encoding, bare flags), sorted by name, one cache entry for every order", async () => {
    const before = apiRequests().length;
    const first = await get("/~api/entries?z=1&q=hello%20world+again&fields.tags[in]=a,b&flag&a=2&a=1");
    expect([first.status, first.headers["x-cache"]]).toEqual([200, "MISS"]);
    const second = await get("/~api/entries?a=2&a=1&flag&fields.tags[in]=a,b&q=hello%20world+again&z=1");
    expect([second.status, second.headers["x-cache"], second.text]).toEqual([200, "HIT", first.text]);
    // Parameters of one name keep their order; everything else as sent.
    expect(apiRequests().slice(before).map((r) => r.url)).toEqual(["/api/entries?a=2&a=1&fields.tags[in]=a,b&flag&q=hello%20world+again&z=1"]);
    // The bypass parameter (here `draft`, set above) is known by its decoded name, however it is spelled.
    const spelled = await get("/~api/entries?b=1&dr%61ft=1");
    expect([spelled.status, spelled.headers["x-cache"]]).toEqual([200, "BYPASS"]);
    expect(apiRequests().slice(before + 1).map((r) => r.url)).toEqual(["/api/entries?b=1"]);
  });

  it("follows the auth mode, header and API cache version within a second", async () => {
    await Tenant.updateOne({ _id: acmeId }, { $set: { apiAuthMode: "token", apiTokenHeader: "X-Api-Key" } });
    await sleep(CONFIG_SETTLES_MS);
    const before = apiRequests().length;
    const res = await get("/~api/entries?content_type=post&locale=en");
    expect([res.status, res.headers["x-cache"]]).toEqual([200, "MISS"]);
    const sent = apiRequests().slice(before);
    expect(sent.map((r) => [r.headers["x-api-key"], r.headers.authorization])).toEqual([[`Token ${TOKEN}`, undefined]]);

    await Tenant.updateOne({ _id: acmeId }, { $set: { apiAuthMode: "none" } });
    await sleep(CONFIG_SETTLES_MS);
    const none = await get("/~api/entries?content_type=post&locale=en");
    expect([none.status, none.headers["x-cache"], none.text]).toEqual([401, "MISS", '{"error":"unauthorized"}']);
    expect((await get("/~api/entries?content_type=post&locale=en")).headers["x-cache"]).toBe("MISS");

    // Basic: the token as the credentials (this origin wants Bearer or Token, so it refuses; the 401 is not kept).
    await Tenant.updateOne({ _id: acmeId }, { $set: { apiAuthMode: "basic", apiTokenHeader: "Authorization" } });
    await sleep(CONFIG_SETTLES_MS);
    const basicFrom = apiRequests().length;
    const basic = await get("/~api/entries?content_type=post&locale=en");
    expect([basic.status, basic.headers["x-cache"]]).toEqual([401, "MISS"]);
    expect(apiRequests().slice(basicFrom).map((r) => [r.headers.authorization, r.headers["x-api-key"]])).toEqual([[`Basic ${TOKEN}`, undefined]]);

    await Tenant.updateOne({ _id: acmeId }, { $set: { apiAuthMode: "bearer", apiTokenHeader: "Authorization" } });
    await sleep(CONFIG_SETTLES_MS);
    expect((await get("/~api/entries?content_type=post&locale=en")).headers["x-cache"]).toBe("HIT");
    await Tenant.updateOne({ _id: acmeId }, { $inc: { "cacheVersions.api": 1 } });
    await sleep(CONFIG_SETTLES_MS);
    expect((await get("/~api/entries?content_type=post&locale=en")).headers["x-cache"]).toBe("MISS");
  });

  it("passes a JSON body over the parse cap through unrewritten with X-Parsed: 0, and leaves rewriting off when asked", async () => {
    const large = await get("/~api/large");
    expect([large.status, large.headers["x-parsed"], large.headers["x-cache"]]).toEqual([200, "0", "MISS"]);
    // The origin's very bytes.
    expect(large.text).toBe(JSON.stringify({ items: Array.from({ length: 100 }, (_, i) => ({ i, image: `${origin.base}/media/img.png` })) }));

    await Tenant.updateOne({ _id: acmeId }, { $set: { transformApiUrls: false } });
    await sleep(CONFIG_SETTLES_MS);
    const plain = await get("/~api/entries?x=1");
    expect([plain.status, plain.headers["x-parsed"]]).toEqual([200, undefined]);
    expect((JSON.parse(plain.text) as { items: Array<{ image?: string }> }).items[0].image).toBe(`${origin.base}/media/img.png?w=300`);
    await Tenant.updateOne({ _id: acmeId }, { $set: { transformApiUrls: true } });
    await sleep(CONFIG_SETTLES_MS);
  });

  it("gives a rewritten body validators of its own, so that turning rewriting on or off is never answered 304", async () => {
    const ask = (etag?: string) => get("/~api/versioned", { headers: etag ? { "if-none-match": etag } : {} });
    const rewritten = await ask();
    const image = (res: { text: string }) => (JSON.parse(res.text) as { image: string }).image;
    expect([rewritten.status, rewritten.headers["x-parsed"], image(rewritten), rewritten.headers["last-modified"]]).toEqual([
      200,
      "1",
      `http://acme.localhost:${port}/img.png`,
      undefined,
    ]);
    const tag = rewritten.headers.etag as string;
    expect(tag).toMatch(/^W\/"entries-v1\.rw-[\w-]{12}"$/);
    // Its own tag revalidates it; the origin's (a client's copy from before rewriting was on) does not.
    expect((await ask(tag)).status).toBe(304);
    const fromBefore = await ask('"entries-v1"');
    expect([fromBefore.status, image(fromBefore)]).toEqual([200, `http://acme.localhost:${port}/img.png`]);
    // Another edge address is another rewriting, and another tag.
    const byPath = await get("/acme/~api/versioned", { host: `localhost:${port}`, headers: { "if-none-match": tag } });
    expect([byPath.status, image(byPath)]).toEqual([200, `http://localhost:${port}/acme/img.png`]);
    expect(byPath.headers.etag).not.toBe(tag);

    await Tenant.updateOne({ _id: acmeId }, { $set: { transformApiUrls: false } });
    await sleep(CONFIG_SETTLES_MS);
    try {
      const asIs = await ask(tag);
      expect([asIs.status, asIs.headers.etag, asIs.headers["last-modified"], image(asIs)]).toEqual([
        200,
        '"entries-v1"',
        "Tue, 01 Sep 2026 10:00:00 GMT",
        `${origin.base}/media/img.png`,
      ]);
      expect((await ask('"entries-v1"')).status).toBe(304);
    } finally {
      await Tenant.updateOne({ _id: acmeId }, { $set: { transformApiUrls: true } });
      await sleep(CONFIG_SETTLES_MS);
    }
  });

  it("never lets the token reach a client: echoed headers are dropped and origin errors are replaced", async () => {
    const echo = await get("/~api/echo");
    expect([echo.status, echo.headers["x-debug-auth"], echo.text]).toEqual([200, undefined, '{"ok":true}']);
    const broken = await get("/~api/broken");
    expect([broken.status, broken.headers["x-cache"], broken.text]).toEqual([502, "ERROR", "The origin answered with an error (500).\n"]);
    expect(leaked(echo) || leaked(broken)).toBe(false);
  });

  it("masks the token out of an API's body, kept or streamed, 2xx or not, and after decoding it, keeping the body's length", async () => {
    const stars = "*".repeat(TOKEN.length);
    // (The test before turned rewriting back on.)
    await sleep(CONFIG_SETTLES_MS);
    const echo = await get("/~api/echo-body");
    const body = JSON.stringify({ seen: `Bearer ${stars}`, again: `[Bearer ${stars}]` });
    expect([echo.status, echo.headers["x-cache"], echo.headers["content-length"], echo.text]).toEqual([200, "MISS", String(body.length), body]);
    const hit = await get("/~api/echo-body");
    expect([hit.status, hit.headers["x-cache"], hit.text]).toEqual([200, "HIT", body]);

    const denied = await get("/~api/denied");
    expect([denied.status, denied.headers["x-cache"], denied.text]).toEqual([403, "MISS", JSON.stringify({ error: `token ${stars} may not read this` })]);

    // Over the size cap (64 KB here): streamed, the token arriving in two pieces each time, its declared length kept.
    const huge = await get("/~api/huge-echo");
    const parts = Array.from({ length: 5 }, (_, i) => `{"n":${i},"pad":"${"x".repeat(20_000)}","auth":"Bearer ${stars}"}`);
    expect([huge.status, huge.headers["x-cache"], huge.headers["x-parsed"], huge.headers["content-length"]]).toEqual([200, "MISS", "0", String(huge.body.length)]);
    expect(huge.text === `[${parts.join(",")}]`).toBe(true);

    // Sent gzipped although asked for as is: decoded, then rewritten and masked.
    const gz = await get("/~api/entries-gzip");
    expect({ status: gz.status, headers: pick(gz.headers, ["content-encoding", "content-length", "x-parsed", "x-cache"]) }).toEqual({
      status: 200,
      headers: { "content-length": String(gz.body.length), "x-parsed": "1", "x-cache": "MISS" },
    });
    expect(JSON.parse(gz.text)).toEqual({ image: `http://acme.localhost:${port}/img.png`, seen: `Bearer ${stars}` });
    expect([echo, hit, denied, huge, gz].some(leaked)).toBe(false);
  });

  it("serves a byte range of an API answer (miss, hit and preview bypass) as its Accept-Ranges says, cut from the rewritten body", async () => {
    const whole = await get("/~api/entries?ranged=1");
    expect([whole.status, whole.headers["accept-ranges"], whole.headers["x-cache"]]).toEqual([200, "bytes", "MISS"]);
    const size = whole.body.length;
    const part = (res: { status: number; headers: Record<string, unknown>; body: Buffer }) => [res.status, res.headers["content-range"], res.body.toString()];
    const missed = await get("/~api/entries?ranged=2", { headers: { range: "bytes=0-9" } });
    expect(part(missed)).toEqual([206, `bytes 0-9/${size}`, whole.body.subarray(0, 10).toString()]);
    const hit = await get("/~api/entries?ranged=1", { headers: { range: "bytes=-5" } });
    expect([...part(hit), hit.headers["x-cache"]]).toEqual([206, `bytes ${size - 5}-${size - 1}/${size}`, whole.body.subarray(size - 5).toString(), "HIT"]);
    const param = (await Tenant.findById(acmeId).lean())?.previewBypassParam ?? "preview";
    const bypass = await get(`/~api/entries?ranged=1&${param}=1`, { headers: { range: "bytes=2-3" } });
    expect([...part(bypass), bypass.headers["x-cache"]]).toEqual([206, `bytes 2-3/${size}`, whole.body.subarray(2, 4).toString(), "BYPASS"]);
    // A range resumed with If-Range gets the whole answer: the edge's rewritten bodies carry the origin's validators.
    const resumed = await get("/~api/entries?ranged=1", { headers: { range: "bytes=0-9", "if-range": String(whole.headers.etag ?? "Tue, 01 Sep 2026 10:00:00 GMT") } });
    expect([resumed.status, resumed.headers["content-range"], resumed.body.equals(whole.body)]).toEqual([200, undefined, true]);
    // The origin is never asked for a range.
    expect(origin.seen.filter((r) => r.url.startsWith("/api/entries?ranged")).map((r) => r.headers.range)).toEqual([undefined, undefined, undefined]);
  });

  it("applies the asset rules to the API too: one origin request for concurrent misses, errors never kept, GET and HEAD only, no client credentials", async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, () => get("/~api/wait")));
    // (A request a slow machine sends after the origin's answer came is a hit of it.)
    expect(answers.map((a) => `${a.status} ${a.headers["x-cache"] === "HIT" ? "MISS" : a.headers["x-cache"]} ${a.text}`)).toEqual(
      Array(30).fill('200 MISS {"waited":true}'),
    );
    expect(origin.count("/api/wait")).toBe(1);
    expect((await get("/~api/wait")).headers["x-cache"]).toBe("HIT");

    const brokenBefore = origin.count("/api/broken");
    for (let i = 0; i < 2; i++) expect((await get("/~api/broken")).headers["x-cache"]).toBe("ERROR");
    expect(origin.count("/api/broken")).toBe(brokenBefore + 2);

    const post = await get("/~api/entries", { method: "POST" });
    expect([post.status, post.headers.allow, post.headers["x-cache"]]).toEqual([405, "GET, HEAD", "BYPASS"]);

    const from = apiRequests().length;
    const withCredentials = await get("/~api/entries?client=creds", { headers: { authorization: "Bearer client-token", cookie: "session=client" } });
    expect([withCredentials.status, withCredentials.headers["x-cache"]]).toEqual([200, "MISS"]);
    const sent = apiRequests().slice(from);
    expect(sent.map((r) => [r.headers.authorization, r.headers.cookie])).toEqual([[`Bearer ${TOKEN}`, undefined]]);
  });

  it("answers HEAD as GET without the body, a miss asking the origin with GET (token and all) and filling the cache", async () => {
    const before = apiRequests().length;
    const head = await get("/~api/entries?via=head", { method: "HEAD" });
    const getHit = await get("/~api/entries?via=head");
    expect([head.status, head.headers["x-cache"], head.headers["x-parsed"], head.body.length]).toEqual([200, "MISS", "1", 0]);
    expect([getHit.status, getHit.headers["x-cache"], head.headers["content-length"]]).toEqual([200, "HIT", String(getHit.body.length)]);
    expect(apiRequests().slice(before).map((r) => [r.method, r.url, r.headers.authorization])).toEqual([["GET", "/api/entries?via=head", `Bearer ${TOKEN}`]]);
    const headHit = await get("/~api/entries?via=head", { method: "HEAD" });
    expect([headHit.status, headHit.headers["x-cache"], headHit.headers["content-length"], headHit.body.length]).toEqual([200, "HIT", String(getHit.body.length), 0]);
    expect(apiRequests().length).toBe(before + 1);
  });

  it("answers 404 for a tenant without an API origin, without contacting anything or counting it", async () => {
    await Tenant.create(tenant("noapi", new Types.ObjectId(), { apiOrigin: null, billingSubject: "user:noapi" }));
    const seen = origin.seen.length;
    const res = await get("/~api/entries", { host: `noapi.localhost:${port}` });
    expect([res.status, res.headers["x-cache"], res.text]).toEqual([404, "BYPASS", "The API proxy is not set up for this tenant.\n"]);
    expect(origin.seen.length).toBe(seen);
    expect(edge.deps.recorder.unwritten("user:noapi", new Date(0))).toEqual({ requests: 0, bytes: 0 });
  });
});

describe("custom domains at the edge", () => {
  it("serves a tenant on its custom domain once it is active (within a second), rewriting to it, and stops within a second of the domain failing, being removed, or the tenant's deletion", async () => {
    const omegaId = new Types.ObjectId();
    await Tenant.create([tenant("omega", omegaId, { websiteDomain: null })]);
    await Domain.create({ tenant: omegaId, hostname: "assets.omega.example", token: "t-omega", status: "pending" });
    const at = (path: string) => get(path, { host: "assets.omega.example" });
    const noTenant = [404, "BYPASS", "No tenant is served at this address.\n"];
    const answer = (r: Awaited<ReturnType<typeof get>>) => [r.status, r.headers["x-cache"], r.text];
    const image = (r: Awaited<ReturnType<typeof get>>) => [r.status, r.headers["x-cache"], r.body.equals(IMAGE)];
    expect(answer(await at("/img.png"))).toEqual(noTenant);

    await Domain.updateOne({ hostname: "assets.omega.example" }, { $set: { status: "active" } });
    await sleep(CONFIG_SETTLES_MS);
    const served = await at("/img.png");
    expect([served.status, served.headers["x-cache"], served.body.equals(IMAGE)]).toEqual([200, "MISS", true]);
    const api = await at("/~api/entries?via=domain");
    expect((JSON.parse(api.text) as { items: Array<{ image?: string }> }).items[0].image).toBe("http://assets.omega.example/img.png?w=300");

    // A domain no longer verified (its record gone) is not served, nor one removed; the tenant's own address still is.
    await Domain.updateOne({ hostname: "assets.omega.example" }, { $set: { status: "failed" } });
    await sleep(CONFIG_SETTLES_MS);
    expect(answer(await at("/img.png"))).toEqual(noTenant);
    await Domain.updateOne({ hostname: "assets.omega.example" }, { $set: { status: "active" } });
    await sleep(CONFIG_SETTLES_MS);
    expect(image(await at("/img.png"))).toEqual([200, "HIT", true]);
    await Domain.deleteOne({ hostname: "assets.omega.example" });
    await sleep(CONFIG_SETTLES_MS);
    expect(answer(await at("/img.png"))).toEqual(noTenant);
    expect(image(await get("/img.png", { host: `omega.localhost:${port}` }))).toEqual([200, "HIT", true]);
    await Domain.create({ tenant: omegaId, hostname: "assets.omega.example", token: "t-omega", status: "active" });

    await Tenant.deleteOne({ _id: omegaId });
    await sleep(CONFIG_SETTLES_MS);
    expect(answer(await at("/img.png"))).toEqual(noTenant);
    expect(answer(await get("/img.png", { host: `omega.localhost:${port}` }))).toEqual(noTenant);
  });
});

describe("an edge's settings", () => {
  it("follows its own bot list and keeps no more than its cache size", async () => {
    const { edge: small, port: smallPort } = await listeningEdge({ cacheBytes: 25 * 1024, maxObjectBytes: 16 * 1024, blockedBots: ["examplebot"] });
    const at = (path: string, headers: Record<string, string> = {}) => edgeRequest(smallPort, `acme.localhost:${smallPort}`, path, { headers });
    try {
      const bot = await at("/img.png?s=0", { "user-agent": "ExampleBot/2.1" });
      expect([bot.status, bot.headers["x-cache"], bot.text]).toEqual([403, "BYPASS", "Forbidden.\n"]);
      // Not on its list: served.
      expect((await at("/img.png?s=0", { "user-agent": "AhrefsBot/7.0" })).status).toBe(200);
      // Three 10 KB objects in a 25 KB cache: the least recently used one goes.
      for (const n of [1, 2, 3]) expect((await at(`/img.png?s=${n}`)).headers["x-cache"]).toBe("MISS");
      expect((await at("/img.png?s=3")).headers["x-cache"]).toBe("HIT");
      expect((await at("/img.png?s=1")).headers["x-cache"]).toBe("MISS");
    } finally {
      await small.close();
    }
  });
});

describe("tenants side by side", () => {
  it("keeps each tenant's answers apart, even for the same origin URLs, token stamp and settings", async () => {
    const [gammaId, deltaId] = [new Types.ObjectId(), new Types.ObjectId()];
    await Tenant.create([
      tenant("gamma", gammaId, { transformApiUrls: false, websiteDomain: null }),
      { ...tenant("delta", deltaId, { transformApiUrls: false, websiteDomain: null }), apiToken: encryptToken("not-the-token", deltaId.toHexString()) },
    ]);
    const as = (slug: string, path: string) => edgeRequest(port, `${slug}.localhost:${port}`, path);
    const api = (r: Awaited<ReturnType<typeof as>>) => [r.status, r.headers["x-cache"]];
    expect(api(await as("gamma", "/~api/entries?side=by-side"))).toEqual([200, "MISS"]);
    expect(api(await as("gamma", "/~api/entries?side=by-side"))).toEqual([200, "HIT"]);
    // The same API URL with another tenant's token: its own request, which the origin refuses.
    expect(api(await as("delta", "/~api/entries?side=by-side"))).toEqual([401, "MISS"]);
    const seen = origin.count("/media/img.png");
    expect(api(await as("gamma", "/img.png?side=by-side"))).toEqual([200, "MISS"]);
    expect(api(await as("delta", "/img.png?side=by-side"))).toEqual([200, "MISS"]);
    expect(api(await as("delta", "/img.png?side=by-side"))).toEqual([200, "HIT"]);
    expect(origin.count("/media/img.png")).toBe(seen + 2);
  });
});

describe("quotas at the edge", () => {
  it("answers 429 with Retry-After to a free subject past its monthly requests until the 1st; pro keeps serving", async () => {
    const freeId = new Types.ObjectId();
    const proId = new Types.ObjectId();
    await Tenant.create([
      tenant("freebie", freeId, { ownerId: "u2", billingSubject: "user:u2" }),
      tenant("propaid", proId, { ownerId: "u3", billingSubject: "user:u3" }),
    ]);
    await Account.create({ subject: "user:u3", plan: "pro" });
    const day = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1));
    for (const [id, slug, subject] of [
      [freeId, "freebie", "user:u2"],
      [proId, "propaid", "user:u3"],
    ] as const) {
      await DailyUsage.create({ tenant: id, slug, billingSubject: subject, ownerId: "x", day, requests: 500_000, bytes: 1 });
    }
    const refused = await get("/img.png", { host: `freebie.localhost:${port}` });
    const now = new Date();
    const reset = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    expect([refused.status, refused.headers["x-cache"], refused.headers["content-type"], refused.text]).toEqual([
      429,
      "BYPASS",
      "text/plain; charset=utf-8",
      `Monthly requests quota of the free plan used up; service resumes ${reset.toISOString()}.\n`,
    ]);
    const retryAfter = Number(refused.headers["retry-after"]);
    expect(Math.abs(retryAfter - (reset.getTime() - now.getTime()) / 1000)).toBeLessThan(5);
    expect((await get("/~api/entries", { host: `freebie.localhost:${port}` })).status).toBe(429);
    const paid = await get("/img.png", { host: `propaid.localhost:${port}` });
    expect([paid.status, paid.body.equals(IMAGE)]).toEqual([200, true]);
    // A refusal is not usage; what is served is.
    expect(edge.deps.recorder.unwritten("user:u2", new Date(0))).toEqual({ requests: 0, bytes: 0 });
    expect(edge.deps.recorder.unwritten("user:u3", new Date(0))).toEqual({ requests: 1, bytes: IMAGE.length });
  });

  it("counts the bytes of downloads still in progress: a free subject whose streams took it past its bandwidth starts no more", async () => {
    const id = new Types.ObjectId();
    await Tenant.create(tenant("streamer", id, { ownerId: "u4", billingSubject: "user:u4" }));
    const day = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1));
    // A megabyte of the free plan's bandwidth left.
    await DailyUsage.create({ tenant: id, slug: "streamer", billingSubject: "user:u4", ownerId: "x", day, requests: 1, bytes: PLANS.free.bandwidthBytes - 1_000_000 });
    const { edge: e, port: p } = await listeningEdge({ maxObjectBytes: 64 * 1024 });
    const host = `streamer.localhost:${p}`;
    // A video too big to cache, streamed: 2 MB read, then the client stays, reading nothing more.
    const { socket, get, received } = stoppingReader(p, 2_000_000);
    try {
      expect((await edgeRequest(p, host, "/img.png")).status).toBe(200);
      get(host, "/endless.mp4");
      await expect.poll(received, { timeout: 10_000 }).toBeGreaterThan(2_000_000);
      // The download is not over (not recorded yet), but what it sent counts: nothing more starts.
      expect(e.deps.recorder.pendingRequests()).toBe(1);
      const refused = await edgeRequest(p, host, "/img.png");
      expect([refused.status, refused.text]).toEqual([429, expect.stringMatching(/^Monthly bandwidth quota of the free plan used up; service resumes /)]);
    } finally {
      socket.destroy();
      await e.close(0);
    }
    // Once it ended, its bytes are counted once: in its recorded request, not also as in progress.
    const logs = (await storedLogs(id)).filter((l) => l.path === "/endless.mp4");
    expect(logs).toHaveLength(1);
    expect(e.deps.recorder.unwritten("user:u4", new Date(0))).toEqual({ requests: 0, bytes: 0 });
  });
});
