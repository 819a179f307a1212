// Origin requests are made only to public addresses, checked on the address the name resolves to at connect time.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { text } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OriginFetcher, OriginRefused } from "#edge/fetch.ts";

let server: http.Server;
let port = 0;
let hits = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits++;
    if (req.url === "/redirect") {
      res.writeHead(302, { location: "http://127.0.0.1/elsewhere" }).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/plain", "x-seen-auth": String(req.headers.authorization ?? "") }).end("origin body");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const options = { connectTimeoutMs: 2_000, headersTimeoutMs: 2_000, bodyTimeoutMs: 2_000 };

describe("OriginFetcher", () => {
  it("refuses a loopback address written in the URL and a plain-http origin when private origins are not allowed", async () => {
    const fetcher = new OriginFetcher({ ...options, allowPrivate: false });
    const before = hits;
    await expect(fetcher.get(`http://127.0.0.1:${port}/a`, {})).rejects.toBeInstanceOf(OriginRefused);
    await expect(fetcher.get(`https://127.0.0.1:${port}/a`, {})).rejects.toBeInstanceOf(OriginRefused);
    // "localhost" resolves (system resolver) to loopback only: refused at lookup, before any connection.
    await expect(fetcher.get(`https://localhost:${port}/a`, {})).rejects.toThrow(/private or reserved/);
    expect(hits).toBe(before);
    await fetcher.close();
  });

  it("fetches from a loopback origin when private origins are allowed, and does not follow redirects", async () => {
    const fetcher = new OriginFetcher({ ...options, allowPrivate: true });
    const ok = await fetcher.get(`http://127.0.0.1:${port}/a`, { authorization: "Bearer t" });
    expect(ok.status).toBe(200);
    expect(ok.headers["x-seen-auth"]).toBe("Bearer t");
    expect(await text(ok.body)).toBe("origin body");
    const before = hits;
    const redirect = await fetcher.get(`http://127.0.0.1:${port}/redirect`, {});
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toBe("http://127.0.0.1/elsewhere");
    await text(redirect.body);
    expect(hits).toBe(before + 1);
    await fetcher.close();
  });
});
