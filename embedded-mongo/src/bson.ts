// The one `bson` instance: the CommonJS build the driver itself loads, so that a process running the store next to
// the driver (tests, the app's launcher) holds one copy and values from either side are the same classes.
import { createRequire } from "node:module";
import type * as bsonTypes from "bson";

const require = createRequire(import.meta.url);
const bson = require("bson") as typeof bsonTypes;

export const { BSON, Long, ObjectId, Timestamp, UUID } = bson;
export type Long = bsonTypes.Long;
export type ObjectId = bsonTypes.ObjectId;
export type Binary = bsonTypes.Binary;

/** True for a Long from any bson instance. */
export function isLong(v: unknown): v is Long {
  return typeof v === "object" && v !== null && (v as { _bsontype?: string })._bsontype === "Long";
}
