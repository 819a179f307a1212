// The log filters of a URL, read the same way by the Logs page and its CSV download, so that a link carries them
// both ways: a `datetime-local` value is UTC, and a filter in error is left out (and named) rather than failing.
import { type LogsQuery, logsQuerySchema } from "./logs.ts";
import { CACHE_STATUSES } from "./usage.ts";

export const LOG_FILTER_KEYS = ["status", "cache", "kind", "path", "from", "to"] as const;
export type LogFilterKey = (typeof LOG_FILTER_KEYS)[number];
export type LogFilters = Omit<LogsQuery, "limit" | "cursor">;

export const FILTER_LABELS: Record<LogFilterKey, string> = {
  status: "Status",
  cache: "Cache status",
  kind: "Kind",
  path: "Path prefix",
  from: "From",
  to: "To",
};

/** What a `datetime-local` input sends (no zone): read here as UTC. */
const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/;

/**
 * A `datetime-local` value as the ISO instant `listLogs` takes, read as UTC. A `to` takes in the whole of its last
 * unit: given to the minute (what the input sends), that minute, so from 10:05 to 10:05 is the minute 10:05; given
 * to the second (a link's value, as the table shows times), that second; with a fraction, to its last digit.
 * Anything else is passed on for the schema to accept (an ISO date-time with a zone) or refuse.
 */
function toIso(value: string, end: boolean): string {
  if (!LOCAL_DATE_TIME.test(value)) return value;
  const at = new Date(`${value}Z`);
  // Date rolls 02-31 over to March; a value that does not come back unchanged is not a real date and time.
  if (Number.isNaN(at.getTime()) || at.toISOString().slice(0, value.length) !== value) return "not a date";
  return new Date(at.getTime() + (end ? UNIT_MS[value.length] - 1 : 0)).toISOString();
}

/** The unit of a `datetime-local` value's last digit, in ms, by its length: 10:05, 10:05:09, 10:05:09.4, .45, .456. */
const UNIT_MS: Record<number, number> = { 16: 60_000, 19: 1_000, 21: 100, 22: 10, 23: 1 };

const MESSAGES: Partial<Record<LogFilterKey, string>> = {
  cache: `must be one of ${CACHE_STATUSES.join(", ")}`,
  kind: "must be asset or api",
  from: "must be a date and time (UTC)",
  to: "must be a date and time (UTC)",
};

/**
 * The log filters of a URL. A filter the schema refuses is left out (and said so in `invalid`), the others still
 * apply: `filters` for `listLogs`, `kept` as they were asked (for links), `asked` to show them in the form again.
 */
export function readLogFilters(search: URLSearchParams) {
  const asked: Partial<Record<LogFilterKey, string>> = {};
  for (const key of LOG_FILTER_KEYS) {
    const value = search.get(key)?.trim();
    if (value) asked[key] = value;
  }
  const input: Partial<Record<LogFilterKey, string>> = { ...asked };
  if (input.from) input.from = toIso(input.from, false);
  if (input.to) input.to = toIso(input.to, true);
  const invalid: Partial<Record<LogFilterKey, string>> = {};
  for (;;) {
    const parsed = logsQuerySchema.safeParse(input);
    if (parsed.success) {
      const { limit: _limit, cursor: _cursor, ...filters } = parsed.data;
      const kept: Record<string, string> = Object.fromEntries(LOG_FILTER_KEYS.filter((k) => k in input).map((k) => [k, asked[k] as string]));
      return { filters: filters as LogFilters, kept, asked, invalid };
    }
    let dropped = false;
    for (const issue of parsed.error.issues) {
      const key = issue.path[0] as LogFilterKey;
      if (!(key in input)) continue;
      // The one custom rule is the schema's "from must not be after to" (reported on from).
      invalid[key] ??= issue.code === "custom" ? "must not be after To" : (MESSAGES[key] ?? issue.message);
      delete input[key];
      dropped = true;
    }
    // Never loop on an issue that names no filter (none is known today): apply no filter rather than a wrong one.
    if (!dropped) {
      for (const key of Object.keys(asked) as LogFilterKey[]) invalid[key] ??= "could not be applied";
      return { filters: {} as LogFilters, kept: {} as Record<string, string>, asked, invalid };
    }
  }
}

