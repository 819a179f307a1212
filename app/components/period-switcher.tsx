// The period picker of the overview and usage pages: a GET form that works without JavaScript (the Show button) and
// submits itself on change with it; a period named in the URL but not understood is reported, not an error.
import { Form, useSubmit } from "@remix-run/react";
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
  const submit = useSubmit();
  return (
    <>
      <Form method="get" className="filters" onChange={(e) => submit(e.currentTarget)} aria-label="Period switcher">
        <div className="field">
          <label htmlFor="period">Period</label>
          <select
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
