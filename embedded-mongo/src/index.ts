// embedded-mongo: a MongoDB-compatible server over the wire protocol, in-process or on its own.
export { start } from "./server";
export type { RunningStore, StartOptions } from "./server";
export { DataDirectoryLockedError } from "./storage/datafiles";
