// What the edge does to an origin's body before anything of it is kept or sent: it decodes a body the origin encoded
// although it was asked for it as is, and it masks the API token out of an API's answer.
import { pipeline, type Readable, Transform, type TransformCallback } from "node:stream";
import zlib from "node:zlib";

// A body that ends early (or is empty) is decoded as far as it goes, as browsers do, rather than failing at its end.
const GZIP = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
const BROTLI = { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH };

/**
 * Deflate as servers send it: most wrap it in zlib's format (RFC 9110 says they should), some send it raw; which one
 * is read from the first two bytes, as browsers do.
 */
class Inflating extends Transform {
  private inner: zlib.Inflate | zlib.InflateRaw | null = null;
  private head: Buffer = Buffer.alloc(0);

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.inner) return void this.inner.write(chunk, () => done());
    this.head = Buffer.concat([this.head, chunk]);
    if (this.head.length < 2) return done();
    const wrapped = (this.head[0] & 0x0f) === 8 && ((this.head[0] << 8) | this.head[1]) % 31 === 0;
    const inner = wrapped ? zlib.createInflate(GZIP) : zlib.createInflateRaw(GZIP);
    this.inner = inner;
    inner.on("data", (out: Buffer) => this.push(out));
    inner.on("error", (err) => this.destroy(err));
    inner.write(this.head, () => done());
  }

  override _flush(done: TransformCallback): void {
    if (!this.inner && this.head.length > 0) return done(Object.assign(new Error("a deflate body of one byte"), { code: "Z_DATA_ERROR" }));
    if (!this.inner) return done();
    this.inner.once("end", () => done());
    this.inner.end();
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    this.inner?.destroy();
    done(err);
  }
}

const DECODERS: Record<string, () => Transform> = {
  gzip: () => zlib.createGunzip(GZIP),
  "x-gzip": () => zlib.createGunzip(GZIP),
  deflate: () => new Inflating(),
  br: () => zlib.createBrotliDecompress(BROTLI),
};

/**
 * A body as the edge keeps and serves it: as it came when it is not encoded (no Content-Encoding, or identity) or
 * empty (a 204 or 304), else decoded as it is read (gzip, deflate wrapped or raw, br). Null for an encoding the edge
 * does not read (several, or another), and for a partial answer (206), whose encoded bytes cannot be decoded from the
 * middle. Letting go of the decoded body lets go of the origin's.
 */
export function decodedBody(origin: { status: number; headers: Record<string, string | string[] | undefined>; body: Readable }): Readable | null {
  const { status, headers, body } = origin;
  const coding = String(headers["content-encoding"] ?? "").trim().toLowerCase();
  if (coding === "" || coding === "identity" || status === 204 || status === 304) return body;
  const decoder = DECODERS[coding];
  if (!decoder || status === 206) return null;
  // Errors reach whoever reads the decoded body; the pipeline itself only has to end both streams.
  return pipeline(body, decoder(), () => undefined);
}

/** Whether an error is a body that could not be decoded (zlib's codes, and brotli's). */
export const undecodable = (err: unknown): boolean => /^(Z_|ERR__ERROR_)/.test(String((err as { code?: unknown }).code ?? ""));

/**
 * The API token masked out of a body read in chunks: every occurrence, also one split across chunks, becomes as many
 * asterisks, so a careless API that echoes the credential (an error message, a debug answer) never hands it to a
 * client, and the body keeps its length (a Content-Length sent before holds). Chunks go out in order; the last
 * `token length − 1` bytes of each wait for the next, in case the token starts there. A chunk is searched in place
 * and copied only when the token is in it.
 */
export class TokenMask {
  private readonly token: Buffer;
  /** The last bytes pushed, not sent yet (fewer than the token's length). */
  private carry: Buffer = Buffer.alloc(0);

  constructor(token: string) {
    this.token = Buffer.from(token, "utf8");
  }

  /** A whole body, masked (itself when the token is not in it). */
  static whole(body: Buffer, token: string): Buffer {
    return new TokenMask(token).masked(body, false);
  }

  /** A streamed body's first chunks and its rest with the token masked out of them. */
  static stream(prefix: Buffer[], rest: AsyncIterator<Buffer>, token: string): { prefix: Buffer[]; rest: AsyncIterator<Buffer> } {
    const mask = new TokenMask(token);
    const ready: Buffer[] = [];
    let ended = false;
    return {
      prefix: prefix.flatMap((chunk) => mask.push(chunk)),
      rest: {
        async next() {
          while (ready.length === 0 && !ended) {
            const next = await rest.next();
            if (next.done) {
              ended = true;
              ready.push(mask.end());
            } else ready.push(...mask.push(next.value));
          }
          const value = ready.shift();
          return value === undefined ? { done: true, value: undefined } : { done: false, value };
        },
      },
    };
  }

  /** What may go out of what has come so far, in order (the bytes held back from before, then this chunk's). */
  push(input: Buffer): Buffer[] {
    const n = this.token.length;
    if (n === 0) return [input];
    let chunk = input;
    let carry = this.carry;
    // A token across the seam: it starts in the bytes held back and ends in this chunk.
    if (carry.length > 0) {
      // (Only the first can start there: a second would start past the first's end, past the bytes held back.)
      const at = Buffer.concat([carry, chunk.subarray(0, n - 1)]).indexOf(this.token);
      if (at >= 0 && at < carry.length) {
        carry = Buffer.from(carry);
        carry.fill(0x2a, at);
        chunk = Buffer.from(chunk);
        chunk.fill(0x2a, 0, at + n - carry.length);
      }
    }
    chunk = this.masked(chunk, chunk !== input);
    const out = [carry];
    if (chunk.length >= n - 1) {
      out.push(chunk.subarray(0, chunk.length - (n - 1)));
      this.carry = chunk.subarray(chunk.length - (n - 1));
    } else {
      // A chunk shorter than what is held back: the oldest held bytes go, the newest wait.
      const held = Buffer.concat([carry, chunk]);
      out[0] = held.subarray(0, Math.max(0, held.length - (n - 1)));
      this.carry = held.subarray(held.length - Math.min(held.length, n - 1));
    }
    return out.filter((b) => b.length > 0);
  }

  /** What is left once the body has ended. */
  end(): Buffer {
    const rest = this.carry;
    this.carry = Buffer.alloc(0);
    return rest;
  }

  /** `buf` with every occurrence of the token masked: written in place when it is `own`, else copied first if need be. */
  private masked(buf: Buffer, own: boolean): Buffer {
    const n = this.token.length;
    let at = n > 0 ? buf.indexOf(this.token) : -1;
    if (at < 0) return buf;
    // A chunk that is the origin's is copied before it is written to.
    const out = own ? buf : Buffer.from(buf);
    for (; at >= 0; at = out.indexOf(this.token, at + n)) out.fill(0x2a, at, at + n);
    return out;
  }
}
