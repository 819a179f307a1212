// The edge's cache: whole responses in memory, least recently used first out, bounded by bytes and by each entry's
// time to live; and the coalescing of concurrent misses of one key into one origin request.

export interface CachedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Epoch ms after which the entry is not served. */
  expiresAt: number;
  /** Epoch ms it was stored at (for `Age`). */
  storedAt?: number;
  /** The response headers of a whole-object hit, as a flat list (built on the first hit). */
  hitHeaders?: string[];
  /** The Age, in seconds, `hitHeaders` ends with. */
  hitAge?: number;
  /** When the entry last moved to the most recently used end, counted in moves (set by the cache). */
  touched?: number;
  /** Read since it last moved (set by the cache): it gets a second chance before it is evicted. */
  readSinceMove?: boolean;
}

export class ResponseCache {
  private readonly entries = new Map<string, CachedResponse>();
  private bytes = 0;
  /** Moves to the most recently used end so far (stores and moves). */
  private moves = 0;

  constructor(private readonly maxBytes: number) {}

  get size(): number {
    return this.bytes;
  }

  get count(): number {
    return this.entries.size;
  }

  /**
   * The fresh entry for a key (and marks it recently used), or undefined. `maxAgeMs` is the time to live set now: an
   * entry stored under a longer one is not served past it (a lowered TTL applies to what is already cached).
   */
  get(key: string, now = Date.now(), maxAgeMs = Number.POSITIVE_INFINITY): CachedResponse | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now || (entry.storedAt ?? now) + maxAgeMs <= now) {
      this.delete(key);
      return undefined;
    }
    // Map keeps insertion order: moving the key to the end makes the first key the least recently used. A move costs
    // a delete and an insert, a good part of a hit's time, so an entry is moved only once it is in the older half
    // (more entries have moved since it than half the count); read in the newer half, it is marked instead, and
    // moved rather than evicted should it reach the front (one store can evict many small entries).
    if (this.moves - (entry.touched ?? 0) > this.entries.size >>> 1) this.moveToEnd(key, entry);
    else entry.readSinceMove = true;
    return entry;
  }

  set(key: string, entry: CachedResponse): boolean {
    const cost = entryCost(key, entry);
    if (cost > this.maxBytes) return false;
    this.delete(key);
    while (this.bytes + cost > this.maxBytes) {
      const oldest = this.entries.entries().next().value as [string, CachedResponse] | undefined;
      if (oldest === undefined) break;
      // Each entry gets one second chance per read, so this ends after at most one pass.
      if (oldest[1].readSinceMove) this.moveToEnd(oldest[0], oldest[1]);
      else this.delete(oldest[0]);
    }
    entry.touched = ++this.moves;
    entry.readSinceMove = false;
    this.entries.set(key, entry);
    this.bytes += cost;
    return true;
  }

  private moveToEnd(key: string, entry: CachedResponse): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    entry.touched = ++this.moves;
    entry.readSinceMove = false;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entryCost(key, entry);
  }
}

function entryCost(key: string, entry: CachedResponse): number {
  let headers = 0;
  for (const [k, v] of Object.entries(entry.headers)) headers += k.length + v.length;
  return entry.body.length + headers + key.length + 64;
}

/** Runs `work` once per key at a time: callers that arrive while it runs get the same promise. */
export class Coalescer<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  /** Whether work for a key is in flight. */
  running(key: string): boolean {
    return this.inFlight.has(key);
  }

  run(key: string, work: () => Promise<T>): { promise: Promise<T>; leader: boolean } {
    const existing = this.inFlight.get(key);
    if (existing) return { promise: existing, leader: false };
    const promise = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return { promise, leader: true };
  }
}

/**
 * The bytes the bodies of misses may hold in memory at once while they are read, before the cache counts them:
 * without it, concurrent misses of different objects would each hold up to the object size cap.
 */
export class ByteBudget {
  used = 0;
  constructor(readonly max: number) {}

  /** Takes `n` bytes: false when that goes over (they are taken all the same, and given back like the rest). */
  take(n: number): boolean {
    this.used += n;
    return this.used <= this.max;
  }

  give(n: number): void {
    this.used -= n;
  }
}
