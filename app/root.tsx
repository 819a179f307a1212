// The document: Clerk's provider in Clerk mode, the local sign-in banner in local mode, the header, the global
// navigation bar, the toast of the last mutation, and the page.
import { ClerkApp, OrganizationSwitcher, SignOutButton } from "@clerk/remix";
import { rootAuthLoader } from "@clerk/remix/ssr.server";
import { type LinksFunction, type LoaderFunctionArgs, json } from "@remix-run/node";
import { Link, Links, Meta, Outlet, Scripts, ScrollRestoration, isRouteErrorResponse, useLoaderData, useRouteError } from "@remix-run/react";
import { AppHeader, PendingBar, ToastView } from "#app/components/shell.tsx";
import { clerkOptions, getCaller } from "#app/server/auth.server.ts";
import { env } from "#app/server/env.server.ts";
import { takeToast } from "#app/server/toast.server.ts";
import stylesheet from "./styles.css";

export const links: LinksFunction = () => [
  { rel: "stylesheet", href: stylesheet },
  { rel: "icon", href: "/favicon.ico" },
];

export async function loader(args: LoaderFunctionArgs) {
  const { toast, setCookie } = await takeToast(args.request);
  const headers: Record<string, string> = setCookie ? { "Set-Cookie": setCookie } : {};
  if (env.clerk) {
    const options = clerkOptions(env.clerk);
    return rootAuthLoader(
      args,
      async ({ request }) => {
        const who = await getCaller({ request, params: {}, context: args.context }, { forApi: false });
        const user = who ? { userId: who.userId, orgId: who.orgId } : null;
        return json({ authMode: "clerk" as const, user, toast }, { headers });
      },
      { ...options, signInUrl: "/sign-in" },
    );
  }
  const who = await getCaller(args, { forApi: false });
  const user = who ? { userId: who.userId, orgId: who.orgId } : null;
  return json({ authMode: "local" as const, user, toast }, { headers });
}

interface RootData {
  authMode: "clerk" | "local";
  user: { userId: string; orgId: string | null } | null;
  toast: { kind: "success" | "info" | "error"; message: string } | null;
}

function Document() {
  const data = useLoaderData<typeof loader>() as unknown as RootData;
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <Meta />
        <Links />
      </head>
      <body>
        <PendingBar />
        {data.authMode === "local" ? (
          <p className="local-banner" role="note">
            Local sign-in — not for production
          </p>
        ) : null}
        <AppHeader
          user={data.user}
          authMode={data.authMode}
          accountControls={
            data.authMode === "clerk" ? (
              <>
                {/* Tenants and the plan follow the active organization (or none: the personal account). */}
                <OrganizationSwitcher afterSelectOrganizationUrl="/" afterSelectPersonalUrl="/" />
                <SignOutButton />
              </>
            ) : null
          }
        />
        <ToastView toast={data.toast} />
        <main id="main">
          <Outlet />
        </main>
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

const ClerkDocument = ClerkApp(Document);

export default function Root() {
  const data = useLoaderData<typeof loader>() as unknown as RootData;
  return data.authMode === "clerk" ? <ClerkDocument /> : <Document />;
}

/** Not found (a tenant the caller cannot see included) and unexpected errors, without leaking details. */
export function ErrorBoundary() {
  const error = useRouteError();
  const notFound = isRouteErrorResponse(error) && error.status === 404;
  const title = notFound ? "Not found" : "Something went wrong";
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · CMS edge`}</title>
        <Links />
      </head>
      <body>
        <main id="main">
          <h1>{title}</h1>
          <p>{notFound ? "There is nothing here, or it is not yours to see." : "The page could not be shown. Please try again."}</p>
          <p>
            <Link to="/">Back to your tenants</Link>
          </p>
        </main>
        <Scripts />
      </body>
    </html>
  );
}
