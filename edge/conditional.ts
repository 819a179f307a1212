// The conditions a request puts on a cached answer (RFC 9110 §13): If-None-Match and If-Modified-Since, which turn a
// GET or HEAD of an unchanged object into a 304, and If-Range, which says whether a Range is honoured.

/** The entity tags an If-None-Match lists (`"…"` or `W/"…"`); a tag may hold commas, so the list is not split on them. */
const ENTITY_TAGS = /(?:W\/)?"[^"]*"/g;

/** An entity tag without its weakness mark: what weak comparison compares. */
const opaque = (tag: string) => (tag.startsWith("W/") ? tag.slice(2) : tag);

/**
 * Whether a GET or HEAD with these conditions is answered 304 Not Modified, for a representation with these
 * validators. If-None-Match uses weak comparison and `*` matches any representation (§13.1.2); If-Modified-Since
 * counts only without an If-None-Match, and only against a Last-Modified (§13.1.3).
 */
export function notModified(
  ifNoneMatch: string | undefined,
  ifModifiedSince: string | undefined,
  etag: string | undefined,
  lastModified: string | undefined,
): boolean {
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === "*") return true;
    if (!etag) return false;
    const current = opaque(etag);
    const listed = [...ifNoneMatch.matchAll(ENTITY_TAGS)].map(([tag]) => tag);
    // An origin that sends its tags unquoted gets them back unquoted: a list of bare tokens is compared as such.
    if (listed.length === 0) listed.push(...ifNoneMatch.split(",").map((t) => t.trim()));
    return listed.some((tag) => opaque(tag) === current);
  }
  if (ifModifiedSince === undefined || !lastModified) return false;
  const since = httpDate(ifModifiedSince);
  const modified = Date.parse(lastModified);
  return Number.isFinite(since) && Number.isFinite(modified) && modified <= since;
}

const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const TIME = "\\d{2}:\\d{2}:\\d{2}";
/** The three forms of an HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, the obsolete RFC 850 form, and asctime's (UTC). */
const IMF_FIXDATE = new RegExp(`^${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME} GMT$`);
const RFC_850 = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \\d{2}-${MONTH}-\\d{2} ${TIME} GMT$`);
const ASCTIME = new RegExp(`^${DAY} ${MONTH} [ \\d]\\d ${TIME} \\d{4}$`);

/**
 * A client's date in epoch ms, or NaN when it is not an HTTP-date: a condition with anything else (an ISO date, a
 * bare year, which Date.parse would read) is ignored (§13.1.3).
 */
export function httpDate(value: string): number {
  const v = value.trim();
  if (IMF_FIXDATE.test(v) || RFC_850.test(v)) return Date.parse(v);
  // (asctime names no zone: it is UTC, which Date.parse must be told.)
  if (ASCTIME.test(v)) return Date.parse(`${v} GMT`);
  return Number.NaN;
}

/**
 * Whether a Range is honoured under an If-Range (§13.1.5): an entity tag must match the representation's by strong
 * comparison (a weak tag on either side never does), and a date must be its Last-Modified exactly. Otherwise the
 * whole object is served.
 */
export function rangeHolds(ifRange: string | undefined, etag: string | undefined, lastModified: string | undefined): boolean {
  if (ifRange === undefined) return true;
  const validator = ifRange.trim();
  // The same strong tag (quoted, or unquoted as some origins send it).
  if (etag !== undefined && !etag.startsWith("W/") && validator === etag) return true;
  if (validator.startsWith('"') || validator.startsWith("W/")) return false;
  return lastModified !== undefined && validator === lastModified;
}
