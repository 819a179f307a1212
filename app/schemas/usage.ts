// Traffic: the events an edge reports, and what the API tells about them (analytics, daily bandwidth, usage).
import { z } from "zod";
import { calendarDateSchema, periodNameSchema } from "./period.ts";
import { slugFormat } from "./tenant.ts";

export const CACHE_STATUSES = ["HIT", "MISS", "BYPASS", "ERROR"] as const;
export const REQUEST_KINDS = ["asset", "api"] as const;
export type CacheStatus = (typeof CACHE_STATUSES)[number];
export type RequestKind = (typeof REQUEST_KINDS)[number];

export const MAX_INGEST_EVENTS = 1000;
/** 1000 events do not fit the API's 64 KiB: an ingest body may be 4 MiB (1000 events with the longest paths). */
export const MAX_INGEST_BODY_BYTES = 4 * 1024 * 1024;

export const requestEventSchema = z.strictObject({
  tenant: slugFormat,
  timestamp: z.iso.datetime({ offset: true, error: "must be an ISO date-time" }),
  method: z.string().regex(/^[A-Z]{1,16}$/, "must be an HTTP method in capitals"),
  path: z.string().min(1).max(2048, "must be at most 2048 characters").startsWith("/", "must start with /"),
  status: z.number().int().min(100).max(599),
  bytes: z.number().int().min(0),
  cacheStatus: z.enum(CACHE_STATUSES),
  kind: z.enum(REQUEST_KINDS),
  durationMs: z.number().min(0),
});
export type RequestEventInput = z.infer<typeof requestEventSchema>;

export const ingestBodySchema = z.strictObject({
  events: z.array(requestEventSchema).max(MAX_INGEST_EVENTS, `must hold at most ${MAX_INGEST_EVENTS} events`),
});
export const ingestResultSchema = z.object({ ok: z.literal(true), accepted: z.number().int(), rejected: z.number().int() });

export const periodQuerySchema = z.strictObject({ period: periodNameSchema });

const isoString = z.iso.datetime();
export const periodSchema = z.object({ name: z.string(), start: isoString, end: isoString });

const trafficSplit = z.object({ requests: z.number(), bandwidthBytes: z.number(), cacheHitRatio: z.number() });

export const analyticsSchema = z.object({
  slug: z.string(),
  period: periodSchema,
  totals: z.object({
    requests: z.number(),
    bandwidthBytes: z.number(),
    cacheHits: z.number(),
    cacheMisses: z.number(),
    cacheBypasses: z.number(),
    errors: z.number(),
  }),
  cacheHitRatio: z.number(),
  originRequestsAvoided: z.number(),
  traffic: z.object({ asset: trafficSplit, api: trafficSplit }),
  statusClasses: z.object({ "2xx": z.number(), "3xx": z.number(), "4xx": z.number(), "5xx": z.number() }),
  topPaths: z.array(z.object({ path: z.string(), requests: z.number(), bandwidthBytes: z.number() })),
  daily: z.array(z.object({ date: z.string(), requests: z.number(), bandwidthBytes: z.number(), cacheHitRatio: z.number() })),
});

export const bandwidthQuerySchema = z.strictObject({ from: calendarDateSchema.optional(), to: calendarDateSchema.optional() });

export const bandwidthSchema = z.object({
  slug: z.string(),
  from: z.string(),
  to: z.string(),
  points: z.array(z.object({ date: z.string(), bandwidthBytes: z.number(), requests: z.number() })),
});

const usageWindow = z.object({ requests: z.number(), bandwidthBytes: z.number(), start: isoString, end: isoString });
export const tenantUsageSchema = z.object({ current: usageWindow, previous: usageWindow, period: periodSchema });

export const accountUsageSchema = z.object({
  period: periodSchema,
  totals: z.object({ requests: z.number(), bandwidthBytes: z.number() }),
  tenants: z.array(z.object({ slug: z.string(), requests: z.number(), bandwidthBytes: z.number(), cacheHitRatio: z.number() })),
  plan: z.object({
    name: z.enum(["free", "pro"]),
    limits: z.object({ tenants: z.number(), requests: z.number(), bandwidthBytes: z.number() }),
    used: z.object({ tenants: z.number(), requests: z.number(), bandwidthBytes: z.number() }),
  }),
});
