// Tenant: one customer project — its slug (globally unique), CMS provider settings, API proxy settings, cache
// versions, and who it belongs to (owner, organization, billing subject).
import mongoose, { type InferSchemaType, Schema } from "mongoose";

const encryptedTokenSchema = new Schema(
  {
    keyId: { type: String, required: true },
    iv: { type: String, required: true },
    tag: { type: String, required: true },
    ciphertext: { type: String, required: true },
  },
  { _id: false },
);

const tenantSchema = new Schema(
  {
    slug: { type: String, required: true },
    ownerId: { type: String, required: true },
    orgId: { type: String, default: null },
    /** "user:<id>" or "org:<id>": whose plan and quotas this tenant counts against. */
    billingSubject: { type: String, required: true },
    cms: { type: String, required: true },
    // Provider fields: only the chosen provider's are set.
    spaceId: String,
    projectId: String,
    dataset: String,
    repositoryName: String,
    region: String,
    storeDomain: String,
    cloudName: String,
    imgixDomain: String,
    originUrl: String,
    videoOrigin: String,
    cacheTTL: { type: Number, required: true },
    websiteDomain: { type: String, default: null },
    allowedTypes: { type: [String], default: null },
    apiOrigin: { type: String, default: null },
    apiAuthMode: { type: String, default: "bearer" },
    apiTokenHeader: { type: String, default: "Authorization" },
    apiCacheTTL: { type: Number, default: 60 },
    previewBypassParam: { type: String, default: "preview" },
    transformApiUrls: { type: Boolean, default: true },
    apiToken: { type: encryptedTokenSchema, default: null },
    apiTokenUpdatedAt: { type: Date, default: null },
    /** Custom domains held, reserved with a conditional $inc so the plan's per-tenant limit holds. */
    domainCount: { type: Number, default: 0, min: 0 },
    cacheVersions: {
      api: { type: Number, default: 1 },
      assets: { type: Number, default: 1 },
    },
  },
  { timestamps: true, collection: "tenants", minimize: false },
);

tenantSchema.index({ slug: 1 }, { unique: true });
tenantSchema.index({ ownerId: 1, createdAt: -1 });
tenantSchema.index({ orgId: 1, createdAt: -1 });
tenantSchema.index({ billingSubject: 1 });

export type TenantDoc = InferSchemaType<typeof tenantSchema> & { _id: mongoose.Types.ObjectId };

const define = () => mongoose.model("Tenant", tenantSchema);
// Reused when the module is evaluated again (tests, live reload) in a process that already defined it.
export const Tenant = (mongoose.models.Tenant as ReturnType<typeof define> | undefined) ?? define();
