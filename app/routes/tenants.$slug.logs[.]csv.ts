// GET /tenants/{slug}/logs.csv: every request log the page's filters match, newest first, streamed as CSV.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { readLogFilters } from "#app/schemas/log-filters.ts";
import { requirePageCaller } from "#app/server/auth.server.ts";
import { listLogs } from "#app/server/logs.server.ts";
import { pageNotFound } from "#app/server/pages.server.ts";

/** The most `listLogs` gives at once. */
const BATCH = 200;

export async function loader(args: LoaderFunctionArgs) {
  const who = await requirePageCaller(args);
  const slug = args.params.slug as string;
  const { filters, invalid } = readLogFilters(new URL(args.request.url).searchParams);
  const problems = Object.entries(invalid).map(([key, message]) => `${key}: ${message}`);
  if (problems.length) {
    return new Response(`Invalid filters\n${problems.join("\n")}\n`, {
      status: 400,
      headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
    });
  }
  const fetchPage = (cursor?: string) => listLogs(who, slug, { ...filters, limit: BATCH, cursor });
  // The first page is read before answering, so that an inaccessible tenant is a 404 rather than a broken download.
  const first = await pageNotFound(() => fetchPage());
  return new Response(csvStream(first, fetchPage), {
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="${slug}-logs.csv"`,
      "Cache-Control": "no-store",
    },
  });
}

type LogsPage = Awaited<ReturnType<typeof listLogs>>;
type LogEntry = LogsPage["logs"][number];

const COLUMNS = ["timestamp", "method", "path", "status", "cacheStatus", "kind", "bytes", "durationMs"] as const satisfies ReadonlyArray<keyof LogEntry>;

/**
 * One page per pull, following the cursor: nothing is read ahead of the client (high-water mark 0), memory stays at
 * one page whatever the number of logs, and logs arriving meanwhile neither repeat nor shift a row.
 */
function csvStream(first: LogsPage, fetchPage: (cursor: string) => Promise<LogsPage>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let header = `${COLUMNS.join(",")}\r\n`;
  let page: LogsPage | null = first;
  let cursor: string | null = null;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          page ??= await fetchPage(cursor as string);
          controller.enqueue(encoder.encode(header + page.logs.map(csvRow).join("")));
          header = "";
          cursor = page.pagination.nextCursor;
          page = null;
          if (!cursor) controller.close();
        } catch (err) {
          // The status line is long gone: fail the download loudly rather than end it as if it were complete.
          console.error("logs.csv stream failed:", err);
          controller.error(err);
        }
      },
    },
    { highWaterMark: 0 },
  );
}

function csvRow(log: LogEntry): string {
  return `${COLUMNS.map((c) => csvField(log[c])).join(",")}\r\n`;
}

/**
 * RFC 4180 quoting, and text a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading `'`.
 * Numbers are written as they are: they come from the store as numbers, never as text someone typed.
 */
function csvField(value: string | number): string {
  if (typeof value === "number") return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
