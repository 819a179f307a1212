// The MongoDB wire protocol: frame parsing (OP_MSG, legacy OP_QUERY) and reply encoding (OP_MSG, OP_REPLY).
import { BSON, Long } from "./bson";
import type { Doc } from "./storage/paths";

export const OpCode = { REPLY: 1, QUERY: 2004, COMPRESSED: 2012, MSG: 2013 } as const;

export const Limits = {
  maxBsonObjectSize: 16 * 1024 * 1024,
  maxMessageSizeBytes: 48_000_000,
  maxWriteBatchSize: 100_000,
} as const;

/** A command document may exceed the user document limit by this much (as in mongod). */
const COMMAND_OVERHEAD = 16 * 1024;

const MSG_CHECKSUM_PRESENT = 1 << 0;
export const MSG_MORE_TO_COME = 1 << 1;
const MSG_EXHAUST_ALLOWED = 1 << 16;
const MSG_KNOWN_FLAGS = MSG_CHECKSUM_PRESENT | MSG_MORE_TO_COME | MSG_EXHAUST_ALLOWED;

/** A frame that cannot be a valid message: the connection that sent it is closed. */
export class FrameError extends Error {}

export interface Message {
  requestId: number;
  opCode: number;
  /** OP_MSG: the client expects no reply. */
  moreToCome: boolean;
  /** OP_QUERY: the namespace it targets (`<db>.$cmd`). */
  fullCollectionName?: string;
  command: Doc;
}

export const DESERIALIZE_OPTIONS = { promoteLongs: true, promoteValues: true, promoteBuffers: false } as const;

function readDocument(buf: Buffer, offset: number, end: number, what: string): [Doc, number] {
  if (end - offset < 5) throw new FrameError(`truncated ${what}`);
  const size = buf.readInt32LE(offset);
  if (size < 5 || offset + size > end) throw new FrameError(`${what} length ${size} does not fit the message`);
  if (size > Limits.maxBsonObjectSize + COMMAND_OVERHEAD) {
    throw new FrameError(`${what} of ${size} bytes exceeds maxBsonObjectSize`);
  }
  try {
    return [BSON.deserialize(buf.subarray(offset, offset + size), DESERIALIZE_OPTIONS) as Doc, offset + size];
  } catch (err) {
    throw new FrameError(`invalid BSON in ${what}: ${(err as Error).message}`);
  }
}

function readCString(buf: Buffer, offset: number, end: number): [string, number] {
  const zero = buf.indexOf(0, offset);
  if (zero < 0 || zero >= end) throw new FrameError("unterminated string");
  return [buf.toString("utf8", offset, zero), zero + 1];
}

/** Parses a whole frame (header included). */
export function parseMessage(frame: Buffer): Message {
  const requestId = frame.readInt32LE(4);
  const opCode = frame.readInt32LE(12);
  if (opCode === OpCode.MSG) return parseOpMsg(frame, requestId);
  if (opCode === OpCode.QUERY) return parseOpQuery(frame, requestId);
  if (opCode === OpCode.COMPRESSED) throw new FrameError("OP_COMPRESSED received but no compressor was negotiated");
  throw new FrameError(`unsupported opCode ${opCode}`);
}

function parseOpMsg(frame: Buffer, requestId: number): Message {
  if (frame.length < 21) throw new FrameError("OP_MSG too short");
  const flags = frame.readUInt32LE(16);
  if ((flags & 0xffff & ~MSG_KNOWN_FLAGS) !== 0) throw new FrameError(`OP_MSG has unknown required flag bits ${flags}`);
  const end = flags & MSG_CHECKSUM_PRESENT ? frame.length - 4 : frame.length;
  let offset = 20;
  let body: Doc | undefined;
  const sequences: Array<[string, Doc[]]> = [];
  while (offset < end) {
    const kind = frame[offset++];
    if (kind === 0) {
      if (body) throw new FrameError("OP_MSG has more than one body section");
      [body, offset] = readDocument(frame, offset, end, "OP_MSG body");
    } else if (kind === 1) {
      if (end - offset < 4) throw new FrameError("truncated document sequence");
      const size = frame.readInt32LE(offset);
      const seqEnd = offset + size;
      if (size < 5 || seqEnd > end) throw new FrameError(`document sequence length ${size} does not fit the message`);
      const [identifier, afterName] = readCString(frame, offset + 4, seqEnd);
      let p = afterName;
      const docs: Doc[] = [];
      while (p < seqEnd) {
        let doc: Doc;
        [doc, p] = readDocument(frame, p, seqEnd, `document sequence '${identifier}'`);
        docs.push(doc);
      }
      sequences.push([identifier, docs]);
      offset = seqEnd;
    } else {
      throw new FrameError(`unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!body) throw new FrameError("OP_MSG without a body section");
  for (const [identifier, docs] of sequences) {
    if (identifier in body) throw new FrameError(`OP_MSG field '${identifier}' given both in the body and as a sequence`);
    body[identifier] = docs;
  }
  return { requestId, opCode: OpCode.MSG, moreToCome: (flags & MSG_MORE_TO_COME) !== 0, command: body };
}

function parseOpQuery(frame: Buffer, requestId: number): Message {
  const [fullCollectionName, afterName] = readCString(frame, 20, frame.length); // after header + flags
  const offset = afterName + 8; // numberToSkip, numberToReturn
  const [query] = readDocument(frame, offset, frame.length, "OP_QUERY query");
  // Drivers wrap commands sent this way as { $query: {...}, $readPreference: ... } at times.
  const command = "$query" in query && typeof query.$query === "object" ? (query.$query as Doc) : query;
  return { requestId, opCode: OpCode.QUERY, moreToCome: false, fullCollectionName, command };
}

let nextRequestId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.allocUnsafe(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(nextRequestId++ & 0x7fffffff, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

export function encodeOpMsg(responseTo: number, reply: Doc): Buffer {
  // Fields an expression left undefined are absent, as in mongod's replies.
  const body = BSON.serialize(reply, { ignoreUndefined: true });
  const flagsAndKind = Buffer.from([0, 0, 0, 0, 0]);
  return Buffer.concat([header(16 + 5 + body.length, responseTo, OpCode.MSG), flagsAndKind, body]);
}

export function encodeOpReply(responseTo: number, reply: Doc): Buffer {
  const body = BSON.serialize(reply);
  const fields = Buffer.alloc(20);
  fields.writeInt32LE(0, 0); // responseFlags
  const cursorId = Long.ZERO;
  fields.writeInt32LE(cursorId.low, 4);
  fields.writeInt32LE(cursorId.high, 8);
  fields.writeInt32LE(0, 12); // startingFrom
  fields.writeInt32LE(1, 16); // numberReturned
  return Buffer.concat([header(16 + 20 + body.length, responseTo, OpCode.REPLY), fields, body]);
}
