// Home: the signed-in caller's tenants (the full dashboard builds on this page).
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, useLoaderData } from "@remix-run/react";
import { requirePageCaller } from "#app/server/auth.server.ts";
import { env } from "#app/server/env.server.ts";
import { listTenants } from "#app/server/tenants.server.ts";

export const meta: MetaFunction = () => [{ title: "Tenants · CMS edge" }];

export async function loader(args: LoaderFunctionArgs) {
  const who = await requirePageCaller(args);
  const { total, tenants } = await listTenants(who);
  return { userId: who.userId, orgId: who.orgId, authMode: env.authMode, total, tenants };
}

export default function TenantsPage() {
  const { userId, orgId, authMode, total, tenants } = useLoaderData<typeof loader>();
  return (
    <main>
      <div className="header">
        <h1>Tenants</h1>
        <p className="muted">
          Signed in as <strong>{userId}</strong>
          {orgId ? (
            <>
              {" "}
              in organization <strong>{orgId}</strong>
            </>
          ) : null}
        </p>
        {authMode === "local" ? (
          <Form method="post" action="/sign-out">
            <button type="submit">Sign out</button>
          </Form>
        ) : null}
      </div>
      {total === 0 ? (
        <p>No tenants yet.</p>
      ) : (
        <table>
          <caption className="muted">{total === 1 ? "1 tenant" : `${total} tenants`}</caption>
          <thead>
            <tr>
              <th scope="col">Slug</th>
              <th scope="col">CMS</th>
              <th scope="col">Edge address</th>
              <th scope="col">Domains</th>
            </tr>
          </thead>
          <tbody>
            {tenants.map((t) => (
              <tr key={t.slug}>
                <td>{t.slug}</td>
                <td>{t.cms}</td>
                <td>
                  <code>{t.proxyBase}</code>
                </td>
                <td>{t.domains}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
