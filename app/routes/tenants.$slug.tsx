// A tenant's pages: its name and edge address, and the tabs to its overview, bandwidth, domains, logs, settings.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { NavLink, Outlet, useLoaderData } from "@remix-run/react";
import { Copyable, PageHeader } from "#app/components/ui.tsx";
import { requirePageCaller } from "#app/server/auth.server.ts";
import { getTenant } from "#app/server/tenants.server.ts";
import { pageNotFound } from "#app/server/pages.server.ts";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: data ? `${data.tenant.slug} · CMS edge` : "Tenant · CMS edge" }];

export async function loader(args: LoaderFunctionArgs) {
  const who = await requirePageCaller(args);
  const tenant = await pageNotFound(() => getTenant(who, args.params.slug as string));
  return { tenant };
}

const TABS = [
  { to: "", label: "Overview", end: true },
  { to: "bandwidth", label: "Bandwidth" },
  { to: "domains", label: "Domains" },
  { to: "logs", label: "Logs" },
  { to: "settings", label: "Settings" },
];

export default function TenantLayout() {
  const { tenant } = useLoaderData<typeof loader>();
  return (
    <>
      <PageHeader title={tenant.slug} back={{ to: "/", label: "Tenants" }}>
        <span className="muted">{tenant.cms}</span>
      </PageHeader>
      <p>
        Edge address: <Copyable text={tenant.proxyBase} label="edge address" />
      </p>
      <nav aria-label="Tenant">
        <ul className="tabs">
          {TABS.map((t) => (
            <li key={t.label}>
              <NavLink to={t.to ? `/tenants/${tenant.slug}/${t.to}` : `/tenants/${tenant.slug}`} end={t.end} prefetch="intent">
                {t.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <Outlet />
    </>
  );
}
