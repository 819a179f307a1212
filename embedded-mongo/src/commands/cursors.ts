// Server-side cursors: the rest of a result after the first batch, handed out by getMore, killed by killCursors,
// by the end of the session that opened them, by a drop, or after ten idle minutes.
import { BSON, Long } from "../bson";
import { CommandError, ErrorCode } from "../errors";
import type { Doc } from "../storage/paths";
import { Limits } from "../wire";

export const DEFAULT_FIRST_BATCH = 101;
const IDLE_TIMEOUT_MS = 10 * 60 * 1000;
/** Room kept for the reply envelope around a batch. */
const ENVELOPE_BYTES = 16 * 1024;

interface OpenCursor {
  id: Long;
  ns: string;
  db: string;
  collection: string;
  docs: Doc[];
  pos: number;
  transform: (doc: Doc) => Doc;
  session?: string;
  lastUsed: number;
  noTimeout: boolean;
}

export type CursorReply = Doc & {
  cursor: { firstBatch?: Doc[]; nextBatch?: Doc[]; id: Long; ns: string };
  ok: 1;
};

export class CursorManager {
  private readonly open = new Map<string, OpenCursor>();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.reap(), 60_000);
    this.timer.unref();
  }

  get count(): number {
    return this.open.size;
  }

  close(): void {
    clearInterval(this.timer);
    this.open.clear();
  }

  /**
   * The first batch of a result; the rest stays in a cursor unless it all fits or `singleBatch` is set.
   * `transform` (e.g. a projection) is applied lazily, batch by batch.
   */
  first(
    ns: string,
    docs: Doc[],
    opts: { batchSize?: number; singleBatch?: boolean; transform?: (doc: Doc) => Doc; session?: string; noTimeout?: boolean },
  ): CursorReply {
    const transform = opts.transform ?? ((d: Doc) => d);
    const [batch, used] = takeBatch(docs, 0, opts.batchSize ?? DEFAULT_FIRST_BATCH, transform);
    let id = Long.ZERO;
    if (used < docs.length && !opts.singleBatch) {
      id = newCursorId(this.open);
      const dot = ns.indexOf(".");
      this.open.set(id.toString(), {
        id,
        ns,
        db: ns.slice(0, dot),
        collection: ns.slice(dot + 1),
        docs,
        pos: used,
        transform,
        session: opts.session,
        lastUsed: Date.now(),
        noTimeout: opts.noTimeout === true,
      });
    }
    return { cursor: { firstBatch: batch, id, ns }, ok: 1 };
  }

  more(id: Long, ns: string, batchSize: number | undefined): CursorReply {
    const key = id.toString();
    const c = this.open.get(key);
    if (!c) throw new CommandError(ErrorCode.CursorNotFound, `cursor id ${key} not found`);
    if (c.ns !== ns) {
      throw new CommandError(13, `Requested getMore on namespace '${ns}', but cursor belongs to a different namespace ${c.ns}`);
    }
    const [batch, used] = takeBatch(c.docs, c.pos, batchSize && batchSize > 0 ? batchSize : Infinity, c.transform);
    c.pos = used;
    c.lastUsed = Date.now();
    let replyId = c.id;
    if (c.pos >= c.docs.length) {
      this.open.delete(key);
      replyId = Long.ZERO;
    }
    return { cursor: { nextBatch: batch, id: replyId, ns }, ok: 1 };
  }

  kill(ids: Long[]): { killed: Long[]; notFound: Long[] } {
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const id of ids) (this.open.delete(id.toString()) ? killed : notFound).push(id);
    return { killed, notFound };
  }

  killSessions(sessions: Set<string>): void {
    for (const [key, c] of this.open) if (c.session && sessions.has(c.session)) this.open.delete(key);
  }

  killNamespace(db: string, collection?: string): void {
    for (const [key, c] of this.open) {
      if (c.db === db && (collection === undefined || c.collection === collection)) this.open.delete(key);
    }
  }

  private reap(): void {
    const cutoff = Date.now() - IDLE_TIMEOUT_MS;
    for (const [key, c] of this.open) if (!c.noTimeout && c.lastUsed < cutoff) this.open.delete(key);
  }
}

function takeBatch(docs: Doc[], from: number, max: number, transform: (d: Doc) => Doc): [Doc[], number] {
  const batch: Doc[] = [];
  let bytes = 0;
  let i = from;
  for (; i < docs.length && batch.length < max; i++) {
    const doc = transform(docs[i]);
    const size = BSON.calculateObjectSize(doc);
    if (batch.length > 0 && bytes + size > Limits.maxBsonObjectSize - ENVELOPE_BYTES) break;
    batch.push(doc);
    bytes += size;
  }
  return [batch, i];
}

function newCursorId(open: Map<string, OpenCursor>): Long {
  for (;;) {
    const id = Long.fromBits((Math.random() * 0x100000000) | 0, (Math.random() * 0x7fffffff) | 0);
    if (!id.isZero() && !open.has(id.toString())) return id;
  }
}
