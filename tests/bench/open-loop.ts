// The fixed-rate load of `npm run bench:edge`, run as its own process on the load generator's core:
//   node --import tsx tests/bench/open-loop.ts <base URL> <path> <Host header> <rate> <seconds> <connections>
// prints `warm` once warmed up, waits for a line on stdin, then loads and prints one JSON line:
// { requests, rps, p50, p99, mbps, errors, lateP50, lateP99, loaderCpuSeconds }.
//
// Open loop: each request leaves when it is due whether or not earlier ones were answered, waiting for a free
// keep-alive connection if all are busy. The generator has a core of its own and polls its clock between rounds of
// its event loop (setImmediate) rather than on a 1-ms timer: a timer sent requests in bunches of rate/1000 or more,
// which the server then answered one after another, so the last of a bunch measured the others' service time too
// (the edge's median at 5,000 req/s read 0.3–0.6 ms with a timer, 0.06–0.08 ms paced this way). A request's latency
// runs from the moment it was sent (time waiting for a connection included) to the last byte of its body. How late
// the generator itself sent requests (its own pauses, the VM's) is reported apart, as lateP50 and lateP99, and not
// counted in the latency.
// It speaks HTTP/1.1 over raw sockets: a request is one prebuilt write and an answer is read by its Content-Length,
// so the generator allocates little and its own pauses stay out of the numbers (an undici or node:http client here
// spent enough per request, and collected enough garbage, to put its own stalls into the servers' p99).
// One second of the same load is sent first and not counted (connections opened, code compiled). A request not
// answered 10 s after the load's end counts as an error; so does every request of a run no connection can be opened
// for.
import net from "node:net";

interface Conn {
  socket: net.Socket;
  /** When the request in flight was sent; -1 when idle. */
  sentAt: number;
  /** Body bytes still to come; -1 while the head is being read. */
  remaining: number;
  head: Buffer | null;
  /** The server said it closes the connection after this answer. */
  closing: boolean;
}

interface Result {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  mbps: number;
  errors: number;
  lateP50: number;
  lateP99: number;
}

/** The JSON line this script prints: a run's result and the generator's own CPU seconds during it. */
export type OpenLoopResult = Result & { loaderCpuSeconds: number };

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? Number.NaN;

class OpenLoop {
  private readonly idle: Conn[] = [];
  private readonly queued: number[] = [];
  private latencies: number[] = [];
  private lateness: number[] = [];
  private errors = 0;
  private bytes = 0;
  private finished = 0;
  private onAllFinished: (() => void) | null = null;
  private target = 0;
  /** Connections to open again (closed by the server) and consecutive failures to (re)connect. */
  private missing = 0;
  private failures = 0;
  private reopening = false;

  constructor(
    private readonly port: number,
    private readonly host: string,
    private readonly request: Buffer,
  ) {}

  async connect(count: number): Promise<void> {
    await Promise.all(Array.from({ length: count }, () => this.open()));
  }

  /** Opens a connection; rejects if it cannot be made (a refused or failed connect). */
  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.port, this.host);
      const conn: Conn = { socket, sentAt: -1, remaining: -1, head: null, closing: false };
      let connected = false;
      socket.setNoDelay(true);
      socket.once("connect", () => {
        connected = true;
        this.failures = 0;
        this.release(conn);
        resolve();
      });
      socket.on("data", (chunk: Buffer) => this.read(conn, chunk));
      socket.on("error", (err) => (connected ? undefined : reject(err)));
      socket.on("close", () => {
        if (!connected) return;
        // A connection the server closed: its request (if any) failed; another takes its place.
        if (conn.sentAt >= 0) this.done(false);
        conn.sentAt = -2;
        const at = this.idle.indexOf(conn);
        if (at >= 0) this.idle.splice(at, 1);
        this.missing++;
        this.reopen();
      });
    });
  }

  /** Opens the missing connections one at a time, backing off after failures; gives up after 20 in a row. */
  private reopen(): void {
    if (this.reopening || this.missing === 0) return;
    this.reopening = true;
    const delay = this.failures === 0 ? 0 : Math.min(1_000, 10 * 2 ** this.failures);
    setTimeout(() => {
      this.open().then(
        () => {
          this.missing--;
          this.reopening = false;
          this.reopen();
        },
        () => {
          this.reopening = false;
          if (++this.failures >= 20) this.failAll();
          else this.reopen();
        },
      );
    }, delay);
  }

  /** No connection can be made: what is queued and what is still to be sent fail. */
  private failAll(): void {
    this.missing = 0;
    while (this.finished < this.target) this.done(false);
  }

  /** Sends `rate` requests a second for `seconds`; resolves when every one is answered, failed or timed out. */
  run(rate: number, seconds: number): Promise<Result> {
    const total = Math.round(rate * seconds);
    this.latencies = [];
    this.lateness = [];
    this.errors = 0;
    this.bytes = 0;
    this.finished = 0;
    this.target = total;
    const start = performance.now();
    let sent = 0;
    let stopped = false;
    const all = new Promise<void>((resolve) => (this.onAllFinished = resolve));
    const tick = () => {
      if (stopped) return;
      const now = performance.now();
      // Request i is due at start + i / rate: those due by now are the first floor(elapsed × rate) + 1.
      const due = Math.min(total, Math.floor(((now - start) / 1000) * rate) + 1);
      while (sent < due) {
        this.lateness.push(now - (start + (sent * 1000) / rate));
        sent++;
        this.send(now);
      }
      // (Answers are read between two calls: the event loop polls for I/O, without waiting, at every round.)
      if (sent < total) setImmediate(tick);
    };
    tick();
    // Whatever is not answered 10 s after the last request was due has failed.
    const deadline = setTimeout(() => {
      stopped = true;
      this.queued.length = 0;
      while (this.finished < this.target) this.done(false);
    }, seconds * 1000 + 10_000);
    return all.then(() => {
      clearTimeout(deadline);
      stopped = true;
      const elapsed = (performance.now() - start) / 1000;
      const latencies = this.latencies.sort((a, b) => a - b);
      const lateness = this.lateness.sort((a, b) => a - b);
      return {
        requests: total,
        rps: total / elapsed,
        p50: quantile(latencies, 0.5),
        p99: quantile(latencies, 0.99),
        mbps: this.bytes / elapsed / 1024 / 1024,
        errors: this.errors,
        lateP50: quantile(lateness, 0.5),
        lateP99: quantile(lateness, 0.99),
      };
    });
  }

  private send(at: number): void {
    const conn = this.idle.shift();
    if (!conn) {
      this.queued.push(at);
      return;
    }
    conn.sentAt = at;
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
      conn.closing = /\r\nconnection:[ \t]*close/i.test(head);
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
    // A connection the server closes after this answer takes no other request: its close opens another.
    if (conn.closing) conn.sentAt = -1;
    else this.release(conn);
  }

  private done(ok: boolean): void {
    if (this.finished >= this.target) return;
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
  // Warm: the caller starts its own measurements, then says go (and if it goes away instead, so does this).
  process.stdout.write("warm\n");
  await new Promise<void>((resolve) => {
    const gone = () => process.exit(1);
    process.stdin.once("end", gone);
    process.stdin.once("data", () => {
      process.stdin.off("end", gone);
      resolve();
    });
  });
  const cpu = process.cpuUsage();
  const result = await loop.run(Number(rate), Number(seconds));
  const used = process.cpuUsage(cpu);
  const line: OpenLoopResult = { ...result, loaderCpuSeconds: (used.user + used.system) / 1e6 };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  process.exit(0);
}

await main();
