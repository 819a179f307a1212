// createIndexes, listIndexes and dropIndexes, with MongoDB's rules for names, options and conflicts.
import { CommandError, ErrorCode } from "../errors";
import type { Collection } from "../storage/collection";
import { validateCollectionName } from "../storage/engine";
import type { IndexSpec } from "../storage/index";
import { valuesEqual } from "../storage/keystring";
import { type Doc, isDocument } from "../storage/paths";
import { type CommandContext, type CommandDef, collectionArg, optionalArray } from "./context";

const SUPPORTED_OPTIONS = new Set(["key", "name", "v", "unique", "sparse", "partialFilterExpression", "expireAfterSeconds", "background", "ns"]);
const UNSUPPORTED_OPTIONS = new Set([
  "collation",
  "hidden",
  "weights",
  "default_language",
  "language_override",
  "textIndexVersion",
  "2dsphereIndexVersion",
  "bits",
  "min",
  "max",
  "bucketSize",
  "wildcardProjection",
  "storageEngine",
  "clustered",
  "prepareUnique",
]);
/** Options that make two indexes on the same key different. */
const DISTINGUISHING = ["unique", "sparse", "partialFilterExpression", "expireAfterSeconds"] as const;

function parseSpec(raw: unknown): IndexSpec {
  if (!isDocument(raw)) throw new CommandError(ErrorCode.TypeMismatch, "index specification must be an object");
  for (const field of Object.keys(raw)) {
    if (UNSUPPORTED_OPTIONS.has(field)) {
      throw new CommandError(ErrorCode.CannotCreateIndex, `index option '${field}' is not supported by the embedded store`);
    }
    if (!SUPPORTED_OPTIONS.has(field)) {
      throw new CommandError(197, `The field '${field}' is not valid for an index specification. Specification: ${JSON.stringify(raw)}`);
    }
  }
  const key = raw.key;
  if (!isDocument(key) || Object.keys(key).length === 0) {
    throw new CommandError(ErrorCode.CannotCreateIndex, "The 'key' field is a required property of an index specification and must be a non-empty object");
  }
  const normalized: Record<string, number> = {};
  for (const [field, dir] of Object.entries(key)) {
    if (typeof dir === "string") {
      throw new CommandError(ErrorCode.CannotCreateIndex, `index type '${dir}' is not supported by the embedded store (only ascending and descending indexes)`);
    }
    if (typeof dir !== "number" || dir === 0 || !Number.isFinite(dir)) {
      throw new CommandError(ErrorCode.CannotCreateIndex, `Values in the index key pattern can only be non-zero numbers or strings. Found: ${field}: ${JSON.stringify(dir)}`);
    }
    normalized[field] = dir;
  }
  const name = raw.name;
  if (typeof name !== "string" || name.length === 0) {
    throw new CommandError(ErrorCode.CannotCreateIndex, "The 'name' field is a required property of an index specification");
  }
  const spec: IndexSpec = { v: 2, key: normalized, name };
  if (raw.unique !== undefined && raw.unique !== false) spec.unique = true;
  if (raw.sparse !== undefined && raw.sparse !== false) spec.sparse = true;
  if (raw.partialFilterExpression !== undefined) {
    if (!isDocument(raw.partialFilterExpression)) {
      throw new CommandError(ErrorCode.TypeMismatch, "partialFilterExpression must be an object");
    }
    if (spec.sparse) throw new CommandError(ErrorCode.CannotCreateIndex, "cannot mix 'partialFilterExpression' and 'sparse' options");
    spec.partialFilterExpression = raw.partialFilterExpression;
  }
  if (raw.expireAfterSeconds !== undefined) {
    const ttl = raw.expireAfterSeconds;
    if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0) {
      throw new CommandError(ErrorCode.CannotCreateIndex, `TTL index 'expireAfterSeconds' option must be a non-negative number: ${JSON.stringify(ttl)}`);
    }
    if (Object.keys(normalized).length !== 1) {
      throw new CommandError(ErrorCode.CannotCreateIndex, "TTL indexes are single-field indexes, compound indexes do not support TTL");
    }
    spec.expireAfterSeconds = Math.trunc(ttl);
  }
  if (name === "_id_" && (Object.keys(normalized).join() !== "_id" || spec.unique === false)) {
    throw new CommandError(ErrorCode.CannotCreateIndex, "The index name '_id_' is reserved for the _id index");
  }
  return spec;
}

function sameOptions(a: IndexSpec, b: IndexSpec): boolean {
  return DISTINGUISHING.every((o) => {
    if (a[o] === undefined || b[o] === undefined) return a[o] === b[o] || (o === "unique" && a.name === "_id_");
    return valuesEqual(a[o], b[o]);
  });
}

const createIndexes: CommandDef = {
  write: true,
  fields: ["indexes", "commitQuorum"],
  handler(cmd, ctx) {
    const name = validateCollectionName(ctx.db, collectionArg(cmd, "createIndexes"));
    const raw = optionalArray(cmd, "indexes", "createIndexes");
    if (!raw || raw.length === 0) throw new CommandError(ErrorCode.BadValue, "Must specify at least one index to create");
    const specs = raw.map(parseSpec);
    ctx.engine.assertWritable();
    const existed = ctx.engine.collection(ctx.db, name) !== undefined;
    const coll = ctx.engine.ensureCollection(ctx.db, name);
    const before = coll.indexes.size;
    let created = 0;
    for (const spec of specs) {
      const sameName = coll.indexes.get(spec.name);
      const sameKey = [...coll.indexes.values()].find((i) => valuesEqual(i.spec.key, spec.key) && sameOptions(i.spec, spec));
      if (sameName) {
        if (!valuesEqual(sameName.spec.key, spec.key)) {
          throw new CommandError(
            ErrorCode.IndexKeySpecsConflict,
            `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName.spec)}`,
          );
        }
        if (!sameOptions(sameName.spec, spec)) {
          throw new CommandError(
            ErrorCode.IndexKeySpecsConflict,
            `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName.spec)}`,
          );
        }
        continue;
      }
      if (sameKey) {
        throw new CommandError(ErrorCode.IndexOptionsConflict, `Index already exists with a different name: ${sameKey.name}`);
      }
      if (spec.name === "_id_") continue;
      ctx.engine.createIndex(coll, spec);
      created++;
    }
    const reply: Doc = { numIndexesBefore: before, numIndexesAfter: coll.indexes.size };
    if (created === 0) reply.note = "all indexes already exist";
    else reply.createdCollectionAutomatically = !existed;
    return { ...reply, ok: 1 };
  },
};

function requireCollection(ctx: CommandContext, name: string): Collection {
  const coll = ctx.engine.collection(ctx.db, name);
  if (!coll) throw new CommandError(ErrorCode.NamespaceNotFound, `ns does not exist: ${ctx.db}.${name}`);
  return coll;
}

const listIndexes: CommandDef = {
  fields: ["cursor"],
  handler(cmd, ctx) {
    const name = validateCollectionName(ctx.db, collectionArg(cmd, "listIndexes"));
    const coll = requireCollection(ctx, name);
    const entries: Doc[] = [...coll.indexes.values()].map((i) => ({ ...i.spec }));
    const cursor = isDocument(cmd.cursor) ? cmd.cursor : {};
    return ctx.cursors.first(`${ctx.db}.${name}`, entries, {
      batchSize: typeof cursor.batchSize === "number" ? cursor.batchSize : undefined,
      session: ctx.session,
    });
  },
};

const dropIndexes: CommandDef = {
  write: true,
  fields: ["index"],
  handler(cmd, ctx) {
    const name = validateCollectionName(ctx.db, collectionArg(cmd, Object.keys(cmd)[0]));
    const coll = ctx.engine.collection(ctx.db, name);
    if (!coll) throw new CommandError(ErrorCode.NamespaceNotFound, `ns not found ${ctx.db}.${name}`);
    ctx.engine.assertWritable();
    const before = coll.indexes.size;
    const target = cmd.index;
    let names: string[];
    if (target === "*") {
      names = [...coll.indexes.keys()].filter((n) => n !== "_id_");
    } else if (typeof target === "string") {
      names = [target];
    } else if (Array.isArray(target) && target.every((t) => typeof t === "string")) {
      names = target as string[];
    } else if (isDocument(target)) {
      const found = [...coll.indexes.values()].find((i) => valuesEqual(i.spec.key, target));
      if (!found) throw new CommandError(ErrorCode.IndexNotFound, `can't find index with key: ${JSON.stringify(target)}`);
      names = [found.name];
    } else {
      throw new CommandError(ErrorCode.TypeMismatch, "BSON field 'dropIndexes.index' is missing or has the wrong type");
    }
    for (const n of names) {
      if (n === "_id_") throw new CommandError(ErrorCode.InvalidOptions, "cannot drop _id index");
      if (!coll.indexes.has(n)) throw new CommandError(ErrorCode.IndexNotFound, `index not found with name [${n}]`);
    }
    for (const n of names) ctx.engine.dropIndex(coll, n);
    return target === "*" ? { nIndexesWas: before, msg: "non-_id indexes dropped for collection", ok: 1 } : { nIndexesWas: before, ok: 1 };
  },
};

export const indexCommands: Record<string, CommandDef> = {
  createIndexes,
  listIndexes,
  dropIndexes,
  deleteIndexes: dropIndexes,
};
