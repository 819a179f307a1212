// Request logs as the API pages through them: filters, limits and the opaque cursor.
import { z } from "zod";
import { CACHE_STATUSES, REQUEST_KINDS } from "./usage.ts";

export const logsQuerySchema = z
  .strictObject({
    limit: z.coerce
      .number({ error: "must be a whole number from 1 to 200" })
      .int("must be a whole number from 1 to 200")
      .min(1, "must be a whole number from 1 to 200")
      .max(200, "must be a whole number from 1 to 200")
      .default(50),
    cursor: z.string().max(512).optional(),
    status: z
      .string()
      .regex(/^([1-5]xx|[1-5]\d\d)$/, "must be a status code (200) or a class (2xx … 5xx)")
      .optional(),
    cache: z.enum(CACHE_STATUSES).optional(),
    kind: z.enum(REQUEST_KINDS).optional(),
    path: z.string().startsWith("/", "must be a path prefix starting with /").max(2048).optional(),
    from: z.iso.datetime({ offset: true, error: "must be an ISO date-time" }).optional(),
    to: z.iso.datetime({ offset: true, error: "must be an ISO date-time" }).optional(),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), { message: "from must not be after to", path: ["from"] });
export type LogsQuery = z.infer<typeof logsQuerySchema>;

export const logEntrySchema = z.object({
  id: z.string(),
  timestamp: z.iso.datetime(),
  method: z.string(),
  path: z.string(),
  status: z.number().int(),
  cacheStatus: z.enum(CACHE_STATUSES),
  kind: z.enum(REQUEST_KINDS),
  bytes: z.number(),
  durationMs: z.number(),
});

export const logsSchema = z.object({
  logs: z.array(logEntrySchema),
  pagination: z.object({ limit: z.number().int(), nextCursor: z.string().nullable(), hasMore: z.boolean() }),
});
