// Request logs: each (possibly sampled) request the edge served, kept 30 days, read newest first per tenant.
// Stored in buckets — one document holds up to 250 of a tenant's logs from one UTC hour — so that writing a log
// costs the database a share of one insert instead of an insert and three index entries of its own (decision 010).
// A bucket keeps its logs column by column in binary fields (decision 013): for the database a bucket is a handful
// of byte strings, not 250 documents to parse, hold and copy; strings are kept once per bucket, each log naming its
// value by index. The distinct values double as what the database filters buckets on.
import mongoose, { Schema, type Types } from "mongoose";

export const REQUEST_LOG_RETENTION_SECONDS = 30 * 86_400;
/** A bucket holds logs of one tenant from one UTC hour… */
export const REQUEST_LOG_BUCKET_SPAN_MS = 3_600_000;
/** …and at most this many of them (a log's string values are one-byte indexes, so at most 256). */
export const REQUEST_LOG_BUCKET_MAX = 250;

/** A request log as the API shows it (with its id and time as stored). */
export interface RequestLogDoc {
  _id: Types.ObjectId;
  timestamp: Date;
  method: string;
  path: string;
  status: number;
  cacheStatus: "HIT" | "MISS" | "BYPASS" | "ERROR";
  kind: "asset" | "api";
  bytes: number;
  durationMs: number;
}

/** The string fields of a log: kept as a list of the bucket's distinct values and a one-byte index per log. */
const STRING_FIELDS = ["method", "path", "cacheStatus", "kind"] as const;
type StringField = (typeof STRING_FIELDS)[number];
/** Where each string field keeps its distinct values and its per-log indexes. */
const VALUES = { method: "methods", path: "paths", cacheStatus: "cacheStatuses", kind: "kinds" } as const;
const INDEXES = { method: "methodIx", path: "pathIx", cacheStatus: "cacheIx", kind: "kindIx" } as const;

/** Bytes per log of each fixed-width column (all little-endian). */
const WIDTH = { ids: 12, times: 8, statuses: 2, sizes: 8, durations: 8 } as const;

/** A bucket as stored. Binary fields come back from the driver as BSON Binary. */
export interface RequestLogBucketDoc {
  _id: Types.ObjectId;
  tenant: Types.ObjectId;
  /** The oldest and newest timestamp of the bucket's logs. */
  start: Date;
  end: Date;
  count: number;
  /** Per log: its ObjectId's 12 bytes; epoch ms (float64); status (uint16); bytes and duration (float64). */
  ids: Bytes;
  times: Bytes;
  statuses: Bytes;
  sizes: Bytes;
  durations: Bytes;
  /** The distinct statuses, for the database to filter on. */
  statusValues: number[];
  methods: string[];
  paths: string[];
  cacheStatuses: string[];
  kinds: string[];
  methodIx: Bytes;
  pathIx: Bytes;
  cacheIx: Bytes;
  kindIx: Bytes;
}

/** A byte string as written (a Buffer) or as read back (BSON Binary). */
type Bytes = Uint8Array | { value(): Uint8Array };

function bufferOf(b: Bytes): Buffer {
  const bytes = b instanceof Uint8Array ? b : b.value();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A string field's distinct values in a bucket being built, and each log's index into them. */
class Dictionary {
  readonly values = new Map<string, number>();
  readonly at: Buffer;
  // Consecutive logs mostly share their values: the last one is kept at hand.
  private last: string | undefined;
  private lastIx = 0;

  constructor(capacity: number) {
    this.at = Buffer.alloc(capacity);
  }

  put(k: number, value: string): void {
    if (value !== this.last) {
      let ix = this.values.get(value);
      if (ix === undefined) this.values.set(value, (ix = this.values.size));
      this.last = value;
      this.lastIx = ix;
    }
    this.at[k] = this.lastIx;
  }
}

/**
 * Builds one bucket's document, a log at a time. The capacity is the number of logs it will hold (the columns are
 * allocated once); `done` returns the document.
 */
export class RequestLogBucketBuilder {
  private n = 0;
  private start = Infinity;
  private end = -Infinity;
  private readonly ids: Buffer;
  private readonly times: Buffer;
  private readonly statuses: Buffer;
  private readonly sizes: Buffer;
  private readonly durations: Buffer;
  private readonly statusValues = new Set<number>();
  private readonly methods: Dictionary;
  private readonly paths: Dictionary;
  private readonly cacheStatuses: Dictionary;
  private readonly kinds: Dictionary;

  constructor(
    private readonly capacity: number,
    private readonly tenant: Types.ObjectId,
  ) {
    if (capacity < 1 || capacity > REQUEST_LOG_BUCKET_MAX) throw new RangeError(`a bucket holds 1 to ${REQUEST_LOG_BUCKET_MAX} logs`);
    this.ids = Buffer.alloc(capacity * WIDTH.ids);
    this.times = Buffer.alloc(capacity * WIDTH.times);
    this.statuses = Buffer.alloc(capacity * WIDTH.statuses);
    this.sizes = Buffer.alloc(capacity * WIDTH.sizes);
    this.durations = Buffer.alloc(capacity * WIDTH.durations);
    this.methods = new Dictionary(capacity);
    this.paths = new Dictionary(capacity);
    this.cacheStatuses = new Dictionary(capacity);
    this.kinds = new Dictionary(capacity);
  }

  /** Adds a log: its id is the 12 bytes of `id` from `idOffset`. */
  add(id: Uint8Array, idOffset: number, log: Omit<RequestLogDoc, "_id" | "timestamp">, time: number): void {
    const k = this.n;
    if (k === this.capacity) throw new RangeError("the bucket is full");
    // Byte by byte: a subarray per log would cost more than the copy.
    const ids = this.ids;
    for (let b = 0, to = k * WIDTH.ids; b < WIDTH.ids; b++) ids[to + b] = id[idOffset + b];
    this.times.writeDoubleLE(time, k * WIDTH.times);
    this.statuses.writeUInt16LE(log.status, k * WIDTH.statuses);
    this.sizes.writeDoubleLE(log.bytes, k * WIDTH.sizes);
    this.durations.writeDoubleLE(log.durationMs, k * WIDTH.durations);
    this.statusValues.add(log.status);
    this.methods.put(k, log.method);
    this.paths.put(k, log.path);
    this.cacheStatuses.put(k, log.cacheStatus);
    this.kinds.put(k, log.kind);
    if (time < this.start) this.start = time;
    if (time > this.end) this.end = time;
    this.n = k + 1;
  }

  /** The bucket, named by its first log's id. */
  done(): RequestLogBucketDoc & { _id: Types.ObjectId } {
    if (this.n !== this.capacity) throw new RangeError(`the bucket holds ${this.n} of its ${this.capacity} logs`);
    return {
      _id: new mongoose.Types.ObjectId(Buffer.from(this.ids.subarray(0, WIDTH.ids))),
      tenant: this.tenant,
      start: new Date(this.start),
      end: new Date(this.end),
      count: this.n,
      ids: this.ids,
      times: this.times,
      statuses: this.statuses,
      sizes: this.sizes,
      durations: this.durations,
      statusValues: [...this.statusValues],
      methods: [...this.methods.values.keys()],
      paths: [...this.paths.values.keys()],
      cacheStatuses: [...this.cacheStatuses.values.keys()],
      kinds: [...this.kinds.values.keys()],
      methodIx: this.methods.at,
      pathIx: this.paths.at,
      cacheIx: this.cacheStatuses.at,
      kindIx: this.kinds.at,
    };
  }
}

/** Reads a stored bucket's logs by position, without making objects of those a reader does not keep. */
export class RequestLogBucketView {
  readonly length: number;
  private readonly ids: Buffer;
  private readonly times: Buffer;
  private readonly statuses: Buffer;
  private readonly sizes: Buffer;
  private readonly durations: Buffer;
  private readonly strings: Record<StringField, { values: string[]; at: Buffer }>;

  constructor(doc: RequestLogBucketDoc) {
    this.length = doc.count;
    this.ids = bufferOf(doc.ids);
    this.times = bufferOf(doc.times);
    this.statuses = bufferOf(doc.statuses);
    this.sizes = bufferOf(doc.sizes);
    this.durations = bufferOf(doc.durations);
    const wrong = (column: string) => new Error(`request log bucket ${doc._id}: ${column} does not match its ${this.length} logs`);
    for (const [column, width] of Object.entries(WIDTH)) {
      if (this[column as keyof typeof WIDTH].length !== this.length * width) throw wrong(column);
    }
    const strings = {} as Record<StringField, { values: string[]; at: Buffer }>;
    for (const field of STRING_FIELDS) {
      const values = doc[VALUES[field]];
      const at = bufferOf(doc[INDEXES[field]]);
      // Every index names one of the values, so reading a log never meets a missing string.
      if (at.length !== this.length || at.some((ix) => ix >= values.length)) throw wrong(INDEXES[field]);
      strings[field] = { values, at };
    }
    this.strings = strings;
  }

  /** Epoch ms of log i. */
  timeAt(i: number): number {
    return this.times.readDoubleLE(i * WIDTH.times);
  }

  /** The id of log i as 24 hex digits (ordered as the ids are). */
  idHexAt(i: number): string {
    return this.ids.toString("hex", i * WIDTH.ids, (i + 1) * WIDTH.ids);
  }

  statusAt(i: number): number {
    return this.statuses.readUInt16LE(i * WIDTH.statuses);
  }

  stringAt(field: StringField, i: number): string {
    const { values, at } = this.strings[field];
    return values[at[i]];
  }

  /** Log i as an object. */
  logAt(i: number): RequestLogDoc {
    return {
      _id: new mongoose.Types.ObjectId(Buffer.from(this.ids.subarray(i * WIDTH.ids, (i + 1) * WIDTH.ids))),
      timestamp: new Date(this.timeAt(i)),
      method: this.stringAt("method", i),
      path: this.stringAt("path", i),
      status: this.statusAt(i),
      cacheStatus: this.stringAt("cacheStatus", i) as RequestLogDoc["cacheStatus"],
      kind: this.stringAt("kind", i) as RequestLogDoc["kind"],
      bytes: this.sizes.readDoubleLE(i * WIDTH.sizes),
      durationMs: this.durations.readDoubleLE(i * WIDTH.durations),
    };
  }
}

const requestLogBucketSchema = new Schema(
  {
    tenant: { type: Schema.Types.ObjectId, required: true },
    start: { type: Date, required: true },
    end: { type: Date, required: true },
    count: { type: Number, required: true },
    ids: { type: Buffer, required: true },
    times: { type: Buffer, required: true },
    statuses: { type: Buffer, required: true },
    sizes: { type: Buffer, required: true },
    durations: { type: Buffer, required: true },
    statusValues: { type: [Number], required: true },
    methods: { type: [String], required: true },
    paths: { type: [String], required: true },
    cacheStatuses: { type: [String], required: true },
    kinds: { type: [String], required: true },
    methodIx: { type: Buffer, required: true },
    pathIx: { type: Buffer, required: true },
    cacheIx: { type: Buffer, required: true },
    kindIx: { type: Buffer, required: true },
  },
  { collection: "request_log_columns", versionKey: false },
);

// Newest buckets first per tenant; a bucket expires once its newest log is 30 days old (older logs in it are hidden
// by the reader until then).
requestLogBucketSchema.index({ tenant: 1, end: -1, _id: -1 });
requestLogBucketSchema.index({ end: 1 }, { expireAfterSeconds: REQUEST_LOG_RETENTION_SECONDS });

const define = () => mongoose.model("RequestLogBucket", requestLogBucketSchema);
export const RequestLogBucket = (mongoose.models.RequestLogBucket as ReturnType<typeof define> | undefined) ?? define();
