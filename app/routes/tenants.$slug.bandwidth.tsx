// A tenant's daily bandwidth for a range of days (the last 30 by default), as a chart and a table.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, useLoaderData } from "@remix-run/react";
import { RequestsBandwidthChart } from "#app/components/charts.tsx";
import { Kpi, ShowButton, TableWrap } from "#app/components/ui.tsx";
import { bandwidthQuerySchema } from "#app/schemas/usage.ts";
import { bandwidthDaily } from "#app/server/analytics.server.ts";
import { requirePageCaller } from "#app/server/auth.server.ts";
import { ApiError } from "#app/server/http.server.ts";
import { pageNotFound } from "#app/server/pages.server.ts";
import { formatBytes, formatNumber } from "#app/utils/format.ts";

export const meta: MetaFunction = ({ params }) => [{ title: `${params.slug} bandwidth · CMS edge` }];

export async function loader(args: LoaderFunctionArgs) {
  const who = await requirePageCaller(args);
  const slug = args.params.slug as string;
  const params = new URL(args.request.url).searchParams;
  const asked = { from: params.get("from") || undefined, to: params.get("to") || undefined };
  const parsed = bandwidthQuerySchema.safeParse(asked);
  let issues = parsed.success ? [] : parsed.error.issues.map((i) => ({ path: String(i.path[0] ?? "range"), message: i.message }));
  let refused: string | null = null;
  let data;
  try {
    data = await pageNotFound(() => bandwidthDaily(who, slug, parsed.success ? parsed.data : {}));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    // A range the API refuses (from after to, over 366 days): say so and show the default range.
    issues = err.issues ?? [];
    refused = err.message;
    data = await bandwidthDaily(who, slug, {});
  }
  const problem = issues.map((i) => `${i.path} ${i.message}`).join("; ") || refused;
  // The fields the problem is about (marked invalid and pointed at the message).
  return { data, asked, problem, invalid: issues.map((i) => i.path) };
}

export default function BandwidthPage() {
  const { data, asked, problem, invalid } = useLoaderData<typeof loader>();
  /** An input's error attributes: invalid, and described by the message, when the problem is about it. */
  const errorOf = (field: "from" | "to") =>
    invalid.includes(field) ? { "aria-invalid": true as const, "aria-describedby": "range-error" } : {};
  const total = data.points.reduce((s, p) => s + p.bandwidthBytes, 0);
  const requests = data.points.reduce((s, p) => s + p.requests, 0);
  return (
    <>
      {/* Remounted when the range shown changes (a link, Back), so that its inputs show that range. */}
      <Form key={`${asked.from ?? data.from}/${asked.to ?? data.to}`} method="get" className="filters" aria-label="Range of days">
        <div className="field">
          <label htmlFor="from">From</label>
          <input id="from" name="from" type="date" defaultValue={asked.from ?? data.from} {...errorOf("from")} />
        </div>
        <div className="field">
          <label htmlFor="to">To</label>
          <input id="to" name="to" type="date" defaultValue={asked.to ?? data.to} {...errorOf("to")} />
        </div>
        <ShowButton />
      </Form>
      {problem ? (
        <p id="range-error" className="form-errors" role="alert">
          {problem}. Showing the last 30 days.
        </p>
      ) : null}
      <p className="muted">
        {data.from} to {data.to} (UTC, both days included)
      </p>
      <div className="kpis">
        <Kpi label="Bandwidth" value={formatBytes(total)} />
        <Kpi label="Requests" value={formatNumber(requests)} />
      </div>
      <RequestsBandwidthChart points={data.points} title="Bandwidth and requests per day" />
      <TableWrap label="Daily bandwidth">
        <table>
          <caption>Daily bandwidth</caption>
          <thead>
            <tr>
              <th scope="col">Date</th>
              <th scope="col" className="num">Bandwidth</th>
              <th scope="col" className="num">Requests</th>
            </tr>
          </thead>
          <tbody>
            {data.points.map((p) => (
              <tr key={p.date}>
                <th scope="row">{p.date}</th>
                <td className="num">{formatBytes(p.bandwidthBytes)}</td>
                <td className="num">{formatNumber(p.requests)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
    </>
  );
}
