// The period picker of the overview and usage pages: a GET form sent with its Show button, with or without JavaScript
// (not on change: arrowing through a closed select changes it at each key, and each change would load a page — WCAG
// 3.2.2); a period named in the URL but not understood is reported, not an error.
import { Form } from "@remix-run/react";
import { NAMED_PERIODS } from "#app/schemas/period.ts";
import { ShowButton } from "./ui.tsx";

const PERIOD_LABELS: Record<string, string> = {
  current_month: "This month",
  previous_month: "Last month",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  "90d": "Last 90 days",
};

export function PeriodSwitcher({ period, invalidPeriod }: { period: string; invalidPeriod?: string | null }) {
  return (
    <>
      <Form method="get" className="filters" aria-label="Period switcher">
        <div className="field">
          <label htmlFor="period">Period</label>
          <select
            // (Remounted when the page's period changes, by a link or Back, so that it shows that period.)
            key={period}
            id="period"
            name="period"
            defaultValue={period}
            aria-invalid={invalidPeriod ? true : undefined}
            aria-describedby={invalidPeriod ? "period-error" : undefined}
          >
            {NAMED_PERIODS.map((p) => (
              <option key={p} value={p}>
                {PERIOD_LABELS[p]}
              </option>
            ))}
            {(NAMED_PERIODS as readonly string[]).includes(period) ? null : <option value={period}>{period}</option>}
          </select>
        </div>
        <ShowButton />
      </Form>
      {invalidPeriod ? (
        <p id="period-error" className="form-errors" role="alert">
          “{invalidPeriod}” is not a period; showing this month.
        </p>
      ) : null}
    </>
  );
}
