// Server-side form results: an ApiError from a server module becomes field or form errors on the conform reply.
import type { Submission } from "@conform-to/react";
import { ApiError } from "./http.server.ts";

/** The reply for a failed submission; anything that is not an ApiError is unexpected and rethrown. */
export function replyWithError<T>(submission: Submission<T>, err: unknown, fieldOf: (path: string) => string | undefined = (p) => p || undefined) {
  if (!(err instanceof ApiError)) throw err;
  const fieldErrors: Record<string, string[]> = {};
  const formErrors: string[] = [];
  for (const issue of err.issues ?? []) {
    const field = fieldOf(issue.path);
    if (field) (fieldErrors[field] ??= []).push(issue.message);
    else formErrors.push(issue.path ? `${issue.path} ${issue.message}` : issue.message);
  }
  if (!err.issues?.length) {
    if (err.code === "slug_taken") fieldErrors.slug = [err.message];
    else if (err.code === "domain_taken") fieldErrors.hostname = [err.message];
    else formErrors.push(err.message);
  }
  return submission.reply({ fieldErrors, formErrors });
}
