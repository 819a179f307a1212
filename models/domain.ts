// Domain: a tenant's custom hostname, unique across all tenants, with its ownership token and verification state.
import mongoose, { type InferSchemaType, Schema } from "mongoose";

const checkSchema = new Schema(
  {
    type: { type: String, enum: ["CNAME", "TXT"], required: true },
    name: { type: String, required: true },
    expected: { type: String, required: true },
    found: { type: [String], default: [] },
    ok: { type: Boolean, required: true },
  },
  { _id: false },
);

const domainSchema = new Schema(
  {
    tenant: { type: Schema.Types.ObjectId, required: true },
    hostname: { type: String, required: true },
    token: { type: String, required: true },
    status: { type: String, enum: ["pending", "active", "failed"], default: "pending" },
    checks: { type: [checkSchema], default: [] },
    error: { type: String, default: null },
    lastCheckedAt: { type: Date, default: null },
    verifiedAt: { type: Date, default: null },
  },
  { timestamps: true, collection: "domains" },
);

domainSchema.index({ hostname: 1 }, { unique: true });
domainSchema.index({ tenant: 1, createdAt: 1 });

export type DomainDoc = InferSchemaType<typeof domainSchema> & { _id: mongoose.Types.ObjectId };

const define = () => mongoose.model("Domain", domainSchema);
// Reused when the module is evaluated again (tests, live reload) in a process that already defined it.
export const Domain = (mongoose.models.Domain as ReturnType<typeof define> | undefined) ?? define();
