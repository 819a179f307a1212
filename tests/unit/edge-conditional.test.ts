// The conditions a request puts on a cached answer (RFC 9110 §13): when it is a 304, and when a Range is honoured.
import { describe, expect, it } from "vitest";
import { httpDate, notModified, rangeHolds } from "#edge/conditional.ts";

const LAST_MODIFIED = "Tue, 01 Sep 2026 10:00:00 GMT";

describe("httpDate", () => {
  it("reads the three forms of an HTTP-date as UTC, and nothing else", () => {
    const at = Date.UTC(1994, 10, 6, 8, 49, 37);
    expect(httpDate("Sun, 06 Nov 1994 08:49:37 GMT")).toBe(at);
    expect(httpDate("Sunday, 06-Nov-94 08:49:37 GMT")).toBe(at);
    expect(httpDate("Sun Nov  6 08:49:37 1994")).toBe(at);
    expect(httpDate(" Sun, 06 Nov 1994 08:49:37 GMT ")).toBe(at);
    for (const v of ["1994", "1994-11-06T08:49:37Z", "Sun, 06 Nov 1994 08:49:37 +0000", "Sun, 6 Nov 1994 08:49:37 GMT", ""]) expect(httpDate(v), v).toBeNaN();
  });
});

describe("notModified", () => {
  it.each([
    ['"v1"', '"v1"'],
    ['W/"v1"', '"v1"'],
    ['"v1"', 'W/"v1"'],
    ['W/"v1"', 'W/"v1"'],
    ['"zz", W/"v1"', '"v1"'],
    ['"zz","v1"', '"v1"'],
    ['"a,b", "v1"', '"v1"'],
    ['"a,b"', '"a,b"'],
    ["*", '"v1"'],
    [" * ", undefined],
    ["abc", "abc"],
    ["x, abc", "abc"],
  ])("If-None-Match %s matches the ETag %s (weak comparison)", (header, etag) => {
    expect(notModified(header, undefined, etag, undefined)).toBe(true);
  });

  it.each([
    ['"v2"', '"v1"'],
    ['"zz", W/"v2"', '"v1"'],
    ['"a', '"a"'],
    ["v1", '"v1"'],
    ['"v1"', undefined],
    ["", '"v1"'],
  ])("If-None-Match %s does not match the ETag %s", (header, etag) => {
    expect(notModified(header, undefined, etag, undefined)).toBe(false);
  });

  it("judges If-Modified-Since against Last-Modified: not modified at or after it", () => {
    expect(notModified(undefined, LAST_MODIFIED, undefined, LAST_MODIFIED)).toBe(true);
    expect(notModified(undefined, "Wed, 02 Sep 2026 00:00:00 GMT", undefined, LAST_MODIFIED)).toBe(true);
    expect(notModified(undefined, "Tue, 01 Sep 2026 09:59:59 GMT", undefined, LAST_MODIFIED)).toBe(false);
  });

  it("ignores If-Modified-Since without a Last-Modified, when it is not a date, and whenever If-None-Match is sent", () => {
    expect(notModified(undefined, LAST_MODIFIED, '"v1"', undefined)).toBe(false);
    expect(notModified(undefined, "yesterday", undefined, LAST_MODIFIED)).toBe(false);
    // Dates Date.parse reads that are not HTTP-dates (RFC 9110 §13.1.3: ignored).
    for (const notHttp of ["2099", "2030-01-01", "2030-01-01T00:00:00Z", "Wed, 02 Sep 2099 00:00:00 PST", "wed, 02 sep 2099 00:00:00 gmt", "02 Sep 2099 00:00:00 GMT"]) {
      expect(notModified(undefined, notHttp, undefined, LAST_MODIFIED), notHttp).toBe(false);
    }
    expect(notModified('"v2"', "Wed, 02 Sep 2026 00:00:00 GMT", '"v1"', LAST_MODIFIED)).toBe(false);
  });

  it("is never a 304 without a condition", () => {
    expect(notModified(undefined, undefined, '"v1"', LAST_MODIFIED)).toBe(false);
  });
});

describe("rangeHolds", () => {
  it("holds without an If-Range", () => {
    expect(rangeHolds(undefined, '"v1"', LAST_MODIFIED)).toBe(true);
    expect(rangeHolds(undefined, undefined, undefined)).toBe(true);
  });

  it("holds for the same strong ETag, or the exact Last-Modified date", () => {
    expect(rangeHolds('"v1"', '"v1"', undefined)).toBe(true);
    expect(rangeHolds("v1", "v1", undefined)).toBe(true);
    expect(rangeHolds(` ${LAST_MODIFIED} `, undefined, LAST_MODIFIED)).toBe(true);
  });

  it.each([
    ['"v0"', '"v1"', undefined],
    ['W/"v1"', 'W/"v1"', undefined],
    ['"v1"', 'W/"v1"', undefined],
    ['W/"v1"', '"v1"', undefined],
    ['"v1"', undefined, LAST_MODIFIED],
    ["Wed, 02 Sep 2026 00:00:00 GMT", '"v1"', LAST_MODIFIED],
    [LAST_MODIFIED, '"v1"', undefined],
  ])("does not hold for If-Range %s against ETag %s and Last-Modified %s (strong comparison)", (ifRange, etag, lastModified) => {
    expect(rangeHolds(ifRange, etag, lastModified)).toBe(false);
  });
});
