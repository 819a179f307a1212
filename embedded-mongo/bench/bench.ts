// `npm run bench:db`: round-trip latency (median, p99) of ping and indexed findOne at 1,000 and 100,000
// documents, and insert throughput, through the official driver against the embedded store.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { MongoClient, ObjectId } from "mongodb";
import { start } from "../src/index";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3000);

function stats(samples: number[]): { median: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] };
}

async function time(rounds: number, fn: (i: number) => Promise<unknown>): Promise<{ median: number; p99: number }> {
  for (let i = 0; i < Math.min(500, rounds); i++) await fn(i); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await fn(i);
    samples.push((performance.now() - t) * 1000);
  }
  return stats(samples);
}

const us = (n: number) => `${n.toFixed(0)} µs`;

async function main(): Promise<void> {
  const rows: string[][] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "embedded-mongo-bench-"));
  const store = await start({ log: () => {} });
  const client = new MongoClient(`${store.uri}/bench`, { maxPoolSize: 1 });
  await client.connect();
  const db = client.db("bench");

  const ping = await time(ROUNDS, () => db.command({ ping: 1 }));
  rows.push(["ping", "—", us(ping.median), us(ping.p99), "1.00×"]);

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
    const byId = await time(ROUNDS, (i) => coll.findOne({ _id: ids[(i * 7919) % size] }));
    const byEmail = await time(ROUNDS, (i) => coll.findOne({ email: `user${(i * 7919) % size}@example.com` }));
    rows.push(["findOne by _id", size.toLocaleString("en"), us(byId.median), us(byId.p99), `${(byId.median / ping.median).toFixed(2)}×`]);
    rows.push(["findOne by unique field", size.toLocaleString("en"), us(byEmail.median), us(byEmail.p99), `${(byEmail.median / ping.median).toFixed(2)}×`]);
  }
  await client.close();
  await store.stop();

  // Insert throughput, in memory and on disk (journal written before every acknowledgement).
  const throughput: string[][] = [];
  for (const mode of ["in memory", "on disk"] as const) {
    const s = await start({ log: () => {}, dbPath: mode === "on disk" ? dir : undefined });
    const c = new MongoClient(`${s.uri}/bench`, { maxPoolSize: 1 });
    await c.connect();
    const coll = c.db("bench").collection("events");
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
    await s.stop();
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
