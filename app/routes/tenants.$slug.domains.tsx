// A tenant's custom domains: each with its status, the DNS records to create and what the last verification found;
// forms to add, verify and remove a domain (one action, told apart by `intent`), and the plan's allowance.
import { type SubmissionResult, useForm } from "@conform-to/react";
import { getZodConstraint, parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { CheckboxField, Field, FormShell, SubmitButton } from "#app/components/forms.tsx";
import { Copyable, StatusBadge, TableWrap } from "#app/components/ui.tsx";
import { type DomainCheck, type DomainStatus, type DomainValue, hostnameInputSchema } from "#app/schemas/domain.ts";
import { requirePageCaller } from "#app/server/auth.server.ts";
import { addDomain, domainAllowance, listDomains, normalizeHostname, removeDomain, verifyDomain } from "#app/server/domains.server.ts";
import { env } from "#app/server/env.server.ts";
import { replyWithError } from "#app/server/forms.server.ts";
import { ApiError } from "#app/server/http.server.ts";
import { pageNotFound } from "#app/server/pages.server.ts";
import { findAccessibleTenant } from "#app/server/tenants.server.ts";
import { redirectWithToast } from "#app/server/toast.server.ts";
import { formatDate } from "#app/utils/format.ts";

export const meta: MetaFunction = ({ params }) => [{ title: `${params.slug} domains · CMS edge` }];

// ---- the forms: one schema each, and the union the action parses --------------------------------------------

const addSchema = z.object({ intent: z.literal("add"), hostname: hostnameInputSchema });
const verifySchema = z.object({ intent: z.literal("verify"), hostname: hostnameInputSchema });
const removeSchema = z.object({
  intent: z.literal("remove"),
  hostname: hostnameInputSchema,
  // A checkbox rather than a JavaScript confirm(): the confirmation has to work without JavaScript too.
  confirm: z.boolean({ error: "Tick the box to confirm the removal" }),
});
const domainActionSchema = z.discriminatedUnion("intent", [addSchema, verifySchema, removeSchema]);

/** The conform reply of a failed submission; a plan-limit refusal also says which plan and limit refused it. */
type ActionReply = SubmissionResult<string[]> & { planLimit?: { plan: string; limit: number } };

/** Where a domain's card is, so a redirect can land on it. */
const anchorOf = (hostname: string) => `domain-${hostname}`;

// ---- server ----------------------------------------------------------------------------------------------------

export async function loader(args: LoaderFunctionArgs) {
  const who = await requirePageCaller(args);
  const tenant = await pageNotFound(() => findAccessibleTenant(who, args.params.slug as string));
  const [{ domains }, { plan, limit }] = await Promise.all([listDomains(tenant), domainAllowance(who, tenant)]);
  return { domains, plan, limit, cnameTarget: env.cnameTarget };
}

export async function action(args: ActionFunctionArgs): Promise<Response | ActionReply> {
  const who = await requirePageCaller(args);
  const tenant = await pageNotFound(() => findAccessibleTenant(who, args.params.slug as string));
  const submission = parseWithZod(await args.request.formData(), { schema: domainActionSchema });
  if (submission.status !== "success") return submission.reply();
  const page = `/tenants/${tenant.slug}/domains`;
  const { intent, hostname } = submission.value;
  try {
    if (intent === "add") {
      const domain = await addDomain(who, tenant, hostname);
      const message = `${domain.hostname} added: create its DNS records, then verify it`;
      return redirectWithToast(`${page}#${anchorOf(domain.hostname)}`, { kind: "success", message });
    }
    if (intent === "verify") {
      const domain = await verifyDomain(tenant, hostname);
      const to = `${page}#${anchorOf(domain.hostname)}`;
      // Records not found (yet) is no success: said as such, neither green nor red.
      if (domain.status === "pending") return redirectWithToast(to, { kind: "info", message: `${domain.hostname} is not verified yet: its DNS records were not found` });
      return redirectWithToast(to, { kind: domain.status === "failed" ? "error" : "success", message: `${domain.hostname} verified: ${domain.status}` });
    }
    await removeDomain(tenant, hostname);
    return redirectWithToast(page, { kind: "success", message: `${normalizeHostname(hostname) || hostname} removed` });
  } catch (err) {
    // A hostname another tenant holds is a problem with what was typed: say it next to the field.
    if (err instanceof ApiError && err.code === "domain_taken") return submission.reply({ fieldErrors: { hostname: [err.message] } });
    const reply: ActionReply = replyWithError(submission, err);
    if (err instanceof ApiError && err.code === "plan_limit") {
      reply.planLimit = { plan: String(err.extra.plan), limit: Number(err.extra.limit) };
    }
    return reply;
  }
}

// ---- page --------------------------------------------------------------------------------------------------------

type LoaderData = ReturnType<typeof useLoaderData<typeof loader>>;
type Meta = Parameters<typeof Field>[0]["meta"];

/** The action's reply if it answers the form of `intent` (and of `hostname`, for a domain's own forms). */
function useReplyFor(intent: "add" | "verify" | "remove", hostname?: string): ActionReply | undefined {
  const reply = useActionData<typeof action>() as ActionReply | undefined;
  const sent = reply?.initialValue;
  if (!sent || sent.intent !== intent) return undefined;
  if (hostname !== undefined && sent.hostname !== hostname) return undefined;
  return reply;
}

export default function DomainsPage() {
  const { domains, plan, limit, cnameTarget } = useLoaderData<typeof loader>();
  return (
    <>
      <h2>Custom domains</h2>
      {domains.length === 0 ? <EmptyState plan={plan} limit={limit} cnameTarget={cnameTarget} /> : null}
      {domains.map((domain) => (
        <DomainCard key={domain.hostname} domain={domain} />
      ))}
      {/* Keyed on the count so that a domain added (or removed) with JavaScript clears the form, as a reload does. */}
      <AddDomainForm key={domains.length} used={domains.length} plan={plan} limit={limit} />
    </>
  );
}

function PlanLink({ children }: { children: string }) {
  return <Link to="/usage#plan">{children}</Link>;
}

function EmptyState({ plan, limit, cnameTarget }: Pick<LoaderData, "plan" | "limit" | "cnameTarget">) {
  return (
    <div className="empty">
      <p>
        <strong>No custom domains yet.</strong> A custom domain serves this tenant on a hostname of your own, such as{" "}
        <code>cdn.yourcompany.com</code>, besides its edge address (which keeps working).
      </p>
      <p>
        You add the hostname here, then create two records at your DNS provider: a CNAME pointing it to{" "}
        <code>{cnameTarget}</code>, and a TXT record proving that the domain is yours. Verify, and once both records are
        found the domain is active.
      </p>
      {limit === 0 ? (
        <p>
          The {plan} plan does not include custom domains. <PlanLink>See your plan and what upgrading gives</PlanLink>.
        </p>
      ) : (
        <p className="muted">
          The {plan} plan allows {limit} custom domain{limit === 1 ? "" : "s"} per tenant.
        </p>
      )}
    </div>
  );
}

const STATUS_TEXT: Record<DomainStatus, string> = {
  pending: "The records have not been found yet. Create them at your DNS provider, then verify (DNS changes can take a while to show).",
  active: "Verified: the edge serves this tenant on this hostname.",
  failed: "A record exists but points elsewhere or holds another value. Correct it, then verify again.",
};

function DomainCard({ domain }: { domain: DomainValue }) {
  const headingId = `${anchorOf(domain.hostname)}-heading`;
  const [cname, txt] = domain.verification;
  return (
    <section className="card" id={anchorOf(domain.hostname)} aria-labelledby={headingId}>
      <h3 id={headingId}>
        {domain.hostname} <StatusBadge status={domain.status} />
      </h3>
      <p>{STATUS_TEXT[domain.status]}</p>

      <TableWrap label={`DNS records for ${domain.hostname}`}>
        <table>
          <caption>DNS records to create</caption>
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Name</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {[cname, txt].map((record) => (
              <tr key={record.type}>
                <th scope="row">{record.type}</th>
                <td>
                  <Copyable text={record.name} label={`${record.type} record name`} />
                </td>
                <td>
                  <Copyable text={record.value} label={`${record.type} record value`} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>

      <LastCheck domain={domain} />

      <div className="actions">
        <VerifyForm hostname={domain.hostname} />
      </div>
      <RemoveForm hostname={domain.hostname} />
    </section>
  );
}

/** What the last verification found, record by record, and when it ran. */
function LastCheck({ domain }: { domain: DomainValue }) {
  if (!domain.lastCheckedAt) return <p className="muted">Not verified yet.</p>;
  return (
    <>
      <TableWrap label={`Last check of ${domain.hostname}`}>
        <table>
          <caption>
            Last check: <time dateTime={domain.lastCheckedAt}>{formatDate(domain.lastCheckedAt)}</time>
          </caption>
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Name</th>
              <th scope="col">Expected</th>
              <th scope="col">Found</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {domain.checks.map((check) => (
              <CheckRow key={check.type} check={check} />
            ))}
          </tbody>
        </table>
      </TableWrap>
      {domain.error ? (
        <p className="bad-text" role="status">
          {domain.error}
        </p>
      ) : null}
      {domain.verifiedAt ? (
        <p className="muted">
          Active since <time dateTime={domain.verifiedAt}>{formatDate(domain.verifiedAt)}</time>
        </p>
      ) : null}
    </>
  );
}

function CheckRow({ check }: { check: DomainCheck }) {
  return (
    <tr>
      <th scope="row">{check.type}</th>
      <td>
        <code>{check.name}</code>
      </td>
      <td>
        <code>{check.expected}</code>
      </td>
      <td>
        {check.found.length === 0 ? (
          <span className="muted">nothing found</span>
        ) : (
          <ul>
            {check.found.map((value) => (
              <li key={value}>
                <code>{value}</code>
              </li>
            ))}
          </ul>
        )}
      </td>
      <td className={check.ok ? "ok-text" : "bad-text"}>{check.ok ? "ok" : "not ok"}</td>
    </tr>
  );
}

// Each button names its form in `submitter`, so that only the button pressed says it is working (the `intent`
// field cannot double as the button's name: a second `intent` value would make the field a list).

function VerifyForm({ hostname }: { hostname: string }) {
  const lastResult = useReplyFor("verify", hostname);
  const [form, fields] = useForm({
    id: `verify-${hostname}`,
    lastResult,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: verifySchema }),
  });
  return (
    <FormShell form={form as never} intent="verify" className="inline-form">
      <input type="hidden" name={fields.hostname.name} value={hostname} />
      <SubmitButton name="submitter" value={`verify ${hostname}`} pendingText="Checking DNS…">
        {`Verify ${hostname}`}
      </SubmitButton>
    </FormShell>
  );
}

function RemoveForm({ hostname }: { hostname: string }) {
  const lastResult = useReplyFor("remove", hostname);
  const [form, fields] = useForm({
    id: `remove-${hostname}`,
    lastResult,
    constraint: getZodConstraint(removeSchema),
    onValidate: ({ formData }) => parseWithZod(formData, { schema: removeSchema }),
    shouldValidate: "onSubmit",
  });
  return (
    <FormShell form={form as never} intent="remove">
      <input type="hidden" name={fields.hostname.name} value={hostname} />
      <CheckboxField
        meta={fields.confirm as unknown as Meta}
        label={`Yes, remove ${hostname}`}
        hint="The edge stops serving the tenant on it, and the hostname is free for anyone to claim."
      />
      <div className="actions">
        <SubmitButton name="submitter" value={`remove ${hostname}`} className="danger" pendingText="Removing…">
          {`Remove ${hostname}`}
        </SubmitButton>
      </div>
    </FormShell>
  );
}

function AddDomainForm({ used, plan, limit }: { used: number; plan: string; limit: number }) {
  const lastResult = useReplyFor("add");
  const [form, fields] = useForm({
    id: "add-domain",
    lastResult,
    constraint: getZodConstraint(addSchema),
    onValidate: ({ formData }) => parseWithZod(formData, { schema: addSchema }),
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
  });
  const full = used >= limit;
  return (
    <section className="card" aria-labelledby="add-domain-heading">
      <h2 id="add-domain-heading">Add a custom domain</h2>
      <p className={full ? undefined : "muted"}>
        {used} of {limit} custom domain{limit === 1 ? "" : "s"} in use on the {plan} plan.
        {full ? (
          <>
            {" "}
            <PlanLink>See your plan</PlanLink> to add more.
          </>
        ) : null}
      </p>
      <FormShell form={form as never} intent="add">
        {lastResult?.planLimit ? (
          <p>
            How many custom domains a tenant may have is set by the plan (the {lastResult.planLimit.plan} plan:{" "}
            {lastResult.planLimit.limit}). <PlanLink>See your plan and how to upgrade</PlanLink>.
          </p>
        ) : null}
        <Field
          meta={fields.hostname as unknown as Meta}
          label="Hostname"
          placeholder="cdn.yourcompany.com"
          hint="A subdomain you control, such as cdn.yourcompany.com; an apex domain (yourcompany.com) cannot carry a CNAME record."
        />
        <div className="actions">
          <SubmitButton name="submitter" value="add" pendingText="Adding…">
            Add domain
          </SubmitButton>
        </div>
      </FormShell>
    </section>
  );
}
