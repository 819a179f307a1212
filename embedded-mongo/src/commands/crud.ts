// Reading and writing documents: insert, update, delete, findAndModify, find, getMore, killCursors, count,
// distinct, each with MongoDB's reply shape and per-statement write errors.
import { BSON, Long, isLong } from "../bson";
import { CommandError, ErrorCode, asCommandError } from "../errors";
import { type QueryOptions, parseSort, runQuery } from "../query/planner";
import { projector } from "../query/projection";
import {
  type UpdateSpec,
  applyUpdate,
  isReplacement,
  upsertDocument,
  validateArrayFilters,
  validateUpdate,
  withId,
} from "../query/update";
import type { Collection } from "../storage/collection";
import { validateCollectionName } from "../storage/engine";
import { encodeValue } from "../storage/keystring";
import { type Doc, isDocument, pathValues } from "../storage/paths";
import { Limits } from "../wire";
import {
  type CommandContext,
  type CommandDef,
  collectionArg,
  optionalArray,
  optionalBool,
  optionalCount,
  optionalDoc,
} from "./context";

// ---- helpers ----------------------------------------------------------------------------------------------

function hintName(coll: Collection | undefined, hint: unknown): string | undefined {
  if (hint === undefined || hint === null) return undefined;
  if (typeof hint === "string") return hint;
  if (isDocument(hint)) {
    if (Object.keys(hint).length === 0) return undefined;
    if ("$natural" in hint) return undefined;
    const wanted = JSON.stringify(hint);
    for (const index of coll?.indexes.values() ?? []) if (JSON.stringify(index.spec.key) === wanted) return index.name;
    throw new CommandError(ErrorCode.BadValue, "hint provided does not correspond to an existing index");
  }
  throw new CommandError(ErrorCode.FailedToParse, "hint must be a string or an object");
}

function checkInsertSize(doc: Doc): void {
  const size = BSON.calculateObjectSize(doc);
  if (size > Limits.maxBsonObjectSize) {
    throw new CommandError(ErrorCode.BadValue, `object to insert too large. size in bytes: ${size}, max size: ${Limits.maxBsonObjectSize}`);
  }
}

function checkUpdatedSize(doc: Doc): void {
  const size = BSON.calculateObjectSize(doc);
  if (size > Limits.maxBsonObjectSize) {
    throw new CommandError(17419, `Resulting document after update is larger than ${Limits.maxBsonObjectSize}`);
  }
}

function checkId(doc: Doc): void {
  const id = doc._id;
  if (Array.isArray(id)) throw new CommandError(53, "The '_id' value cannot be of type array");
  if (id instanceof RegExp || (id as { _bsontype?: string } | null)?._bsontype === "BSONRegExp") {
    throw new CommandError(53, "The '_id' value cannot be of type regex");
  }
  if (id === undefined) throw new CommandError(53, "The '_id' value cannot be of type undefined");
}

function checkBatchSize(statements: unknown[]): void {
  if (statements.length > Limits.maxWriteBatchSize) {
    throw new CommandError(
      ErrorCode.InvalidLength,
      `Write batch sizes must be between 1 and ${Limits.maxWriteBatchSize}. Got ${statements.length} operations.`,
    );
  }
}

function writeReply(n: number, errors: Doc[], extra: Doc = {}): Doc {
  const reply: Doc = { n, ...extra, ok: 1 };
  if (errors.length) reply.writeErrors = errors;
  return reply;
}

function ns(ctx: CommandContext, coll: string): string {
  return `${ctx.db}.${coll}`;
}

// ---- insert -----------------------------------------------------------------------------------------------

const insert: CommandDef = {
  write: true,
  fields: ["documents", "ordered", "bypassDocumentValidation"],
  handler(cmd, ctx) {
    const name = validateCollectionName(ctx.db, collectionArg(cmd, "insert"));
    const docs = optionalArray(cmd, "documents", "insert") ?? [];
    checkBatchSize(docs);
    const ordered = optionalBool(cmd, "ordered", "insert") ?? true;
    ctx.engine.assertWritable();
    const coll = ctx.engine.ensureCollection(ctx.db, name);
    const errors: Doc[] = [];
    let n = 0;
    docs.forEach((raw, i) => {
      if (ordered && errors.length) return;
      try {
        if (!isDocument(raw)) throw new CommandError(ErrorCode.TypeMismatch, "documents must be objects");
        const doc = withId(raw);
        checkId(doc);
        checkInsertSize(doc);
        ctx.engine.insert(coll, doc);
        n++;
      } catch (err) {
        errors.push(asCommandError(err).toWriteError(i));
      }
    });
    ctx.server.opcounters.insert += docs.length;
    return writeReply(n, errors);
  },
};

// ---- update -----------------------------------------------------------------------------------------------

interface UpdateOutcome {
  matched: number;
  modified: number;
  upsertedId?: unknown;
  /** The document before and after (the first one, for findAndModify). */
  before?: Doc;
  after?: Doc;
}

/** One update statement: match, change each document (or insert the upsert), all validated per document. */
function updateStatement(
  ctx: CommandContext,
  collName: string,
  q: Doc | undefined,
  u: UpdateSpec,
  opts: { multi: boolean; upsert: boolean; arrayFilters?: Doc[]; sort?: QueryOptions["sort"]; hint?: unknown },
): UpdateOutcome {
  const existing = ctx.engine.collection(ctx.db, collName);
  const { matches } = runQuery(existing, q, {
    limit: opts.multi ? 0 : 1,
    sort: opts.sort,
    hint: hintName(existing, opts.hint),
  });
  if (matches.length === 0) {
    if (!opts.upsert) return { matched: 0, modified: 0 };
    const doc = upsertDocument(q, u, opts.arrayFilters);
    checkId(doc);
    checkUpdatedSize(doc);
    const coll = ctx.engine.ensureCollection(ctx.db, collName);
    ctx.engine.insert(coll, doc);
    return { matched: 0, modified: 0, upsertedId: doc._id, after: doc };
  }
  const coll = existing as Collection;
  const outcome: UpdateOutcome = { matched: 0, modified: 0 };
  for (const [idKey, doc] of matches) {
    const next = applyUpdate(doc, u, { isInsert: false, arrayFilters: opts.arrayFilters, query: q });
    outcome.matched++;
    outcome.before ??= doc;
    if (encodeValue(next) === encodeValue(doc)) {
      outcome.after ??= doc;
      continue;
    }
    checkUpdatedSize(next);
    ctx.engine.replace(coll, idKey, next);
    outcome.after ??= next;
    outcome.modified++;
  }
  return outcome;
}

function arrayFiltersArg(v: unknown): Doc[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every(isDocument)) throw new CommandError(ErrorCode.TypeMismatch, "arrayFilters must be an array of objects");
  return v as Doc[];
}

const UPDATE_STATEMENT_FIELDS = new Set(["q", "u", "upsert", "multi", "arrayFilters", "hint", "upsertSupplied"]);

const update: CommandDef = {
  write: true,
  fields: ["updates", "ordered", "bypassDocumentValidation"],
  unsupported: ["let"],
  handler(cmd, ctx) {
    const name = validateCollectionName(ctx.db, collectionArg(cmd, "update"));
    const statements = optionalArray(cmd, "updates", "update") ?? [];
    checkBatchSize(statements);
    const ordered = optionalBool(cmd, "ordered", "update") ?? true;
    ctx.engine.assertWritable();
    const errors: Doc[] = [];
    const upserted: Doc[] = [];
    let n = 0;
    let nModified = 0;
    // The statements' shape is checked up front: a malformed one fails the whole command, as mongod's parser does.
    const parsed = statements.map((s) => {
      if (!isDocument(s)) throw new CommandError(ErrorCode.TypeMismatch, "BSON field 'update.updates' contains a non-object statement");
      for (const k of Object.keys(s)) {
        if (k === "collation" || k === "c" || k === "sort") {
          throw new CommandError(ErrorCode.NotImplemented, `update.updates.${k} is not supported by the embedded store`);
        }
        if (!UPDATE_STATEMENT_FIELDS.has(k)) {
          throw new CommandError(ErrorCode.Location40415, `BSON field 'update.updates.${k}' is an unknown field.`);
        }
      }
      return s;
    });
    parsed.forEach((s, i) => {
      if (ordered && errors.length) return;
      try {
        const u = validateUpdate(s.u);
        const arrayFilters = arrayFiltersArg(s.arrayFilters);
        validateArrayFilters(u, arrayFilters);
        const multi = optionalBool(s, "multi", "update.updates") ?? false;
        if (multi && isReplacement(u)) {
          throw new CommandError(ErrorCode.FailedToParse, "multi update is not supported for replacement-style update");
        }
        const q = optionalDoc(s, "q", "update.updates") ?? {};
        const out = updateStatement(ctx, name, q, u, {
          multi,
          upsert: optionalBool(s, "upsert", "update.updates") ?? false,
          arrayFilters,
          hint: s.hint,
        });
        if (out.upsertedId !== undefined) {
          n++;
          upserted.push({ index: i, _id: out.upsertedId });
        } else {
          n += out.matched;
          nModified += out.modified;
        }
      } catch (err) {
        errors.push(asCommandError(err).toWriteError(i));
      }
    });
    ctx.server.opcounters.update += statements.length;
    return writeReply(n, errors, upserted.length ? { nModified, upserted } : { nModified });
  },
};

// ---- delete -----------------------------------------------------------------------------------------------

const del: CommandDef = {
  write: true,
  fields: ["deletes", "ordered"],
  unsupported: ["let"],
  handler(cmd, ctx) {
    const name = validateCollectionName(ctx.db, collectionArg(cmd, "delete"));
    const statements = optionalArray(cmd, "deletes", "delete") ?? [];
    checkBatchSize(statements);
    const ordered = optionalBool(cmd, "ordered", "delete") ?? true;
    ctx.engine.assertWritable();
    const coll = ctx.engine.collection(ctx.db, name);
    const errors: Doc[] = [];
    let n = 0;
    const parsed = statements.map((s) => {
      if (!isDocument(s)) throw new CommandError(ErrorCode.TypeMismatch, "BSON field 'delete.deletes' contains a non-object statement");
      for (const k of Object.keys(s)) {
        if (k === "collation") throw new CommandError(ErrorCode.NotImplemented, "delete.deletes.collation is not supported by the embedded store");
        if (k !== "q" && k !== "limit" && k !== "hint") {
          throw new CommandError(ErrorCode.Location40415, `BSON field 'delete.deletes.${k}' is an unknown field.`);
        }
      }
      const limit = s.limit ?? 0;
      if (limit !== 0 && limit !== 1) {
        throw new CommandError(ErrorCode.FailedToParse, `The limit field in delete objects must be 0 or 1. Got ${String(limit)}`);
      }
      return { q: s.q, hint: s.hint, limit: limit as number };
    });
    parsed.forEach((s, i) => {
      if (ordered && errors.length) return;
      try {
        const { matches } = runQuery(coll, optionalDoc(s as Doc, "q", "delete.deletes") ?? {}, {
          limit: s.limit,
          hint: hintName(coll, s.hint),
        });
        for (const [idKey] of matches) if (coll && ctx.engine.remove(coll, idKey)) n++;
      } catch (err) {
        errors.push(asCommandError(err).toWriteError(i));
      }
    });
    ctx.server.opcounters.delete += statements.length;
    return writeReply(n, errors);
  },
};

// ---- findAndModify ----------------------------------------------------------------------------------------

const findAndModify: CommandDef = {
  write: true,
  fields: ["query", "sort", "remove", "update", "new", "fields", "upsert", "bypassDocumentValidation", "arrayFilters", "hint"],
  unsupported: ["collation", "let"],
  handler(cmd, ctx) {
    const name = validateCollectionName(ctx.db, collectionArg(cmd, Object.keys(cmd)[0]));
    const query = optionalDoc(cmd, "query", "findAndModify") ?? {};
    const sort = parseSort(optionalDoc(cmd, "sort", "findAndModify"));
    const remove = optionalBool(cmd, "remove", "findAndModify") ?? false;
    const returnNew = optionalBool(cmd, "new", "findAndModify") ?? false;
    const upsert = optionalBool(cmd, "upsert", "findAndModify") ?? false;
    const project = projector(optionalDoc(cmd, "fields", "findAndModify"), query);
    const shape = (doc: Doc | undefined) => (doc ? (project ? project(doc) : doc) : null);
    if (remove && cmd.update !== undefined) {
      throw new CommandError(ErrorCode.FailedToParse, "Cannot specify both an update and remove=true");
    }
    if (remove && upsert) throw new CommandError(ErrorCode.FailedToParse, "Cannot specify both upsert=true and remove=true");
    if (remove && returnNew) {
      throw new CommandError(ErrorCode.FailedToParse, "Cannot specify both new=true and remove=true; 'remove' always returns the deleted document");
    }
    if (!remove && cmd.update === undefined) throw new CommandError(ErrorCode.FailedToParse, "Either an update or remove=true must be specified");
    ctx.engine.assertWritable();
    const coll = ctx.engine.collection(ctx.db, name);
    if (remove) {
      const { matches } = runQuery(coll, query, { sort, limit: 1, hint: hintName(coll, cmd.hint) });
      const found = matches[0];
      if (found && coll) ctx.engine.remove(coll, found[0]);
      return { lastErrorObject: { n: found ? 1 : 0 }, value: shape(found?.[1]), ok: 1 };
    }
    const u = validateUpdate(cmd.update);
    const arrayFilters = arrayFiltersArg(cmd.arrayFilters);
    validateArrayFilters(u, arrayFilters);
    const out = updateStatement(ctx, name, query, u, {
      multi: false,
      upsert,
      sort,
      arrayFilters,
      hint: cmd.hint,
    });
    const lastErrorObject: Doc =
      out.upsertedId !== undefined
        ? { n: 1, updatedExisting: false, upserted: out.upsertedId }
        : { n: out.matched, updatedExisting: out.matched > 0 };
    const value = out.upsertedId !== undefined ? (returnNew ? out.after : undefined) : returnNew ? out.after : out.before;
    return { lastErrorObject, value: shape(value), ok: 1 };
  },
};

// ---- find / getMore / killCursors -------------------------------------------------------------------------

const find: CommandDef = {
  fields: [
    "filter",
    "sort",
    "projection",
    "hint",
    "skip",
    "limit",
    "batchSize",
    "singleBatch",
    "noCursorTimeout",
    "allowPartialResults",
    "allowDiskUse",
    "readOnce",
  ],
  unsupported: ["collation", "let", "min", "max", "returnKey", "showRecordId", "tailable", "oplogReplay", "awaitData"],
  handler(cmd, ctx) {
    const name = validateCollectionName(ctx.db, collectionArg(cmd, "find"));
    const filter = optionalDoc(cmd, "filter", "find");
    const coll = ctx.engine.collection(ctx.db, name);
    const limit = optionalCount(cmd, "limit", "find") ?? 0;
    const singleBatch = optionalBool(cmd, "singleBatch", "find") ?? false;
    const { matches } = runQuery(coll, filter, {
      sort: parseSort(optionalDoc(cmd, "sort", "find")),
      skip: optionalCount(cmd, "skip", "find"),
      limit,
      hint: hintName(coll, cmd.hint),
    });
    const batchSize = optionalCount(cmd, "batchSize", "find");
    return ctx.cursors.first(
      ns(ctx, name),
      matches.map((m) => m[1]),
      {
        batchSize,
        singleBatch,
        transform: projector(optionalDoc(cmd, "projection", "find"), filter),
        session: ctx.session,
        noTimeout: optionalBool(cmd, "noCursorTimeout", "find"),
      },
    );
  },
};

const getMore: CommandDef = {
  fields: ["collection", "batchSize", "term", "lastKnownCommittedOpTime"],
  handler(cmd, ctx) {
    const id = cmd.getMore;
    const cursorId = isLong(id) ? id : typeof id === "number" ? Long.fromNumber(id) : undefined;
    if (!cursorId) {
      throw new CommandError(ErrorCode.TypeMismatch, "BSON field 'getMore.getMore' is the wrong type, expected type 'long'");
    }
    const name = collectionArg(cmd, "collection");
    return ctx.cursors.more(cursorId, ns(ctx, name), optionalCount(cmd, "batchSize", "getMore"));
  },
};

const killCursors: CommandDef = {
  fields: ["cursors"],
  handler(cmd, ctx) {
    collectionArg(cmd, "killCursors");
    const ids = (optionalArray(cmd, "cursors", "killCursors") ?? []).map((v) =>
      isLong(v) ? v : Long.fromNumber(Number(v)),
    );
    const { killed, notFound } = ctx.cursors.kill(ids);
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  },
};

// ---- count / distinct -------------------------------------------------------------------------------------

const count: CommandDef = {
  fields: ["query", "limit", "skip", "hint", "fields"],
  unsupported: ["collation"],
  handler(cmd, ctx) {
    const name = validateCollectionName(ctx.db, collectionArg(cmd, "count"));
    const coll = ctx.engine.collection(ctx.db, name);
    const limit = Math.abs(optionalCount(cmd, "limit", "count", -Infinity) ?? 0);
    const { matches } = runQuery(coll, optionalDoc(cmd, "query", "count"), {
      skip: optionalCount(cmd, "skip", "count"),
      limit,
      hint: hintName(coll, cmd.hint),
    });
    return { n: matches.length, ok: 1 };
  },
};

const distinct: CommandDef = {
  fields: ["key", "query", "hint"],
  unsupported: ["collation"],
  handler(cmd, ctx) {
    const name = validateCollectionName(ctx.db, collectionArg(cmd, "distinct"));
    const key = cmd.key;
    if (typeof key !== "string") {
      throw new CommandError(ErrorCode.TypeMismatch, "BSON field 'distinct.key' is missing or has the wrong type, expected type 'string'");
    }
    const coll = ctx.engine.collection(ctx.db, name);
    const { matches } = runQuery(coll, optionalDoc(cmd, "query", "distinct"), { hint: hintName(coll, cmd.hint) });
    const values = new Map<string, unknown>();
    for (const [, doc] of matches) {
      for (const v of pathValues(doc, key)) {
        if (v === undefined) continue;
        const enc = encodeValue(v);
        if (!values.has(enc)) values.set(enc, v);
      }
    }
    const sorted = [...values.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]);
    return { values: sorted, ok: 1 };
  },
};

export const crudCommands: Record<string, CommandDef> = {
  insert,
  update,
  delete: del,
  findAndModify,
  findandmodify: findAndModify,
  find,
  getMore,
  killCursors,
  count,
  distinct,
};

// ---- explain ----------------------------------------------------------------------------------------------

const explainable = new Set(["find", "count", "distinct"]);

const explain: CommandDef = {
  fields: ["verbosity"],
  handler(cmd, ctx) {
    const inner = optionalDoc(cmd, "explain", "explain");
    const kind = inner ? Object.keys(inner)[0] : undefined;
    if (!inner || !kind || !explainable.has(kind)) {
      throw new CommandError(ErrorCode.NotImplemented, `explain of ${kind ?? "nothing"} is not supported by the embedded store (find, count and distinct are)`);
    }
    const verbosity = cmd.verbosity ?? "allPlansExecution";
    if (verbosity !== "queryPlanner" && verbosity !== "executionStats" && verbosity !== "allPlansExecution") {
      throw new CommandError(ErrorCode.BadValue, `verbosity string must be one of {'queryPlanner', 'executionStats', 'allPlansExecution'}`);
    }
    const name = validateCollectionName(ctx.db, collectionArg(inner, kind));
    const coll = ctx.engine.collection(ctx.db, name);
    const filter = optionalDoc(inner, kind === "find" ? "filter" : "query", kind);
    const started = Date.now();
    const { matches, stats } = runQuery(coll, filter, {
      sort: kind === "find" ? parseSort(optionalDoc(inner, "sort", "find")) : undefined,
      skip: optionalCount(inner, "skip", kind),
      limit: Math.abs(optionalCount(inner, "limit", kind, -Infinity) ?? 0),
      hint: hintName(coll, inner.hint),
    });
    const index = stats.indexName ? coll?.indexes.get(stats.indexName) : undefined;
    const winningPlan: Doc =
      stats.stage === "IXSCAN" && index
        ? { stage: "FETCH", inputStage: { stage: "IXSCAN", indexName: index.name, keyPattern: { ...index.spec.key }, isMultiKey: index.multikey } }
        : stats.stage === "IDHACK"
          ? { stage: "IDHACK" }
          : { stage: "COLLSCAN", direction: "forward" };
    const reply: Doc = {
      explainVersion: "1",
      queryPlanner: { namespace: ns(ctx, name), parsedQuery: filter ?? {}, winningPlan, rejectedPlans: [] },
    };
    if (verbosity !== "queryPlanner") {
      reply.executionStats = {
        executionSuccess: true,
        nReturned: matches.length,
        executionTimeMillis: Date.now() - started,
        totalKeysExamined: stats.keysExamined,
        totalDocsExamined: stats.docsExamined,
      };
    }
    return { ...reply, command: inner, ok: 1 };
  },
};

crudCommands.explain = explain;
