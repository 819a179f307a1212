// Order-preserving string encoding of BSON values ("key strings"): the one comparison used by indexes, sorts,
// $min/$max and uniqueness, so that an index scan and an in-memory sort always agree.
//
// Every encoded value is prefix-free and uses only UTF-16 units in [0x0001, 0xFFFE]: 0x0001 terminates
// variable-length parts, 0xFFFF never occurs and serves as an upper sentinel for range scans, and a descending
// field is the unit-wise complement (0xFFFF - u), which keeps the same alphabet and reverses the order.

/** Canonical BSON comparison order (MongoDB's "comparison/sort order"), one tag per type bracket. */
export const TypeTag = {
  MinKey: 0x10,
  Null: 0x14, // null, undefined and missing compare equal
  Number: 0x18,
  String: 0x1c,
  Object: 0x20,
  Array: 0x24,
  Binary: 0x28,
  ObjectId: 0x2c,
  Boolean: 0x30,
  Date: 0x34,
  Timestamp: 0x38,
  RegExp: 0x3c,
  MaxKey: 0x40,
} as const;

export const TERMINATOR = "\u0001";
/** Greater than every unit an encoding can contain. */
export const HIGH = "\uffff";

const BYTE_BASE = 0x100;
const byteUnits: string[] = Array.from({ length: 256 }, (_, b) => String.fromCharCode(BYTE_BASE + b));
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

type BsonLike = { _bsontype?: string };

/** The type bracket a value sorts in. */
export function typeTag(value: unknown): number {
  if (value === null || value === undefined) return TypeTag.Null;
  switch (typeof value) {
    case "number":
    case "bigint":
      return TypeTag.Number;
    case "string":
      return TypeTag.String;
    case "boolean":
      return TypeTag.Boolean;
    case "object":
      break;
    default:
      return TypeTag.Null;
  }
  if (Array.isArray(value)) return TypeTag.Array;
  if (value instanceof Date) return TypeTag.Date;
  if (value instanceof RegExp) return TypeTag.RegExp;
  if (value instanceof Uint8Array) return TypeTag.Binary;
  switch ((value as BsonLike)._bsontype) {
    case "ObjectId":
      return TypeTag.ObjectId;
    case "Long":
    case "Int32":
    case "Double":
    case "Decimal128":
      return TypeTag.Number;
    case "Binary":
      return TypeTag.Binary;
    case "BSONSymbol":
      return TypeTag.String;
    case "Timestamp":
      return TypeTag.Timestamp;
    case "BSONRegExp":
      return TypeTag.RegExp;
    case "MinKey":
      return TypeTag.MinKey;
    case "MaxKey":
      return TypeTag.MaxKey;
    case "Code":
    case "DBRef":
    case undefined:
      return TypeTag.Object;
    default:
      return TypeTag.Object;
  }
}

/** The numeric value of anything in the Number bracket (Long, Decimal128… lose precision beyond a double). */
export function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  const v = value as { _bsontype?: string; toNumber?: () => number; valueOf: () => unknown; toString(): string };
  if (v._bsontype === "Long" && typeof v.toNumber === "function") return v.toNumber();
  if (v._bsontype === "Decimal128") return Number.parseFloat(v.toString());
  return Number(v.valueOf());
}

function encodeDouble(n: number): string {
  if (Number.isNaN(n)) return "\u0002"; // NaN sorts below every number
  f64[0] = n === 0 ? 0 : n; // -0 equals 0
  // Big-endian bytes with the sign bit flipped (positive) or every bit flipped (negative).
  const negative = (f64Bytes[7] & 0x80) !== 0;
  let out = "";
  for (let i = 7; i >= 0; i--) {
    const b = negative ? ~f64Bytes[i] & 0xff : i === 7 ? f64Bytes[i] ^ 0x80 : f64Bytes[i];
    out += byteUnits[b];
  }
  return out;
}

function encodeBytes(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += byteUnits[bytes[i]];
  return out;
}

function encodeUint32(n: number): string {
  return byteUnits[(n >>> 24) & 0xff] + byteUnits[(n >>> 16) & 0xff] + byteUnits[(n >>> 8) & 0xff] + byteUnits[n & 0xff];
}

/** A string: units shifted by 2 (escaping the top four), then the terminator. */
export function encodeString(s: string): string {
  let out = "";
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0xfffc) {
      plain = false;
      break;
    }
  }
  if (plain) {
    // Fast path: shift every unit by 2 via a single pass.
    const codes = new Array<number>(s.length);
    for (let i = 0; i < s.length; i++) codes[i] = s.charCodeAt(i) + 2;
    out = chunkedFromCharCode(codes);
  } else {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      out += c >= 0xfffc ? "\ufffe" + String.fromCharCode(c - 0xfffc + 2) : String.fromCharCode(c + 2);
    }
  }
  return out + TERMINATOR;
}

function chunkedFromCharCode(codes: number[]): string {
  if (codes.length < 4096) return String.fromCharCode(...codes);
  let out = "";
  for (let i = 0; i < codes.length; i += 4096) out += String.fromCharCode(...codes.slice(i, i + 4096));
  return out;
}

function binaryBytes(value: unknown): { bytes: Uint8Array; subtype: number } {
  if (value instanceof Uint8Array) return { bytes: value, subtype: 0 };
  const b = value as { buffer: Uint8Array; sub_type: number; position?: number };
  const bytes = b.position !== undefined ? b.buffer.subarray(0, b.position) : b.buffer;
  return { bytes, subtype: b.sub_type ?? 0 };
}

/** Encodes one value, ascending. */
export function encodeValue(value: unknown): string {
  const tag = typeTag(value);
  const t = String.fromCharCode(tag);
  switch (tag) {
    case TypeTag.Null:
    case TypeTag.MinKey:
    case TypeTag.MaxKey:
      return t;
    case TypeTag.Number:
      return t + encodeDouble(toNumber(value));
    case TypeTag.String:
      return t + encodeString(typeof value === "string" ? value : String((value as { value: unknown }).value));
    case TypeTag.Boolean:
      return t + byteUnits[value ? 1 : 0];
    case TypeTag.Date:
      return t + encodeDouble((value as Date).getTime());
    case TypeTag.ObjectId:
      return t + encodeBytes((value as { id: Uint8Array }).id);
    case TypeTag.Binary: {
      const { bytes, subtype } = binaryBytes(value);
      return t + encodeUint32(bytes.length) + byteUnits[subtype & 0xff] + encodeBytes(bytes);
    }
    case TypeTag.Timestamp: {
      const ts = value as { high: number; low: number };
      return t + encodeUint32(ts.high >>> 0) + encodeUint32(ts.low >>> 0);
    }
    case TypeTag.RegExp: {
      const r = value as { source?: string; flags?: string; pattern?: string; options?: string };
      return t + encodeString(r.pattern ?? r.source ?? "") + encodeString(r.options ?? r.flags ?? "");
    }
    case TypeTag.Array: {
      let out = t;
      for (const el of value as unknown[]) out += encodeValue(el);
      return out + TERMINATOR;
    }
    default: {
      // Embedded document: field by field, type bracket first, then name, then value (as MongoDB compares).
      let out = t;
      const obj = value as Record<string, unknown>;
      for (const k of Object.keys(obj)) {
        const v = obj[k];
        if (v === undefined) continue;
        const enc = encodeValue(v);
        out += enc[0] + encodeString(k) + enc;
      }
      return out + TERMINATOR;
    }
  }
}

/** The complement of an encoding: same alphabet, reversed order. */
export function invert(encoded: string): string {
  const codes = new Array<number>(encoded.length);
  for (let i = 0; i < encoded.length; i++) codes[i] = 0xffff - encoded.charCodeAt(i);
  return chunkedFromCharCode(codes);
}

export function encodeDirected(value: unknown, direction: 1 | -1): string {
  const enc = encodeValue(value);
  return direction === 1 ? enc : invert(enc);
}

/** BSON comparison of two values: negative, zero or positive. */
export function compareValues(a: unknown, b: unknown): number {
  const ea = encodeValue(a);
  const eb = encodeValue(b);
  return ea < eb ? -1 : ea > eb ? 1 : 0;
}

/** BSON equality (1 == 1.0 == Long(1); field order matters in documents, as in MongoDB). */
export function valuesEqual(a: unknown, b: unknown): boolean {
  return encodeValue(a) === encodeValue(b);
}

/** The opening unit of a type bracket, for range bounds (`tag` … `tag + HIGH`). */
export function bracketStart(tag: number): string {
  return String.fromCharCode(tag);
}

/** MongoDB's type name ($type) of a stored value; JS numbers are "int" when they fit 32 bits, as they serialize. */
export function bsonTypeName(v: unknown): string {
  if (v === undefined) return "missing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (v instanceof Date) return "date";
  if (v instanceof RegExp) return "regex";
  if (v instanceof Uint8Array) return "binData";
  switch (typeof v) {
    case "string":
      return "string";
    case "boolean":
      return "bool";
    case "number":
      return Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 ? "int" : "double";
    case "bigint":
      return "long";
    default:
      break;
  }
  const names: Record<string, string> = {
    ObjectId: "objectId",
    Binary: "binData",
    Long: "long",
    Int32: "int",
    Double: "double",
    Decimal128: "decimal",
    Timestamp: "timestamp",
    BSONRegExp: "regex",
    BSONSymbol: "symbol",
    Code: "javascript",
    MinKey: "minKey",
    MaxKey: "maxKey",
    DBRef: "object",
  };
  const t = (v as { _bsontype?: string })._bsontype;
  return t ? (names[t] ?? t.toLowerCase()) : "object";
}
