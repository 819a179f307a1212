// The frame of every page: header with navigation, the global navigation progress bar, and the toast.
import { Form, Link, NavLink, useNavigation } from "@remix-run/react";
import { type ReactNode, useEffect, useState } from "react";

export interface ShellUser {
  userId: string;
  orgId: string | null;
}

export function PendingBar() {
  const navigation = useNavigation();
  const busy = navigation.state !== "idle";
  return <div className={`pending-bar${busy ? " busy" : ""}`} role="progressbar" aria-label="Loading" aria-hidden={!busy} />;
}

export function ToastView({ toast }: { toast: { kind: "success" | "info" | "error"; message: string } | null }) {
  const [visible, setVisible] = useState(Boolean(toast));
  useEffect(() => {
    setVisible(Boolean(toast));
    // Only a success goes by itself: an error, or news that asks something of the reader, stays until dismissed.
    if (toast?.kind !== "success") return;
    const t = setTimeout(() => setVisible(false), 6000);
    return () => clearTimeout(t);
  }, [toast]);
  const shown = toast && visible ? toast : null;
  const view = shown ? (
    <div className={`toast toast-${shown.kind}`}>
      <span>{shown.message}</span>
      <button type="button" className="toast-close" aria-label="Dismiss" onClick={() => setVisible(false)}>
        ×
      </button>
    </div>
  ) : null;
  // A status region is announced when what it holds changes, so it is always on the page and a success or a piece of
  // news is put in it (made together with its text, as after a client-side navigation, it would go unread); an
  // error is an alert, announced as it appears.
  return (
    <>
      <div className="toast-region" role="status">
        {shown?.kind !== "error" ? view : null}
      </div>
      {shown?.kind === "error" ? (
        <div className="toast-region" role="alert">
          {view}
        </div>
      ) : null}
    </>
  );
}

export function AppHeader({ user, authMode, accountControls }: { user: ShellUser | null; authMode: "clerk" | "local"; accountControls?: ReactNode }) {
  return (
    <header className="app-header">
      <Link to="/" className="brand">
        CMS edge
      </Link>
      {user ? (
        <nav aria-label="Main">
          <NavLink to="/" end>
            Tenants
          </NavLink>
          <NavLink to="/usage">Usage</NavLink>
        </nav>
      ) : null}
      {user ? (
        <div className="who">
          <span className="muted">
            {user.userId}
            {user.orgId ? ` · ${user.orgId}` : ""}
          </span>
          {authMode === "local" ? (
            <Form method="post" action="/sign-out">
              <button type="submit" className="link-button">
                Sign out
              </button>
            </Form>
          ) : (
            accountControls
          )}
        </div>
      ) : null}
    </header>
  );
}
