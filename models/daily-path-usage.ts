// DailyPathUsage: requests and bytes per tenant, UTC day and path ($inc upserts), so that "top paths" of any period
// reads one small rollup per path and day instead of every request log; kept 400 days.
import mongoose, { type InferSchemaType, Schema } from "mongoose";

export const PATH_USAGE_RETENTION_SECONDS = 400 * 86_400;

const dailyPathUsageSchema = new Schema(
  {
    tenant: { type: Schema.Types.ObjectId, required: true },
    day: { type: Date, required: true },
    path: { type: String, required: true },
    requests: { type: Number, default: 0 },
    bytes: { type: Number, default: 0 },
    flushSeq: { type: Schema.Types.Mixed, default: undefined },
  },
  { collection: "daily_path_usage" },
);

dailyPathUsageSchema.index({ tenant: 1, day: 1, path: 1 }, { unique: true });
dailyPathUsageSchema.index({ day: 1 }, { expireAfterSeconds: PATH_USAGE_RETENTION_SECONDS });

export type DailyPathUsageDoc = InferSchemaType<typeof dailyPathUsageSchema> & { _id: mongoose.Types.ObjectId };

const define = () => mongoose.model("DailyPathUsage", dailyPathUsageSchema);
export const DailyPathUsage = (mongoose.models.DailyPathUsage as ReturnType<typeof define> | undefined) ?? define();
