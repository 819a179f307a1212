// `npm run bench:api`: the built app on the embedded store, 50 tenants, request logs seeded through the ingest
// endpoint; autocannon measures the constant GET /api (baseline), tenant reads, logs and 30-day analytics, first
// with 10,000 and then with 100,000 request logs. A script, not a test: it prints a table for the README.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";

const root = path.resolve(import.meta.dirname, "../..");
const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const TENANTS = 50;
const INGEST_KEY = "bench-ingest-key-0123456789";
const DAY = 86_400_000;
const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function run(cmd: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; output: string }> {
  const child = spawn(process.execPath, cmd, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve({ child, output: m[0] });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => reject(new Error(`${cmd.join(" ")} exited (${code}):\n${out}`)));
  });
}

async function main(): Promise<void> {
  console.error("building…");
  const build = spawnSync(process.execPath, ["node_modules/@remix-run/dev/dist/cli.js", "build"], { cwd: root, stdio: "ignore" });
  if (build.status !== 0) throw new Error("the build failed");

  const { output: storeLine } = await run(
    ["--import", "tsx", "embedded-mongo/src/cli.ts", "--port", "0", "--inMemory"],
    {},
    /mongodb:\/\/127\.0\.0\.1:\d+/,
  );
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cms-edge-bench-"));
  await run(
    ["node_modules/@remix-run/serve/dist/cli.js", "build/index.js"],
    { NODE_ENV: "production", PORT: String(port), HOST: "127.0.0.1", MONGODB_URI: `${storeLine}/bench`, DATA_DIR: dataDir, INGEST_KEY },
    /\[remix-serve\]/,
  );
  const base = `http://127.0.0.1:${port}`;

  const signIn = await fetch(`${base}/sign-in`, { method: "POST", body: new URLSearchParams({ userId: "bench", plan: "pro" }), redirect: "manual" });
  const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0];
  const slugs = Array.from({ length: TENANTS }, (_, i) => `bench-${String(i).padStart(2, "0")}`);
  for (const slug of slugs) {
    const res = await fetch(`${base}/api/tenants`, {
      method: "POST",
      headers: { Cookie: cookie, "Content-Type": "application/json" },
      body: JSON.stringify({ slug, cms: "cloudinary", cloudName: "demo" }),
    });
    if (res.status !== 201) throw new Error(`create ${slug}: ${res.status}`);
  }

  let seeded = 0;
  const seedTo = async (total: number) => {
    const now = Date.now();
    while (seeded < total) {
      const events = Array.from({ length: Math.min(1000, total - seeded) }, (_, i) => {
        const n = seeded + i;
        return {
          tenant: slugs[n % TENANTS],
          timestamp: new Date(now - ((n * 7919) % (29 * DAY)) - 60_000).toISOString(),
          method: "GET",
          path: n % 5 === 0 ? `/~api/entries/${n % 40}` : `/image/upload/v1/${n % 200}.jpg`,
          status: n % 50 === 0 ? 404 : 200,
          bytes: 1000 + (n % 5000),
          cacheStatus: ["HIT", "HIT", "HIT", "MISS", "BYPASS"][n % 5],
          kind: n % 5 === 0 ? "api" : "asset",
          durationMs: 5 + (n % 40),
        };
      });
      const res = await fetch(`${base}/api/usage/ingest`, {
        method: "POST",
        headers: { "X-Ingest-Key": INGEST_KEY, "Content-Type": "application/json" },
        body: JSON.stringify({ events }),
      });
      const body = (await res.json()) as { accepted: number };
      if (res.status !== 200 || body.accepted !== events.length) throw new Error(`ingest: ${res.status} ${JSON.stringify(body)}`);
      seeded += events.length;
    }
  };

  const measure = async (label: string, url: string) => {
    // An unreported second of the same load first, so that every line is measured warm.
    await autocannon({ url: `${base}${url}`, connections: CONNECTIONS, duration: 1, headers: { Cookie: cookie } });
    const result = await autocannon({ url: `${base}${url}`, connections: CONNECTIONS, duration: DURATION, headers: { Cookie: cookie } });
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    return { label, p50: result.latency.p50, p99: result.latency.p99, rps: result.requests.average };
  };

  const slug = slugs[7];
  const rows: Array<{ logs: string; label: string; p50: number; p99: number; rps: number; ratio: string }> = [];
  for (const total of [10_000, 100_000]) {
    console.error(`seeding ${total.toLocaleString("en")} request logs…`);
    await seedTo(total);
    const logs = total.toLocaleString("en");
    for (const [label, url] of [
      ["GET /api/tenants", "/api/tenants"],
      ["GET /api/tenants/{slug}", `/api/tenants/${slug}`],
      ["GET /api/tenants/{slug}/logs", `/api/tenants/${slug}/logs`],
      ["GET /api/tenants/{slug}/analytics?period=30d", `/api/tenants/${slug}/analytics?period=30d`],
    ] as const) {
      // The baseline right before each line: this machine's speed drifts, a ratio to a distant baseline would not mean much.
      console.error(`measuring ${label} (${logs} logs)…`);
      const baseline = await measure("GET /api (constant baseline)", "/api");
      const row = await measure(label, url);
      rows.push({ logs, ...baseline, ratio: "1.00×" });
      rows.push({ logs, ...row, ratio: `${(row.p50 / baseline.p50).toFixed(2)}×` });
    }
  }

  console.log(`\nAPI bench — ${TENANTS} tenants, autocannon ${CONNECTIONS} connections × ${DURATION} s per line, Node ${process.version}, ${os.cpus().length} cores\n`);
  console.log("| request logs | endpoint | p50 | p99 | req/s | p50 vs the baseline before it |");
  console.log("|---:|---|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(`| ${r.logs} | ${r.label} | ${r.p50} ms | ${r.p99} ms | ${Math.round(r.rps).toLocaleString("en")} | ${r.ratio} |`);
  }
}

try {
  await main();
} finally {
  for (const c of children) c.kill("SIGKILL");
}
