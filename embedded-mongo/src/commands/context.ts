// What a command handler gets: the engine, the cursors, the connection, and argument helpers that answer
// MongoDB's errors for unknown, unsupported or mistyped fields.
import { isLong } from "../bson";
import { CommandError, ErrorCode } from "../errors";
import type { Engine } from "../storage/engine";
import { type Doc, isDocument } from "../storage/paths";
import type { CursorManager } from "./cursors";

export interface ServerInfo {
  startedAt: Date;
  host: string;
  port: number;
  connections: { current: number; totalCreated: number };
  opcounters: Record<"insert" | "query" | "update" | "delete" | "getmore" | "command", number>;
}

export interface CommandContext {
  engine: Engine;
  cursors: CursorManager;
  server: ServerInfo;
  connectionId: number;
  /** The `$db` of the command. */
  db: string;
  /** The logical session (hex of lsid.id), when the driver sent one. */
  session?: string;
  /** Whether the command arrived as legacy OP_QUERY (hello then says `ismaster`). */
  legacy: boolean;
}

export type Handler = (cmd: Doc, ctx: CommandContext) => Doc;

export interface CommandDef {
  handler: Handler;
  /** Fields this command understands besides its own name and the generic ones. Absent: accept anything. */
  fields?: string[];
  /** Fields MongoDB knows that the embedded store does not implement: refused with NotImplemented. */
  unsupported?: string[];
  /** Whether the command changes data (commit the journal after it). */
  write?: boolean;
  /** Runs only against the admin database. */
  adminOnly?: boolean;
}

/** Fields every command may carry (sessions, API versioning, concerns, tracing). */
export const GENERIC_FIELDS = new Set([
  "$db",
  "lsid",
  "$readPreference",
  "$clusterTime",
  "apiVersion",
  "apiStrict",
  "apiDeprecationErrors",
  "comment",
  "maxTimeMS",
  "writeConcern",
  "readConcern",
  "txnNumber",
  "autocommit",
  "startTransaction",
  "$audit",
  "$client",
]);

export function checkFields(name: string, cmd: Doc, def: CommandDef): void {
  const commandKey = Object.keys(cmd)[0];
  for (const field of Object.keys(cmd)) {
    if (field === commandKey || GENERIC_FIELDS.has(field)) continue;
    if (def.unsupported?.includes(field)) {
      throw new CommandError(ErrorCode.NotImplemented, `${name}.${field} is not supported by the embedded store`);
    }
    if (def.fields && !def.fields.includes(field)) {
      throw new CommandError(ErrorCode.Location40415, `BSON field '${name}.${field}' is an unknown field.`);
    }
  }
  if (cmd.startTransaction !== undefined || cmd.autocommit !== undefined) {
    throw new CommandError(
      ErrorCode.IllegalOperation,
      "Transaction numbers are only allowed on a replica set member or mongos",
    );
  }
  if (cmd.txnNumber !== undefined) {
    throw new CommandError(ErrorCode.IllegalOperation, "Transaction numbers are only allowed on a replica set member or mongos");
  }
  const rc = cmd.readConcern;
  if (rc !== undefined) {
    if (!isDocument(rc)) throw new CommandError(ErrorCode.TypeMismatch, "readConcern must be an object");
    const level = rc.level;
    if (level !== undefined && level !== "local" && level !== "available" && level !== "majority") {
      throw new CommandError(ErrorCode.NotImplemented, `readConcern level '${String(level)}' is not supported by the embedded store`);
    }
  }
  const wc = cmd.writeConcern;
  if (wc !== undefined) {
    if (!isDocument(wc)) throw new CommandError(ErrorCode.FailedToParse, "writeConcern must be an object");
    const w = wc.w;
    if (typeof w === "number" && w > 1) {
      throw new CommandError(100, `Not enough data-bearing nodes to satisfy write concern w: ${w} (the embedded store is a standalone server)`);
    }
    if (typeof w === "string" && w !== "majority") {
      throw new CommandError(79, `No write concern mode named '${w}' found in replica set configuration`);
    }
  }
}

// ---- argument readers -------------------------------------------------------------------------------------

export function collectionArg(cmd: Doc, name: string): string {
  const v = cmd[name];
  if (typeof v !== "string") {
    throw new CommandError(
      ErrorCode.InvalidNamespace,
      `collection name has invalid type ${v === null ? "null" : Array.isArray(v) ? "array" : typeof v}`,
    );
  }
  return v;
}

export function optionalDoc(cmd: Doc, field: string, command: string): Doc | undefined {
  const v = cmd[field];
  if (v === undefined || v === null) return undefined;
  if (!isDocument(v)) {
    throw new CommandError(ErrorCode.TypeMismatch, `BSON field '${command}.${field}' is the wrong type '${typeName(v)}', expected type 'object'`);
  }
  return v;
}

export function optionalBool(cmd: Doc, field: string, command: string): boolean | undefined {
  const v = cmd[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  throw new CommandError(ErrorCode.TypeMismatch, `BSON field '${command}.${field}' is the wrong type '${typeName(v)}', expected type 'bool'`);
}

export function optionalCount(cmd: Doc, field: string, command: string, min = 0): number | undefined {
  const v = cmd[field];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === "number" ? v : isLong(v) ? v.toNumber() : NaN;
  if (!Number.isFinite(n)) {
    throw new CommandError(ErrorCode.TypeMismatch, `BSON field '${command}.${field}' is the wrong type '${typeName(v)}', expected types '[long, int, decimal, double]'`);
  }
  if (n < min) {
    throw new CommandError(51024, `BSON field '${field}' value must be >= ${min}, actual value '${n}'`);
  }
  return Math.trunc(n);
}

export function optionalArray(cmd: Doc, field: string, command: string): unknown[] | undefined {
  const v = cmd[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    throw new CommandError(ErrorCode.TypeMismatch, `BSON field '${command}.${field}' is the wrong type '${typeName(v)}', expected type 'array'`);
  }
  return v;
}

export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (v instanceof Date) return "date";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "double";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "object") return (v as { _bsontype?: string })._bsontype?.toLowerCase() ?? "object";
  return typeof v;
}
