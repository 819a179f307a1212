// DailyUsage: one document per tenant per UTC day, changed only by atomic $inc upserts. It keeps the billing
// subject and owner, so usage outlives a deleted tenant (quotas and bills count it).
import mongoose, { type InferSchemaType, Schema } from "mongoose";

const counters = {
  requests: { type: Number, default: 0 },
  bytes: { type: Number, default: 0 },
  hits: { type: Number, default: 0 },
  misses: { type: Number, default: 0 },
  bypasses: { type: Number, default: 0 },
  errors: { type: Number, default: 0 },
};

const dailyUsageSchema = new Schema(
  {
    tenant: { type: Schema.Types.ObjectId, required: true },
    slug: { type: String, required: true },
    billingSubject: { type: String, required: true },
    ownerId: { type: String, required: true },
    /** 00:00 UTC of the day. */
    day: { type: Date, required: true },
    ...counters,
    asset: counters,
    api: counters,
    /** Per edge process, the last batch it applied here (a retried batch is not counted twice). */
    flushSeq: { type: Schema.Types.Mixed, default: undefined },
    status: {
      s2xx: { type: Number, default: 0 },
      s3xx: { type: Number, default: 0 },
      s4xx: { type: Number, default: 0 },
      s5xx: { type: Number, default: 0 },
    },
  },
  { collection: "daily_usage", minimize: false },
);

dailyUsageSchema.index({ tenant: 1, day: 1 }, { unique: true });
dailyUsageSchema.index({ billingSubject: 1, day: 1 });

export type DailyUsageDoc = InferSchemaType<typeof dailyUsageSchema> & { _id: mongoose.Types.ObjectId };

const define = () => mongoose.model("DailyUsage", dailyUsageSchema);
// Reused when the module is evaluated again (tests, live reload) in a process that already defined it.
export const DailyUsage = (mongoose.models.DailyUsage as ReturnType<typeof define> | undefined) ?? define();
