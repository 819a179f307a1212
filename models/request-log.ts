// Request logs: each (possibly sampled) request the edge served, kept 30 days, read newest first per tenant.
// Stored in buckets — one document holds up to 250 of a tenant's logs from one UTC hour — so that writing a log
// costs the database a share of one insert instead of an insert and three index entries of its own (decision 010).
import mongoose, { type InferSchemaType, Schema } from "mongoose";

export const REQUEST_LOG_RETENTION_SECONDS = 30 * 86_400;
/** A bucket holds logs of one tenant from one UTC hour… */
export const REQUEST_LOG_BUCKET_SPAN_MS = 3_600_000;
/** …and at most this many of them. */
export const REQUEST_LOG_BUCKET_MAX = 250;

const requestLogSchema = new Schema(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    timestamp: { type: Date, required: true },
    method: { type: String, required: true },
    path: { type: String, required: true },
    status: { type: Number, required: true },
    cacheStatus: { type: String, enum: ["HIT", "MISS", "BYPASS", "ERROR"], required: true },
    kind: { type: String, enum: ["asset", "api"], required: true },
    bytes: { type: Number, required: true },
    durationMs: { type: Number, required: true },
  },
  { _id: false, versionKey: false },
);

const requestLogBucketSchema = new Schema(
  {
    tenant: { type: Schema.Types.ObjectId, required: true },
    /** The oldest and newest timestamp of the bucket's logs. */
    start: { type: Date, required: true },
    end: { type: Date, required: true },
    logs: { type: [requestLogSchema], required: true },
  },
  { collection: "request_log_buckets", versionKey: false },
);

// Newest buckets first per tenant; a bucket expires once its newest log is 30 days old (older logs in it are hidden
// by the reader until then).
requestLogBucketSchema.index({ tenant: 1, end: -1, _id: -1 });
requestLogBucketSchema.index({ end: 1 }, { expireAfterSeconds: REQUEST_LOG_RETENTION_SECONDS });

export type RequestLogDoc = InferSchemaType<typeof requestLogSchema> & { _id: mongoose.Types.ObjectId };
export type RequestLogBucketDoc = InferSchemaType<typeof requestLogBucketSchema> & {
  _id: mongoose.Types.ObjectId;
  logs: RequestLogDoc[];
};

const define = () => mongoose.model("RequestLogBucket", requestLogBucketSchema);
export const RequestLogBucket = (mongoose.models.RequestLogBucket as ReturnType<typeof define> | undefined) ?? define();
