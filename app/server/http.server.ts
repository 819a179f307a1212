// The JSON API's edge: one error shape, typed errors, JSON-only body parsing with limits, strict validation,
// method routing with 405 + Allow, and no-store JSON responses. Routes use these; none repeats them.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import type { z } from "zod";
import { toIssues } from "#app/schemas/issues.ts";

export type ErrorCode =
  | "unauthorized"
  | "plan_limit"
  | "not_found"
  | "method_not_allowed"
  | "slug_taken"
  | "domain_taken"
  | "invalid_request"
  | "payload_too_large"
  | "unsupported_media_type"
  | "rate_limited"
  | "internal";

const STATUS: Record<ErrorCode, number> = {
  unauthorized: 401,
  plan_limit: 403,
  not_found: 404,
  method_not_allowed: 405,
  slug_taken: 409,
  domain_taken: 409,
  invalid_request: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
};

export interface Issue {
  path: string;
  message: string;
}

/** A failure the API reports as `{ error: { code, message, issues? } }` (plus extra fields such as plan/limit). */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly issues?: Issue[];
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { issues?: Issue[]; extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.code = code;
    this.status = STATUS[code];
    this.issues = opts.issues;
    this.extra = opts.extra ?? {};
    this.headers = opts.headers ?? {};
  }
}

export const notFound = (what = "Not found") => new ApiError("not_found", what);
export const invalid = (message: string, issues?: Issue[]) => new ApiError("invalid_request", message, { issues });

export const MAX_BODY_BYTES = 64 * 1024;

const JSON_HEADERS = { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" };

/** A JSON response with the API's headers. */
export function json(data: unknown, init: { status?: number; headers?: Record<string, string> } = {}): Response {
  return new Response(JSON.stringify(data), { status: init.status ?? 200, headers: { ...JSON_HEADERS, ...init.headers } });
}

export function errorResponse(err: ApiError): Response {
  const body: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.issues) body.issues = err.issues;
  return json({ error: { ...body, ...err.extra } }, { status: err.status, headers: err.headers });
}

/**
 * Reads a JSON body (415 unless application/json, 413 over the limit — 64 KiB unless the endpoint says otherwise —,
 * 400 if malformed) and validates it strictly. A request without a body (none sent, or an empty one, whatever its
 * Content-Type says) is validated as `{}`, so that it is told which fields it lacks.
 */
export async function readJson<S extends z.ZodType>(
  request: Request,
  schema: S,
  opts: { maxBytes?: number } = {},
): Promise<z.infer<S>> {
  const text = await bodyText(request, opts.maxBytes ?? MAX_BODY_BYTES);
  return validate(schema, text === null ? {} : parseJson(text), "Invalid request body");
}

/** A request's body as text, null when it has none (an empty body is none); 413 over `maxBytes`, 415 unless JSON. */
async function bodyText(request: Request, maxBytes: number): Promise<string | null> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const text = await readLimited(request, maxBytes);
  if (text === "") return null;
  if (!/^application\/json\s*(;|$)/i.test(request.headers.get("content-type") ?? "")) {
    throw new ApiError("unsupported_media_type", "Request bodies must be application/json");
  }
  return text;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalid("The request body is not valid JSON");
  }
}

/** Validates query parameters (or any data) against a schema, mapping failures to 400 with issues. */
export function validate<S extends z.ZodType>(schema: S, data: unknown, message = "Invalid request"): z.infer<S> {
  const result = schema.safeParse(data);
  if (!result.success) throw invalid(message, toIssues(result.error));
  return result.data;
}

/**
 * For endpoints that take their parameters as a JSON body or as the query: the body when the request has one (an
 * empty body is none, whatever its Content-Type says: clients that set it on every request send DELETEs so), else
 * the query. Both at once is a 400, so that neither is silently ignored.
 */
export async function readJsonOrQuery<B extends z.ZodType, Q extends z.ZodObject>(
  request: Request,
  bodySchema: B,
  querySchema: Q,
): Promise<z.infer<B> | z.infer<Q>> {
  const query = queryOf(request);
  const text = await bodyText(request, MAX_BODY_BYTES);
  if (text === null) return validate(querySchema, query, "Invalid query");
  const both = Object.keys(query).filter((k) => k in querySchema.shape);
  if (both.length) {
    throw invalid("Invalid request", both.map((path) => ({ path, message: "must be given in the body or in the query, not both" })));
  }
  validate(querySchema.pick({}), query, "Invalid query");
  return validate(bodySchema, parseJson(text), "Invalid request body");
}

/** The query string as a plain object (the last value wins for repeated keys). */
export function queryOf(request: Request): Record<string, string> {
  return Object.fromEntries(new URL(request.url).searchParams);
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError("payload_too_large", `Request bodies are limited to ${maxBytes / 1024} KiB`);
}

async function readLimited(request: Request, maxBytes: number): Promise<string> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
type Handler = (args: LoaderFunctionArgs | ActionFunctionArgs) => Promise<Response>;

/**
 * A resource route serving the given methods: dispatches by method (HEAD as GET), answers 405 with `Allow` for
 * the rest, and turns every ApiError (or any other failure) into the contract's error JSON.
 */
export function apiRoute(handlers: Partial<Record<Method, Handler>>) {
  const allow = Object.keys(handlers).flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])).join(", ");
  const run = async (args: LoaderFunctionArgs | ActionFunctionArgs): Promise<Response> => {
    const method = (args.request.method.toUpperCase() === "HEAD" ? "GET" : args.request.method.toUpperCase()) as Method;
    const handler = handlers[method];
    try {
      if (!handler) {
        throw new ApiError("method_not_allowed", `${args.request.method} is not allowed here`, { headers: { Allow: allow } });
      }
      return await handler(args);
    } catch (err) {
      return handleError(err);
    }
  };
  return { loader: run, action: run };
}

/** Maps anything thrown to an error response; unexpected failures are logged and never leak details. */
export function handleError(err: unknown): Response {
  if (err instanceof ApiError) return errorResponse(err);
  if (err instanceof Response) return err;
  console.error("internal error:", err);
  return errorResponse(new ApiError("internal", "Something went wrong on our side"));
}
