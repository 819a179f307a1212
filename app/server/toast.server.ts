// Flash messages: a mutation redirects with a toast kept in a short-lived signed cookie, shown once by the next page.
import { createCookieSessionStorage, redirect } from "@remix-run/node";
import { env } from "./env.server.ts";

export interface Toast {
  /** "info": neither done nor failed (a domain whose records are not found yet). */
  kind: "success" | "info" | "error";
  message: string;
}

const flash = createCookieSessionStorage<Record<string, never>, { toast: Toast }>({
  cookie: { name: "__toast", httpOnly: true, sameSite: "lax", path: "/", secrets: [env.sessionSecret], maxAge: 60 },
});

export async function redirectWithToast(url: string, toast: Toast, headers: HeadersInit = {}): Promise<Response> {
  const session = await flash.getSession();
  session.flash("toast", toast);
  const all = new Headers(headers);
  all.append("Set-Cookie", await flash.commitSession(session));
  return redirect(url, { headers: all });
}

/** The pending toast, if any, and the header that clears it. */
export async function takeToast(request: Request): Promise<{ toast: Toast | null; setCookie: string | null }> {
  const session = await flash.getSession(request.headers.get("Cookie"));
  const toast = session.get("toast") ?? null;
  return { toast, setCookie: toast ? await flash.commitSession(session) : null };
}
