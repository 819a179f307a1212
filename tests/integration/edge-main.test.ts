// The edge process as `npm start` runs it (edge/main.ts), started while its database does not answer: it serves
// from the start, answers 502 until the database is up, then serves the tenant without a restart; SIGTERM stops it.
// And as `npm run dev` runs it (under Node's watch mode): stopping it still writes the usage it holds.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, expect, it } from "vitest";
import { edgeProcessArgs } from "#edge/node-flags.ts";
import { edgeRequest } from "#tests/support/edge-client.ts";
import { IMAGE, startOrigin, type TestOrigin } from "#tests/support/origin.ts";

const root = path.resolve(import.meta.dirname, "../..");
const running: ChildProcess[] = [];
let origin: TestOrigin | undefined;

afterAll(async () => {
  for (const c of running) if (c.exitCode === null) c.kill("SIGKILL");
  await origin?.close();
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `node --import tsx <args>`, or `node <nodeArgs>` when given. */
function start(args: string[], env: Record<string, string>, nodeArgs = ["--import", "tsx", ...args]) {
  const inherited = { ...process.env };
  // The test run's own database address is not the edge's.
  delete inherited.MONGODB_URI;
  const child = spawn(process.execPath, nodeArgs, { cwd: root, env: { ...inherited, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  running.push(child);
  let output = "";
  child.stdout?.on("data", (b: Buffer) => (output += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (output += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** The embedded store in a process of its own on `port`, in memory, once it listens. */
async function startStore(port: number) {
  const store = start(["embedded-mongo/src/cli.ts", "--port", String(port), "--inMemory"], {});
  await expect.poll(store.output, { timeout: 30_000, interval: 100 }).toContain(`mongodb://127.0.0.1:${port}`);
  return store;
}

/** A generic tenant on the test origin's /media. */
const shopTenant = (slug: string) => ({
  slug,
  ownerId: "u1",
  billingSubject: "user:u1",
  cms: "generic",
  originUrl: `${origin?.base}/media`,
  cacheTTL: 3600,
  cacheVersions: { api: 1, assets: 1 },
});

it("exits at once, saying why, when it has no database address at all", async () => {
  const env: Record<string, string> = { NODE_ENV: "production", EDGE_PORT: String(await freePort()), HOST: "127.0.0.1" };
  const edge = start(["edge/main.ts"], env);
  // (Unset, not just empty, in the child.)
  expect(await edge.exited).toBe(1);
  expect(edge.output()).toContain("[edge] MONGODB_URI is not set");
  expect(edge.output()).not.toContain("[edge] serving tenants");
}, 60_000);

it("serves while its database is down, then serves the tenant once the database answers", async () => {
  origin = await startOrigin("tok-main");
  const [edgePort, storePort] = [await freePort(), await freePort()];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cms-edge-main-"));
  const uri = `mongodb://127.0.0.1:${storePort}/edge-main`;
  const edge = start(["edge/main.ts"], {
    NODE_ENV: "production",
    EDGE_PORT: String(edgePort),
    HOST: "127.0.0.1",
    MONGODB_URI: uri,
    ALLOW_PRIVATE_ORIGINS: "1",
    DATA_DIR: dataDir,
  });
  await expect.poll(edge.output, { timeout: 30_000, interval: 100 }).toContain("[edge] serving tenants");
  const host = `shop.localhost:${edgePort}`;
  const down = await edgeRequest(edgePort, host, "/img.png");
  expect([down.status, down.headers["x-cache"], down.text]).toEqual([502, "ERROR", "The edge could not serve this request.\n"]);
  expect(edge.child.exitCode).toBeNull();

  const store = await startStore(storePort);
  try {
    const client = await MongoClient.connect(uri);
    try {
      await client.db().collection("tenants").insertOne(shopTenant("shop"));
    } finally {
      await client.close();
    }
    // Served without a restart once the database answers (the next look-up connects).
    await expect
      .poll(async () => (await edgeRequest(edgePort, host, "/img.png")).status, { timeout: 30_000, interval: 500 })
      .toBe(200);
    const served = await edgeRequest(edgePort, host, "/img.png");
    expect([served.status, served.headers["x-cache"], served.body.equals(IMAGE)]).toEqual([200, "HIT", true]);

    edge.child.kill("SIGTERM");
    expect(await edge.exited).toBe(0);
    expect(edge.output()).toContain("[edge] stopped, usage written");
  } finally {
    store.child.kill("SIGINT");
    await store.exited;
  }
}, 120_000);

it("writes the usage it holds when stopped as `npm run dev` runs it (Node's watch mode waits for it to finish)", async () => {
  origin ??= await startOrigin("tok-main");
  const [edgePort, storePort] = [await freePort(), await freePort()];
  const uri = `mongodb://127.0.0.1:${storePort}/edge-dev`;
  const store = await startStore(storePort);
  try {
    const client = await MongoClient.connect(uri);
    try {
      const { insertedId } = await client.db().collection("tenants").insertOne(shopTenant("devshop"));
      const edge = start([], { NODE_ENV: "development", EDGE_PORT: String(edgePort), HOST: "127.0.0.1", MONGODB_URI: uri, ALLOW_PRIVATE_ORIGINS: "1" }, edgeProcessArgs("edge/main.ts", true));
      await expect.poll(edge.output, { timeout: 30_000, interval: 100 }).toContain("[edge] database connected");
      const host = `devshop.localhost:${edgePort}`;
      const answers = [await edgeRequest(edgePort, host, "/img.png"), await edgeRequest(edgePort, host, "/img.png")];
      expect(answers.map((a) => [a.status, a.headers["x-cache"], a.body.equals(IMAGE)])).toEqual([[200, "MISS", true], [200, "HIT", true]]);
      // At once (before the 2 s write): the watcher passes SIGTERM on and waits while the edge writes what it holds.
      edge.child.kill("SIGTERM");
      await edge.exited;
      expect(edge.output()).toContain("[edge] stopped, usage written");
      const days = await client.db().collection("daily_usage").find({ tenant: insertedId }).toArray();
      expect(days.map((d) => [d.requests, d.bytes])).toEqual([[2, 2 * IMAGE.length]]);
    } finally {
      await client.close();
    }
  } finally {
    store.child.kill("SIGINT");
    await store.exited;
  }
}, 120_000);
