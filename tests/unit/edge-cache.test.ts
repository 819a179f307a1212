// The edge's response cache (LRU by bytes, TTL) and the coalescing of concurrent misses.
import { describe, expect, it } from "vitest";
import { Coalescer, ResponseCache, type CachedResponse } from "#edge/cache.ts";

const entry = (bytes: number, expiresAt = Number.MAX_SAFE_INTEGER): CachedResponse => ({
  status: 200,
  headers: { "content-type": "image/png" },
  body: Buffer.alloc(bytes, 1),
  expiresAt,
});

describe("ResponseCache", () => {
  it("evicts the least recently used entries when the byte budget is exceeded", () => {
    const cache = new ResponseCache(3_000);
    expect(cache.set("a", entry(900))).toBe(true);
    expect(cache.set("b", entry(900))).toBe(true);
    expect(cache.set("c", entry(900))).toBe(true);
    expect(cache.count).toBe(3);
    // "a" becomes the most recently used, so adding "d" pushes out "b".
    expect(cache.get("a")?.body.length).toBe(900);
    expect(cache.set("d", entry(900))).toBe(true);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")?.body.length).toBe(900);
    expect(cache.get("c")?.body.length).toBe(900);
    expect(cache.get("d")?.body.length).toBe(900);
    expect(cache.size).toBeLessThanOrEqual(3_000);
  });

  it("never evicts an entry read between every two stores, and evicts the least recently used first", () => {
    // Room for exactly 100 entries of this size.
    const one = 100 + "content-type".length + "image/png".length + "k0000".length + 64;
    const cache = new ResponseCache(100 * one);
    cache.set("k0000", entry(100));
    for (let i = 1; i < 100; i++) cache.set(`k${String(i).padStart(4, "0")}`, entry(100));
    expect(cache.count).toBe(100);
    let hotMissed = 0;
    for (let i = 100; i < 5_000; i++) {
      if (!cache.get("k0000")) hotMissed++;
      cache.set(`k${String(i).padStart(4, "0")}`, entry(100));
    }
    expect(hotMissed).toBe(0);
    expect(cache.count).toBe(100);
    // The entries read least recently go first: of the 99 others, the oldest stored are gone.
    expect(cache.get("k4901")).toBeDefined();
    expect(cache.get("k4900")).toBeUndefined();
  });

  it("never evicts an entry read before every store when one store evicts many smaller entries", () => {
    // Costs as the cache counts them: body, header names and values, key, 64.
    const cost = (key: string, body: number) => body + "content-type".length + "image/png".length + key.length + 64;
    const budget = 800 * cost("s000", 100);
    const cache = new ResponseCache(budget);
    for (let i = 0; i < 799; i++) cache.set(`s${String(i).padStart(3, "0")}`, entry(100));
    cache.set("hot", entry(100));
    let hotMissed = 0;
    for (let i = 0; i < 40; i++) {
      if (!cache.get("hot")) hotMissed++;
      // An object of exactly an eighth of the budget: the eighth one must evict every small entry left at once.
      const key = `b${String(i).padStart(2, "0")}`;
      cache.set(key, entry(budget / 8 - cost(key, 0)));
    }
    expect(hotMissed).toBe(0);
    expect(cache.get("hot")?.body.length).toBe(100);
    expect(cache.size).toBeLessThanOrEqual(budget);
  });

  it("refuses an entry larger than the whole budget and keeps what it had", () => {
    const cache = new ResponseCache(1_000);
    cache.set("small", entry(100));
    expect(cache.set("huge", entry(5_000))).toBe(false);
    expect(cache.get("huge")).toBeUndefined();
    expect(cache.get("small")?.body.length).toBe(100);
  });

  it("does not serve an expired entry and frees its bytes", () => {
    const cache = new ResponseCache(10_000);
    cache.set("k", entry(500, 1_000));
    expect(cache.get("k", 999)?.status).toBe(200);
    expect(cache.get("k", 1_000)).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.count).toBe(0);
  });

  it("replacing a key accounts its bytes once", () => {
    const cache = new ResponseCache(10_000);
    cache.set("k", entry(500));
    const once = cache.size;
    cache.set("k", entry(500));
    expect(cache.size).toBe(once);
    cache.delete("k");
    expect(cache.size).toBe(0);
  });
});

describe("Coalescer", () => {
  it("runs the work once for concurrent callers of one key, and again after it settles", async () => {
    const c = new Coalescer<number>();
    let calls = 0;
    let release!: (n: number) => void;
    const work = () => {
      calls++;
      return new Promise<number>((resolve) => (release = resolve));
    };
    const runs = Array.from({ length: 50 }, () => c.run("key", work));
    expect(runs.filter((r) => r.leader)).toHaveLength(1);
    release(7);
    expect(await Promise.all(runs.map((r) => r.promise))).toEqual(Array(50).fill(7));
    expect(calls).toBe(1);
    const again = c.run("key", () => Promise.resolve(8));
    expect(again.leader).toBe(true);
    expect(await again.promise).toBe(8);
  });

  it("hands a failure to every waiter and does not keep it", async () => {
    const c = new Coalescer<number>();
    const a = c.run("k", () => Promise.reject(new Error("origin down")));
    const b = c.run("k", () => Promise.resolve(1));
    await expect(a.promise).rejects.toThrow("origin down");
    await expect(b.promise).rejects.toThrow("origin down");
    expect(await c.run("k", () => Promise.resolve(2)).promise).toBe(2);
  });
});
