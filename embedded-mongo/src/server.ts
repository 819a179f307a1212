// The TCP server: frames messages off each connection, runs them in order, and closes a connection (only that
// one) when it sends something that cannot be a MongoDB message.
import net from "node:net";
import { CommandError, ErrorCode } from "./errors";
import { CursorManager } from "./commands/cursors";
import type { ServerInfo } from "./commands/context";
import { dispatch } from "./commands/dispatch";
import { Engine } from "./storage/engine";
import type { Doc } from "./storage/paths";
import { FrameError, Limits, OpCode, encodeOpMsg, encodeOpReply, parseMessage } from "./wire";

export interface StartOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Data directory; without one the store keeps everything in memory. */
  dbPath?: string;
  /** Where log lines go (default: stderr). */
  log?: (line: string) => void;
  /** How often the TTL monitor runs (default 60 s, as mongod). */
  ttlMonitorIntervalMs?: number;
  /** Journal size that triggers compaction (default 64 MiB). */
  compactBytes?: number;
  /** Interval between journal fsyncs (default 100 ms). */
  fsyncIntervalMs?: number;
}

export interface RunningStore {
  uri: string;
  port: number;
  host: string;
  engine: Engine;
  /** Closes every connection, flushes the journal and releases the data directory. */
  stop(): Promise<void>;
}

const defaultLog = (line: string) => process.stderr.write(`embedded-mongo: ${line}\n`);

export async function start(opts: StartOptions = {}): Promise<RunningStore> {
  const log = opts.log ?? defaultLog;
  const engine = new Engine({
    dbPath: opts.dbPath,
    log,
    compactBytes: opts.compactBytes,
    fsyncIntervalMs: opts.fsyncIntervalMs,
  });
  const recovered = engine.open();
  if (opts.dbPath) {
    log(`opened ${opts.dbPath}: replayed ${recovered.ops} journal operations${recovered.discardedBytes ? `, discarded ${recovered.discardedBytes} damaged bytes` : ""}`);
  }
  engine.startTtlMonitor(opts.ttlMonitorIntervalMs ?? 60_000);

  const cursors = new CursorManager();
  const info: ServerInfo = {
    startedAt: new Date(),
    host: opts.host ?? "127.0.0.1",
    port: 0,
    connections: { current: 0, totalCreated: 0 },
    opcounters: { insert: 0, query: 0, update: 0, delete: 0, getmore: 0, command: 0 },
  };
  const sockets = new Set<net.Socket>();
  let nextConnectionId = 1;

  const server = net.createServer((socket) => {
    const connectionId = nextConnectionId++;
    sockets.add(socket);
    info.connections.current++;
    info.connections.totalCreated++;
    socket.setNoDelay(true);
    const framer = new Framer((frame) => handleFrame(frame), (reason) => {
      log(`connection ${connectionId} closed: ${reason}`);
      socket.destroy();
    });
    const base = { engine, cursors, server: info, connectionId, legacy: false };

    function handleFrame(frame: Buffer): void {
      const message = parseMessage(frame);
      if (message.opCode === OpCode.QUERY) {
        const target = message.fullCollectionName ?? "";
        const name = Object.keys(message.command)[0] ?? "";
        let reply: Doc;
        if (!target.endsWith(".$cmd") || !["hello", "isMaster", "ismaster"].includes(name)) {
          reply = new CommandError(
            ErrorCode.UnsupportedOpQueryCommand,
            `Unsupported OP_QUERY command: ${name}. The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal`,
          ).toReply();
        } else {
          const cmd = { ...message.command, $db: target.slice(0, -".$cmd".length) };
          reply = dispatch(cmd, { ...base, legacy: true }, log);
        }
        socket.write(encodeOpReply(message.requestId, reply));
        return;
      }
      const reply = dispatch(message.command, base, log);
      if (!message.moreToCome) socket.write(encodeOpMsg(message.requestId, reply));
    }

    socket.on("data", (chunk) => framer.push(chunk));
    socket.on("end", () => {
      if (framer.buffered > 0) log(`connection ${connectionId} closed with a truncated message (${framer.buffered} bytes)`);
      socket.end();
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      sockets.delete(socket);
      info.connections.current--;
    });
  });

  const host = opts.host ?? "127.0.0.1";
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    cursors.close();
    await engine.close();
    throw err;
  }
  const address = server.address() as net.AddressInfo;
  info.port = address.port;
  const uriHost = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;

  let stopping: Promise<void> | undefined;
  return {
    uri: `mongodb://${uriHost}:${address.port}`,
    port: address.port,
    host,
    engine,
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets) s.destroy();
        });
        cursors.close();
        await engine.close();
      })();
      return stopping;
    },
  };
}

/**
 * Cuts a byte stream into whole frames without copying until a frame is complete. A length outside MongoDB's
 * limits, or a frame the handler rejects as malformed, ends the connection through `onBad`.
 */
class Framer {
  private chunks: Buffer[] = [];
  buffered = 0;
  private closed = false;

  constructor(
    private readonly onFrame: (frame: Buffer) => void,
    private readonly onBad: (reason: string) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.closed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (!this.closed && this.buffered >= 4) {
      const length = this.peekLength();
      if (length < 16 || length > Limits.maxMessageSizeBytes) {
        this.fail(`message length ${length} is outside 16..${Limits.maxMessageSizeBytes} (garbage or an oversized message)`);
        return;
      }
      if (this.buffered < length) return;
      const frame = this.take(length);
      try {
        this.onFrame(frame);
      } catch (err) {
        if (err instanceof FrameError || err instanceof RangeError) {
          this.fail(`malformed message: ${err.message}`);
        } else {
          this.fail(`internal error: ${(err as Error).stack ?? String(err)}`);
        }
      }
    }
  }

  private fail(reason: string): void {
    this.closed = true;
    this.chunks = [];
    this.buffered = 0;
    this.onBad(reason);
  }

  private peekLength(): number {
    const first = this.chunks[0];
    if (first.length >= 4) return first.readInt32LE(0);
    const head = Buffer.concat(this.chunks, Math.min(this.buffered, 4));
    return head.readInt32LE(0);
  }

  private take(length: number): Buffer {
    const first = this.chunks[0];
    let frame: Buffer;
    if (first.length >= length) {
      frame = first.subarray(0, length);
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
    } else {
      const all = Buffer.concat(this.chunks, this.buffered);
      frame = all.subarray(0, length);
      this.chunks = all.length > length ? [all.subarray(length)] : [];
    }
    this.buffered -= length;
    return frame;
  }
}
