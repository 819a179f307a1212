// `npm start` as a user runs it: builds if needed, starts the embedded store and the app, local mode on loopback
// with its warning, the store at a lower priority than the app and the edge, and Ctrl-C (SIGINT to the process group)
// stops the app and then the store, keeping the data.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cms-edge-launcher-"));
const running: ChildProcess[] = [];

afterAll(() => {
  for (const c of running) if (c.exitCode === null && c.pid) process.kill(-c.pid, "SIGKILL");
});

/**
 * A free port below Linux's ephemeral range (32768 and up): the launcher's store listens on port 0, and a port the
 * system handed out here and let go could be handed to the store next, clashing with the app.
 */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

interface Launched {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | string>;
}

async function launch(port: number, edgePort: number): Promise<Launched> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    EDGE_PORT: String(edgePort),
    // The test's origin is on loopback.
    ALLOW_PRIVATE_ORIGINS: "1",
    NODE_ENV: "production",
  };
  for (const key of ["MONGODB_URI", "HOST", "CLERK_PUBLISHABLE_KEY", "CLERK_SECRET_KEY", "CLERK_JWT_KEY", "VITEST", "VITEST_POOL_ID", "VITEST_WORKER_ID"]) {
    delete env[key];
  }
  // As `npm start` runs it: one process, tsx as a loader.
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    cwd: root,
    env: env as NodeJS.ProcessEnv,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.push(child);
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  // "close", not "exit": the output the launcher wrote just before exiting may still be unread at "exit".
  const exited = new Promise<number | string>((resolve) => child.on("close", (code, signal) => resolve(code ?? signal ?? "?")));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the launcher exited:\n${out}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      const edge = await fetch(`http://127.0.0.1:${edgePort}/`);
      if (res.status === 200 && edge.status === 404) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`the app did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return { child, output: () => out, exited };
}

async function signIn(port: number, userId: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/sign-in`, {
    method: "POST",
    body: new URLSearchParams({ userId, plan: "pro", redirectTo: "/" }),
    redirect: "manual",
  });
  expect(res.status).toBe(302);
  return (res.headers.get("set-cookie") ?? "").split(";")[0];
}

/** A GET to the edge for `host`, as a browser sends it (fetch cannot set Host). */
function edgeGet(edgePort: number, host: string, path: string): Promise<{ status: number; xCache: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port: edgePort, path, headers: { host } }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, xCache: String(res.headers["x-cache"]), body }));
      })
      .on("error", reject);
  });
}

describe("npm start", () => {
  it("runs store, app and edge on the embedded defaults, stays on loopback in local mode, and stops the store last", async () => {
    const origin = http.createServer((_req, res) => res.writeHead(200, { "content-type": "image/png" }).end("PNGDATA"));
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    const originPort = (origin.address() as net.AddressInfo).port;
    const port = await freePort();
    const edgePort = await freePort();
    const first = await launch(port, edgePort);
    expect(first.output()).toContain("WARNING: local sign-in mode (no Clerk keys)");
    expect(first.output()).toContain("listening on 127.0.0.1 only");
    expect(first.output()).toMatch(/embedded store on mongodb:\/\/127\.0\.0\.1:\d+/);

    // The store runs in the launcher's process, every thread of which yields the CPU once the app and the edge (which
    // keep the priority they started with) are spawned (decision 014). On Linux a priority is a thread's.
    const base = os.getPriority();
    const niceness = Math.max(base, 10);
    const launcherPid = first.child.pid as number;
    expect(first.output()).toContain(`embedded store at niceness ${niceness}: the edge's answers come first`);
    const threads = fs.readdirSync(`/proc/${launcherPid}/task`).map(Number);
    expect(threads.length).toBeGreaterThan(1);
    expect(threads.map((tid) => os.getPriority(tid))).toEqual(threads.map(() => niceness));
    const started = fs.readFileSync(`/proc/${launcherPid}/task/${launcherPid}/children`, "utf8").trim().split(/\s+/).map(Number);
    expect(started).toHaveLength(2);
    for (const pid of started) expect(os.getPriority(pid)).toBe(base);

    // Not reachable on another interface of this machine.
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((i) => i && i.family === "IPv4" && !i.internal)?.address;
    if (external) {
      await expect(fetch(`http://${external}:${port}/healthz`)).rejects.toThrow();
      await expect(fetch(`http://${external}:${edgePort}/`)).rejects.toThrow();
    }

    const cookie = await signIn(port, "launcher-user");
    const created = await fetch(`http://127.0.0.1:${port}/api/tenants`, {
      method: "POST",
      headers: { Cookie: cookie, "Content-Type": "application/json" },
      body: JSON.stringify({ slug: "launched", cms: "generic", originUrl: `http://127.0.0.1:${originPort}/media` }),
    });
    expect(created.status).toBe(201);

    // The edge serves the new tenant within a second, by subdomain and by path; the usage is written at shutdown.
    expect(await edgeGet(edgePort, `launched.localhost:${edgePort}`, "/a.png")).toEqual({ status: 200, xCache: "MISS", body: "PNGDATA" });
    expect(await edgeGet(edgePort, `localhost:${edgePort}`, "/launched/a.png")).toEqual({ status: 200, xCache: "HIT", body: "PNGDATA" });
    expect(await edgeGet(edgePort, `nobody.localhost:${edgePort}`, "/a.png")).toEqual({
      status: 404,
      xCache: "BYPASS",
      body: "No tenant is served at this address.\n",
    });

    // Ctrl-C reaches the whole process group, as in a terminal.
    process.kill(-(first.child.pid as number), "SIGINT");
    await first.exited;
    const log = first.output();
    expect(log).toContain("store stopped, data flushed");
    expect(log.indexOf("store stopped")).toBeGreaterThan(log.lastIndexOf("GET /healthz"));
    expect(log.indexOf("store stopped")).toBeGreaterThan(log.indexOf("[edge] stopped, usage written"));
    expect(fs.existsSync(path.join(dataDir, "db", "embedded-mongo.lock"))).toBe(false);

    // The next start finds the data (and the generated session secret) again, without rebuilding.
    const second = await launch(port, edgePort);
    expect(second.output()).not.toContain("building");
    const listed = await fetch(`http://127.0.0.1:${port}/api/tenants`, { headers: { Cookie: cookie } });
    expect(((await listed.json()) as { tenants: Array<{ slug: string }> }).tenants.map((t) => t.slug)).toEqual(["launched"]);
    // The two requests the edge served before Ctrl-C (the 404 was nobody's) were written by its shutdown.
    const usage = await fetch(`http://127.0.0.1:${port}/api/tenants/launched/analytics?period=7d`, { headers: { Cookie: cookie } });
    expect(((await usage.json()) as { totals: unknown }).totals).toMatchObject({ requests: 2, bandwidthBytes: 14, cacheHits: 1, cacheMisses: 1 });
    origin.close();
    process.kill(-(second.child.pid as number), "SIGTERM");
    await second.exited;
    expect(second.output()).toContain("store stopped, data flushed");
  }, 180_000);
});
