// Periods and day ranges in UTC whole days: month ends, leap days, year boundaries, and the period before.
import { describe, expect, it } from "vitest";
import { daysOf, periodNameSchema, previousPeriod, resolveDayRange, resolvePeriod } from "#app/schemas/period.ts";

const at = (iso: string) => new Date(iso);
const range = (p: { start: Date; end: Date }) => [p.start.toISOString(), p.end.toISOString()];

describe("resolvePeriod", () => {
  it("current_month runs from the 1st to the 1st of the next month, wherever today is", () => {
    expect(range(resolvePeriod("current_month", at("2026-11-29T23:59:59.999Z")))).toEqual([
      "2026-11-01T00:00:00.000Z",
      "2026-12-01T00:00:00.000Z",
    ]);
    expect(range(resolvePeriod("current_month", at("2026-12-31T12:00:00Z")))).toEqual([
      "2026-12-01T00:00:00.000Z",
      "2027-01-01T00:00:00.000Z",
    ]);
    expect(range(resolvePeriod("current_month", at("2024-02-29T00:00:00Z")))).toEqual([
      "2024-02-01T00:00:00.000Z",
      "2024-03-01T00:00:00.000Z",
    ]);
  });

  it("previous_month crosses year boundaries", () => {
    expect(range(resolvePeriod("previous_month", at("2027-01-01T00:00:00Z")))).toEqual([
      "2026-12-01T00:00:00.000Z",
      "2027-01-01T00:00:00.000Z",
    ]);
    expect(range(resolvePeriod("previous_month", at("2024-03-31T10:00:00Z")))).toEqual([
      "2024-02-01T00:00:00.000Z",
      "2024-03-01T00:00:00.000Z",
    ]);
  });

  it("7d, 30d and 90d end with today (included) and count whole UTC days", () => {
    expect(range(resolvePeriod("7d", at("2026-03-02T08:00:00Z")))).toEqual(["2026-02-24T00:00:00.000Z", "2026-03-03T00:00:00.000Z"]);
    expect(range(resolvePeriod("7d", at("2024-03-02T23:59:59Z")))).toEqual(["2024-02-25T00:00:00.000Z", "2024-03-03T00:00:00.000Z"]);
    expect(range(resolvePeriod("30d", at("2027-01-05T00:00:00Z")))).toEqual(["2026-12-07T00:00:00.000Z", "2027-01-06T00:00:00.000Z"]);
    expect(range(resolvePeriod("90d", at("2024-05-29T12:00:00Z")))).toEqual(["2024-03-01T00:00:00.000Z", "2024-05-30T00:00:00.000Z"]);
    for (const [name, n] of [["7d", 7], ["30d", 30], ["90d", 90]] as const) {
      const p = resolvePeriod(name, at("2024-02-29T06:00:00Z"));
      expect(daysOf(p.start, p.end)).toHaveLength(n);
      expect(daysOf(p.start, p.end).at(-1)).toBe("2024-02-29");
    }
  });

  it("YYYY-MM is that calendar month, February with its leap day", () => {
    expect(range(resolvePeriod("2024-02"))).toEqual(["2024-02-01T00:00:00.000Z", "2024-03-01T00:00:00.000Z"]);
    expect(daysOf(resolvePeriod("2024-02").start, resolvePeriod("2024-02").end)).toHaveLength(29);
    expect(daysOf(resolvePeriod("2025-02").start, resolvePeriod("2025-02").end)).toHaveLength(28);
    expect(range(resolvePeriod("2026-12"))).toEqual(["2026-12-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"]);
  });
});

describe("previousPeriod", () => {
  it("is the month before for months, and the N days before for N days", () => {
    const now = at("2026-01-15T12:00:00Z");
    expect(range(previousPeriod(resolvePeriod("current_month", now)))).toEqual(["2025-12-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"]);
    expect(range(previousPeriod(resolvePeriod("previous_month", now)))).toEqual(["2025-11-01T00:00:00.000Z", "2025-12-01T00:00:00.000Z"]);
    expect(range(previousPeriod(resolvePeriod("2024-03")))).toEqual(["2024-02-01T00:00:00.000Z", "2024-03-01T00:00:00.000Z"]);
    expect(range(previousPeriod(resolvePeriod("7d", now)))).toEqual(["2026-01-02T00:00:00.000Z", "2026-01-09T00:00:00.000Z"]);
    expect(range(previousPeriod(resolvePeriod("30d", at("2024-03-30T00:00:00Z"))))).toEqual([
      "2024-01-31T00:00:00.000Z",
      "2024-03-01T00:00:00.000Z",
    ]);
    expect(range(previousPeriod(resolvePeriod("90d", now)))).toEqual(["2025-07-20T00:00:00.000Z", "2025-10-18T00:00:00.000Z"]);
  });
});

describe("periodNameSchema", () => {
  it("accepts the named periods and months, defaults to current_month, and refuses the rest", () => {
    for (const ok of ["current_month", "previous_month", "7d", "30d", "90d", "2024-02", "1999-12", "1970-01", "9999-11"]) {
      expect(periodNameSchema.safeParse(ok).success).toBe(true);
    }
    expect(periodNameSchema.parse(undefined)).toBe("current_month");
    // Years before 1970 (0000–0099 would be read as 1900–1999), and a month whose end is past an ISO string's range.
    for (const bad of ["", "1d", "month", "2024-13", "2024-00", "2024-2", "24-02", "7D", "0050-01", "1969-12", "9999-12"]) {
      expect(periodNameSchema.safeParse(bad).error?.issues[0].message, bad).toBe(
        "must be one of current_month, previous_month, 7d, 30d, 90d, or a month as YYYY-MM from 1970-01 to 9999-11",
      );
    }
    expect(() => resolvePeriod("0050-01")).toThrow("not a period: 0050-01");
    const last = resolvePeriod("9999-11");
    expect([last.start.toISOString(), last.end.toISOString()]).toEqual(["9999-11-01T00:00:00.000Z", "9999-12-01T00:00:00.000Z"]);
  });
});

describe("resolveDayRange", () => {
  it("defaults to the last 30 days including today, and takes explicit days inclusively", () => {
    const r = resolveDayRange(undefined, undefined, at("2025-01-10T18:00:00Z"));
    expect(daysOf(r.from, r.end)[0]).toBe("2024-12-12");
    expect(daysOf(r.from, r.end)).toHaveLength(30);
    const leap = resolveDayRange("2024-02-27", "2024-03-01");
    expect(daysOf(leap.from, leap.end)).toEqual(["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"]);
  });
});
