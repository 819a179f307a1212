// Byte ranges cut from a cached object (RFC 9110 §14): one range is served as 206, a range past the end as 416, and
// anything else (several ranges, another unit, nonsense) as the whole object.
import { describe, expect, it } from "vitest";
import { parseRange, safePath } from "#edge/handler.ts";

describe("parseRange", () => {
  it.each([
    ["bytes=0-99", { start: 0, end: 99 }],
    ["bytes=100-", { start: 100, end: 999 }],
    ["bytes=-10", { start: 990, end: 999 }],
    ["bytes=-5000", { start: 0, end: 999 }],
    ["bytes=990-5000", { start: 990, end: 999 }],
    ["Bytes=1-2", { start: 1, end: 2 }],
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

describe("safePath", () => {
  it.each(["/a.png", "/f/123/x.jpg", "/img%20name.png", "/~api/entries", "/a/b/c.mp4"])("%s stays inside the origin", (path) => {
    expect(safePath(path)).toBe(true);
  });

  it.each(["/../x.png", "/a/./b.png", "/a/%2e%2e/b.png", "/a\\..\\b.png", "/..%2F..%2Fother/x.jpg", "/a%5c..%5cb", "/a%00.png", "//[", "/a/.."])(
    "%s could step outside it (or is malformed)",
    (path) => {
      expect(safePath(path)).toBe(false);
    },
  );
});
