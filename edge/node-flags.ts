// The edge process's Node flags, niceness and stop timing (the launcher and bench:edge start it with them; see decision 011).
// --single-threaded-gc: V8 collects garbage on the main thread only, with no helper threads (young-generation
// scavenges are not parallel, and old-generation marking and sweeping are incremental on the main thread rather
// than concurrent). The edge is meant to run as one process per core, where helper threads only compete with the
// process's own thread for its core; its old generation holds few objects to mark (cached bodies are Buffers outside
// the heap, held request logs are typed arrays). Measured on 10 KB cache hits: ~2 µs less CPU per request than with
// the default, and ~2–3% more req/s than with --no-parallel-scavenge alone.
// --no-memory-reducer: V8 does not run its full collections to shrink the heap when the process turns idle. One such
// collection before traffic starts (an edge idle for some seconds after it started, then loaded) left about one
// process in five serving hits ~20% slower for its whole life: the object literal process.nextTick makes for every
// tick, inside Node's stream code, then went through V8's runtime (Runtime_DefineKeyedOwnPropertyInLiteral in `perf`,
// in every slow process and in no fast one). Without it, 20 edges of 20 ran at full speed (72–90% of the plain
// server side by side, against 3–5 of 20 at 53–60% in three runs with it; decision 026). The edge's heap is small
// (bodies and logs live outside it): it is collected as usual while it serves.
export const EDGE_NODE_FLAGS: readonly string[] = ["--single-threaded-gc", "--no-memory-reducer"];

/**
 * The arguments after `node` that run the edge process (`edgeMain`: the path of edge/main.ts), as `npm start` and
 * `npm run dev` start it: one process with tsx as a loader (the tsx command would relay signals to a child and SIGKILL
 * it when the child does not acknowledge within 60 ms, easily missed under load, losing the usage the edge writes at
 * shutdown). In development Node's own watch mode restarts it when a file it loaded changes; it stops the old process
 * with SIGTERM and waits for it to exit, so a restart, like a stop, writes the usage held.
 */
export function edgeProcessArgs(edgeMain: string, dev: boolean): string[] {
  // (--watch-preserve-output: a restart does not clear the terminal the app and the store log to as well.)
  return [...(dev ? ["--watch", "--watch-preserve-output"] : []), ...EDGE_NODE_FLAGS, "--import", "tsx", edgeMain];
}

// The niceness the embedded store runs at beside the edge (decision 014): on one machine its work — the usage the
// edge writes in the background, the app's queries — waits for a moment the edge leaves free rather than delaying a
// cache hit. The launcher lowers its own process (which runs the store) to it once the app and the edge are spawned;
// bench:edge starts its store with it.
export const EMBEDDED_STORE_NICENESS = 10;

// The niceness of the edge's database thread (decision 015): its usage writes — building and serialising a batch's
// logs every few seconds — and its reloads wait for a moment the serving thread leaves free rather than delaying a
// cache hit.
export const EDGE_DATABASE_THREAD_NICENESS = 10;

// How long the edge takes to stop at most (`Edge.close`): its answers in progress get EDGE_CLOSE_GRACE_MS, those then
// cut off EDGE_CLOSE_SETTLE_MS to settle, and the usage it holds EDGE_USAGE_STOP_MS to be written. The launcher
// waits EDGE_STOP_MS (that, and time to close the database thread) before it kills the edge: killed earlier, an edge
// stopped during a long download would lose the usage it was about to write.
export const EDGE_CLOSE_GRACE_MS = 10_000;
export const EDGE_CLOSE_SETTLE_MS = 5_000;
export const EDGE_USAGE_STOP_MS = 10_000;
export const EDGE_STOP_MS = EDGE_CLOSE_GRACE_MS + EDGE_CLOSE_SETTLE_MS + EDGE_USAGE_STOP_MS + 5_000;
