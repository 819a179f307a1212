// A tenant's request logs: filters as GET parameters, newest first, a page at a time by cursor, and the CSV link.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { TableWrap } from "#app/components/ui.tsx";
import { FILTER_LABELS, type LogFilterKey, readLogFilters } from "#app/schemas/log-filters.ts";
import { CACHE_STATUSES } from "#app/schemas/usage.ts";
import { requirePageCaller } from "#app/server/auth.server.ts";
import { ApiError } from "#app/server/http.server.ts";
import { listLogs } from "#app/server/logs.server.ts";
import { pageNotFound } from "#app/server/pages.server.ts";
import { formatBytes, formatNumber } from "#app/utils/format.ts";

export const meta: MetaFunction = ({ params }) => [{ title: `${params.slug} logs · CMS edge` }];

const PAGE_SIZE = 50;

export async function loader(args: LoaderFunctionArgs) {
  const who = await requirePageCaller(args);
  const slug = args.params.slug as string;
  const search = new URL(args.request.url).searchParams;
  const { filters, kept, asked, invalid } = readLogFilters(search);
  const problems = Object.entries(invalid).map(([key, message]) => `${FILTER_LABELS[key as LogFilterKey]}: ${message}`);
  let cursor = search.get("cursor") || undefined;
  let page;
  try {
    page = await pageNotFound(() => listLogs(who, slug, { ...filters, limit: PAGE_SIZE, cursor }));
  } catch (err) {
    // The filters were checked above, so only the cursor can be refused: an altered link, or another tenant's.
    if (!(err instanceof ApiError && err.code === "invalid_request" && cursor)) throw err;
    problems.push("That page link is not valid here; showing the newest logs");
    cursor = undefined;
    page = await listLogs(who, slug, { ...filters, limit: PAGE_SIZE });
  }
  const href = (path: string, extra: Record<string, string> = {}) => {
    const qs = new URLSearchParams({ ...kept, ...extra }).toString();
    return qs ? `${path}?${qs}` : path;
  };
  const base = `/tenants/${slug}/logs`;
  return {
    asked,
    invalid,
    problems,
    filtered: Object.keys(kept).length > 0,
    logs: page.logs,
    links: {
      next: page.pagination.nextCursor ? href(base, { cursor: page.pagination.nextCursor }) : null,
      newest: cursor ? href(base) : null,
      csv: href(`${base}.csv`),
      clear: base,
    },
  };
}

export default function LogsPage() {
  const { asked, invalid, problems, filtered, logs, links } = useLoaderData<typeof loader>();
  return (
    <>
      {/* Remounted when the filters asked change (Clear, Back, a link), so that its inputs show them; not when only
          the page of logs does. */}
      <LogFiltersForm key={JSON.stringify(asked)} asked={asked} invalid={invalid} clear={links.clear} />
      {problems.length ? (
        <div className="form-errors" role="alert">
          {problems.map((p) => (
            <p key={p}>{p}.</p>
          ))}
          {Object.keys(invalid).length ? <p>The filters above in error are not applied.</p> : null}
        </div>
      ) : null}
      <p className="actions">
        <a href={links.csv} download className="button secondary">
          Download CSV
        </a>
        <span className="muted">every log these filters match, newest first</span>
      </p>
      {logs.length === 0 ? (
        <p className="empty">{filtered ? "No logs match these filters." : "No request logs in the last 30 days."}</p>
      ) : (
        <LogsTable logs={logs} />
      )}
      {links.next || links.newest ? (
        <nav className="pagination" aria-label="Log pages">
          {links.newest ? <Link to={links.newest}>Back to the newest</Link> : null}
          {links.next ? (
            <Link to={links.next} rel="next">
              Next page
            </Link>
          ) : null}
        </nav>
      ) : null}
    </>
  );
}

// ---- pieces ------------------------------------------------------------------------------------------------

interface FiltersFormProps {
  asked: Partial<Record<LogFilterKey, string>>;
  invalid: Partial<Record<LogFilterKey, string>>;
  clear: string;
}

function LogFiltersForm({ asked, invalid, clear }: FiltersFormProps) {
  const errorOf = (key: LogFilterKey) =>
    invalid[key] ? { "aria-invalid": true as const, "aria-describedby": `${key}-error` } : {};
  const error = (key: LogFilterKey) =>
    invalid[key] ? (
      <p id={`${key}-error`} className="field-errors">
        {invalid[key]}
      </p>
    ) : null;
  // A value with seconds (from a shared link) would fail the input's default one-minute step.
  const step = (key: "from" | "to") => ((asked[key]?.length ?? 0) > 16 ? 1 : undefined);
  return (
    // The bare page as the action: a new filter starts again from the newest log, with no cursor.
    <Form method="get" action={clear} className="filters" aria-label="Log filters">
      <div className="field">
        <label htmlFor="status">Status</label>
        <input id="status" name="status" type="text" list="status-classes" placeholder="200 or 4xx" defaultValue={asked.status ?? ""} {...errorOf("status")} />
        <datalist id="status-classes">
          {["2xx", "3xx", "4xx", "5xx"].map((c) => (
            <option key={c} value={c} />
          ))}
        </datalist>
        {error("status")}
      </div>
      <div className="field">
        <label htmlFor="cache">Cache status</label>
        <select id="cache" name="cache" defaultValue={asked.cache ?? ""} {...errorOf("cache")}>
          <option value="">Any</option>
          {CACHE_STATUSES.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
        {error("cache")}
      </div>
      <div className="field">
        <label htmlFor="kind">Kind</label>
        <select id="kind" name="kind" defaultValue={asked.kind ?? ""} {...errorOf("kind")}>
          <option value="">Any</option>
          <option value="asset">Assets</option>
          <option value="api">API</option>
        </select>
        {error("kind")}
      </div>
      <div className="field">
        <label htmlFor="path">Path prefix</label>
        <input id="path" name="path" type="text" placeholder="/images/" defaultValue={asked.path ?? ""} {...errorOf("path")} />
        {error("path")}
      </div>
      <div className="field">
        <label htmlFor="from">From (UTC)</label>
        <input id="from" name="from" type="datetime-local" step={step("from")} defaultValue={asked.from ?? ""} {...errorOf("from")} />
        {error("from")}
      </div>
      <div className="field">
        <label htmlFor="to">To (UTC, inclusive)</label>
        <input id="to" name="to" type="datetime-local" step={step("to")} defaultValue={asked.to ?? ""} {...errorOf("to")} />
        {error("to")}
      </div>
      <div className="field actions">
        <button type="submit" className="secondary">
          Filter
        </button>
        <Link to={clear}>Clear</Link>
      </div>
    </Form>
  );
}

interface LogRow {
  id: string;
  timestamp: string;
  method: string;
  path: string;
  status: number;
  cacheStatus: string;
  kind: string;
  bytes: number;
  durationMs: number;
}

/** 2024-05-01 10:05:09, the instant in UTC to the second (the full instant is the `dateTime` and the title). */
const utcSecond = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
const formatDuration = (ms: number) => `${formatNumber(ms < 10 ? Math.round(ms * 10) / 10 : Math.round(ms))} ms`;

function LogsTable({ logs }: { logs: LogRow[] }) {
  return (
    <TableWrap label="Request logs">
      <table>
        <caption>Request logs, newest first ({formatNumber(logs.length)} on this page)</caption>
        <thead>
          <tr>
            <th scope="col">Time (UTC)</th>
            <th scope="col">Method</th>
            <th scope="col">Path</th>
            <th scope="col" className="num">Status</th>
            <th scope="col">Cache</th>
            <th scope="col">Kind</th>
            <th scope="col" className="num">Bytes</th>
            <th scope="col" className="num">Duration</th>
          </tr>
        </thead>
        <tbody>
          {logs.map((log) => (
            <tr key={log.id}>
              <td>
                <time dateTime={log.timestamp} title={log.timestamp}>
                  {utcSecond(log.timestamp)}
                </time>
              </td>
              <td>{log.method}</td>
              <td>
                <code>{log.path}</code>
              </td>
              <td className="num">{log.status}</td>
              <td>{log.cacheStatus}</td>
              <td>{log.kind}</td>
              <td className="num">{formatBytes(log.bytes)}</td>
              <td className="num">{formatDuration(log.durationMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}
