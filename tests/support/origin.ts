// A real HTTP origin on loopback for the edge's tests: a CMS asset store (images, a video with Range support, a large
// file, failing and slow answers) and a read-only JSON API that checks the auth header the edge injects. It records
// every request it receives.
import { spawn } from "node:child_process";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import zlib from "node:zlib";

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface TestOrigin {
  base: string;
  /** Streamed responses the origin saw cut off before their end (the edge let go of them). */
  cutOff: number;
  port: number;
  seen: SeenRequest[];
  /** Requests received for a path (query ignored). */
  count(path: string): number;
  /** How many requests for /media/halves*.bin wait for one another before their second halves are sent (1: none wait). */
  halvesTogether: number;
  /** Sends the second halves of the requests for /media/halves*.bin waiting now. */
  releaseHalves(): void;
  /** The API token the JSON API accepts (as `Bearer <token>` in Authorization, or `Token <token>` in X-Api-Key). */
  token: string;
  close(): Promise<void>;
}

/** Bytes that do not compress (a fixed pseudo-random sequence). */
export function noiseOf(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  // xorshift32
  let x = seed | 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** 200 KB that decode from 60 KB of gzip: 140 KB of one repeated pattern, then 60 KB of noise. */
export const NOISE = Buffer.concat([bytesOf(140_000, 5), noiseOf(60_000)]);
const NOISE_GZIP = zlib.gzipSync(NOISE);
/** The same with 1 KB of garbage 40 KB into its gzipped bytes (where the noise is). */
const BROKEN_GZIP = Buffer.concat([NOISE_GZIP.subarray(0, 40_000), Buffer.alloc(1024, 0xff), NOISE_GZIP.subarray(41_024)]);
export const GZIP_RANGED = bytesOf(30_000, 6);

/** Bytes in an HTTP content coding. */
export function encode(coding: string, body: Buffer | string): Buffer {
  if (coding === "br") return zlib.brotliCompressSync(body);
  if (coding === "deflate") return zlib.deflateSync(body);
  return zlib.gzipSync(body);
}

/** Deterministic bytes of a given size. */
export function bytesOf(size: number, seed = 7): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

export const IMAGE = bytesOf(10_240, 1);
export const VIDEO = bytesOf(50_000, 2);
export const LARGE_PDF = bytesOf(200_000, 3);
/** Larger than the edge's object cap in the tests (64 KB). */
export const LONG_VIDEO = bytesOf(300_000, 4);

export async function startOrigin(token = "tok-secret-123"): Promise<TestOrigin> {
  const seen: SeenRequest[] = [];
  let cutOff = 0;
  const halvesWaiting: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const url = new URL(req.url ?? "/", "http://origin");
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const send = (status: number, headers: Record<string, string | string[]>, body: Buffer | string = "") => {
      res.writeHead(status, headers);
      res.end(req.method === "HEAD" ? undefined : body);
    };
    /** Answers a request for one range of `body` (`bytes=a-b` or `bytes=a-`) with 206; false when none was asked. */
    const sendRange = (body: Buffer, headers: Record<string, string>): boolean => {
      const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ""));
      if (!range) return false;
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      send(206, { ...headers, "content-range": `bytes ${start}-${end}/${body.length}` }, body.subarray(start, end + 1));
      return true;
    };
    /** A video/mp4 of `count` 16 KB chunks, the first at once and one every `everyMs` after, without a length. */
    const sendChunks = (count: number, everyMs: number) => {
      res.writeHead(200, { "content-type": "video/mp4" });
      let sent = 0;
      const next = () => {
        res.write(bytesOf(16_384, sent));
        if (++sent === count) {
          clearInterval(timer);
          res.end();
        }
      };
      const timer = setInterval(next, everyMs);
      next();
      res.on("close", () => {
        clearInterval(timer);
        if (!res.writableFinished) cutOff++;
      });
    };
    switch (url.pathname) {
      case "/media/img.png":
        return send(200, { "content-type": "image/png", etag: '"img-v1"', "cache-control": "public, max-age=31536000" }, IMAGE);
      case "/media/weak.png":
        return send(200, { "content-type": "image/png", etag: 'W/"weak-1"', "last-modified": "Tue, 01 Sep 2026 10:00:00 GMT" }, IMAGE);
      case "/media/gone.png":
        return send(404, { "content-type": "text/html", etag: '"gone"' }, "<script>alert(document.domain)</script>");
      case "/media/moved.png":
        return send(301, { "content-type": "text/html", location: "https://elsewhere.example/new.png" }, '<a href="https://elsewhere.example/new.png">Moved</a>');
      case "/media/photo.jpg":
        return send(200, { "content-type": "image/jpeg" }, `jpeg for ${url.search}`);
      case "/media/referer.png":
        return send(200, { "content-type": "image/png" }, `referer=${req.headers.referer ?? ""}`);
      case "/media/page.html":
        return send(200, { "content-type": "text/html" }, "<h1>not an asset</h1>");
      case "/media/cookie.png":
        return send(
          200,
          {
            "content-type": "image/png",
            "set-cookie": ["a=1; Path=/", "b=2"],
            connection: "x-internal",
            "x-internal": "hop",
            "x-kept": "yes",
            "keep-alive": "timeout=99",
            "proxy-authenticate": "Basic",
            "proxy-connection": "keep-alive",
            te: "trailers",
            trailer: "x-checksum",
            upgrade: "h2c",
            // Policies an origin would set for the whole edge host (every tenant's on the bare host), or a prompt
            // for credentials the edge never forwards.
            "alt-svc": 'h3=":443"; ma=86400',
            "strict-transport-security": "max-age=31536000; includeSubDomains",
            "clear-site-data": '"cookies", "storage"',
            nel: '{"report_to":"cf-nel","max_age":604800}',
            "report-to": '{"group":"cf-nel","endpoints":[{"url":"https://a.nel.example/report"}]}',
            "reporting-endpoints": 'default="https://reports.example/"',
            refresh: "0; url=https://elsewhere.example/",
            "www-authenticate": 'Basic realm="origin"',
            "expect-ct": "max-age=86400, enforce",
          },
          "with cookies",
        );
      case "/media/big.pdf":
        return send(
          200,
          { "content-type": "application/pdf", "content-length": String(LARGE_PDF.length), etag: '"pdf-1"', "last-modified": "Tue, 01 Sep 2026 10:00:00 GMT" },
          LARGE_PDF,
        );
      case "/media/missing.png":
        return send(404, { "content-type": "text/plain" }, "no such file");
      case "/media/fail.png":
        return send(503, { "content-type": "text/plain" }, "origin overloaded: internal detail");
      case "/media/later.png":
      case "/media/slow.png":
        setTimeout(() => send(200, { "content-type": "image/png" }, "late"), 1_500).unref();
        return;
      case "/video/stream.mp4":
        // A long video sent in 16 KB chunks every 5 ms, without a length: the edge has to stream it.
        return sendChunks(128, 5);
      case "/video/endless.mp4": {
        // A video without a length that never ends, sent as fast as the edge takes it: a client that stops reading it
        // is all that holds it back.
        res.writeHead(200, { "content-type": "video/mp4" });
        const chunk = bytesOf(262_144, 1);
        let open = true;
        res.on("close", () => {
          open = false;
          if (!res.writableFinished) cutOff++;
        });
        const pump = () => {
          while (open && res.write(chunk));
          if (open) res.once("drain", pump);
        };
        pump();
        return;
      }
      case "/video/slow.mp4":
        // A video in 16 KB chunks every 300 ms (12 s in all), without a length: a download still running at shutdown.
        return sendChunks(40, 300);
      case "/media/halves.bin":
      case "/media/halves-unannounced.bin":
      case "/media/halves-ranged.bin": {
        // 60,000 bytes (announced, or not: /media/halves-unannounced.bin), the second half only once `halvesTogether` requests for it are waiting for theirs
        // (5 s at most): that many misses of it overlap however slowly they come. /media/halves-ranged.bin is not
        // announced either, and answers a request for one range at once.
        const body = bytesOf(60_000, Number(url.searchParams.get("n") ?? 7));
        if (url.pathname === "/media/halves-ranged.bin" && sendRange(body, { "content-type": "image/png" })) return;
        const announced = url.pathname === "/media/halves.bin";
        res.writeHead(200, { "content-type": "image/png", ...(announced ? { "content-length": String(body.length) } : {}) });
        res.write(body.subarray(0, 30_000));
        const finish = () => res.end(body.subarray(30_000));
        const timer = setTimeout(finish, 5_000);
        res.on("close", () => clearTimeout(timer));
        halvesWaiting.push(() => {
          clearTimeout(timer);
          finish();
        });
        if (halvesWaiting.length >= self.halvesTogether) for (const go of halvesWaiting.splice(0)) go();
        return;
      }
      case "/media/stall.png":
        // Headers and a first part, then nothing more.
        res.writeHead(200, { "content-type": "image/png", "content-length": "1000" });
        res.write(Buffer.alloc(100));
        return;
      case "/media/wait.png":
        setTimeout(() => send(200, { "content-type": "image/png" }, "waited"), 200).unref();
        return;
      case "/media/encoded.png": {
        // An origin that encodes its answer although asked for it as is (Accept-Encoding: identity).
        const enc = url.searchParams.get("enc") ?? "gzip";
        const body = enc === "compress" ? IMAGE : encode(enc, IMAGE);
        return send(200, { "content-type": "image/png", "content-encoding": enc, "content-length": String(body.length), etag: '"enc-1"' }, body);
      }
      case "/media/encoded-big.bin":
        // Over the edge's object cap once decoded (60 KB encoded, 200 KB decoded), and broken 40 KB into its encoded
        // bytes when asked (?broken=1): the edge is streaming it by then.
        return send(200, { "content-type": "image/png", "content-encoding": "gzip", etag: '"big-1"' }, url.searchParams.has("broken") ? BROKEN_GZIP : NOISE_GZIP);
      case "/media/empty-encoded.png":
        // Encoded, and empty (no length: chunked).
        res.writeHead(200, { "content-type": "image/png", "content-encoding": "gzip" });
        return void res.end();
      case "/media/gzip-ranged.bin": {
        // Always gzipped, and ranges answered of the gzipped bytes (as a store of pre-compressed files does).
        const encoded = encode("gzip", GZIP_RANGED);
        const headers = { "content-type": "image/png", "content-encoding": "gzip", "accept-ranges": "bytes" };
        if (!sendRange(encoded, headers)) send(200, headers, encoded);
        return;
      }
      case "/media/corrupt.png":
        return send(200, { "content-type": "image/png", "content-encoding": "gzip" }, "not gzip at all");
      case "/video/clip.mp4":
      case "/video/long.mp4": {
        const video = url.pathname === "/video/long.mp4" ? LONG_VIDEO : VIDEO;
        const headers = { "content-type": "video/mp4", "accept-ranges": "bytes" };
        if (!sendRange(video, headers)) send(200, headers, video);
        return;
      }
    }
    if (url.pathname.startsWith("/api/")) {
      const auth = req.headers.authorization ?? req.headers["x-api-key"];
      if (auth !== `Bearer ${token}` && auth !== `Token ${token}`) {
        return send(401, { "content-type": "application/json" }, JSON.stringify({ error: "unauthorized" }));
      }
      switch (url.pathname) {
        case "/api/entries":
          return send(
            200,
            { "content-type": "application/json; charset=utf-8", "set-cookie": "session=origin" },
            JSON.stringify({
              query: url.search,
              items: [
                { title: "Hero", image: `${base}/media/img.png?w=300` },
                { title: "Clip", video: `${base}/video/clip.mp4`, other: "https://elsewhere.example/x.png" },
              ],
            }),
          );
        case "/api/versioned":
          // An API answer with validators, holding a provider asset URL the edge may rewrite.
          return send(
            200,
            { "content-type": "application/json", etag: '"entries-v1"', "last-modified": "Tue, 01 Sep 2026 10:00:00 GMT" },
            JSON.stringify({ image: `${base}/media/img.png` }),
          );
        case "/api/large":
          return send(
            200,
            { "content-type": "application/json" },
            JSON.stringify({ items: Array.from({ length: 100 }, (_, i) => ({ i, image: `${base}/media/img.png` })) }),
          );
        case "/api/entries-gzip":
          // The API's JSON encoded although asked for as is, the credential echoed in it.
          return send(
            200,
            { "content-type": "application/json", "content-encoding": "gzip" },
            encode("gzip", JSON.stringify({ image: `${base}/media/img.png`, seen: String(auth) })),
          );
        case "/api/echo-body":
          // A careless origin that echoes the credential back in its body (twice).
          return send(200, { "content-type": "application/json" }, JSON.stringify({ seen: String(auth), again: `[${String(auth)}]` }));
        case "/api/denied":
          return send(403, { "content-type": "application/json" }, JSON.stringify({ error: `token ${token} may not read this` }));
        case "/api/huge-echo": {
          // JSON over the edge's size cap in the tests (64 KB), the token in it five times, each one split across two
          // writes 20 ms apart (the edge streams it, and sees the token arrive in pieces).
          const filler = "x".repeat(20_000);
          const parts = Array.from({ length: 5 }, (_, i) => `{"n":${i},"pad":"${filler}","auth":"${String(auth)}"}`);
          const body = Buffer.from(`[${parts.join(",")}]`);
          res.writeHead(200, { "content-type": "application/json", "content-length": String(body.length) });
          const cuts: number[] = [];
          for (let i = body.indexOf(token); i >= 0; i = body.indexOf(token, i + token.length)) cuts.push(i + Math.ceil(token.length / 2));
          void (async () => {
            let at = 0;
            for (const cut of cuts) {
              res.write(body.subarray(at, cut));
              at = cut;
              await new Promise((r) => setTimeout(r, 20));
            }
            res.end(body.subarray(at));
          })();
          return;
        }
        case "/api/echo":
          // A careless origin that echoes the credential back in a header.
          return send(200, { "content-type": "application/json", "x-debug-auth": String(auth) }, JSON.stringify({ ok: true }));
        case "/api/wait":
          // Answers after 300 ms, so that concurrent misses overlap.
          setTimeout(() => send(200, { "content-type": "application/json" }, JSON.stringify({ waited: true })), 300).unref();
          return;
        case "/api/page200":
          return send(200, { "content-type": "text/html; charset=utf-8" }, "<p>hi</p><script>alert(document.domain)</script>");
        case "/api/page":
          return send(404, { "content-type": "text/html; charset=utf-8" }, "<script>alert(document.domain)</script>");
        case "/api/broken":
          return send(500, { "content-type": "application/json" }, JSON.stringify({ error: "db down", token }));
      }
    }
    send(404, { "content-type": "text/plain" }, "not found");
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const self: TestOrigin = {
    base: `http://127.0.0.1:${port}`,
    halvesTogether: 1,
    releaseHalves: () => {
      for (const go of halvesWaiting.splice(0)) go();
    },
    get cutOff() {
      return cutOff;
    },
    port,
    seen,
    token,
    count: (path) => seen.filter((r) => r.url.split("?")[0] === path).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return self;
}

/**
 * An origin that never completes a connection: a listener in another process with an accept queue of one, stopped
 * (SIGSTOP) and its queue filled, so the kernel drops further connection attempts and a client's connect hangs until
 * its own timeout. All on loopback.
 */
export async function startUnconnectable(): Promise<{ base: string; close(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    ["-e", 'const s = require("node:net").createServer().listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => console.log(s.address().port));'],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
    child.once("exit", (code) => reject(new Error(`the listener exited (${code})`)));
  });
  child.kill("SIGSTOP");
  // The accept queue holds backlog + 1 connections: these fill it, and stay half-open.
  const fillers = Array.from({ length: 3 }, () => net.connect(port, "127.0.0.1").on("error", () => undefined));
  await new Promise((r) => setTimeout(r, 200));
  return {
    base: `http://127.0.0.1:${port}`,
    async close() {
      for (const s of fillers) s.destroy();
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    },
  };
}
