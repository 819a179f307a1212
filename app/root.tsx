// The document: Clerk's provider in Clerk mode, the local sign-in banner in local mode, and the page outlet.
import { ClerkApp } from "@clerk/remix";
import { rootAuthLoader } from "@clerk/remix/ssr.server";
import type { LinksFunction, LoaderFunctionArgs } from "@remix-run/node";
import { Links, Meta, Outlet, Scripts, ScrollRestoration, useLoaderData } from "@remix-run/react";
import { getCaller } from "#app/server/auth.server.ts";
import { env } from "#app/server/env.server.ts";
import stylesheet from "./styles.css";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: stylesheet }];

export async function loader(args: LoaderFunctionArgs) {
  if (env.clerk) {
    const { publishableKey, secretKey, jwtKey } = env.clerk;
    return rootAuthLoader(args, () => ({ authMode: "clerk" as const, user: null }), {
      publishableKey,
      secretKey,
      jwtKey,
      signInUrl: "/sign-in",
    });
  }
  const who = await getCaller(args, { forApi: false });
  return { authMode: "local" as const, user: who ? { userId: who.userId, orgId: who.orgId } : null };
}

function Document() {
  const data = useLoaderData<typeof loader>() as { authMode: "clerk" | "local" };
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
        {data.authMode === "local" ? (
          <p className="local-banner" role="status">
            Local sign-in — not for production
          </p>
        ) : null}
        <Outlet />
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

const ClerkDocument = ClerkApp(Document);

export default function Root() {
  const data = useLoaderData<typeof loader>() as { authMode: "clerk" | "local" };
  return data.authMode === "clerk" ? <ClerkDocument /> : <Document />;
}
