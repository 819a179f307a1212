// Byte ranges cut from a cached object (RFC 9110 §14): one range is served as 206, a range past the end as 416, and
// anything else (several ranges, another unit, nonsense) as the whole object.
import { describe, expect, it } from "vitest";
import { parseRange } from "#edge/handler.ts";

describe("parseRange", () => {
  it.each([
    ["bytes=0-99", { start: 0, end: 99 }],
    ["bytes=100-", { start: 100, end: 999 }],
    ["bytes=-10", { start: 990, end: 999 }],
    ["bytes=-5000", { start: 0, end: 999 }],
    ["bytes=990-5000", { start: 990, end: 999 }],
    [" bytes=5-5 ", { start: 5, end: 5 }],
  ])("%s of 1,000 bytes is %j", (header, range) => {
    expect(parseRange(header, 1000)).toEqual(range);
  });

  it.each(["bytes=1000-", "bytes=1000-2000", "bytes=-0"])("%s of 1,000 bytes cannot be satisfied", (header) => {
    expect(parseRange(header, 1000)).toBe("unsatisfiable");
  });

  it.each(["bytes=0-1,5-9", "items=0-1", "bytes=9-1", "bytes=-", "bytes=a-b", ""])("%j is served whole", (header) => {
    expect(parseRange(header, 1000)).toBeNull();
  });
});
