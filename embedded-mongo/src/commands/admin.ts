// Handshake, server information, databases, collections and sessions.
import os from "node:os";
import { BSON } from "../bson";
import { Query } from "../query/mingo";
import { CommandError, ErrorCode } from "../errors";
import { validateCollectionName, validateDbName } from "../storage/engine";
import { type Doc, isDocument } from "../storage/paths";
import { Limits } from "../wire";
import { type CommandContext, type CommandDef, collectionArg, optionalBool, optionalDoc } from "./context";

export const SERVER_VERSION = "7.0.0";
export const MAX_WIRE_VERSION = 21;
const LOGICAL_SESSION_TIMEOUT_MINUTES = 30;

function helloReply(ctx: CommandContext, legacyName: boolean): Doc {
  // No topologyVersion: it would switch the driver to streaming (awaitable) heartbeats.
  return {
    helloOk: true,
    ...(legacyName ? { ismaster: true } : { isWritablePrimary: true }),
    maxBsonObjectSize: Limits.maxBsonObjectSize,
    maxMessageSizeBytes: Limits.maxMessageSizeBytes,
    maxWriteBatchSize: Limits.maxWriteBatchSize,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: LOGICAL_SESSION_TIMEOUT_MINUTES,
    connectionId: ctx.connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
    ok: 1,
  };
}

const hello: CommandDef = {
  handler(cmd, ctx) {
    if (cmd.loadBalanced === true) {
      throw new CommandError(ErrorCode.BadValue, "The embedded store is not behind a load balancer (loadBalanced=true)");
    }
    return helloReply(ctx, false);
  },
};

const isMaster: CommandDef = {
  handler(cmd, ctx) {
    if (cmd.loadBalanced === true) {
      throw new CommandError(ErrorCode.BadValue, "The embedded store is not behind a load balancer (loadBalanced=true)");
    }
    return helloReply(ctx, true);
  },
};

const ping: CommandDef = { fields: [], handler: () => ({ ok: 1 }) };

const buildInfo: CommandDef = {
  handler: () => ({
    version: SERVER_VERSION,
    gitVersion: "embedded-mongo",
    versionArray: [7, 0, 0, 0],
    javascriptEngine: "none",
    bits: 64,
    debug: false,
    maxBsonObjectSize: Limits.maxBsonObjectSize,
    storageEngines: ["embedded"],
    modules: [],
    ok: 1,
  }),
};

const PARAMETERS: Doc = {
  featureCompatibilityVersion: { version: "7.0" },
  authenticationMechanisms: [],
  maxBSONDepth: 100,
  cursorTimeoutMillis: 600000,
  ttlMonitorEnabled: true,
};

const getParameter: CommandDef = {
  adminOnly: true,
  handler(cmd) {
    const all = cmd.getParameter === "*" || (isDocument(cmd.getParameter) && cmd.getParameter.allParameters === true);
    const reply: Doc = {};
    for (const [name, value] of Object.entries(PARAMETERS)) {
      if (all || cmd[name] !== undefined) reply[name] = value;
    }
    if (Object.keys(reply).length === 0) throw new CommandError(ErrorCode.InvalidOptions, "no option found to get");
    return { ...reply, ok: 1 };
  },
};

const serverStatus: CommandDef = {
  handler(_cmd, ctx) {
    const mem = process.memoryUsage();
    return {
      host: `${os.hostname()}:${ctx.server.port}`,
      version: SERVER_VERSION,
      process: "embedded-mongo",
      pid: process.pid,
      uptime: Math.floor((Date.now() - ctx.server.startedAt.getTime()) / 1000),
      uptimeMillis: Date.now() - ctx.server.startedAt.getTime(),
      localTime: new Date(),
      connections: { current: ctx.server.connections.current, available: 1000, totalCreated: ctx.server.connections.totalCreated },
      opcounters: { ...ctx.server.opcounters },
      mem: { bits: 64, resident: Math.round(mem.rss / 1048576), virtual: Math.round(mem.heapTotal / 1048576) },
      metrics: { cursor: { open: { total: ctx.cursors.count } } },
      storageEngine: { name: "embedded", persistent: ctx.engine.files !== undefined },
      ok: 1,
    };
  },
};

function estimatedSize(ctx: CommandContext, db: string): number {
  let size = 0;
  for (const coll of ctx.engine.collections(db)) for (const doc of coll.docs.values()) size += BSON.calculateObjectSize(doc);
  return size;
}

const listDatabases: CommandDef = {
  adminOnly: true,
  fields: ["filter", "nameOnly", "authorizedDatabases"],
  handler(cmd, ctx) {
    const nameOnly = optionalBool(cmd, "nameOnly", "listDatabases") ?? false;
    const filter = optionalDoc(cmd, "filter", "listDatabases");
    let databases: Doc[] = ctx.engine.databaseNames().map((name) =>
      nameOnly ? { name } : { name, sizeOnDisk: estimatedSize(ctx, name), empty: false },
    );
    if (filter) {
      const q = new Query(filter);
      databases = databases.filter((d) => q.test(d));
    }
    const reply: Doc = { databases };
    if (!nameOnly) reply.totalSize = databases.reduce((s, d) => s + (d.sizeOnDisk as number), 0);
    if (!nameOnly) reply.totalSizeMb = Math.floor((reply.totalSize as number) / 1048576);
    return { ...reply, ok: 1 };
  },
};

const dropDatabase: CommandDef = {
  write: true,
  fields: [],
  handler(_cmd, ctx) {
    validateDbName(ctx.db);
    ctx.engine.assertWritable();
    ctx.cursors.killNamespace(ctx.db);
    ctx.engine.dropDatabase(ctx.db);
    return { dropped: ctx.db, ok: 1 };
  },
};

const CREATE_OPTIONS = [
  "capped",
  "size",
  "max",
  "autoIndexId",
  "storageEngine",
  "validator",
  "validationLevel",
  "validationAction",
  "indexOptionDefaults",
  "viewOn",
  "pipeline",
  "collation",
  "timeseries",
  "clusteredIndex",
  "expireAfterSeconds",
  "changeStreamPreAndPostImages",
  "encryptedFields",
  "idIndex",
];

const create: CommandDef = {
  write: true,
  fields: CREATE_OPTIONS,
  handler(cmd, ctx) {
    const name = validateCollectionName(validateDbName(ctx.db), collectionArg(cmd, "create"));
    const options = CREATE_OPTIONS.filter((o) => cmd[o] !== undefined);
    ctx.engine.assertWritable();
    if (ctx.engine.collection(ctx.db, name)) {
      // MongoDB 7.0: creating an existing collection with the same options succeeds; other options conflict.
      if (options.length) throw new CommandError(ErrorCode.NamespaceExists, `Collection ${ctx.db}.${name} already exists.`);
      return { ok: 1 };
    }
    if (options.length) {
      throw new CommandError(ErrorCode.NotImplemented, `create.${options[0]} is not supported by the embedded store`);
    }
    ctx.engine.createCollection(ctx.db, name);
    return { ok: 1 };
  },
};

const drop: CommandDef = {
  write: true,
  fields: [],
  handler(cmd, ctx) {
    const name = collectionArg(cmd, "drop");
    ctx.engine.assertWritable();
    ctx.cursors.killNamespace(ctx.db, name);
    const dropped = ctx.engine.dropCollection(ctx.db, name);
    // MongoDB 7.0 answers ok for a collection that does not exist.
    return dropped ? { nIndexesWas: dropped.indexes.size, ns: dropped.ns, ok: 1 } : { ok: 1 };
  },
};

const listCollections: CommandDef = {
  fields: ["filter", "nameOnly", "authorizedCollections", "cursor"],
  handler(cmd, ctx) {
    const nameOnly = optionalBool(cmd, "nameOnly", "listCollections") ?? false;
    const filter = optionalDoc(cmd, "filter", "listCollections");
    let entries: Doc[] = ctx.engine.collections(ctx.db).map((c) => ({
      name: c.name,
      type: "collection",
      options: { ...c.options },
      info: { readOnly: false, uuid: c.uuid },
      idIndex: { v: 2, key: { _id: 1 }, name: "_id_" },
    }));
    if (filter) {
      const q = new Query(filter);
      entries = entries.filter((e) => q.test(e));
    }
    if (nameOnly) entries = entries.map((e) => ({ name: e.name, type: e.type }));
    const cursor = optionalDoc(cmd, "cursor", "listCollections") ?? {};
    return ctx.cursors.first(`${ctx.db}.$cmd.listCollections`, entries, {
      batchSize: typeof cursor.batchSize === "number" ? cursor.batchSize : undefined,
      session: ctx.session,
    });
  },
};

function sessionKeys(list: unknown): Set<string> {
  const keys = new Set<string>();
  if (Array.isArray(list)) {
    for (const lsid of list) {
      const id = isDocument(lsid) ? (lsid.id as { toString(enc: string): string } | undefined) : undefined;
      if (id) keys.add(sessionKey(id));
    }
  }
  return keys;
}

export function sessionKey(id: unknown): string {
  const bin = id as { buffer?: Uint8Array; toString(): string };
  return bin.buffer ? Buffer.from(bin.buffer).toString("hex") : String(id);
}

const endSessions: CommandDef = {
  handler(cmd, ctx) {
    ctx.cursors.killSessions(sessionKeys(cmd[Object.keys(cmd)[0]]));
    return { ok: 1 };
  },
};

const connectionStatus: CommandDef = {
  handler: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }),
};

const hostInfo: CommandDef = {
  handler: () => ({
    system: { currentTime: new Date(), hostname: os.hostname(), cpuAddrSize: 64, memSizeMB: Math.round(os.totalmem() / 1048576), numCores: os.cpus().length },
    os: { type: os.type(), name: os.platform(), version: os.release() },
    extra: {},
    ok: 1,
  }),
};

const whatsmyuri: CommandDef = { handler: (_c, ctx) => ({ you: `127.0.0.1:${ctx.connectionId}`, ok: 1 }) };

const dbStats: CommandDef = {
  handler(_cmd, ctx) {
    const colls = ctx.engine.collections(ctx.db);
    const objects = colls.reduce((s, c) => s + c.docs.size, 0);
    const dataSize = estimatedSize(ctx, ctx.db);
    return {
      db: ctx.db,
      collections: colls.length,
      views: 0,
      objects,
      avgObjSize: objects ? dataSize / objects : 0,
      dataSize,
      storageSize: dataSize,
      indexes: colls.reduce((s, c) => s + c.indexes.size, 0),
      ok: 1,
    };
  },
};

export const adminCommands: Record<string, CommandDef> = {
  hello,
  isMaster,
  ismaster: isMaster,
  ping,
  buildInfo,
  buildinfo: buildInfo,
  getParameter,
  serverStatus,
  listDatabases,
  dropDatabase,
  create,
  drop,
  listCollections,
  endSessions,
  killSessions: endSessions,
  connectionStatus,
  hostInfo,
  whatsmyuri,
  dbStats,
};

