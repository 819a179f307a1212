// What the edge does to an origin's body before keeping or sending it: the API token masked out of it however the body
// is cut into chunks, and an encoded body decoded (or refused).
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodedBody, TokenMask, undecodable } from "#edge/origin-body.ts";

const TOKEN = "sk_live_AbC123";
const STARS = "*".repeat(TOKEN.length);

/** `body` pushed through a mask in chunks cut at `cuts`, and what came out. */
function throughMask(body: string, cuts: number[]): string {
  const mask = new TokenMask(TOKEN);
  const bytes = Buffer.from(body);
  const out: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(...mask.push(bytes.subarray(at, cut)));
    at = cut;
  }
  out.push(mask.end());
  return Buffer.concat(out).toString();
}

describe("the token mask", () => {
  const body = `{"a":"${TOKEN}","b":"Bearer ${TOKEN}","c":"${TOKEN}${TOKEN}","d":"sk_live_AbC12"}`;
  const masked = `{"a":"${STARS}","b":"Bearer ${STARS}","c":"${STARS}${STARS}","d":"sk_live_AbC12"}`;

  it("masks every occurrence of the token with as many asterisks, in a whole body and however it is cut", () => {
    expect(TokenMask.whole(Buffer.from(body), TOKEN).toString()).toBe(masked);
    // Every single cut, and cuts at every byte.
    for (let cut = 0; cut <= body.length; cut++) expect(throughMask(body, [cut])).toBe(masked);
    expect(throughMask(body, Array.from({ length: body.length }, (_, i) => i))).toBe(masked);
    // Random cuts.
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 200; round++) {
      const cuts = Array.from({ length: 1 + Math.floor(random() * 6) }, () => Math.floor(random() * body.length)).sort((a, b) => a - b);
      expect(throughMask(body, cuts)).toBe(masked);
    }
  });

  it("leaves a body without the token as it is (the same buffer when whole), and the origin's chunks unwritten", () => {
    const clean = Buffer.from(`{"token":"sk_live_AbC12 3"}`);
    expect(TokenMask.whole(clean, TOKEN)).toBe(clean);
    const chunk = Buffer.from(`x${TOKEN}y`);
    const copy = Buffer.from(chunk);
    expect(TokenMask.whole(chunk, TOKEN).toString()).toBe(`x${STARS}y`);
    expect(chunk.equals(copy)).toBe(true);
    // Chunks pushed, the token inside one and across the seam of two: what was pushed is left as it came.
    const pushed = [Buffer.from(`a${TOKEN}b${TOKEN.slice(0, 5)}`), Buffer.from(`${TOKEN.slice(5)}c`)];
    const before = pushed.map((b) => Buffer.from(b));
    const mask = new TokenMask(TOKEN);
    const out = Buffer.concat([...pushed.flatMap((b) => mask.push(b)), mask.end()]).toString();
    expect(out).toBe(`a${STARS}b${STARS}c`);
    expect(pushed.every((b, i) => b.equals(before[i]))).toBe(true);
    expect(throughMask("", [])).toBe("");
  });
});

describe("an encoded body", () => {
  const json = JSON.stringify({ hello: "world".repeat(100) });
  const origin = (headers: Record<string, string>, body: Buffer, status = 200) => ({ status, headers, body: Readable.from([body]) });

  it("is decoded as it is read (gzip, x-gzip, deflate wrapped or raw, br), also when empty or cut short", async () => {
    for (const [coding, encoded] of [
      ["gzip", zlib.gzipSync(json)],
      ["x-gzip", zlib.gzipSync(json)],
      [" GZIP ", zlib.gzipSync(json)],
      ["deflate", zlib.deflateSync(json)],
      ["deflate", zlib.deflateRawSync(json)],
      ["br", zlib.brotliCompressSync(json)],
    ] as const) {
      expect(await text(decodedBody(origin({ "content-encoding": coding }, encoded)) as Readable), coding).toBe(json);
      // One byte at a time: the deflate flavour is told from the first two bytes, however they come.
      const bytes = Readable.from(Array.from(encoded, (b) => Buffer.from([b])));
      expect(await text(decodedBody({ status: 200, headers: { "content-encoding": coding }, body: bytes }) as Readable), coding).toBe(json);
      // An empty body (chunked, no length) is an empty body, not a failure.
      expect(await text(decodedBody(origin({ "content-encoding": coding }, Buffer.alloc(0))) as Readable), coding).toBe("");
    }
    // Cut short: decoded as far as it goes, as browsers do.
    const cut = await text(decodedBody(origin({ "content-encoding": "gzip" }, zlib.gzipSync(json).subarray(0, 40))) as Readable);
    expect(json.startsWith(cut) && cut.length > 0).toBe(true);
  });

  it("is passed as it is when not encoded, or with no body to decode (204, 304)", () => {
    for (const [headers, status] of [
      [{}, 200],
      [{ "content-encoding": "identity" }, 200],
      [{ "content-encoding": "gzip" }, 204],
      [{ "content-encoding": "br" }, 304],
    ] as Array<[Record<string, string>, number]>) {
      const o = origin(headers, Buffer.from(json), status);
      expect(decodedBody(o)).toBe(o.body);
    }
  });

  it("is refused in an encoding the edge does not read, or partial; a corrupt one fails as it is read", async () => {
    for (const coding of ["compress", "zstd", "gzip, br"]) expect(decodedBody(origin({ "content-encoding": coding }, Buffer.from(json)))).toBeNull();
    expect(decodedBody(origin({ "content-encoding": "gzip" }, zlib.gzipSync(json), 206))).toBeNull();
    for (const coding of ["gzip", "deflate", "br"]) {
      const failure = await text(decodedBody(origin({ "content-encoding": coding }, Buffer.from("not encoded at all"))) as Readable).catch((err: unknown) => err);
      expect(undecodable(failure)).toBe(true);
    }
    expect(undecodable(Object.assign(new Error("x"), { code: "ECONNRESET" }))).toBe(false);
  });
});
