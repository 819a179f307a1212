// Account: one per billing subject (a user or an organization) — its plan, and the number of tenants it holds,
// which creates reserve with a conditional $inc so plan limits hold under concurrency.
import mongoose, { type InferSchemaType, Schema } from "mongoose";

const accountSchema = new Schema(
  {
    /** "user:<id>" or "org:<id>" */
    subject: { type: String, required: true },
    /** Set by an operator (or billing); a session's `metadata.plan` claim takes precedence. */
    plan: { type: String, enum: ["free", "pro", null], default: null },
    /** The plan the subject's signed-in requests last claimed (null: none), kept for the edge, which sees no session. */
    claimedPlan: { type: String, enum: ["free", "pro", null], default: null },
    tenantCount: { type: Number, default: 0, min: 0 },
  },
  { timestamps: true, collection: "accounts" },
);

accountSchema.index({ subject: 1 }, { unique: true });

export type AccountDoc = InferSchemaType<typeof accountSchema> & { _id: mongoose.Types.ObjectId };

const define = () => mongoose.model("Account", accountSchema);
// Reused when the module is evaluated again (tests, live reload) in a process that already defined it.
export const Account = (mongoose.models.Account as ReturnType<typeof define> | undefined) ?? define();
