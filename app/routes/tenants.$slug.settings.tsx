// A tenant's settings: its provider fields and cache settings, the CMS API proxy, the write-only API token, cache
// refreshes and deletion. Five forms, one action that dispatches on the form's `intent`.
import { type SubmissionResult, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useActionData, useLoaderData } from "@remix-run/react";
import { Fragment, useEffect, useState } from "react";
import { z } from "zod";
import { CheckboxField, Field, FormShell, SelectField, SubmitButton } from "#app/components/forms.tsx";
import { apiConfigBodySchema, apiTokenBodySchema, refreshCacheBodySchema } from "#app/schemas/api-proxy.ts";
import type { OriginRules } from "#app/schemas/public-origin.ts";
import { splitList } from "#app/schemas/tenant-form.ts";
import { API_AUTH_MODES, type Cms, PROVIDER_FIELDS, STORYBLOK_REGIONS, type TenantValue, providerFieldSchemas, updateTenantSchema } from "#app/schemas/tenant.ts";
import { refreshCache, setApiConfig, setApiToken } from "#app/server/api-proxy.server.ts";
import { type Caller, requirePageCaller } from "#app/server/auth.server.ts";
import { env } from "#app/server/env.server.ts";
import { replyWithError } from "#app/server/forms.server.ts";
import { pageNotFound } from "#app/server/pages.server.ts";
import { deleteTenant, getTenant, updateTenant } from "#app/server/tenants.server.ts";
import { redirectWithToast } from "#app/server/toast.server.ts";
import { formatDate } from "#app/utils/format.ts";

export const meta: MetaFunction = ({ params }) => [{ title: `${params.slug} settings · CMS edge` }];

export async function loader(args: LoaderFunctionArgs) {
  const who = await requirePageCaller(args);
  const tenant = await pageNotFound(() => getTenant(who, args.params.slug as string));
  return { tenant, allowPrivate: env.originRules.allowPrivate };
}

export async function action(args: ActionFunctionArgs) {
  const who = await requirePageCaller(args);
  const tenant = await pageNotFound(() => getTenant(who, args.params.slug as string));
  const formData = await args.request.formData();
  const intent = formData.get("intent");
  if (typeof intent !== "string" || !Object.hasOwn(HANDLERS, intent)) throw new Response("Unknown form", { status: 400, statusText: "Bad Request" });
  return HANDLERS[intent as Intent](who, tenant, formData);
}

// ---- the forms' schemas: each maps the flat form onto its server module's input, with the API's own schema ----

type Intent = "settings" | "api-config" | "api-token" | "refresh-cache" | "delete";
const text = z.string().optional();
type Form = Record<string, string | undefined>;

/**
 * Collects a form's issues and reports them in the order its fields are shown, so that the first error (which gets
 * the focus) is the first on screen. An API issue's path names its form field: "allowedTypes.2" is allowedTypes.
 */
function issuesOf(ctx: z.RefinementCtx, order: string[]) {
  const found: Array<{ field: string; message: string }> = [];
  return {
    add: (field: string, message: string) => found.push({ field, message }),
    addAll: (error: z.ZodError) => {
      for (const i of error.issues) found.push({ field: i.path.length ? String(i.path[0]) : "", message: i.message });
    },
    report: () => {
      const rank = (field: string) => (order.includes(field) ? order.indexOf(field) : -1);
      for (const { field, message } of found.sort((a, b) => rank(a.field) - rank(b.field))) {
        ctx.addIssue({ code: "custom", path: field ? [field] : [], message });
      }
    },
  };
}

/** Text to a number for the API schema; what is no number at all is reported here (the schema would say "NaN"). */
function toNumber(value: string | undefined, field: string, issues: ReturnType<typeof issuesOf>): number | undefined {
  const n = Number(value);
  if (value === undefined || !Number.isNaN(n)) return value === undefined ? undefined : n;
  issues.add(field, "must be a whole number of seconds");
  return undefined;
}

/**
 * The tenant's own provider fields, cache TTL, website domain and allowed types, all submitted every time. Empty
 * website domain or allowed types clear them (null); an empty required field is an error, not "unchanged".
 */
function settingsFormSchema(tenant: Pick<TenantValue, "cms" | "videoOrigin">, rules: OriginRules) {
  const own = PROVIDER_FIELDS[tenant.cms];
  const shapes = providerFieldSchemas(rules)[tenant.cms] as Record<string, z.ZodType>;
  const api = updateTenantSchema(rules);
  return z
    .object({ cacheTTL: text, websiteDomain: text, allowedTypes: text, ...Object.fromEntries(own.map((f) => [f, text])) })
    .transform((form: Form, ctx) => {
      const issues = issuesOf(ctx, [...own, "cacheTTL", "websiteDomain", "allowedTypes"]);
      const list = splitList(form.allowedTypes);
      const candidate: Record<string, unknown> = {
        cacheTTL: toNumber(form.cacheTTL, "cacheTTL", issues),
        websiteDomain: form.websiteDomain ?? null,
        allowedTypes: list?.length ? list : null,
      };
      if (form.cacheTTL === undefined) issues.add("cacheTTL", "is required");
      for (const field of own) {
        if (form[field] !== undefined) candidate[field] = form[field];
        else if (!(shapes[field] instanceof z.ZodOptional)) issues.add(field, "is required");
        // The API keeps an optional provider field once set (null is not accepted): say so rather than ignore it.
        else if (tenant[field as "videoOrigin"]) issues.add(field, "cannot be removed, only changed");
      }
      const parsed = api.safeParse(candidate);
      if (!parsed.success) issues.addAll(parsed.error);
      issues.report();
      return parsed.success ? parsed.data : z.NEVER;
    });
}

/** The CMS API proxy: a replacement (fields left empty take their defaults, as the API's PUT does). */
function apiConfigFormSchema(rules: OriginRules) {
  const api = apiConfigBodySchema(rules);
  const fields = ["apiOrigin", "apiAuthMode", "apiTokenHeader", "apiCacheTTL", "previewBypassParam", "transformApiUrls"];
  return z.object(Object.fromEntries(fields.map((f) => [f, text]))).transform((form: Form, ctx) => {
    const issues = issuesOf(ctx, fields);
    const parsed = api.safeParse({
      apiOrigin: form.apiOrigin,
      apiAuthMode: form.apiAuthMode,
      apiTokenHeader: form.apiTokenHeader,
      apiCacheTTL: toNumber(form.apiCacheTTL, "apiCacheTTL", issues),
      previewBypassParam: form.previewBypassParam,
      transformApiUrls: form.transformApiUrls === "on",
    });
    if (!parsed.success) issues.addAll(parsed.error);
    issues.report();
    return parsed.success ? parsed.data : z.NEVER;
  });
}

// `shownOrigin`: the API origin the page showed when the token was typed ("none" when none was set: an empty value
// would read as no field at all), checked on saving.
const apiTokenFormSchema = z.object({ token: text, shownOrigin: z.string().optional() }).transform((form, ctx) => {
  const parsed = apiTokenBodySchema.safeParse({ token: form.token });
  // (A post without the field, from a page older than it, is not checked.)
  if (parsed.success) return { ...parsed.data, shownOrigin: form.shownOrigin === undefined ? undefined : form.shownOrigin === "none" ? null : form.shownOrigin };
  const issues = issuesOf(ctx, ["token"]);
  issues.addAll(parsed.error);
  issues.report();
  return z.NEVER;
});

// The cache is chosen by the button pressed: a bad choice has no field to sit beside, so it is the form's error.
const refreshCacheFormSchema = z.object({ type: text }).transform((form, ctx) => {
  const parsed = refreshCacheBodySchema.safeParse({ type: form.type });
  if (!parsed.success) ctx.addIssue({ code: "custom", path: [], message: "Choose which cache to refresh: api, assets or all" });
  return parsed.success ? parsed.data : z.NEVER;
});

const deleteFormSchema = (slug: string) =>
  z.object({
    confirm: z.string({ error: `Type ${slug} to confirm` }).refine((v) => v.trim() === slug, `does not match the slug (${slug})`),
  });

// ---- the action's handlers: validate, call the server module, redirect with a toast or reply to the form ------

const settingsUrl = (slug: string) => `/tenants/${slug}/settings`;

/** A reply for one form. The token is taken out of every echoed value: it must never come back, whatever form. */
function answer(intent: Intent, result: SubmissionResult<string[]>) {
  if (result.initialValue) delete result.initialValue.token;
  return { intent, result };
}

type Handler = (who: Caller, tenant: TenantValue, formData: FormData) => Promise<Response | ReturnType<typeof answer>>;

/** Parses the form; on success runs the mutation and redirects with its toast, else replies with the errors. */
function handler<S extends z.ZodType>(intent: Intent, schema: (tenant: TenantValue) => S, run: (who: Caller, tenant: TenantValue, value: z.output<S>) => Promise<Response>): Handler {
  return async (who, tenant, formData) => {
    const submission = parseWithZod(formData, { schema: schema(tenant) });
    if (submission.status !== "success") return answer(intent, submission.reply({ hideFields: ["token"] }));
    try {
      return await run(who, tenant, submission.value);
    } catch (err) {
      // "allowedTypes.2" from the server module is about the allowedTypes box too.
      return answer(intent, replyWithError(submission, err, (p) => p.split(".")[0] || undefined));
    }
  };
}

const HANDLERS: Record<Intent, Handler> = {
  settings: handler(
    "settings",
    (t) => settingsFormSchema(t, env.originRules),
    async (who, t, value) => {
      await updateTenant(who, t.slug, value);
      return redirectWithToast(settingsUrl(t.slug), { kind: "success", message: "Settings saved" });
    },
  ),
  "api-config": handler(
    "api-config",
    () => apiConfigFormSchema(env.originRules),
    async (who, t, value) => {
      const { tokenRemoved } = await setApiConfig(who, t.slug, value);
      return redirectWithToast(
        settingsUrl(t.slug),
        tokenRemoved
          ? { kind: "info", message: "API proxy settings saved; the API token was removed because the API origin changed host, scheme or port: enter it again" }
          : { kind: "success", message: "API proxy settings saved" },
      );
    },
  ),
  "api-token": handler(
    "api-token",
    () => apiTokenFormSchema,
    async (who, t, { token, shownOrigin }) => {
      await setApiToken(who, t.slug, token, shownOrigin);
      return redirectWithToast(settingsUrl(t.slug), { kind: "success", message: "API token saved" });
    },
  ),
  "refresh-cache": handler(
    "refresh-cache",
    () => refreshCacheFormSchema,
    async (who, t, { type }) => {
      const v = await refreshCache(who, t.slug, type);
      return redirectWithToast(settingsUrl(t.slug), { kind: "success", message: `Cache versions now api ${v.api}, assets ${v.assets}` });
    },
  ),
  delete: handler(
    "delete",
    (t) => deleteFormSchema(t.slug),
    async (who, t) => {
      await deleteTenant(who, t.slug);
      return redirectWithToast("/", { kind: "success", message: `Tenant ${t.slug} deleted` });
    },
  ),
};

// ---- the page -----------------------------------------------------------------------------------------------

type Meta = Parameters<typeof Field>[0]["meta"];
type Result = SubmissionResult<string[]> | undefined;
const metas = (fields: unknown) => fields as Record<string, Meta>;

const PROVIDER_LABELS: Record<string, string> = {
  spaceId: "Space ID",
  projectId: "Project ID",
  dataset: "Dataset",
  repositoryName: "Repository name",
  region: "Region",
  storeDomain: "Store domain",
  cloudName: "Cloud name",
  imgixDomain: "imgix source domain",
  originUrl: "Origin URL",
  videoOrigin: "Video origin (optional)",
};

export default function SettingsPage() {
  const { tenant, allowPrivate } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const resultOf = (intent: Intent): Result => (data?.intent === intent ? (data.result as SubmissionResult<string[]>) : undefined);
  const rules = { allowPrivate };
  // After a save the forms start again from the saved values (a redirect keeps this page mounted).
  const settingsKey = JSON.stringify([tenant.cms, tenant.cacheTTL, tenant.websiteDomain, tenant.allowedTypes, ...PROVIDER_FIELDS[tenant.cms].map((f) => tenant[f as keyof TenantValue])]);
  const apiKey = JSON.stringify([tenant.apiOrigin, tenant.apiAuthMode, tenant.apiTokenHeader, tenant.apiCacheTTL, tenant.previewBypassParam, tenant.transformApiUrls]);
  return (
    <>
      <SettingsForm key={settingsKey} tenant={tenant} rules={rules} lastResult={resultOf("settings")} />
      <ApiConfigForm key={apiKey} tenant={tenant} rules={rules} lastResult={resultOf("api-config")} />
      <ApiTokenForm tenant={tenant} lastResult={resultOf("api-token")} />
      <RefreshCacheForm tenant={tenant} lastResult={resultOf("refresh-cache")} />
      <DeleteForm slug={tenant.slug} lastResult={resultOf("delete")} />
    </>
  );
}

function SettingsForm({ tenant, rules, lastResult }: { tenant: TenantValue; rules: OriginRules; lastResult: Result }) {
  const schema = settingsFormSchema(tenant, rules);
  const own = PROVIDER_FIELDS[tenant.cms as Cms];
  const [form, fields] = useForm<Record<string, string>, Record<string, unknown>>({
    id: "tenant-settings",
    lastResult,
    onValidate: ({ formData }) => parseWithZod(formData, { schema }),
    // Submit only: FormShell moves the focus whenever the errors change, which mid-typing would pull it away.
    shouldValidate: "onSubmit",
    defaultValue: {
      cacheTTL: String(tenant.cacheTTL),
      websiteDomain: tenant.websiteDomain ?? "",
      allowedTypes: tenant.allowedTypes?.join(", ") ?? "",
      ...Object.fromEntries(own.map((f) => [f, String(tenant[f as keyof TenantValue] ?? "")])),
    },
  });
  const f = metas(fields);
  return (
    <section className="card" aria-labelledby="settings-heading">
      <h2 id="settings-heading">Tenant</h2>
      <FormShell form={form as never} intent="settings">
        <fieldset>
          <legend>{tenant.cms}</legend>
          {own.map((field) =>
            field === "region" ? (
              <SelectField key={field} meta={f[field]} label={PROVIDER_LABELS[field]} options={STORYBLOK_REGIONS.map((r) => ({ value: r, label: r.toUpperCase() }))} />
            ) : (
              <Field
                key={field}
                meta={f[field]}
                label={PROVIDER_LABELS[field] ?? field}
                type={field === "originUrl" || field === "videoOrigin" ? "url" : "text"}
                hint={field === "videoOrigin" ? "Once set it can be changed, not removed" : undefined}
              />
            ),
          )}
        </fieldset>
        <Field meta={f.cacheTTL} label="Cache TTL (seconds)" type="number" inputMode="numeric" hint="60 to 31536000 (a year)" inputProps={{ required: true }} />
        <Field meta={f.websiteDomain} label="Website domain" hint="Sent to the CMS as Referer, e.g. www.example.com; empty for none" />
        <Field meta={f.allowedTypes} label="Allowed file types" hint="Extensions separated by commas; empty for the default list" />
        <div className="actions">
          <SubmitButton name="intent" value="settings" pendingText="Saving…">
            Save settings
          </SubmitButton>
        </div>
      </FormShell>
    </section>
  );
}

const AUTH_MODE_LABELS: Record<(typeof API_AUTH_MODES)[number], string> = {
  bearer: "Bearer (Authorization: Bearer <token>)",
  basic: "Basic (Authorization: Basic <token>)",
  token: "Token (Authorization: Token <token>)",
  none: "None",
};

function ApiConfigForm({ tenant, rules, lastResult }: { tenant: TenantValue; rules: OriginRules; lastResult: Result }) {
  const schema = apiConfigFormSchema(rules);
  const [form, fields] = useForm<Record<string, string>, Record<string, unknown>>({
    id: "api-config",
    lastResult,
    onValidate: ({ formData }) => parseWithZod(formData, { schema }),
    shouldValidate: "onSubmit",
    defaultValue: {
      apiOrigin: tenant.apiOrigin ?? "",
      apiAuthMode: tenant.apiAuthMode,
      apiTokenHeader: tenant.apiTokenHeader,
      apiCacheTTL: String(tenant.apiCacheTTL),
      previewBypassParam: tenant.previewBypassParam,
      transformApiUrls: tenant.transformApiUrls ? "on" : "",
    },
  });
  const f = metas(fields);
  return (
    <section className="card" aria-labelledby="api-config-heading">
      <h2 id="api-config-heading">CMS API proxy</h2>
      <FormShell form={form as never} intent="api-config">
        <Field
          meta={f.apiOrigin}
          label="API origin"
          type="url"
          placeholder="https://api.example.com"
          hint={tenant.apiTokenSet ? "Another host, scheme or port removes the saved API token" : undefined}
          inputProps={{ required: true }}
        />
        <SelectField meta={f.apiAuthMode} label="Authentication" options={API_AUTH_MODES.map((m) => ({ value: m, label: AUTH_MODE_LABELS[m] }))} />
        <Field meta={f.apiTokenHeader} label="Token header" hint="Authorization when empty" />
        <Field meta={f.apiCacheTTL} label="API cache TTL (seconds)" type="number" inputMode="numeric" hint="10 to 3600; 60 when empty" />
        <Field meta={f.previewBypassParam} label="Preview bypass parameter" hint="A query parameter that skips the cache; preview when empty" />
        <CheckboxField meta={f.transformApiUrls} label="Rewrite asset URLs in API responses to the edge" />
        <div className="actions">
          <SubmitButton name="intent" value="api-config" pendingText="Saving…">
            Save API proxy
          </SubmitButton>
        </div>
      </FormShell>
    </section>
  );
}

function ApiTokenForm({ tenant, lastResult }: { tenant: TenantValue; lastResult: Result }) {
  const [form, fields] = useForm<Record<string, string>, Record<string, unknown>>({
    id: "api-token",
    lastResult,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: apiTokenFormSchema }),
    shouldValidate: "onSubmit",
  });
  // Whatever was typed goes once the server has answered: a new input after every reply and every save.
  const [replies, setReplies] = useState(0);
  useEffect(() => {
    if (lastResult) setReplies((n) => n + 1);
  }, [lastResult]);
  const status = tenant.apiTokenSet ? (tenant.apiTokenUpdatedAt ? `set on ${formatDate(tenant.apiTokenUpdatedAt)}` : "set") : "not set";
  return (
    <section className="card" aria-labelledby="api-token-heading">
      <h2 id="api-token-heading">CMS API token</h2>
      <p>
        The token is <strong>{status}</strong>. It is stored encrypted and never shown; saving a new one replaces it. It is sent
        only to the API origin above, and removed when that changes host, scheme or port
        {tenant.apiOrigin ? "." : ": set the API origin first."}
      </p>
      <FormShell form={form as never} intent="api-token">
        <input type="hidden" name="shownOrigin" value={tenant.apiOrigin ?? "none"} />
        <Fragment key={`${tenant.apiTokenUpdatedAt}-${replies}`}>
          <Field meta={metas(fields).token} label={tenant.apiTokenSet ? "New API token" : "API token"} type="password" autoComplete="new-password" inputProps={{ required: true, defaultValue: undefined }} />
        </Fragment>
        <div className="actions">
          <SubmitButton name="intent" value="api-token" pendingText="Saving…">
            Save token
          </SubmitButton>
        </div>
      </FormShell>
    </section>
  );
}

function RefreshCacheForm({ tenant, lastResult }: { tenant: TenantValue; lastResult: Result }) {
  const [form] = useForm<Record<string, string>, Record<string, unknown>>({
    id: "refresh-cache",
    lastResult,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: refreshCacheFormSchema }),
  });
  const { api, assets } = tenant.cacheVersions;
  return (
    <section className="card" aria-labelledby="refresh-heading">
      <h2 id="refresh-heading">Cache</h2>
      <p>
        Current cache versions: API <strong>{api}</strong>, assets <strong>{assets}</strong>. Refreshing bumps a version, so the edge
        fetches from the origin again.
      </p>
      <FormShell form={form as never} intent="refresh-cache">
        <div className="actions">
          <SubmitButton name="type" value="api" className="secondary" pendingText="Refreshing…">
            Refresh API cache
          </SubmitButton>
          <SubmitButton name="type" value="assets" className="secondary" pendingText="Refreshing…">
            Refresh asset cache
          </SubmitButton>
          <SubmitButton name="type" value="all" className="secondary" pendingText="Refreshing…">
            Refresh both
          </SubmitButton>
        </div>
      </FormShell>
    </section>
  );
}

function DeleteForm({ slug, lastResult }: { slug: string; lastResult: Result }) {
  const schema = deleteFormSchema(slug);
  const [form, fields] = useForm<Record<string, string>, Record<string, unknown>>({
    id: "delete-tenant",
    lastResult,
    onValidate: ({ formData }) => parseWithZod(formData, { schema }),
    shouldValidate: "onSubmit",
  });
  return (
    <section className="card danger-zone" aria-labelledby="delete-heading">
      <h2 id="delete-heading">Delete tenant</h2>
      <p>
        Deleting <strong>{slug}</strong> removes it, its custom domains and its request logs at once; its edge address stops working. This
        cannot be undone.
      </p>
      <FormShell form={form as never} intent="delete">
        <Field meta={metas(fields).confirm} label={`Type ${slug} to confirm`} inputProps={{ required: true, spellCheck: false, autoCapitalize: "none" }} />
        <div className="actions">
          <SubmitButton name="intent" value="delete" className="danger" pendingText="Deleting…">
            Delete tenant
          </SubmitButton>
        </div>
      </FormShell>
    </section>
  );
}
