// Reporting periods and day ranges, all in UTC whole days: `start` inclusive, `end` exclusive. Pure, so the pages'
// period switcher and the server agree.
import { z } from "zod";

export const NAMED_PERIODS = ["current_month", "previous_month", "7d", "30d", "90d"] as const;
export type PeriodName = (typeof NAMED_PERIODS)[number] | `${number}-${number}`;

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;
const DAY_MS = 86_400_000;

/** The first and last month a period may name: an ISO date string holds its end only up to 9999-12-01. */
export const FIRST_MONTH = "1970-01";
export const LAST_MONTH = "9999-11";

/** Whether a value is a month as YYYY-MM within [FIRST_MONTH, LAST_MONTH] (same-width strings compare in order). */
const isMonth = (v: string) => MONTH.test(v) && v >= FIRST_MONTH && v <= LAST_MONTH;

export const periodNameSchema = z
  .string()
  .refine((v) => (NAMED_PERIODS as readonly string[]).includes(v) || isMonth(v), {
    message: `must be one of ${NAMED_PERIODS.join(", ")}, or a month as YYYY-MM from ${FIRST_MONTH} to ${LAST_MONTH}`,
  })
  .default("current_month");

export interface Period {
  name: string;
  start: Date;
  end: Date;
}

export const startOfUtcDay = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
const monthStart = (year: number, month: number) => new Date(Date.UTC(year, month, 1));
const addDays = (d: Date, n: number) => new Date(d.getTime() + n * DAY_MS);

/** The period a name stands for, as of `now`. */
export function resolvePeriod(name: string, now: Date = new Date()): Period {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const tomorrow = addDays(startOfUtcDay(now), 1);
  switch (name) {
    case "current_month":
      return { name, start: monthStart(y, m), end: monthStart(y, m + 1) };
    case "previous_month":
      return { name, start: monthStart(y, m - 1), end: monthStart(y, m) };
    case "7d":
    case "30d":
    case "90d":
      // The N days ending with today, today included.
      return { name, start: addDays(tomorrow, -Number.parseInt(name, 10)), end: tomorrow };
    default: {
      const match = MONTH.exec(name);
      if (!match || !isMonth(name)) throw new Error(`not a period: ${name}`);
      const year = Number(match[1]);
      const month = Number(match[2]) - 1;
      return { name, start: monthStart(year, month), end: monthStart(year, month + 1) };
    }
  }
}

/** The period of equal kind just before: the previous month for a month, the N days before for N days. */
export function previousPeriod(p: Period): Period {
  if (/^\d+d$/.test(p.name)) {
    const days = Math.round((p.end.getTime() - p.start.getTime()) / DAY_MS);
    return { name: p.name, start: addDays(p.start, -days), end: p.start };
  }
  const start = monthStart(p.start.getUTCFullYear(), p.start.getUTCMonth() - 1);
  const name = `${start.getUTCFullYear()}-${String(start.getUTCMonth() + 1).padStart(2, "0")}`;
  return { name, start, end: p.start };
}

export const dayKey = (d: Date) => d.toISOString().slice(0, 10);

/** Every UTC day in [start, end) as YYYY-MM-DD. */
export function daysOf(start: Date, end: Date): string[] {
  const out: string[] = [];
  for (let t = start.getTime(); t < end.getTime(); t += DAY_MS) out.push(dayKey(new Date(t)));
  return out;
}

export const periodJson = (p: Period) => ({ name: p.name, start: p.start.toISOString(), end: p.end.toISOString() });

/** A calendar date YYYY-MM-DD (2025-02-29 is not one). */
export const calendarDateSchema = z.string().refine((v) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) return false;
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && dayKey(d) === v;
}, "must be a date as YYYY-MM-DD");

export const MAX_RANGE_DAYS = 366;

/** from/to (inclusive days) for daily series; by default the last 30 days including today. */
export function resolveDayRange(from: string | undefined, to: string | undefined, now: Date = new Date()) {
  const toDay = to ? new Date(`${to}T00:00:00Z`) : startOfUtcDay(now);
  const fromDay = from ? new Date(`${from}T00:00:00Z`) : addDays(toDay, -29);
  return { from: fromDay, to: toDay, end: addDays(toDay, 1) };
}
