// The one error shape of the API and other shared response pieces.
import { z } from "zod";

export const ERROR_CODES = [
  "unauthorized",
  "plan_limit",
  "not_found",
  "method_not_allowed",
  "slug_taken",
  "domain_taken",
  "invalid_request",
  "payload_too_large",
  "unsupported_media_type",
  "rate_limited",
  "internal",
] as const;

export const errorSchema = z.object({
  error: z.looseObject({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    plan: z.string().optional(),
    limit: z.number().optional(),
  }),
});

export const healthSchema = z.object({ ok: z.boolean(), db: z.enum(["up", "down"]) });
