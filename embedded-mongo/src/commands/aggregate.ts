// The aggregate command: a leading $match/$sort/$skip/$limit runs through the query planner (indexes, BSON sort
// order), the rest of the pipeline through mingo on copies of the documents.
import { CommandError, ErrorCode, asCommandError } from "../errors";
import { Aggregator } from "../query/mingo";
import { type QueryOptions, parseSort, runQuery } from "../query/planner";
import { validateCollectionName } from "../storage/engine";
import { type Doc, cloneDeep, isDocument } from "../storage/paths";
import { type CommandDef, collectionArg, optionalCount, optionalDoc } from "./context";

/** Stages that need something the embedded store does not have (writes to collections, search, cluster state). */
const UNSUPPORTED_STAGES = new Set([
  "$out",
  "$merge",
  "$changeStream",
  "$changeStreamSplitLargeEvent",
  "$collStats",
  "$indexStats",
  "$currentOp",
  "$listSessions",
  "$listLocalSessions",
  "$planCacheStats",
  "$search",
  "$searchMeta",
  "$vectorSearch",
  "$geoNear",
  "$listSearchIndexes",
  "$shardedDataDistribution",
]);

/** Stages the embedded store runs (through mingo). */
const SUPPORTED_STAGES = new Set([
  "$addFields",
  "$bucket",
  "$bucketAuto",
  "$count",
  "$densify",
  "$facet",
  "$fill",
  "$graphLookup",
  "$group",
  "$limit",
  "$lookup",
  "$match",
  "$project",
  "$redact",
  "$replaceRoot",
  "$replaceWith",
  "$sample",
  "$set",
  "$setWindowFields",
  "$skip",
  "$sort",
  "$sortByCount",
  "$unionWith",
  "$unset",
  "$unwind",
]);

function validatePipeline(pipeline: unknown): Doc[] {
  if (!Array.isArray(pipeline)) {
    throw new CommandError(ErrorCode.TypeMismatch, "'pipeline' option must be specified as an array");
  }
  for (const stage of pipeline) {
    if (!isDocument(stage) || Object.keys(stage).length !== 1) {
      throw new CommandError(40323, "A pipeline stage specification object must contain exactly one field.");
    }
    const name = Object.keys(stage)[0];
    if (UNSUPPORTED_STAGES.has(name) || name === "$documents") {
      throw new CommandError(ErrorCode.NotImplemented, `${name} is not supported by the embedded store`);
    }
    if (!SUPPORTED_STAGES.has(name)) throw new CommandError(40324, `Unrecognized pipeline stage name: '${name}'`);
  }
  return pipeline as Doc[];
}

const aggregate: CommandDef = {
  fields: ["pipeline", "cursor", "allowDiskUse", "hint", "bypassDocumentValidation"],
  unsupported: ["collation", "let", "explain", "exchange", "isMapReduceCommand"],
  handler(cmd, ctx) {
    if (typeof cmd.aggregate !== "string") {
      throw new CommandError(ErrorCode.NotImplemented, "aggregate without a collection is not supported by the embedded store");
    }
    const name = validateCollectionName(ctx.db, collectionArg(cmd, "aggregate"));
    const pipeline = validatePipeline(cmd.pipeline);
    const cursor = optionalDoc(cmd, "cursor", "aggregate");
    if (!cursor) {
      throw new CommandError(ErrorCode.FailedToParse, "The 'cursor' option is required, except for aggregate with the explain argument");
    }
    const coll = ctx.engine.collection(ctx.db, name);

    // Absorb the leading stages the planner can serve.
    let i = 0;
    let filter: Doc | undefined;
    const opts: QueryOptions = {};
    if (isDocument(pipeline[i]?.$match)) filter = pipeline[i++].$match as Doc;
    if (pipeline[i]?.$sort !== undefined) opts.sort = parseSort(pipeline[i++].$sort);
    if (pipeline[i]?.$skip !== undefined) opts.skip = optionalCount(pipeline[i++], "$skip", "$skip");
    if (pipeline[i]?.$limit !== undefined) opts.limit = optionalCount(pipeline[i++], "$limit", "$limit", 1);
    if (typeof cmd.hint === "string") opts.hint = cmd.hint;

    const { matches } = runQuery(coll, filter, opts);
    const rest = pipeline.slice(i);
    let results: Doc[];
    if (rest.length === 0) {
      results = matches.map((m) => m[1]);
    } else {
      const resolver = (other: string): Doc[] =>
        [...(ctx.engine.collection(ctx.db, other)?.docs.values() ?? [])].map((d) => cloneDeep(d));
      try {
        results = new Aggregator(rest, { collectionResolver: resolver }).run(
          matches.map((m) => cloneDeep(m[1])),
        ) as Doc[];
      } catch (err) {
        throw asCommandError(err);
      }
    }
    return ctx.cursors.first(`${ctx.db}.${name}`, results, {
      batchSize: optionalCount(cursor, "batchSize", "aggregate.cursor"),
      session: ctx.session,
    });
  },
};

export const aggregateCommands: Record<string, CommandDef> = { aggregate };
