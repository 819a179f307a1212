// The wire protocol seen from a raw socket: handshake opcodes, document sequences, moreToCome, and bad frames that
// close only the connection that sent them.
import net from "node:net";
import { BSON } from "bson";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningStore, start } from "../src/index";
import { onRealMongo } from "./harness";

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

let store: RunningStore;
const logs: string[] = [];

beforeAll(async () => {
  store = await start({ log: (l) => logs.push(l) });
});
afterAll(async () => {
  await store.stop();
});

function header(length: number, requestId: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(0, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

function opMsg(requestId: number, body: object, opts: { flags?: number; sequence?: [string, object[]] } = {}): Buffer {
  const parts: Buffer[] = [];
  const flags = Buffer.alloc(4);
  flags.writeUInt32LE(opts.flags ?? 0, 0);
  parts.push(flags, Buffer.from([0]), Buffer.from(BSON.serialize(body)));
  if (opts.sequence) {
    const [id, docs] = opts.sequence;
    const payload = Buffer.concat([Buffer.from(`${id}\0`), ...docs.map((d) => Buffer.from(BSON.serialize(d)))]);
    const size = Buffer.alloc(4);
    size.writeInt32LE(payload.length + 4, 0);
    parts.push(Buffer.from([1]), size, payload);
  }
  const rest = Buffer.concat(parts);
  return Buffer.concat([header(16 + rest.length, requestId, OP_MSG), rest]);
}

function opQuery(requestId: number, ns: string, query: object): Buffer {
  const rest = Buffer.concat([
    Buffer.alloc(4),
    Buffer.from(`${ns}\0`),
    Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
    Buffer.from(BSON.serialize(query)),
  ]);
  return Buffer.concat([header(16 + rest.length, requestId, OP_QUERY), rest]);
}

/** A raw connection that collects whole replies. */
class RawClient {
  readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  private waiters: Array<(frame: Buffer) => void> = [];
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.on("data", (chunk) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      while (this.buf.length >= 4 && this.buf.length >= this.buf.readInt32LE(0)) {
        const len = this.buf.readInt32LE(0);
        const frame = this.buf.subarray(0, len);
        this.buf = this.buf.subarray(len);
        this.waiters.shift()?.(frame);
      }
    });
    this.socket.on("error", () => {});
    this.closed = new Promise((resolve) => this.socket.on("close", () => resolve()));
  }

  ready(): Promise<void> {
    return new Promise((resolve) => this.socket.once("connect", () => resolve()));
  }

  reply(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no reply")), 2000);
      this.waiters.push((f) => {
        clearTimeout(t);
        resolve(f);
      });
    });
  }

  send(frame: Buffer): void {
    this.socket.write(frame);
  }
}

function msgBody(frame: Buffer): { responseTo: number; opCode: number; body: Record<string, unknown> } {
  const opCode = frame.readInt32LE(12);
  const offset = opCode === OP_MSG ? 21 : 36;
  return { responseTo: frame.readInt32LE(8), opCode, body: BSON.deserialize(frame.subarray(offset)) };
}

describe.skipIf(onRealMongo)("wire protocol", () => {
  it("answers a legacy OP_QUERY isMaster on admin.$cmd with OP_REPLY and no topologyVersion", async () => {
    const c = new RawClient(store.port);
    await c.ready();
    c.send(opQuery(7, "admin.$cmd", { isMaster: 1, helloOk: true, client: { driver: { name: "raw" } } }));
    const { responseTo, opCode, body } = msgBody(await c.reply());
    expect(opCode).toBe(OP_REPLY);
    expect(responseTo).toBe(7);
    expect(body).toMatchObject({
      ismaster: true,
      helloOk: true,
      maxWireVersion: 21,
      minWireVersion: 0,
      maxBsonObjectSize: 16777216,
      maxMessageSizeBytes: 48000000,
      maxWriteBatchSize: 100000,
      logicalSessionTimeoutMinutes: 30,
      ok: 1,
    });
    expect(body.localTime).toBeInstanceOf(Date);
    expect(body.connectionId).toBeTypeOf("number");
    expect(body).not.toHaveProperty("topologyVersion");
    c.socket.destroy();
  });

  it("refuses OP_QUERY for anything but the handshake, as MongoDB 6+ does", async () => {
    const c = new RawClient(store.port);
    await c.ready();
    c.send(opQuery(8, "app.things", { a: 1 }));
    const { body } = msgBody(await c.reply());
    expect(body).toMatchObject({ ok: 0, code: 352, codeName: "UnsupportedOpQueryCommand" });
    c.socket.destroy();
  });

  it("reads OP_MSG document sequences, honours moreToCome, and keeps replies in order", async () => {
    const c = new RawClient(store.port);
    await c.ready();
    c.send(opMsg(1, { insert: "seq", $db: "raw" }, { sequence: ["documents", [{ _id: 1 }, { _id: 2 }]] }));
    expect(msgBody(await c.reply())).toMatchObject({ responseTo: 1, opCode: OP_MSG, body: { n: 2, ok: 1 } });
    // moreToCome: the server runs the write and sends nothing back.
    c.send(opMsg(2, { insert: "seq", $db: "raw", writeConcern: { w: 0 } }, { flags: 2, sequence: ["documents", [{ _id: 3 }]] }));
    c.send(opMsg(3, { count: "seq", $db: "raw" }));
    expect(msgBody(await c.reply())).toMatchObject({ responseTo: 3, body: { n: 3, ok: 1 } });
    c.socket.destroy();
  });

  it.each([
    ["garbage bytes", Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), /message length .* outside/],
    ["a length over maxMessageSizeBytes", header(100_000_000, 1, OP_MSG), /message length 100000000 is outside/],
    ["an unknown opcode", Buffer.concat([header(20, 1, 9999), Buffer.alloc(4)]), /unsupported opCode 9999/],
    ["an OP_MSG with an unknown section kind", (() => {
      const m = opMsg(1, { ping: 1, $db: "admin" });
      m[20] = 7;
      return m;
    })(), /unknown OP_MSG section kind 7/],
    ["an OP_MSG whose BSON is corrupt", (() => {
      const m = opMsg(1, { ping: 1, $db: "admin" });
      m.writeInt32LE(9999, 21);
      return m;
    })(), /does not fit the message/],
  ])("closes the connection on %s, logs why, and keeps serving everyone else", async (_label, bytes, reason) => {
    const client = new MongoClient(`${store.uri}/other`);
    await client.connect();
    const before = logs.length;
    const c = new RawClient(store.port);
    await c.ready();
    c.send(bytes);
    await c.closed;
    expect(logs.slice(before).some((l) => reason.test(l))).toBe(true);
    expect(await client.db("other").command({ ping: 1 })).toEqual({ ok: 1 });
    await client.close();
  });

  it("logs a truncated frame when the peer gives up mid-message", async () => {
    const before = logs.length;
    const c = new RawClient(store.port);
    await c.ready();
    const m = opMsg(1, { ping: 1, $db: "admin" });
    c.socket.end(m.subarray(0, m.length - 5));
    await c.closed;
    expect(logs.slice(before).some((l) => /truncated message/.test(l))).toBe(true);
  });
});
