// A tenant's stored request logs, read out of their buckets' columns, oldest first (by timestamp, then id).
import type { Types } from "mongoose";
import { RequestLogBucket, type RequestLogBucketDoc, RequestLogBucketView, type RequestLogDoc } from "#models/request-log.ts";

/** The logs of stored buckets, in bucket order. */
export function logsOf(buckets: RequestLogBucketDoc[]): RequestLogDoc[] {
  return buckets.flatMap((b) => {
    const view = new RequestLogBucketView(b);
    return Array.from({ length: view.length }, (_, i) => view.logAt(i));
  });
}

export async function storedLogs(tenant: Types.ObjectId | undefined): Promise<RequestLogDoc[]> {
  const buckets = await RequestLogBucket.find({ tenant }).lean<RequestLogBucketDoc[]>();
  return logsOf(buckets).sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime() || a._id.toHexString().localeCompare(b._id.toHexString()));
}

export async function countLogs(tenant: Types.ObjectId | undefined): Promise<number> {
  return (await storedLogs(tenant)).length;
}
