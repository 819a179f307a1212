// Routes a command document to its handler and turns every outcome into a reply document.
import { CommandError, ErrorCode } from "../errors";
import type { Doc } from "../storage/paths";
import { adminCommands, sessionKey } from "./admin";
import { aggregateCommands } from "./aggregate";
import { type CommandContext, type CommandDef, checkFields } from "./context";
import { crudCommands } from "./crud";
import { indexCommands } from "./indexes";

const commands: Record<string, CommandDef> = {
  ...adminCommands,
  ...crudCommands,
  ...aggregateCommands,
  ...indexCommands,
};

/** serverStatus opcounters: CRUD commands count under their own name (by statement), everything else as command. */
function countOperation(name: string, ctx: CommandContext): void {
  const counters = ctx.server.opcounters;
  if (name === "find") counters.query++;
  else if (name === "getMore") counters.getmore++;
  else if (name !== "insert" && name !== "update" && name !== "delete") counters.command++;
}

export type DispatchContext = Omit<CommandContext, "db" | "session">;

/** Runs one command; never throws for a command's own failure (that is an `ok: 0` reply). */
export function dispatch(cmd: Doc, base: DispatchContext, log: (line: string) => void): Doc {
  const name = Object.keys(cmd)[0];
  const def = name === undefined ? undefined : commands[name];
  if (!def) {
    return new CommandError(ErrorCode.CommandNotFound, `no such command: '${name ?? ""}'`).toReply();
  }
  const db = typeof cmd.$db === "string" ? cmd.$db : "admin";
  const lsid = cmd.lsid as Doc | undefined;
  const ctx: CommandContext = { ...base, db, session: lsid?.id ? sessionKey(lsid.id) : undefined };
  countOperation(name, ctx);
  try {
    if (def.adminOnly && db !== "admin") {
      throw new CommandError(ErrorCode.Unauthorized, `${name} may only be run against the admin database.`);
    }
    checkFields(name, cmd, def);
    const reply = def.handler(cmd, ctx);
    if (def.write) ctx.engine.commit();
    return reply;
  } catch (err) {
    if (def.write) {
      try {
        ctx.engine.commit();
      } catch (commitErr) {
        return (commitErr as CommandError).toReply();
      }
    }
    if (err instanceof CommandError) return err.toReply();
    log(`internal error in ${name}: ${(err as Error).stack ?? String(err)}`);
    return new CommandError(ErrorCode.InternalError, `internal error in ${name}: ${(err as Error).message}`).toReply();
  }
}
