// Charts (recharts) of daily traffic. Each sits in a box of fixed height that is there before JavaScript draws the
// chart, so nothing moves when it does; the same numbers are in a table beside it, so the page reads without it,
// and the chart itself is hidden from assistive technology (and out of the tab order) rather than read twice.
import type { ReactNode } from "react";
import {
  Bar,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { formatBytes, formatNumber, formatPercent } from "#app/utils/format.ts";
import { useHydrated } from "#app/utils/hydrated.ts";

export interface DailyPoint {
  date: string;
  requests: number;
  bandwidthBytes: number;
  cacheHitRatio?: number;
}

const HEIGHT = 260;

function ChartBox({ title, children, description }: { title: string; description: string; children: ReactNode }) {
  const hydrated = useHydrated();
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div className="chart-box" style={{ height: HEIGHT }} aria-hidden="true">
        {hydrated ? (
          <ResponsiveContainer width="100%" height={HEIGHT}>
            {children as React.ReactElement}
          </ResponsiveContainer>
        ) : (
          <p className="chart-placeholder">{description}</p>
        )}
      </div>
    </figure>
  );
}

const shortDate = (d: string) => d.slice(5);

export function RequestsBandwidthChart({ points, title = "Requests and bandwidth per day" }: { points: DailyPoint[]; title?: string }) {
  return (
    <ChartBox title={title} description="The chart appears with JavaScript; the table below has the same numbers.">
      <ComposedChart data={points} margin={{ top: 8, right: 8, bottom: 0, left: 0 }} accessibilityLayer={false}>
        <CartesianGrid strokeDasharray="3 3" stroke="var(--line)" />
        <XAxis dataKey="date" tickFormatter={shortDate} stroke="var(--muted)" fontSize={12} />
        <YAxis yAxisId="requests" stroke="var(--muted)" fontSize={12} tickFormatter={(v: number) => formatNumber(v)} width={56} />
        <YAxis yAxisId="bytes" orientation="right" stroke="var(--muted)" fontSize={12} tickFormatter={(v: number) => formatBytes(v)} width={64} />
        <Tooltip
          formatter={(value, name) => (name === "Bandwidth" ? formatBytes(Number(value)) : formatNumber(Number(value)))}
          contentStyle={{ background: "var(--bg)", border: "1px solid var(--line)" }}
        />
        <Legend />
        <Bar yAxisId="requests" dataKey="requests" name="Requests" fill="var(--accent)" isAnimationActive={false} />
        <Line yAxisId="bytes" dataKey="bandwidthBytes" name="Bandwidth" stroke="var(--accent-2)" dot={false} isAnimationActive={false} />
      </ComposedChart>
    </ChartBox>
  );
}

export function HitRatioChart({ points }: { points: DailyPoint[] }) {
  // A day without requests has no ratio: no point (a gap in the line), rather than a fall to 0%.
  const ratios = points.map((p) => ({ date: p.date, cacheHitRatio: p.requests > 0 ? p.cacheHitRatio : null }));
  return (
    <ChartBox title="Cache hit ratio per day" description="The chart appears with JavaScript; the table below has the same numbers.">
      <LineChart data={ratios} margin={{ top: 8, right: 8, bottom: 0, left: 0 }} accessibilityLayer={false}>
        <CartesianGrid strokeDasharray="3 3" stroke="var(--line)" />
        <XAxis dataKey="date" tickFormatter={shortDate} stroke="var(--muted)" fontSize={12} />
        <YAxis domain={[0, 1]} tickFormatter={(v: number) => formatPercent(v)} stroke="var(--muted)" fontSize={12} width={56} />
        <Tooltip
          formatter={(value) => (value === null || value === undefined ? "no requests" : formatPercent(Number(value)))}
          contentStyle={{ background: "var(--bg)", border: "1px solid var(--line)" }}
        />
        <Line dataKey="cacheHitRatio" name="Hit ratio" stroke="var(--accent)" dot={false} isAnimationActive={false} />
      </LineChart>
    </ChartBox>
  );
}
