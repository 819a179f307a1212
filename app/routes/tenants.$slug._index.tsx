// A tenant's overview for a period: KPIs, daily requests/bandwidth and hit ratio charts (with their tables), the
// asset/API split, status classes and top paths; or, before any traffic, how to send some.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData, useRouteLoaderData } from "@remix-run/react";
import { PeriodSwitcher } from "#app/components/period-switcher.tsx";
import { HitRatioChart, RequestsBandwidthChart } from "#app/components/charts.tsx";
import { Copyable, Kpi, TableWrap } from "#app/components/ui.tsx";
import { periodNameSchema, resolvePeriod } from "#app/schemas/period.ts";
import { tenantAnalytics, tenantHasTraffic } from "#app/server/analytics.server.ts";
import { requirePageCaller } from "#app/server/auth.server.ts";
import { pageNotFound } from "#app/server/pages.server.ts";
import { formatBytes, formatDate, formatHitRatio, formatNumber } from "#app/utils/format.ts";

export const meta: MetaFunction = ({ params }) => [{ title: `${params.slug} overview · CMS edge` }];

export async function loader(args: LoaderFunctionArgs) {
  const who = await requirePageCaller(args);
  const asked = new URL(args.request.url).searchParams.get("period") ?? undefined;
  const parsed = periodNameSchema.safeParse(asked);
  const period = parsed.success ? parsed.data : "current_month";
  const slug = args.params.slug as string;
  const analytics = await pageNotFound(() => tenantAnalytics(who, slug, resolvePeriod(period)));
  // The first-run help is for a tenant that has never been sent a request, not for a quiet period.
  const neverServed = analytics.totals.requests === 0 && !(await pageNotFound(() => tenantHasTraffic(who, slug)));
  return { analytics, neverServed, invalidPeriod: parsed.success ? null : asked };
}

export default function OverviewPage() {
  const { analytics: a, neverServed, invalidPeriod } = useLoaderData<typeof loader>();
  /** A ratio, or a dash where there were no requests to have one. */
  return (
    <>
      <PeriodSwitcher period={a.period.name} invalidPeriod={invalidPeriod} />
      <p className="muted">
        {formatDate(a.period.start, false)} to {formatDate(new Date(Date.parse(a.period.end) - 1), false)} (UTC)
      </p>

      {neverServed ? <EmptyState /> : a.totals.requests === 0 ? <p className="empty">No requests in this period: choose another one to see earlier traffic.</p> : null}

      <div className="kpis">
        <Kpi
          label="Requests"
          value={formatNumber(a.totals.requests)}
          detail={`${formatNumber(a.statusClasses["4xx"])} 4xx, ${formatNumber(a.statusClasses["5xx"])} 5xx`}
        />
        <Kpi label="Bandwidth" value={formatBytes(a.totals.bandwidthBytes)} />
        <Kpi
          label="Cache hit ratio"
          value={formatHitRatio(a.cacheHitRatio, a.totals.requests)}
          detail={`${formatNumber(a.totals.cacheHits)} hits, ${formatNumber(a.totals.cacheMisses)} misses, ${formatNumber(a.totals.cacheBypasses)} bypasses, ${formatNumber(a.totals.errors)} edge errors`}
        />
        <Kpi label="Origin requests avoided" value={formatNumber(a.originRequestsAvoided)} />
      </div>

      <div className="grid-2">
        <RequestsBandwidthChart points={a.daily} />
        <HitRatioChart points={a.daily} />
      </div>
      <TableWrap label="Daily traffic">
        <table>
          <caption>Daily traffic</caption>
          <thead>
            <tr>
              <th scope="col">Date</th>
              <th scope="col" className="num">Requests</th>
              <th scope="col" className="num">Bandwidth</th>
              <th scope="col" className="num">Cache hit ratio</th>
            </tr>
          </thead>
          <tbody>
            {a.daily.map((d) => (
              <tr key={d.date}>
                <th scope="row">{d.date}</th>
                <td className="num">{formatNumber(d.requests)}</td>
                <td className="num">{formatBytes(d.bandwidthBytes)}</td>
                <td className="num">{formatHitRatio(d.cacheHitRatio, d.requests)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>

      <div className="grid-2">
        <section aria-labelledby="split">
          <h2 id="split">Assets and API</h2>
          <TableWrap label="Assets and API table">
            <table>
              <thead>
                <tr>
                  <th scope="col">Kind</th>
                  <th scope="col" className="num">Requests</th>
                  <th scope="col" className="num">Bandwidth</th>
                  <th scope="col" className="num">Hit ratio</th>
                </tr>
              </thead>
              <tbody>
                {(["asset", "api"] as const).map((k) => (
                  <tr key={k}>
                    <th scope="row">{k === "asset" ? "Assets" : "API"}</th>
                    <td className="num">{formatNumber(a.traffic[k].requests)}</td>
                    <td className="num">{formatBytes(a.traffic[k].bandwidthBytes)}</td>
                    <td className="num">{formatHitRatio(a.traffic[k].cacheHitRatio, a.traffic[k].requests)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </section>
        <section aria-labelledby="status">
          <h2 id="status">Status classes</h2>
          <TableWrap label="Status classes table">
            <table>
              <thead>
                <tr>
                  <th scope="col">Class</th>
                  <th scope="col" className="num">Requests</th>
                </tr>
              </thead>
              <tbody>
                {(["2xx", "3xx", "4xx", "5xx"] as const).map((c) => (
                  <tr key={c}>
                    <th scope="row">{c}</th>
                    <td className="num">{formatNumber(a.statusClasses[c])}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </section>
      </div>

      <section aria-labelledby="top-paths">
        <h2 id="top-paths">Top paths</h2>
        {a.topPaths.length === 0 ? (
          <p className="muted">No requests in this period.</p>
        ) : (
          <TableWrap label="Top paths table">
            <table>
              <thead>
                <tr>
                  <th scope="col">Path</th>
                  <th scope="col" className="num">Requests</th>
                  <th scope="col" className="num">Bandwidth</th>
                </tr>
              </thead>
              <tbody>
                {a.topPaths.map((p) => (
                  <tr key={p.path}>
                    <th scope="row">
                      <code>{p.path}</code>
                    </th>
                    <td className="num">{formatNumber(p.requests)}</td>
                    <td className="num">{formatBytes(p.bandwidthBytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </section>
    </>
  );
}

/** Before any traffic: the edge address and a line to try it with. */
function EmptyState() {
  const layout = useRouteLoaderData<{ tenant: { proxyBase: string } }>("routes/tenants.$slug");
  const base = layout?.tenant.proxyBase ?? "";
  return (
    <div className="empty">
      <p>
        <strong>No traffic yet.</strong> Point your site or app at the edge address and requests show up here.
      </p>
      <p>
        Edge address: <Copyable text={base} label="edge address" />
      </p>
      <p>Try it:</p>
      <pre>
        <code>{`curl -I ${base}/your-asset.jpg`}</code>
      </pre>
    </div>
  );
}
