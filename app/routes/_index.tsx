// Home: the caller's tenants with this month's traffic, and the account's usage against its plan.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { Copyable, PageHeader, TableWrap, UsageBar } from "#app/components/ui.tsx";
import { requirePageCaller } from "#app/server/auth.server.ts";
import { listTenants } from "#app/server/tenants.server.ts";
import { accountUsage, monthUsageByTenant } from "#app/server/usage.server.ts";
import { formatBytes, formatNumber } from "#app/utils/format.ts";

export const meta: MetaFunction = () => [{ title: "Tenants · CMS edge" }];

export async function loader(args: LoaderFunctionArgs) {
  const who = await requirePageCaller(args);
  const [{ total, tenants }, account] = await Promise.all([listTenants(who), accountUsage(who)]);
  const usage = await monthUsageByTenant(tenants.map((t) => t.id));
  return {
    userId: who.userId,
    total,
    tenants: tenants.map(({ id, ...t }) => ({ ...t, month: usage.get(String(id)) ?? { requests: 0, bandwidthBytes: 0 } })),
    plan: account.plan,
  };
}

export default function TenantsPage() {
  const { total, tenants, plan } = useLoaderData<typeof loader>();
  const atLimit = plan.used.tenants >= plan.limits.tenants;
  return (
    <>
      <PageHeader title="Tenants">
        {atLimit ? (
          <p className="muted">
            Your {plan.name} plan allows {plan.limits.tenants} tenant{plan.limits.tenants === 1 ? "" : "s"}.{" "}
            <Link to="/usage#plan">See your plan</Link>
          </p>
        ) : (
          <Link to="/tenants/new" className="button">
            New tenant
          </Link>
        )}
      </PageHeader>

      <section aria-labelledby="plan-usage">
        <h2 id="plan-usage">This month on the {plan.name} plan</h2>
        <div className="usage-bars">
          <UsageBar label="Tenants" used={plan.used.tenants} limit={plan.limits.tenants} format={formatNumber} />
          <UsageBar label="Requests" used={plan.used.requests} limit={plan.limits.requests} format={formatNumber} />
          <UsageBar label="Bandwidth" used={plan.used.bandwidthBytes} limit={plan.limits.bandwidthBytes} format={formatBytes} />
        </div>
      </section>

      <section aria-labelledby="tenant-list">
        <h2 id="tenant-list">Your tenants</h2>
        {total === 0 ? (
          <div className="empty">
            <p>No tenants yet. A tenant gives your CMS assets and API an edge address of their own.</p>
            {atLimit ? null : (
              <Link to="/tenants/new" className="button">
                Create your first tenant
              </Link>
            )}
          </div>
        ) : (
          <TableWrap label="Tenants">
            <table>
              <caption>{total === 1 ? "1 tenant" : `${total} tenants`}, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Slug</th>
                  <th scope="col">CMS</th>
                  <th scope="col">Edge address</th>
                  <th scope="col" className="num">
                    Domains
                  </th>
                  <th scope="col" className="num">
                    Requests this month
                  </th>
                  <th scope="col" className="num">
                    Bandwidth this month
                  </th>
                </tr>
              </thead>
              <tbody>
                {tenants.map((t) => (
                  <tr key={t.slug}>
                    <th scope="row">
                      <Link to={`/tenants/${t.slug}`}>{t.slug}</Link>
                    </th>
                    <td>{t.cms}</td>
                    <td>
                      <Copyable text={t.proxyBase} label={`edge address of ${t.slug}`} />
                    </td>
                    <td className="num">{t.domains}</td>
                    <td className="num">{formatNumber(t.month.requests)}</td>
                    <td className="num">{formatBytes(t.month.bandwidthBytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </section>
    </>
  );
}
