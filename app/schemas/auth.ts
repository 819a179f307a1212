// The local sign-in form (local mode only: development without a Clerk account).
import { z } from "zod";

export const localSignInSchema = z.object({
  userId: z
    .string({ error: "Enter a user id" })
    .trim()
    .min(1, "Enter a user id")
    .max(64, "At most 64 characters")
    .regex(/^[A-Za-z0-9_.@-]+$/, "Letters, digits and _ . @ - only"),
  plan: z.enum(["free", "pro"], { error: "Choose free or pro" }).default("free"),
  orgId: z
    .string()
    .trim()
    .max(64, "At most 64 characters")
    .regex(/^[A-Za-z0-9_-]*$/, "Letters, digits, _ and - only")
    .optional()
    .transform((v) => (v ? v : undefined)),
  redirectTo: z.string().optional(),
});
