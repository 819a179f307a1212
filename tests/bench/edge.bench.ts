// `npm run bench:edge`: cache hits through the edge (its own process, on the embedded store, usage recorded and
// flushed as in production; one process per LOG_SAMPLE_RATE) for a 10 KB and a 1 MB asset at 100 connections (and
// the 10 KB one at 10, and at 100 connections held to a fixed request rate for latency below saturation), beside a
// plain node:http server returning the same bytes from memory (the Node ceiling; twice: with two headers, and with the
// very header list the edge answers a hit with) and, when nginx is installed, nginx with proxy_cache in front of the
// same origin. Besides req/s and latency it reports each server's CPU per request
// (and the store's, for the edge), read from /proc, and each edge's req/s loaded side by side with the plain server
// on one core (see `sideBySide`). The closed-loop rows use wrk when it is installed (apt-get install
// wrk: one core of it keeps a Node server busy, one core of autocannon does not), autocannon otherwise; the fixed-rate
// rows tests/bench/open-loop.ts. The Node servers are started afresh for every round (see `nodeServers`). BENCH_ONLY_STEADY=1 runs the fixed-rate rows alone, BENCH_ONLY_SIDE_BY_SIDE=1 the side-by-side rounds alone. A script, not a test: it prints a table for the README.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import mongoose from "mongoose";
import { EMBEDDED_STORE_NICENESS, edgeProcessArgs } from "../../edge/node-flags.ts";
import type { OpenLoopResult } from "./open-loop.ts";

const root = path.resolve(import.meta.dirname, "../..");
const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);
/** The offered rate of the latency rows: well below every server's capacity here, so latency is service, not queue. */
const FIXED_RATE = Number(process.env.BENCH_RATE ?? 5_000);
const SIZES = [
  { name: "10 KB", path: "/small.png", bytes: 10 * 1024 },
  { name: "1 MB", path: "/large.png", bytes: 1024 * 1024 },
].filter((s) => !process.env.BENCH_SIZES || process.env.BENCH_SIZES.split(",").includes(s.name.replace(" ", "")));
const children: ChildProcess[] = [];
/** The plain node:http ceiling's name in the tables. */
const PLAIN = "plain node:http";
const SAME_HEADERS = "plain node:http, the edge's headers";

const bodies = new Map(SIZES.map((s) => [s.path, Buffer.alloc(s.bytes, 7)]));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Starts a process and resolves with the first match of `ready` in its output, and its pid. */
function run(cmd: string, args: string[], env: Record<string, string>, ready: RegExp): Promise<{ text: string; pid: number; child: ChildProcess }> {
  const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve({ text: m[0], pid: child.pid as number, child });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => reject(new Error(`${cmd} ${args.join(" ")} exited (${code}):\n${out}`)));
  });
}

async function waitFor(url: string, host: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      http.get(url, { headers: { host } }, (res) => (res.resume(), resolve(true))).on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

function get(url: string, host: string): Promise<{ status: number; xCache: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { host } }, (res) => {
        let bytes = 0;
        res.on("data", (c: Buffer) => (bytes += c.length));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, xCache: String(res.headers["x-cache"] ?? res.headers["x-nginx-cache"]), bytes }));
      })
      .on("error", reject);
  });
}

/** The header list of a cached answer of the edge (what node:http adds itself left out), asked until it is a hit. */
async function hitHeaders(url: string, host: string): Promise<string[]> {
  for (let i = 0; i < 3; i++) {
    const raw = await new Promise<string[]>((resolve, reject) => {
      http.get(url, { headers: { host } }, (res) => (res.resume(), res.on("end", () => resolve(res.rawHeaders)))).on("error", reject);
    });
    const list = raw.filter((_, k) => k % 2 === 0).map((name, k) => [name.toLowerCase(), raw[2 * k + 1]]);
    if (list.some(([name, value]) => name === "x-cache" && value === "HIT")) {
      return list.filter(([name]) => !["date", "connection", "keep-alive"].includes(name)).flat();
    }
  }
  throw new Error(`${url}: no cache hit`);
}

type Server = { name: string; base: string; host: string; pid: number; storePid?: number };
type Sample = { rps: number; p50: number; p99: number; mbps: number; errors: number; cpuUs: number; storeCpuUs: number; loaderCore: number; lateP50?: number; lateP99?: number };
type Combo = { size: (typeof SIZES)[number]; connections: number; rate?: number };

/** The fields of /proc/<pid>/stat after the command name: [11] user and [12] system time, [13]–[14] waited-for children's. */
const statFields = (pid: number | "self") => fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ").map(Number);

/** CPU seconds (user + system) a process and its children so far (nginx's work is in its worker); 0 without /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = statFields(pid);
    const ticks = fields[11] + fields[12];
    const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ").filter(Boolean);
    return ticks / 100 + children.reduce((sum, child) => sum + cpuSeconds(Number(child)), 0);
  } catch {
    return 0;
  }
}

/** Checks the server answers the asset from its cache, then loads it for 2 s so its JIT has settled. */
async function warm(server: Server, size: (typeof SIZES)[number], connections: number): Promise<void> {
  const url = `${server.base}${size.path}`;
  await get(url, server.host);
  const second = await get(url, server.host);
  if (second.status !== 200 || second.bytes !== size.bytes) throw new Error(`${server.name} ${url}: ${second.status}, ${second.bytes} bytes`);
  if (!/^(HIT|undefined)$/.test(second.xCache)) throw new Error(`${server.name} ${url}: the second answer was ${second.xCache}, not a hit`);
  await autocannon({ url, connections, duration: 2, headers: { host: server.host } });
}

/**
 * Requests sent at a steady `rate` by tests/bench/open-loop.ts, in a process of its own on this process's core (it
 * reads answers off raw sockets, so its own pauses stay out of the servers' latency; see there).
 */
async function steadyLoad(server: Server, path: string, rate: number, connections: number, seconds: number, onWarm: () => void) {
  const args = ["--import", "tsx", "tests/bench/open-loop.ts", server.base, path, server.host, String(rate), String(seconds), String(connections)];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
  children.push(child);
  // A generator that died after saying warm must not take this process down with an EPIPE.
  child.stdin.on("error", () => undefined);
  let out = "";
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  for await (const chunk of child.stdout) {
    out += (chunk as Buffer).toString();
    if (out.startsWith("warm\n")) {
      out = out.slice("warm\n".length);
      onWarm();
      child.stdin.end("go\n");
    }
  }
  const code = await exited;
  if (code !== 0) throw new Error(`open-loop exited ${code}: ${out}`);
  return JSON.parse(out) as OpenLoopResult;
}

/** wrk (C, one thread), when installed: unlike autocannon it can keep a Node server's core busy from one core. */
const WRK = ["/usr/bin/wrk", "/usr/local/bin/wrk"].find((candidate) => fs.existsSync(candidate));

/** The closed loop: every connection sends its next request as soon as the last one is answered. */
async function closedLoad(url: string, host: string, connections: number, seconds: number) {
  if (WRK) return wrkLoad(WRK, url, host, connections, seconds);
  const result = await autocannon({ url, connections, duration: seconds, headers: { host } });
  return {
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    mbps: result.throughput.average / 1024 / 1024,
    errors: result.errors + result.non2xx,
  };
}

async function wrkLoad(wrk: string, url: string, host: string, connections: number, seconds: number) {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(wrk, ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "-H", `Host: ${host}`, url], { stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    child.stdout.on("data", (d: Buffer) => (text += d.toString()));
    child.on("close", (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}:\n${text}`))));
  });
  const ms = (label: string) => {
    // (wrk pads a value in seconds or minutes with a trailing space: "1.04s ", "1.50m ".)
    const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(out);
    if (!m) throw new Error(`wrk: no ${label} in\n${out}`);
    return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[m[2]];
  };
  const number = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  const requests = number(/(\d+) requests in/);
  const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(out);
  const errors = number(/Non-2xx or 3xx responses: (\d+)/) + (/Socket errors: (.*)/.exec(out)?.[1].match(/\d+/g) ?? []).reduce((n, x) => n + Number(x), 0);
  return {
    requests,
    rps: number(/Requests\/sec:\s+([\d.]+)/),
    p50: ms("50%"),
    p99: ms("99%"),
    mbps: transfer ? (Number(transfer[1]) * ({ B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 } as Record<string, number>)[transfer[2]]) / 1024 ** 2 : 0,
    errors,
  };
}

/** CPU seconds of this process and of the children it has waited for (wrk). */
function loaderSeconds(): number {
  const fields = statFields("self");
  return (fields[11] + fields[12] + fields[13] + fields[14]) / 100;
}

async function sample(server: Server, { size, connections, rate }: Combo): Promise<Sample> {
  const url = `${server.base}${size.path}`;
  let cpu0 = 0;
  let store0 = 0;
  let loader0 = 0;
  let started = 0;
  const begin = () => {
    cpu0 = cpuSeconds(server.pid);
    store0 = cpuSeconds(server.storePid);
    loader0 = loaderSeconds();
    started = performance.now();
  };
  const { requests, loaderCpuSeconds, ...load } = rate
    ? await steadyLoad(server, size.path, rate, connections, DURATION, begin)
    : (begin(), { ...(await closedLoad(url, server.host, connections, DURATION)), loaderCpuSeconds: undefined });
  const perRequest = (seconds: number) => (seconds * 1e6) / Math.max(1, requests);
  const loader = loaderCpuSeconds ?? loaderSeconds() - loader0;
  return {
    ...load,
    cpuUs: perRequest(cpuSeconds(server.pid) - cpu0),
    storeCpuUs: perRequest(cpuSeconds(server.storePid) - store0),
    // The load generator's share of its core: near 100%, the row measures the generator, not the server.
    loaderCore: (loader * 1000) / (performance.now() - started),
  };
}

/** The connections each server gets when two are loaded side by side: half the usual. */
const SIDE_BY_SIDE_CONNECTIONS = Math.max(1, Math.floor(CONNECTIONS / 2));

/**
 * The edge's req/s over the plain server's with both loaded at once on the server core, each by its own wrk with
 * SIDE_BY_SIDE_CONNECTIONS (after 2 s of warm-up): the scheduler gives each half the core, so the ratio is that of
 * their CPU per request, measured over the same seconds of the VM.
 */
async function sideBySide(plain: Server, edge: Server, size: (typeof SIZES)[number]): Promise<{ rps: number; cpu: number }> {
  const load = (server: Server, seconds: number) => closedLoad(`${server.base}${size.path}`, server.host, SIDE_BY_SIDE_CONNECTIONS, seconds);
  await Promise.all([load(plain, 2), load(edge, 2)]);
  const cpu = () => [cpuSeconds(plain.pid), cpuSeconds(edge.pid) + cpuSeconds(edge.storePid)];
  const before = cpu();
  const [p, e] = await Promise.all([load(plain, DURATION), load(edge, DURATION)]);
  const [plainCpu, edgeCpu] = cpu().map((seconds, i) => seconds - before[i]);
  // The store and the edge's database thread run at a lower priority and take their CPU from both servers alike: by
  // CPU per request (the store's counted as the edge's), that share is the edge's again.
  return { rps: e.rps / p.rps, cpu: plainCpu / Math.max(1, p.requests) / (edgeCpu / Math.max(1, e.requests)) };
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * With taskset and two cores or more, the server under test (and the store the edge writes its usage to) runs on
 * core 0 and autocannon (this process, every thread of it: `-a`) alone on core 1, so the scheduler's moves do not decide the numbers and the
 * cost of the usage writes falls on the edge's side. Without, everything shares the cores.
 */
const PIN = os.cpus().length >= 2 && spawnSync("taskset", ["-acp", "1", String(process.pid)], { stdio: "ignore" }).status === 0;
const onServerCore = (cmd: string, args: string[]): [string, string[]] => (PIN ? ["taskset", ["-c", "0", cmd, ...args]] : [cmd, args]);

/** Node flags for the plain servers (BENCH_PLAIN_NODE_ARGS, e.g. the edge's own flags); none by default: Node as it ships. */
const PLAIN_NODE_ARGS = (process.env.BENCH_PLAIN_NODE_ARGS ?? "").split(" ").filter(Boolean);

/**
 * Starts the Node servers of a round: the plain ceiling, the same sending the edge's hit headers, and one edge per
 * log sample rate (all on the same store); `stop` ends them, waiting for the edges to write the usage they hold.
 */
async function nodeServers({ tmp, mongodbUri, storePid }: { tmp: string; mongodbUri: string; storePid: number }): Promise<{ servers: Server[]; stop: () => Promise<void> }> {
  const servers: Server[] = [];
  const started: ChildProcess[] = [];

  // The plain node:http ceiling, in its own process like the edge.
  const plainPort = await freePort();
  const plainScript = `
    const http = require("node:http");
    const bodies = new Map(${JSON.stringify(SIZES.map((s) => [s.path, s.bytes]))}.map(([p, n]) => [p, Buffer.alloc(n, 7)]));
    http.createServer((req, res) => {
      const body = bodies.get(req.url);
      res.writeHead(200, { "content-type": "image/png", "content-length": body.length });
      res.end(body);
    }).listen(${plainPort}, "127.0.0.1", () => console.log("plain ready"));`;
  const plain = await run(...onServerCore(process.execPath, [...PLAIN_NODE_ARGS, "-e", plainScript]), {}, /plain ready/);
  started.push(plain.child);
  servers.push({ name: PLAIN, base: `http://127.0.0.1:${plainPort}`, host: "127.0.0.1", pid: plain.pid });

  // One edge process per log sample rate, all on the same store (each is idle while another is measured).
  for (const rate of (process.env.BENCH_LOG_SAMPLE_RATES ?? "1,0.01").split(",")) {
    const edgePort = await freePort();
    // The edge process as the launcher starts it (edgeProcessArgs); BENCH_EDGE_NODE_ARGS (e.g. "--cpu-prof") adds flags.
    const extra = (process.env.BENCH_EDGE_NODE_ARGS ?? "").split(" ").filter(Boolean);
    const edge = spawn(...onServerCore(process.execPath, [...extra, ...edgeProcessArgs("edge/main.ts", false)]), {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: "production",
        EDGE_PORT: String(edgePort),
        HOST: "127.0.0.1",
        MONGODB_URI: mongodbUri,
        ALLOW_PRIVATE_ORIGINS: "1",
        DATA_DIR: tmp,
        LOG_SAMPLE_RATE: rate,
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    children.push(edge);
    started.push(edge);
    await waitFor(`http://127.0.0.1:${edgePort}/`, "localhost");
    servers.push({
      name: `edge, LOG_SAMPLE_RATE=${rate}`,
      base: `http://127.0.0.1:${edgePort}`,
      host: `bench.localhost:${edgePort}`,
      pid: edge.pid as number,
      storePid,
    });
  }

  // The same ceiling sending the very answer the edge sends on a hit, headers included (x-cache, age, nosniff,
  // accept-ranges and the origin's): what node:http itself costs for those bytes, the edge's own work aside.
  const firstEdge = servers.find((s) => s.storePid !== undefined) as Server;
  const edgeHeaders = Object.fromEntries(await Promise.all(SIZES.map(async (s) => [s.path, await hitHeaders(`${firstEdge.base}${s.path}`, firstEdge.host)])));
  const sameHeadersPort = await freePort();
  const sameHeadersScript = `
    const http = require("node:http");
    const answers = new Map(Object.entries(${JSON.stringify(edgeHeaders)}).map(([p, headers]) => [p, { headers, body: Buffer.alloc(Number(headers[headers.indexOf("content-length") + 1]), 7) }]));
    http.createServer((req, res) => {
      const answer = answers.get(req.url);
      res.writeHead(200, answer.headers);
      res.end(answer.body);
    }).listen(${sameHeadersPort}, "127.0.0.1", () => console.log("plain ready"));`;
  const sameHeaders = await run(...onServerCore(process.execPath, [...PLAIN_NODE_ARGS, "-e", sameHeadersScript]), {}, /plain ready/);
  started.push(sameHeaders.child);
  servers.splice(1, 0, { name: SAME_HEADERS, base: `http://127.0.0.1:${sameHeadersPort}`, host: "127.0.0.1", pid: sameHeaders.pid });

  return {
    servers,
    async stop() {
      await Promise.all(
        started.map((child) => new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
        })),
      );
    },
  };
}

function nginxBinary(): string | null {
  for (const candidate of ["/usr/sbin/nginx", "/usr/bin/nginx"]) if (fs.existsSync(candidate)) return candidate;
  return null;
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cms-edge-bench-"));

  // The origin: the asset bytes from memory (only misses reach it).
  const origin = http.createServer((req, res) => {
    const body = bodies.get((req.url ?? "").replace(/^\/media/, "").split("?")[0]);
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "image/png", "content-length": body.length, "cache-control": "public, max-age=3600" }).end(body);
  });
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
  const originPort = (origin.address() as net.AddressInfo).port;

  // The store is part of the system under test (the edge writes its usage there): it shares the server's core, at the
  // lower priority `npm start` runs the embedded store at (decision 014).
  const store = await run(
    ...onServerCore("nice", ["-n", String(EMBEDDED_STORE_NICENESS), process.execPath, "--import", "tsx", "embedded-mongo/src/cli.ts", "--port", "0", "--inMemory"]),
    {},
    /mongodb:\/\/127\.0\.0\.1:\d+/,
  );
  const mongodbUri = `${store.text}/bench-edge`;
  await mongoose.connect(mongodbUri);
  await mongoose.connection.collection("tenants").insertOne({
    slug: "bench",
    ownerId: "bench",
    orgId: null,
    billingSubject: "user:bench",
    cms: "generic",
    originUrl: `http://127.0.0.1:${originPort}/media`,
    cacheTTL: 3600,
    allowedTypes: null,
    apiOrigin: null,
    apiToken: null,
    cacheVersions: { api: 1, assets: 1 },
  });
  await mongoose.connection.collection("accounts").insertOne({ subject: "user:bench", plan: "pro", tenantCount: 1 });
  await mongoose.disconnect();

  let nginxServer: Server | undefined;
  const nginx = nginxBinary();
  if (nginx) {
    const nginxPort = await freePort();
    const prefix = path.join(tmp, "nginx");
    fs.mkdirSync(path.join(prefix, "logs"), { recursive: true });
    fs.writeFileSync(
      path.join(prefix, "nginx.conf"),
      `worker_processes 1;
daemon off;
${process.getuid?.() === 0 ? "user root;" : ""}
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  proxy_cache_path ${prefix}/cache levels=1:2 keys_zone=assets:10m max_size=256m inactive=1h use_temp_path=off;
  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      proxy_pass http://127.0.0.1:${originPort}/media/;
      proxy_cache assets;
      proxy_cache_valid 200 1h;
      proxy_cache_lock on;
      add_header X-Nginx-Cache $upstream_cache_status;
    }
  }
}
`,
    );
    const child = spawn(...onServerCore(nginx, ["-p", prefix, "-c", path.join(prefix, "nginx.conf")]), { stdio: "ignore" });
    children.push(child);
    await waitFor(`http://127.0.0.1:${nginxPort}/`, "localhost");
    nginxServer = { name: "nginx proxy_cache (1 worker)", base: `http://127.0.0.1:${nginxPort}`, host: "localhost", pid: child.pid as number };
  } else {
    console.error("nginx is not installed: its rows are left out (apt-get install nginx-light to include them)");
  }

  // Rounds, each server in turn, so the drift of a shared machine falls on all of them alike; medians reported, and
  // each server's ratio to the plain server taken within a round.
  const combos: Combo[] = process.env.BENCH_ONLY_SIDE_BY_SIDE ? [] : process.env.BENCH_ONLY_STEADY ? [{ size: SIZES[0], connections: CONNECTIONS, rate: FIXED_RATE }] : [
    ...SIZES.map((size) => ({ size, connections: CONNECTIONS })),
    ...SIZES.filter((s) => s.name === "10 KB").flatMap((size) => [
      { size, connections: 10 },
      { size, connections: CONNECTIONS, rate: FIXED_RATE },
    ]),
  ];
  const lines: string[] = [];
  const lateness: Array<{ p50: number; p99: number }> = [];
  // (Two decimals under 1 ms: an open-loop median is a few hundredths of a millisecond.)
  const ms = (n: number) => (n < 1 ? n.toFixed(2) : n < 10 ? n.toFixed(1) : String(Math.round(n)));
  const samples = combos.map(() => new Map<string, Sample[]>());
  let servers: Server[] = [];
  // The Node servers (the plain ceiling, the same with the edge's headers, one edge per log sample rate) are started
  // afresh for every round: one process can run several percent faster or slower than another of the same code for
  // its whole life on this VM (where its JIT and memory land), so a round's ratio is a draw, and the median over rounds
  // is taken over that many draws of each rather than over one. nginx (no JIT) runs throughout.
  // Side by side: the plain server and an edge loaded at once on the same core (each with half the connections), so
  // that whatever the VM does in those seconds falls on both alike (10 KB hits, every round).
  const sideBySideSize = process.env.BENCH_ONLY_STEADY ? undefined : SIZES.find((s) => s.name === "10 KB");
  const sideBySideRatios = new Map<string, Array<{ rps: number; cpu: number }>>();
  for (let round = 0; round < ROUNDS; round++) {
    const node = await nodeServers({ tmp, mongodbUri, storePid: store.pid });
    servers = nginxServer ? [...node.servers, nginxServer] : node.servers;
    for (const [c, combo] of combos.entries()) {
      const { size, connections, rate } = combo;
      for (const server of servers) await warm(server, size, connections);
      for (const server of servers) {
        const got = samples[c].get(server.name) ?? [];
        const one = await sample(server, combo);
        got.push(one);
        samples[c].set(server.name, got);
        console.error(`  ${server.name}: ${Math.round(one.rps)} req/s, p50 ${one.p50.toFixed(2)} ms, p99 ${one.p99.toFixed(1)} ms, ${one.cpuUs.toFixed(1)} µs/req`);
      }
      console.error(`${size.name} at ${connections} connections${rate ? ` and ${rate} req/s` : ""}: round ${round + 1} of ${ROUNDS} done`);
    }
    if (sideBySideSize) {
      const plain = node.servers.find((sv) => sv.name === PLAIN) as Server;
      // (The edges are the servers with a store.)
      for (const edge of node.servers.filter((sv) => sv.storePid !== undefined)) {
        const got = await sideBySide(plain, edge, sideBySideSize);
        sideBySideRatios.set(edge.name, [...(sideBySideRatios.get(edge.name) ?? []), got]);
        console.error(`  side by side: ${edge.name} (pid ${edge.pid}) at ${(got.rps * 100).toFixed(1)}% of the plain server's req/s, ${(got.cpu * 100).toFixed(1)}% by CPU`);
      }
    }
    await node.stop();
  }
  for (const [c, combo] of combos.entries()) {
    const { size, connections, rate } = combo;
    for (const got of samples[c].values()) for (const g of got) if (g.lateP99 !== undefined) lateness.push({ p50: g.lateP50 ?? 0, p99: g.lateP99 });
    const plain = samples[c].get(PLAIN) ?? [];
    const plainSame = samples[c].get(SAME_HEADERS) ?? [];
    for (const server of servers) {
      const got = samples[c].get(server.name) ?? [];
      const ratio = median(got.map((g, i) => g.rps / plain[i].rps));
      const ratioSame = median(got.map((g, i) => g.rps / plainSame[i].rps));
      // What each would serve with a core to itself (the edge sharing it with its store), whatever the generator does.
      const cpuRatio = median(got.map((g, i) => plain[i].cpuUs / (g.cpuUs + g.storeCpuUs)));
      const cpu = median(got.map((g) => g.cpuUs));
      const storeCpu = median(got.map((g) => g.storeCpuUs));
      lines.push(
        `| ${server.name} | ${size.name} | ${connections} | ${rate ? rate.toLocaleString("en-US") : "as fast as it answers"} | ` +
          `${Math.round(median(got.map((g) => g.rps))).toLocaleString("en-US")} | ${rate ? "—" : `${Math.round(ratio * 100)}%`} | ` +
          `${rate ? "—" : `${Math.round(ratioSame * 100)}%`} | ` +
          `${ms(median(got.map((g) => g.p50)))} | ${ms(median(got.map((g) => g.p99)))} | ` +
          `${Math.round(cpu)}${server.storePid ? ` + ${Math.round(storeCpu)}` : ""} | ${Math.round(cpuRatio * 100)}% | ` +
          `${Math.round(median(got.map((g) => g.loaderCore)) * 100)}% | ` +
          `${Math.round(median(got.map((g) => g.mbps)))} | ${got.reduce((n, g) => n + g.errors, 0)} |`,
      );
    }
  }

  console.log(
    `\n${ROUNDS} rounds of ${DURATION} s per server (after 2 s of warm-up; the Node servers started afresh for each round), medians; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ` +
      `${PIN ? `server (and the store) on core 0, the load generators (${WRK ? "wrk" : "autocannon"}; at a fixed rate, tests/bench/open-loop.ts) on core 1` : "not pinned"}, Node ${process.version}\n`,
  );
  console.log("| server | asset | connections | offered req/s | req/s | vs plain | vs plain, the edge's headers | p50 ms | p99 ms | CPU µs/req (+ store) | vs plain by CPU | load generator's core | MB/s | errors |");
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const line of lines) console.log(line);
  if (sideBySideSize && sideBySideRatios.size) {
    console.log(
      `\nSide by side: the plain server and an edge loaded at the same time ${PIN ? "on core 0" : "(not pinned)"} for ${DURATION} s, ` +
        `${SIDE_BY_SIDE_CONNECTIONS} connections each (${sideBySideSize.name} hits), once per round. Each gets half the core, so the edge's ` +
        `req/s over the plain server's is the plain server's CPU per request over the edge's, whatever the VM does in those ` +
        `seconds; "by CPU" counts the store's CPU as the edge's (the store and the database thread run at a lower priority ` +
        `and take their share from both):\n`,
    );
    console.log("| server | req/s vs plain: median | lowest | highest | by CPU: median | lowest | highest |");
    console.log("|---|---:|---:|---:|---:|---:|---:|");
    const pct = (n: number) => `${(n * 100).toFixed(1)}%`;
    const spread = (xs: number[]) => `${pct(median(xs))} | ${pct(Math.min(...xs))} | ${pct(Math.max(...xs))}`;
    for (const [name, got] of sideBySideRatios) console.log(`| ${name} | ${spread(got.map((g) => g.rps))} | ${spread(got.map((g) => g.cpu))} |`);
  }
  if (lateness.length) {
    console.log(
      `\nAt a fixed rate the generator sent requests ${ms(median(lateness.map((l) => l.p50)))} ms (median) and ` +
        `${ms(median(lateness.map((l) => l.p99)))} ms (p99) after they were due, medians over its runs; not counted in the latency.`,
    );
  }
  origin.close();
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    // SIGTERM: nginx's master stops its workers (SIGKILL would orphan them).
    for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  });
