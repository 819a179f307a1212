// Numbers as people read them: 1.2 GB, 34.5%, 12,345, and dates in UTC.

const UNITS = ["B", "KB", "MB", "GB", "TB", "PB"];

/** Bytes in decimal units (1 GB = 10^9 B, as plans count them), one decimal from KB up. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1000) return `${Math.max(0, Math.round(bytes || 0))} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value >= 100 ? 0 : 1)} ${UNITS[unit]}`;
}

export const formatNumber = (n: number) => new Intl.NumberFormat("en-US").format(n);

/** A ratio 0..1 as a percentage with one decimal. */
export const formatPercent = (ratio: number) => `${(Math.round(ratio * 1000) / 10).toFixed(1)}%`;

/** A cache hit ratio, or "—" where there were no requests to have one (decision 022). */
export const formatHitRatio = (ratio: number, requests: number) => (requests > 0 ? formatPercent(ratio) : "—");

/** A date as YYYY-MM-DD HH:MM UTC (or just the day). */
export function formatDate(iso: string | Date, withTime = true): string {
  const d = new Date(iso);
  const day = d.toISOString().slice(0, 10);
  return withTime ? `${day} ${d.toISOString().slice(11, 16)} UTC` : day;
}
