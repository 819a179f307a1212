// The Node flags the edge process runs with (the launcher and bench:edge start it with them; see decision 011).
// --single-threaded-gc: V8's young-generation collections run on the main thread instead of handing work to helper
// threads. The edge is meant to run as one process per core, so the helpers only compete with that process's own
// thread for its core; measured on cache hits, they cost ~2 µs per request.
export const EDGE_NODE_FLAGS: readonly string[] = ["--single-threaded-gc"];
