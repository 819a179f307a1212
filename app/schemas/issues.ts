// Zod errors as the API's `issues`: one entry per problem, with a dotted path ("" for the whole body).
import type { z } from "zod";

export interface Issue {
  path: string;
  message: string;
}

export function toIssues(error: z.ZodError): Issue[] {
  const issues: Issue[] = [];
  for (const i of error.issues) {
    const base = i.path.map(String).join(".");
    if (i.code === "unrecognized_keys") {
      for (const key of i.keys) issues.push({ path: base ? `${base}.${key}` : key, message: "is not a known field" });
    } else {
      issues.push({ path: base, message: i.message });
    }
  }
  return issues;
}
