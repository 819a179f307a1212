// What the edge does to an origin's body before anything of it is kept or sent: it decodes a body the origin encoded
// although it was asked for it as is, and it masks the API token out of an API's answer.
import { pipeline, type Readable } from "node:stream";
import zlib from "node:zlib";

const DECODERS: Record<string, () => zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress> = {
  gzip: () => zlib.createGunzip(),
  "x-gzip": () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

/**
 * A body as the edge keeps and serves it: as it came when it is not encoded (no Content-Encoding, or identity) or
 * empty (a 204 or 304, or a declared length of 0), else decoded as it is read (gzip, deflate, br). Null for an
 * encoding the edge does not read (several, or another), and for a partial answer (206), whose encoded bytes cannot be
 * decoded from the middle. Letting go of the decoded body lets go of the origin's.
 */
export function decodedBody(origin: { status: number; headers: Record<string, string | string[] | undefined>; body: Readable }): Readable | null {
  const { status, headers, body } = origin;
  const coding = String(headers["content-encoding"] ?? "").trim().toLowerCase();
  if (coding === "" || coding === "identity" || status === 204 || status === 304 || headers["content-length"] === "0") return body;
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
 * client, and the body keeps its length (a Content-Length sent before holds). Chunks go out in order; the last bytes
 * of each wait for the next, in case the token starts there.
 */
export class TokenMask {
  private readonly token: Buffer;
  private carry: Buffer = Buffer.alloc(0);

  constructor(token: string) {
    this.token = Buffer.from(token, "utf8");
  }

  /** A whole body, masked (itself when the token is not in it). */
  static whole(body: Buffer, token: string): Buffer {
    return new TokenMask(token).masked(body, false);
  }

  /** The part of what has come so far that may go out. */
  push(chunk: Buffer): Buffer {
    const n = this.token.length;
    const buf = this.carry.length > 0 ? this.masked(Buffer.concat([this.carry, chunk]), true) : this.masked(chunk, false);
    const kept = Math.max(0, Math.min(buf.length, n - 1));
    this.carry = buf.subarray(buf.length - kept);
    return buf.subarray(0, buf.length - kept);
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

  /** What is left once the body has ended. */
  end(): Buffer {
    const rest = this.carry;
    this.carry = Buffer.alloc(0);
    return rest;
  }
}
