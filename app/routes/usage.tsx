// The account's usage: per tenant for a period against the period before, totals (deleted tenants included), and
// the plan's limits against this month's use.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { PeriodSwitcher } from "#app/components/period-switcher.tsx";
import { PageHeader, TableWrap, UsageBar } from "#app/components/ui.tsx";
import { periodNameSchema, previousPeriod, resolvePeriod } from "#app/schemas/period.ts";
import { requirePageCaller } from "#app/server/auth.server.ts";
import { accountUsage } from "#app/server/usage.server.ts";
import { formatBytes, formatDate, formatHitRatio, formatNumber, formatPercent } from "#app/utils/format.ts";

export const meta: MetaFunction = () => [{ title: "Usage · CMS edge" }];

export async function loader(args: LoaderFunctionArgs) {
  const who = await requirePageCaller(args);
  const asked = new URL(args.request.url).searchParams.get("period") ?? undefined;
  const parsed = periodNameSchema.safeParse(asked);
  const period = resolvePeriod(parsed.success ? parsed.data : "current_month");
  const before = previousPeriod(period);
  const [current, previous] = await Promise.all([accountUsage(who, period), accountUsage(who, before)]);
  const prevBySlug = new Map(previous.tenants.map((t) => [t.slug, t]));
  return {
    subject: who.orgId ? `organization ${who.orgId}` : `your account (${who.userId})`,
    invalidPeriod: parsed.success ? null : asked,
    period: current.period,
    previousPeriod: previous.period,
    totals: { current: current.totals, previous: previous.totals },
    tenants: current.tenants.map((t) => ({
      ...t,
      previous: prevBySlug.get(t.slug) ?? { requests: 0, bandwidthBytes: 0, cacheHitRatio: 0 },
    })),
    plan: current.plan,
  };
}

/** "+12.5%", "−3.0%", "new" or "—": how a number moved from one period to the next. */
function change(now: number, before: number): string {
  if (before === 0) return now === 0 ? "—" : "new";
  const r = (now - before) / before;
  return `${r >= 0 ? "+" : "−"}${formatPercent(Math.abs(r))}`;
}

export default function UsagePage() {
  const data = useLoaderData<typeof loader>();
  const range = (p: { start: string; end: string }) => `${formatDate(p.start, false)} to ${formatDate(new Date(Date.parse(p.end) - 1), false)}`;
  return (
    <>
      <PageHeader title="Usage" />
      <p className="muted">Usage of {data.subject}, across its tenants.</p>
      <PeriodSwitcher period={data.period.name} invalidPeriod={data.invalidPeriod} />
      <p className="muted">
        {range(data.period)}, compared with {range(data.previousPeriod)} (UTC)
      </p>

      <TableWrap label="Usage per tenant">
        <table>
          <caption>Usage per tenant</caption>
          <thead>
            <tr>
              <th scope="col">Tenant</th>
              <th scope="col" className="num">Requests</th>
              <th scope="col" className="num">Before</th>
              <th scope="col" className="num">Change</th>
              <th scope="col" className="num">Bandwidth</th>
              <th scope="col" className="num">Before</th>
              <th scope="col" className="num">Change</th>
              <th scope="col" className="num">Hit ratio</th>
            </tr>
          </thead>
          <tbody>
            {data.tenants.map((t) => (
              <tr key={t.slug}>
                <th scope="row">{t.slug}</th>
                <td className="num">{formatNumber(t.requests)}</td>
                <td className="num">{formatNumber(t.previous.requests)}</td>
                <td className="num">{change(t.requests, t.previous.requests)}</td>
                <td className="num">{formatBytes(t.bandwidthBytes)}</td>
                <td className="num">{formatBytes(t.previous.bandwidthBytes)}</td>
                <td className="num">{change(t.bandwidthBytes, t.previous.bandwidthBytes)}</td>
                <td className="num">{formatHitRatio(t.cacheHitRatio, t.requests)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">All, deleted tenants included</th>
              <td className="num">{formatNumber(data.totals.current.requests)}</td>
              <td className="num">{formatNumber(data.totals.previous.requests)}</td>
              <td className="num">{change(data.totals.current.requests, data.totals.previous.requests)}</td>
              <td className="num">{formatBytes(data.totals.current.bandwidthBytes)}</td>
              <td className="num">{formatBytes(data.totals.previous.bandwidthBytes)}</td>
              <td className="num">{change(data.totals.current.bandwidthBytes, data.totals.previous.bandwidthBytes)}</td>
              <td />
            </tr>
          </tfoot>
        </table>
      </TableWrap>

      <section aria-labelledby="plan-title" id="plan">
        <h2 id="plan-title">Plan: {data.plan.name}</h2>
        <p className="muted">
          Limits count per calendar month (UTC). {data.plan.name === "free" ? "Past the monthly requests or bandwidth, the edge answers 429 until the 1st of next month." : "Past the included requests and bandwidth, the edge keeps serving (overage)."}
        </p>
        <div className="usage-bars">
          <UsageBar label="Tenants" used={data.plan.used.tenants} limit={data.plan.limits.tenants} format={formatNumber} />
          <UsageBar label="Requests this month" used={data.plan.used.requests} limit={data.plan.limits.requests} format={formatNumber} />
          <UsageBar label="Bandwidth this month" used={data.plan.used.bandwidthBytes} limit={data.plan.limits.bandwidthBytes} format={formatBytes} />
        </div>
      </section>
    </>
  );
}
