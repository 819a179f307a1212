// The fixed-rate load of `npm run bench:edge`, run as its own process on the load generator's core:
//   node --import tsx tests/bench/open-loop.ts <base URL> <path> <Host header> <rate> <seconds> <connections>
// prints `warm` once warmed up, waits for a line on stdin, then loads and prints one JSON line:
// { requests, rps, p50, p99, mbps, errors, loaderCpuSeconds } (its own CPU time while loading).
//
// Open loop: each request leaves when it is due (a 1-ms pacing timer) whether or not earlier ones were answered,
// waiting for a free keep-alive connection if all are busy; its latency runs from then to the last byte of its body.
// It speaks HTTP/1.1 over raw sockets: a request is one prebuilt write and an answer is read by its Content-Length,
// so the generator allocates little and its own pauses stay out of the numbers (an undici or node:http client here
// spent enough per request, and collected enough garbage, to put its own stalls into the servers' p99).
// One second of the same load is sent first and not counted (connections opened, code compiled).
import net from "node:net";

interface Conn {
  socket: net.Socket;
  /** When the request in flight left; -1 when idle. */
  sentAt: number;
  /** Body bytes still to come; -1 while the head is being read. */
  remaining: number;
  head: Buffer | null;
}

interface Result {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  mbps: number;
  errors: number;
}

class OpenLoop {
  private readonly idle: Conn[] = [];
  private readonly queued: number[] = [];
  private latencies: number[] = [];
  private errors = 0;
  private bytes = 0;
  private finished = 0;
  private onAllFinished: (() => void) | null = null;
  private target = 0;

  constructor(
    private readonly port: number,
    private readonly host: string,
    private readonly request: Buffer,
  ) {}

  async connect(count: number): Promise<void> {
    await Promise.all(Array.from({ length: count }, () => this.open()));
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.port, this.host);
      const conn: Conn = { socket, sentAt: -1, remaining: -1, head: null };
      socket.setNoDelay(true);
      socket.once("connect", () => {
        this.release(conn);
        resolve();
      });
      socket.on("data", (chunk: Buffer) => this.read(conn, chunk));
      socket.on("error", (err) => (conn.sentAt < 0 && socket.connecting ? reject(err) : undefined));
      // A connection the server closed: its request (if any) failed; a new one takes its place.
      socket.on("close", () => {
        if (conn.sentAt >= 0) this.done(false);
        conn.sentAt = -2;
        const at = this.idle.indexOf(conn);
        if (at >= 0) this.idle.splice(at, 1);
        void this.open().catch(() => undefined);
      });
    });
  }

  /** Sends `rate` requests a second for `seconds`; resolves when every one is answered (or failed). */
  run(rate: number, seconds: number): Promise<Result> {
    const total = Math.round(rate * seconds);
    this.latencies = [];
    this.errors = 0;
    this.bytes = 0;
    this.finished = 0;
    this.target = total;
    const start = performance.now();
    let sent = 0;
    const all = new Promise<void>((resolve) => (this.onAllFinished = resolve));
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      while (sent < due) {
        sent++;
        this.send(performance.now());
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
    return all.then(() => {
      const elapsed = (performance.now() - start) / 1000;
      const sorted = this.latencies.sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? Number.NaN;
      return { requests: total, rps: total / elapsed, p50: at(0.5), p99: at(0.99), mbps: this.bytes / elapsed / 1024 / 1024, errors: this.errors };
    });
  }

  private send(due: number): void {
    const conn = this.idle.shift();
    if (!conn) {
      this.queued.push(due);
      return;
    }
    conn.sentAt = due;
    conn.remaining = -1;
    conn.head = null;
    conn.socket.write(this.request);
  }

  /** A connection is free: it takes the oldest queued request, or waits (oldest idle first, so none sits long). */
  private release(conn: Conn): void {
    conn.sentAt = -1;
    this.idle.push(conn);
    const next = this.queued.shift();
    if (next !== undefined) this.send(next);
  }

  private read(conn: Conn, chunk: Buffer): void {
    if (conn.sentAt < 0) return;
    if (conn.remaining < 0) {
      const data = conn.head ? Buffer.concat([conn.head, chunk]) : chunk;
      const end = data.indexOf("\r\n\r\n");
      if (end < 0) {
        conn.head = data;
        return;
      }
      const head = data.subarray(0, end).toString("latin1");
      const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
      if (!length || !head.startsWith("HTTP/1.1 200 ")) {
        // Not a whole answer of known length (an error, a chunked body): counted as an error, the connection dropped.
        conn.socket.destroy();
        return;
      }
      conn.head = null;
      const body = data.length - end - 4;
      conn.remaining = Number(length[1]) - body;
      this.bytes += body;
    } else {
      conn.remaining -= chunk.length;
      this.bytes += chunk.length;
    }
    if (conn.remaining > 0) return;
    this.latencies.push(performance.now() - conn.sentAt);
    this.done(true);
    this.release(conn);
  }

  private done(ok: boolean): void {
    if (!ok) this.errors++;
    if (++this.finished === this.target) this.onAllFinished?.();
  }
}

async function main(): Promise<void> {
  const [base, path, hostHeader, rate, seconds, connections] = process.argv.slice(2);
  const url = new URL(base);
  const loop = new OpenLoop(Number(url.port), url.hostname, Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\n\r\n`, "latin1"));
  await loop.connect(Number(connections));
  await loop.run(Number(rate), 1);
  // Warm: the caller starts its own measurements, then says go.
  process.stdout.write("warm\n");
  await new Promise((resolve) => process.stdin.once("data", resolve));
  const cpu = process.cpuUsage();
  const result = await loop.run(Number(rate), Number(seconds));
  const used = process.cpuUsage(cpu);
  process.stdout.write(`${JSON.stringify({ ...result, loaderCpuSeconds: (used.user + used.system) / 1e6 })}\n`);
  process.exit(0);
}

await main();
