// `npm start` / `npm run dev`: builds when needed, starts the embedded store on the data directory when no
// MONGODB_URI is set, then the app (remix-serve, or remix dev with live reload) and the edge beside it (restarted on
// changes in dev). Ctrl-C stops the app and the edge first (the edge writes the usage it holds) and the store last,
// so every acknowledged write is flushed.
// First: the settings of .env are in process.env before any module below reads it.
import { loadedFromDotEnv } from "./dot-env.ts";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { env } from "../app/server/env.server.ts";
import { type RunningStore, start as startStore } from "../embedded-mongo/src/index.ts";
import { EDGE_STOP_MS, EMBEDDED_STORE_NICENESS, edgeProcessArgs } from "../edge/node-flags.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dev = process.argv.includes("--dev");
const log = (line: string) => console.log(`[start] ${line}`);
if (loadedFromDotEnv.length > 0) log(`settings from .env: ${loadedFromDotEnv.join(", ")}`);

function newestMtime(entry: string): number {
  const full = path.join(root, entry);
  if (!fs.existsSync(full) || entry === path.join("public", "build")) return 0;
  const stat = fs.statSync(full);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return fs.readdirSync(full).reduce((max, name) => Math.max(max, newestMtime(path.join(entry, name))), stat.mtimeMs);
}

/** Rebuilds when any source is newer than the server build (or there is none). */
function buildIfNeeded(): void {
  const built = newestMtime("build/index.js");
  const sources = Math.max(...["app", "models", "public", "remix.config.js", "package.json", "package-lock.json"].map(newestMtime));
  if (built > 0 && built >= sources) return;
  log(built ? "sources changed since the last build: building" : "no build yet: building");
  const result = spawnSync(process.execPath, [path.join(root, "node_modules/@remix-run/dev/dist/cli.js"), "build"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, NODE_ENV: "production" },
  });
  if (result.status !== 0) {
    console.error("[start] the build failed");
    process.exit(result.status ?? 1);
  }
}

/**
 * Lowers the priority of this process, which runs the embedded store, so that its work waits for the CPU the edge
 * leaves free (decision 014). Called once the app and the edge are spawned: they keep the priority they started with.
 * On Linux a priority is a thread's, so every thread of this process is lowered (the store's, the garbage
 * collector's helpers, the thread pool's; threads started later take their creator's); elsewhere one call covers the
 * process.
 */
function yieldToTheEdge(): void {
  const niceness = Math.max(os.getPriority(), EMBEDDED_STORE_NICENESS);
  try {
    const threads = process.platform === "linux" ? fs.readdirSync("/proc/self/task").map(Number) : [0];
    for (const thread of threads) {
      try {
        os.setPriority(thread, niceness);
      } catch (err) {
        // A thread that ended meanwhile.
        if ((err as { info?: { code?: string } }).info?.code !== "ESRCH") throw err;
      }
    }
    log(`embedded store at niceness ${niceness}: the edge's answers come first`);
  } catch (err) {
    log(`the embedded store's priority stays as it is (${(err as Error).message})`);
  }
}

async function main(): Promise<void> {
  if (!dev) buildIfNeeded();

  let store: RunningStore | undefined;
  let mongodbUri = env.mongodbUri;
  if (!mongodbUri) {
    const dbPath = path.join(env.dataDir, "db");
    store = await startStore({ port: 0, dbPath, log: (line) => log(`store: ${line}`) });
    mongodbUri = `${store.uri}/cms-edge`;
    log(`embedded store on ${store.uri} (data in ${dbPath})`);
  } else {
    log("using MONGODB_URI (no embedded store)");
  }

  const host = env.listenHost;
  if (env.authMode === "local") {
    console.warn(
      `[start] WARNING: local sign-in mode (no Clerk keys): anyone who can reach the app can sign in as anyone. For development only${env.host ? `; listening on ${env.host} because HOST is set` : "; listening on 127.0.0.1 only"}.`,
    );
  }

  const cli = dev
    ? [path.join(root, "node_modules/@remix-run/dev/dist/cli.js"), "dev"]
    : [path.join(root, "node_modules/@remix-run/serve/dist/cli.js"), path.join(root, "build/index.js")];
  const app: ChildProcess = spawn(process.execPath, cli, {
    cwd: root,
    stdio: "inherit",
    env: {
      ...process.env,
      NODE_ENV: dev ? "development" : "production",
      MONGODB_URI: mongodbUri,
      PORT: String(env.port),
      ...(host ? { HOST: host } : {}),
    },
  });
  log(`app on http://localhost:${env.port}${host ? ` (bound to ${host})` : ""}`);

  // The edge: restarted on changes in development, writing the usage it holds at every stop (see edgeProcessArgs).
  const edge: ChildProcess = spawn(process.execPath, edgeProcessArgs(path.join(root, "edge/main.ts"), dev), {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, NODE_ENV: dev ? "development" : "production", MONGODB_URI: mongodbUri },
  });
  log(`edge on http://<slug>.${env.edge.host}:${env.edge.port}`);
  const children = { app, edge };
  if (store) yieldToTheEdge();

  let stopping = false;
  const stopChild = async (name: string, child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    // The edge may take up to EDGE_STOP_MS: its downloads in progress, then the usage it holds.
    const limitMs = child === edge ? EDGE_STOP_MS : 15_000;
    const timer = setTimeout(() => {
      log(`the ${name} did not stop within ${limitMs / 1000} s: killing it`);
      child.kill("SIGKILL");
    }, limitMs);
    await exited;
    clearTimeout(timer);
  };
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await Promise.all(Object.entries(children).map(([name, child]) => stopChild(name, child)));
    if (store) {
      await store.stop();
      log("store stopped, data flushed");
    }
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));
  for (const [name, child] of Object.entries(children)) {
    child.on("exit", (code, signal) => {
      if (stopping) return;
      log(`the ${name} exited (${signal ?? code}); stopping`);
      void shutdown(code ?? 1);
    });
  }
}

void main().catch((err: unknown) => {
  console.error(`[start] ${(err as Error).message}`);
  process.exit(1);
});
