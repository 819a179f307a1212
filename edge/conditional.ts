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
  const since = Date.parse(ifModifiedSince);
  const modified = Date.parse(lastModified);
  return Number.isFinite(since) && Number.isFinite(modified) && modified <= since;
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
