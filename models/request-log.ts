// RequestLog: one (possibly sampled) request served by the edge, kept 30 days, read newest first per tenant.
import mongoose, { type InferSchemaType, Schema } from "mongoose";

export const REQUEST_LOG_RETENTION_SECONDS = 30 * 86_400;

const requestLogSchema = new Schema(
  {
    tenant: { type: Schema.Types.ObjectId, required: true },
    timestamp: { type: Date, required: true },
    method: { type: String, required: true },
    path: { type: String, required: true },
    status: { type: Number, required: true },
    cacheStatus: { type: String, enum: ["HIT", "MISS", "BYPASS", "ERROR"], required: true },
    kind: { type: String, enum: ["asset", "api"], required: true },
    bytes: { type: Number, required: true },
    durationMs: { type: Number, required: true },
  },
  { collection: "request_logs", versionKey: false },
);

requestLogSchema.index({ tenant: 1, timestamp: -1, _id: -1 });
requestLogSchema.index({ timestamp: 1 }, { expireAfterSeconds: REQUEST_LOG_RETENTION_SECONDS });

export type RequestLogDoc = InferSchemaType<typeof requestLogSchema> & { _id: mongoose.Types.ObjectId };

const define = () => mongoose.model("RequestLog", requestLogSchema);
export const RequestLog = (mongoose.models.RequestLog as ReturnType<typeof define> | undefined) ?? define();
