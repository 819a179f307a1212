// New tenant: slug (availability checked live with JavaScript, on submit without), provider and its fields,
// optional cache TTL and website domain.
import { useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useActionData, useFetcher, useLoaderData } from "@remix-run/react";
import { useEffect, useState } from "react";
import { Field, FormShell, SelectField, SubmitButton } from "#app/components/forms.tsx";
import { PageHeader } from "#app/components/ui.tsx";
import { newTenantFormSchema } from "#app/schemas/tenant-form.ts";
import { CMS_PROVIDERS, type Cms, STORYBLOK_REGIONS } from "#app/schemas/tenant.ts";
import { requirePageCaller } from "#app/server/auth.server.ts";
import { env } from "#app/server/env.server.ts";
import { replyWithError } from "#app/server/forms.server.ts";
import { createTenant } from "#app/server/tenants.server.ts";
import { redirectWithToast } from "#app/server/toast.server.ts";
import { useHydrated } from "#app/utils/hydrated.ts";

export const meta: MetaFunction = () => [{ title: "New tenant · CMS edge" }];

const PROVIDER_LABELS: Record<Cms, string> = {
  contentful: "Contentful",
  sanity: "Sanity",
  prismic: "Prismic",
  storyblok: "Storyblok",
  shopify: "Shopify",
  cloudinary: "Cloudinary",
  imgix: "imgix",
  generic: "Any other origin (generic)",
};

export async function loader(args: LoaderFunctionArgs) {
  await requirePageCaller(args);
  return { allowPrivate: env.originRules.allowPrivate };
}

export async function action(args: ActionFunctionArgs) {
  const who = await requirePageCaller(args);
  const submission = parseWithZod(await args.request.formData(), { schema: newTenantFormSchema(env.originRules) });
  if (submission.status !== "success") return submission.reply();
  try {
    const created = await createTenant(who, submission.value);
    return redirectWithToast(`/tenants/${created.slug}`, { kind: "success", message: `Tenant ${created.slug} created` });
  } catch (err) {
    return replyWithError(submission, err);
  }
}

/** The fields under "Optional settings". */
const OPTIONAL_FIELDS = ["cacheTTL", "websiteDomain", "allowedTypes"] as const;

type Availability = { slug: string; available: boolean; reason?: "taken" | "reserved" };

function SlugAvailability({ slug }: { slug: string }) {
  const fetcher = useFetcher<Availability>();
  const [asked, setAsked] = useState("");
  useEffect(() => {
    if (!/^[a-z][a-z0-9-]{2,62}$/.test(slug)) return;
    const t = setTimeout(() => {
      setAsked(slug);
      fetcher.load(`/api/tenants/slug-availability?slug=${encodeURIComponent(slug)}`);
    }, 300);
    return () => clearTimeout(t);
  }, [slug]); // only the slug decides when to ask; the fetcher's identity does not matter here
  const data = fetcher.data;
  const current = data && data.slug === slug && asked === slug ? data : undefined;
  return (
    <p className={`availability${current ? (current.available ? " ok" : " no") : ""}`} aria-live="polite" id="slug-availability">
      {current ? (current.available ? `${slug} is available` : `${slug} is ${current.reason === "reserved" ? "reserved" : "taken"}`) : ""}
    </p>
  );
}

export default function NewTenantPage() {
  const { allowPrivate } = useLoaderData<typeof loader>();
  const lastResult = useActionData<typeof action>();
  const schema = newTenantFormSchema({ allowPrivate });
  const [form, fields] = useForm<Record<string, string>, Record<string, unknown>>({
    id: "new-tenant",
    lastResult,
    onValidate: ({ formData }) => parseWithZod(formData, { schema }),
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
    defaultValue: { cms: "contentful", region: "eu", dataset: "production" },
  });
  const hydrated = useHydrated();
  const cms = (fields.cms.value as Cms | undefined) ?? "contentful";
  const show = (provider: Cms) => !hydrated || cms === provider;
  const f = fields as unknown as Record<string, Parameters<typeof Field>[0]["meta"]>;
  const [optionalOpen, setOptionalOpen] = useState(false);
  const optionalInError = OPTIONAL_FIELDS.some((name) => Boolean(f[name].errors?.length));

  return (
    <>
      <PageHeader title="New tenant" back={{ to: "/", label: "Tenants" }} />
      <FormShell form={form as never}>
        <Field
          meta={f.slug}
          label="Slug"
          hint="3–63 characters: a–z, 0–9 and hyphens, starting with a letter. It names your edge address and cannot change."
          inputProps={{ required: true, "aria-describedby": `${f.slug.descriptionId} slug-availability${f.slug.errors ? ` ${f.slug.errorId}` : ""}` }}
        />
        {hydrated ? <SlugAvailability slug={String(fields.slug.value ?? "")} /> : null}
        <SelectField
          meta={f.cms}
          label="CMS"
          options={CMS_PROVIDERS.map((p) => ({ value: p, label: PROVIDER_LABELS[p] }))}
          hint={hydrated ? undefined : "Fill in the fields of the CMS you choose; the others are ignored."}
        />
        <fieldset hidden={!show("contentful")}>
          <legend>Contentful</legend>
          <Field meta={f.spaceId} label="Space ID" />
        </fieldset>
        <fieldset hidden={!show("sanity")}>
          <legend>Sanity</legend>
          <Field meta={f.projectId} label="Project ID" />
          <Field meta={f.dataset} label="Dataset" hint="production unless you use another one" />
        </fieldset>
        <fieldset hidden={!show("prismic")}>
          <legend>Prismic</legend>
          <Field meta={f.repositoryName} label="Repository name" />
        </fieldset>
        <fieldset hidden={!show("storyblok")}>
          <legend>Storyblok</legend>
          <SelectField meta={f.region} label="Region" options={STORYBLOK_REGIONS.map((r) => ({ value: r, label: r.toUpperCase() }))} />
        </fieldset>
        <fieldset hidden={!show("shopify")}>
          <legend>Shopify</legend>
          <Field meta={f.storeDomain} label="Store domain" placeholder="shop.example.com" />
        </fieldset>
        <fieldset hidden={!show("cloudinary")}>
          <legend>Cloudinary</legend>
          <Field meta={f.cloudName} label="Cloud name" />
        </fieldset>
        <fieldset hidden={!show("imgix")}>
          <legend>imgix</legend>
          <Field meta={f.imgixDomain} label="imgix source domain" placeholder="acme.imgix.net" />
        </fieldset>
        <fieldset hidden={!show("generic")}>
          <legend>Any other origin</legend>
          <Field meta={f.originUrl} label="Origin URL" type="url" placeholder="https://assets.example.com" />
          <Field meta={f.videoOrigin} label="Video origin (optional)" type="url" />
        </fieldset>
        {/* Open when one of its fields is in error (a server's answer without JavaScript would hide it), and kept open
            once opened. */}
        <details open={optionalOpen || optionalInError} onToggle={(e) => setOptionalOpen(e.currentTarget.open)}>
          <summary>Optional settings</summary>
          <Field meta={f.cacheTTL} label="Cache TTL (seconds)" type="number" inputMode="numeric" hint="60 to 31536000; 86400 (a day) when empty" />
          <Field meta={f.websiteDomain} label="Website domain" hint="Sent to the CMS as Referer, e.g. www.example.com" />
          <Field meta={f.allowedTypes} label="Allowed file types" hint="Extensions separated by commas; empty for the default list" />
        </details>
        <div className="actions">
          <SubmitButton pendingText="Creating…">Create tenant</SubmitButton>
        </div>
      </FormShell>
    </>
  );
}
