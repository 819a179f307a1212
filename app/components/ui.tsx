// Small shared pieces: copy button, usage bar, KPI card, status badge, page header, empty state.
import { Link } from "@remix-run/react";
import { type ReactNode, useState } from "react";
import { useHydrated } from "#app/utils/hydrated.ts";

/** Copies `text`; a button only with JavaScript (without it the text itself is there to select). */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const hydrated = useHydrated();
  const [copied, setCopied] = useState(false);
  // Without JavaScript, the same space held empty: nothing moves when the button appears.
  if (!hydrated) {
    return (
      <span className="copy copy-placeholder" aria-hidden="true">
        Copy
      </span>
    );
  }
  return (
    <button
      type="button"
      className="copy"
      aria-label={`Copy ${label}`}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        });
      }}
    >
      {copied ? "Copied" : "Copy"}
    </button>
  );
}

export function Copyable({ text, label }: { text: string; label: string }) {
  return (
    <span className="copyable">
      <code>{text}</code> <CopyButton text={text} label={label} />
    </span>
  );
}

/** How much of a plan limit is used, as a native progress bar with its numbers beside it. */
export function UsageBar({ label, used, limit, format }: { label: string; used: number; limit: number; format: (n: number) => string }) {
  const over = used > limit;
  return (
    <div className={`usage-bar${over ? " over" : ""}`}>
      <div className="usage-bar-label">
        <span>{label}</span>
        <span>
          {format(used)} of {format(limit)}
        </span>
      </div>
      <progress value={Math.min(used, limit)} max={limit} aria-label={`${label}: ${format(used)} of ${format(limit)}`} />
    </div>
  );
}

export function Kpi({ label, value, detail }: { label: string; value: string; detail?: string }) {
  return (
    <div className="kpi">
      <p className="kpi-label">{label}</p>
      <p className="kpi-value">{value}</p>
      {detail ? <p className="kpi-detail">{detail}</p> : null}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status}</span>;
}

export function PageHeader({ title, children, back }: { title: string; children?: ReactNode; back?: { to: string; label: string } }) {
  return (
    <header className="page-header">
      {back ? (
        <p className="back">
          <Link to={back.to}>← {back.label}</Link>
        </p>
      ) : null}
      <div className="page-header-row">
        <h1>{title}</h1>
        {children ? <div className="page-actions">{children}</div> : null}
      </div>
    </header>
  );
}

/** A table that scrolls sideways on a narrow screen; focusable so the keyboard can scroll it too. */
export function TableWrap({ children, label }: { children: ReactNode; label: string }) {
  return (
    <div className="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/** The submit button of a GET filter form (what a visitor without JavaScript presses to apply it). */
export function ShowButton() {
  return (
    <div className="field">
      <button type="submit" className="secondary">
        Show
      </button>
    </div>
  );
}
