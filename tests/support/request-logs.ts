// A tenant's stored request logs, read out of their buckets, oldest first (by timestamp, then id).
import type { Types } from "mongoose";
import { RequestLogBucket, type RequestLogBucketDoc, type RequestLogDoc } from "#models/request-log.ts";

export async function storedLogs(tenant: Types.ObjectId | undefined): Promise<RequestLogDoc[]> {
  const buckets = await RequestLogBucket.find({ tenant }).lean<RequestLogBucketDoc[]>();
  return buckets
    .flatMap((b) => b.logs)
    .sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime() || a._id.toHexString().localeCompare(b._id.toHexString()));
}

export async function countLogs(tenant: Types.ObjectId | undefined): Promise<number> {
  return (await storedLogs(tenant)).length;
}
