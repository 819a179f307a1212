// find/findAndModify projections, applied by mingo to a copy (mingo may change the documents it projects).
import { Query } from "mingo";
import { asCommandError } from "../errors";
import { MINGO_OPTIONS } from "./planner";
import { type Doc, cloneDeep } from "../storage/paths";

/** A function projecting one stored document, or undefined when there is nothing to project. */
export function projector(projection: Doc | undefined, filter: Doc | undefined): ((doc: Doc) => Doc) | undefined {
  if (!projection || Object.keys(projection).length === 0) return undefined;
  let query: Query;
  try {
    // Only the positional `$` projection needs the filter (and then the document matched it).
    const positional = Object.keys(projection).some((k) => k.endsWith(".$"));
    query = new Query(positional ? (filter ?? {}) : {}, MINGO_OPTIONS);
    // Validate the projection once, up front, so a bad one fails the command rather than a later getMore.
    query.find([{}], projection).all();
  } catch (err) {
    throw asCommandError(err);
  }
  return (doc) => {
    try {
      return (query.find([cloneDeep(doc)], projection).all()[0] as Doc) ?? {};
    } catch (err) {
      throw asCommandError(err);
    }
  };
}
