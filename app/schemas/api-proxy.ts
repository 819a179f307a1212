// The tenant's CMS API proxy: its configuration, the write-only token, and cache versions.
import { z } from "zod";
import { type OriginRules, originProblem } from "./public-origin.ts";
import { API_AUTH_MODES } from "./tenant.ts";

/** Headers an API token may never be sent in: the proxy owns them. */
export const FORBIDDEN_TOKEN_HEADERS = ["host", "content-length", "transfer-encoding", "connection", "cookie", "upgrade"];

export function apiConfigBodySchema(rules: OriginRules) {
  return z.strictObject({
    apiOrigin: z
      .string({ error: (i) => (i.input === undefined ? "is required" : "must be a string") })
      .trim()
      .max(2048, "must be at most 2048 characters")
      .superRefine((v, ctx) => {
        const problem = originProblem(v, rules);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .transform((v) => v.replace(/\/+$/, "")),
    apiAuthMode: z.enum(API_AUTH_MODES, {
      error: (i) => (i.input === undefined ? "is required" : `must be one of ${API_AUTH_MODES.join(", ")}`),
    }),
    apiTokenHeader: z
      .string()
      .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/, "must be a valid header name")
      .refine((h) => !FORBIDDEN_TOKEN_HEADERS.includes(h.toLowerCase()), {
        message: `must not be one of ${FORBIDDEN_TOKEN_HEADERS.join(", ")}`,
      })
      .default("Authorization"),
    apiCacheTTL: z.number().int("must be a whole number of seconds").min(10, "must be at least 10 seconds").max(3600, "must be at most 3600 seconds").default(60),
    previewBypassParam: z
      .string()
      .regex(/^[A-Za-z0-9_.~-]{1,64}$/, "must be a query parameter name (letters, digits, _ . ~ -)")
      .default("preview"),
    transformApiUrls: z.boolean().default(true),
    // A token here would be stored in the clear next to the config: it has its own write-only endpoint.
    token: z.never({ error: "is not accepted here: set it with PUT /api/tenants/{slug}/api-token" }).optional(),
  });
}

export const apiConfigSchema = z.object({
  apiOrigin: z.string().nullable(),
  apiAuthMode: z.enum(API_AUTH_MODES),
  apiTokenHeader: z.string(),
  apiCacheTTL: z.number().int(),
  previewBypassParam: z.string(),
  transformApiUrls: z.boolean(),
  apiTokenSet: z.boolean(),
});

export const apiTokenBodySchema = z.strictObject({
  token: z
    .string({ error: (i) => (i.input === undefined ? "is required" : "must be a string") })
    .min(1, "must not be empty")
    .max(4096, "must be at most 4096 characters")
    // Unicode's control characters: C0 (CR, LF, NUL…), DEL and C1 (NEL, U+0085, is a line break too).
    // eslint-disable-next-line no-control-regex
    .refine((t) => !/[\u0000-\u001f\u007f-\u009f]/.test(t), "must not contain control characters (such as CR or LF)")
    // A header carries bytes: past ASCII, undici refuses what is above U+00FF (every API miss would answer 502) and
    // sends U+00A0–U+00FF as one Latin-1 byte each, which the edge's masking of echoed tokens (UTF-8) would not find.
    // (A pattern, so the OpenAPI document shows it.)
    .regex(/^[^\u00a0-\uffff]*$/, "must contain only ASCII characters (a request header cannot carry others)"),
});
export const apiTokenSchema = z.object({ ok: z.literal(true), updatedAt: z.iso.datetime() });

export const refreshCacheBodySchema = z.strictObject({
  type: z.enum(["api", "assets", "all"], {
    error: (i) => (i.input === undefined ? "is required" : "must be one of api, assets, all"),
  }),
});
export const refreshCacheSchema = z.object({ ok: z.literal(true), versions: z.object({ api: z.number().int(), assets: z.number().int() }) });
