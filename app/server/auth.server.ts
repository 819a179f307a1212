// Who is calling: Clerk sessions (cookie or Bearer token, verified offline with CLERK_JWT_KEY when set) in Clerk
// mode, a signed local session cookie in local mode; and which tenants a caller may touch.
import { getAuth } from "@clerk/remix/ssr.server";
import { type LoaderFunctionArgs, createCookieSessionStorage, redirect } from "@remix-run/node";
import { type Plan, billingSubjectOf, isPlan, recordClaimedPlan } from "./billing.server";
import { env } from "./env.server";
import { ApiError } from "./http.server";

export interface Caller {
  userId: string;
  /** The active organization, if any. */
  orgId: string | null;
  orgRole: string | null;
  /** The plan the session claims: Clerk's `metadata.plan` custom claim, or the local sign-in choice. */
  claimedPlan: Plan | null;
  /** "org:<id>" when an organization is active, else "user:<id>". */
  billingSubject: string;
}

type AuthArgs = Pick<LoaderFunctionArgs, "request" | "context" | "params">;

export const localSessions = createCookieSessionStorage<{ userId: string; orgId?: string; plan: Plan }>({
  cookie: {
    name: "__local_session",
    httpOnly: true,
    sameSite: "lax",
    path: "/",
    secrets: [env.sessionSecret],
    maxAge: 60 * 60 * 24 * 7,
  },
});

/**
 * The caller a session names, once the plan it claims is kept for its billing subject (the edge applies the same plan
 * to the subject's traffic without a session; see `recordClaimedPlan`).
 */
async function caller(userId: string, orgId: string | null, orgRole: string | null, plan: unknown): Promise<Caller> {
  const who = { userId, orgId, orgRole, claimedPlan: isPlan(plan) ? plan : null, billingSubject: billingSubjectOf(userId, orgId) };
  try {
    await recordClaimedPlan(who.billingSubject, who.claimedPlan);
  } catch (err) {
    // Not a reason to fail the request (the database is needed for little else on some pages): the next one retries.
    console.warn(`auth: the plan claimed for ${who.billingSubject} was not recorded: ${(err as Error).message}`);
  }
  return who;
}

/** What Clerk verifies session tokens with, wherever the app asks it (the root loader, every caller look-up). */
export function clerkOptions(clerk: NonNullable<typeof env.clerk>) {
  const { secretKey, publishableKey, jwtKey, authorizedParties } = clerk;
  return { secretKey, publishableKey, jwtKey, ...(authorizedParties ? { authorizedParties } : {}) };
}

/**
 * The signed-in caller, or null. In Clerk mode a request Clerk wants to redirect (a handshake) is thrown as a
 * Response for pages; `forApi` turns it into "signed out" instead, since an API never redirects.
 */
export async function getCaller(args: AuthArgs, opts: { forApi: boolean }): Promise<Caller | null> {
  if (env.clerk) {
    let auth: Awaited<ReturnType<typeof getAuth>>;
    try {
      // getAuth honours publishableKey and jwtKey overrides at run time; its type only names secretKey.
      const options = clerkOptions(env.clerk);
      auth = await getAuth({ ...args, context: args.context ?? {} } as LoaderFunctionArgs, options as { secretKey: string });
    } catch (err) {
      if (err instanceof Response && !opts.forApi) throw err;
      return null;
    }
    if (!auth.userId) return null;
    const claims = (auth.sessionClaims ?? {}) as { metadata?: { plan?: unknown } };
    return caller(auth.userId, auth.orgId ?? null, auth.orgRole ?? null, claims.metadata?.plan);
  }
  const session = await localSessions.getSession(args.request.headers.get("Cookie"));
  const userId = session.get("userId");
  if (!userId) return null;
  const orgId = session.get("orgId") ?? null;
  return caller(userId, orgId, orgId ? "org:admin" : null, session.get("plan"));
}

/** For the JSON API: the caller, or a 401 error (never a redirect). */
export async function requireApiCaller(args: AuthArgs): Promise<Caller> {
  const found = await getCaller(args, { forApi: true });
  if (!found) throw new ApiError("unauthorized", "Sign in, or send a session token as Authorization: Bearer <token>");
  return found;
}

/**
 * For pages: the caller, or a redirect to the sign-in page that comes back here. A page's form posted from another
 * site is refused (403) before anything: a SameSite=Lax cookie still goes with a post from a sibling subdomain (a
 * same-site, cross-origin page), which could otherwise delete a tenant or move its origin.
 */
export async function requirePageCaller(args: AuthArgs): Promise<Caller> {
  refuseCrossSiteForm(args.request);
  const found = await getCaller(args, { forApi: false });
  if (found) return found;
  const url = new URL(args.request.url);
  throw redirect(`/sign-in?redirectTo=${encodeURIComponent(url.pathname + url.search)}`);
}

/** The mongo filter of the tenants a caller may access: its own, and its active organization's. */
export function accessFilter(who: Caller): Record<string, unknown> {
  return { $or: [{ ownerId: who.userId }, ...(who.orgId ? [{ orgId: who.orgId }] : [])] };
}

/** The same rule as `accessFilter`, for a tenant already read. */
export function canAccess(who: Caller, tenant: { ownerId: string; orgId?: string | null }): boolean {
  return tenant.ownerId === who.userId || (who.orgId !== null && tenant.orgId === who.orgId);
}

/**
 * Whether a form post came from another site: a browser says so in `Sec-Fetch-Site`, or, when it sends no such
 * header, by an `Origin` on another host. A cookie that is SameSite=Lax keeps other sites' posts out of signed-in
 * actions, but not out of the ones that set or end a session (signing a visitor in as someone else: login CSRF).
 * A request with neither header (not a browser's form) is not refused.
 */
function crossSiteForm(request: Request): boolean {
  const site = request.headers.get("sec-fetch-site");
  if (site) return site !== "same-origin" && site !== "none";
  const origin = request.headers.get("origin");
  if (!origin) return false;
  try {
    const from = new URL(origin);
    if (from.host === new URL(request.url).host) return false;
    // Behind a proxy that keeps the browser's host in X-Forwarded-Host rather than Host, that is this site's (a
    // default port spelled out or not).
    const forwarded = request.headers.get("x-forwarded-host")?.split(",")[0].trim().toLowerCase();
    const withPort = from.port ? from.host : `${from.host}:${from.protocol === "https:" ? 443 : 80}`;
    return forwarded !== from.host && forwarded !== withPort;
  } catch {
    // "null" (a sandboxed frame, a redirect across sites) or nonsense.
    return true;
  }
}

/** Throws a 403 (plain text) for a form — any request but GET and HEAD — posted from another site (`crossSiteForm`). */
export function refuseCrossSiteForm(request: Request): void {
  if (request.method === "GET" || request.method === "HEAD" || !crossSiteForm(request)) return;
  throw new Response("Forms of this site are only accepted from this site.", { status: 403, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

/** Starts a local-mode session (the local sign-in page) and returns its Set-Cookie header. */
export async function startLocalSession(input: { userId: string; orgId?: string; plan: Plan }): Promise<string> {
  const session = await localSessions.getSession();
  session.set("userId", input.userId);
  if (input.orgId) session.set("orgId", input.orgId);
  session.set("plan", input.plan);
  return localSessions.commitSession(session);
}

export async function endLocalSession(request: Request): Promise<string> {
  return localSessions.destroySession(await localSessions.getSession(request.headers.get("Cookie")));
}

/**
 * Only a safe same-site path may be a post-sign-in destination: a path (not `//host` or `/\\host`) with no control
 * character, backslash or whitespace anywhere (browsers drop tabs and newlines from a URL, so `/<TAB>/evil.example`
 * would become `//evil.example`, and a header cannot carry a newline), which stays on this site once resolved;
 * returned as the URL parser serializes it. Anything else is the fallback.
 */
export function safeRedirect(to: unknown, fallback = "/"): string {
  // eslint-disable-next-line no-control-regex
  if (typeof to !== "string" || !to.startsWith("/") || to.startsWith("//") || /[\u0000-\u0020\u007f-\u009f\\]/.test(to)) return fallback;
  const site = "http://site.invalid";
  try {
    // As the URL parser serializes it: percent-encoded where a header value could not hold it (non-ASCII).
    const url = new URL(to, site);
    const path = url.pathname + url.search + url.hash;
    // (Checked again as serialized: dot segments resolve away, and `/.//evil.example` becomes `//evil.example`.)
    return url.origin === site && !path.startsWith("//") ? path : fallback;
  } catch {
    return fallback;
  }
}
