// The new-tenant form: every provider's fields are in the form (all visible without JavaScript); only the chosen
// provider's are read, and the whole is validated by the API's own create schema.
import { z } from "zod";
import type { OriginRules } from "./public-origin.ts";
import { ALL_PROVIDER_FIELDS, CMS_PROVIDERS, type Cms, PROVIDER_FIELDS, createTenantSchema } from "./tenant.ts";

const text = z.string().optional();

/** Splits "jpg, png webp" into extensions. */
export const splitList = (v: string | undefined) =>
  v === undefined ? undefined : v.split(/[\s,]+/).filter(Boolean);

export function newTenantFormSchema(rules: OriginRules) {
  const api = createTenantSchema(rules);
  return z
    .object({
      slug: text,
      cms: text,
      cacheTTL: text,
      websiteDomain: text,
      allowedTypes: text,
      ...Object.fromEntries(ALL_PROVIDER_FIELDS.map((f) => [f, text])),
    })
    .transform((form, ctx) => {
      const cms = form.cms as Cms | undefined;
      const provider = cms && (CMS_PROVIDERS as readonly string[]).includes(cms) ? PROVIDER_FIELDS[cms] : [];
      const candidate: Record<string, unknown> = { slug: form.slug, cms: form.cms };
      for (const field of provider) if ((form as Record<string, string | undefined>)[field] !== undefined) candidate[field] = (form as Record<string, string | undefined>)[field];
      if (form.cacheTTL !== undefined) candidate.cacheTTL = Number(form.cacheTTL);
      if (form.websiteDomain !== undefined) candidate.websiteDomain = form.websiteDomain;
      if (form.allowedTypes !== undefined) candidate.allowedTypes = splitList(form.allowedTypes);
      const parsed = api.safeParse(candidate);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          // "allowedTypes.2" is about the one allowedTypes box of the form.
          const path = issue.path.length ? [String(issue.path[0])] : [];
          ctx.addIssue({ code: "custom", path, message: issue.message });
        }
        return z.NEVER;
      }
      return parsed.data;
    });
}
