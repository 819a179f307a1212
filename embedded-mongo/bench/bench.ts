// `npm run bench:db`: round-trip latency (median, p99) of ping and indexed findOne at 1,000 and 100,000
// documents, and insert throughput, through the official driver against the embedded store running in its own
// process (as `npm run db` runs it), so that client and server do not share an event loop.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { MongoClient, ObjectId } from "mongodb";
import { spawnStore } from "../test/process";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3000);

function stats(samples: number[]): { median: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] };
}

const us = (n: number) => `${n.toFixed(0)} µs`;

async function main(): Promise<void> {
  const rows: string[][] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "embedded-mongo-bench-"));
  const store = await spawnStore(["--port", "0", "--inMemory"]);
  const client = new MongoClient(`${store.uri}/bench`, { maxPoolSize: 1 });
  await client.connect();
  const db = client.db("bench");

  // Build both collections first, then interleave every measured operation round by round, so that all of
  // them meet the same machine conditions (CPU frequency, the other process, GC).
  const ops: Array<{ label: string; size: string; run: (i: number) => Promise<unknown> }> = [
    { label: "ping", size: "—", run: () => db.command({ ping: 1 }) },
  ];
  for (const size of [1_000, 100_000]) {
    const coll = db.collection<{ _id: ObjectId; email: string; n: number; pad: string }>(`users_${size}`);
    await coll.createIndex({ email: 1 }, { unique: true });
    const ids: ObjectId[] = [];
    for (let i = 0; i < size; i += 10_000) {
      const batch = Array.from({ length: Math.min(10_000, size - i) }, (_, j) => {
        const _id = new ObjectId();
        ids.push(_id);
        return { _id, email: `user${i + j}@example.com`, n: i + j, pad: "x".repeat(100) };
      });
      await coll.insertMany(batch);
    }
    const label = size.toLocaleString("en");
    ops.push({ label: "findOne by _id", size: label, run: (i) => coll.findOne({ _id: ids[(i * 7919) % size] }) });
    ops.push({ label: "findOne by unique field", size: label, run: (i) => coll.findOne({ email: `user${(i * 7919) % size}@example.com` }) });
  }
  const samples = ops.map(() => [] as number[]);
  for (let round = -500; round < ROUNDS; round++) {
    for (let k = 0; k < ops.length; k++) {
      const t = performance.now();
      await ops[k].run(Math.abs(round));
      if (round >= 0) samples[k].push((performance.now() - t) * 1000);
    }
  }
  const ping = stats(samples[0]);
  ops.forEach((op, k) => {
    const st = stats(samples[k]);
    rows.push([op.label, op.size, us(st.median), us(st.p99), `${(st.median / ping.median).toFixed(2)}×`]);
  });
  await client.close();
  store.child.kill("SIGTERM");
  await store.exited;

  // Insert throughput, in memory and on disk (journal written before every acknowledgement).
  const throughput: string[][] = [];
  for (const mode of ["in memory", "on disk"] as const) {
    const s = await spawnStore(["--port", "0", ...(mode === "on disk" ? ["--dbpath", dir] : ["--inMemory"])]);
    const c = new MongoClient(`${s.uri}/bench`, { maxPoolSize: 1 });
    await c.connect();
    const coll = c.db("bench").collection("events");
    // Warm both processes up (JIT) before measuring.
    for (let i = 0; i < 3_000; i++) await coll.insertOne({ i, kind: "warm-up", pad: "y".repeat(100) });
    for (let b = 0; b < 5; b++) await coll.insertMany(Array.from({ length: 1000 }, (_, i) => ({ i, b, kind: "warm-up" })));
    const singles = 5_000;
    let t = performance.now();
    for (let i = 0; i < singles; i++) await coll.insertOne({ i, kind: "single", pad: "y".repeat(100) });
    const singleRate = singles / ((performance.now() - t) / 1000);
    const batches = 50;
    t = performance.now();
    for (let b = 0; b < batches; b++) {
      await coll.insertMany(Array.from({ length: 1000 }, (_, i) => ({ i, b, kind: "many", pad: "y".repeat(100) })));
    }
    const manyRate = (batches * 1000) / ((performance.now() - t) / 1000);
    throughput.push([mode, `${Math.round(singleRate).toLocaleString("en")} docs/s`, `${Math.round(manyRate).toLocaleString("en")} docs/s`]);
    await c.close();
    s.child.kill("SIGTERM");
    await s.exited;
  }
  fs.rmSync(dir, { recursive: true, force: true });

  console.log(`embedded-mongo bench — ${ROUNDS} round trips per line, one driver connection, Node ${process.version}, ${os.cpus().length} cores\n`);
  console.log("| operation | documents | median | p99 | median vs ping |");
  console.log("|---|---:|---:|---:|---:|");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  console.log("\n| insert throughput | insertOne (one by one) | insertMany (batches of 1,000) |");
  console.log("|---|---:|---:|");
  for (const r of throughput) console.log(`| ${r.join(" | ")} |`);
}

await main();
