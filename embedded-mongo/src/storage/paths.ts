// Dotted-path access over stored documents, with MongoDB's traversal of arrays, and copy-on-write cloning.

export type Doc = Record<string, unknown>;

/** A plain embedded document (not an array, date, regex, binary or BSON value class). */
export function isDocument(v: unknown): v is Doc {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  if (v instanceof Date || v instanceof RegExp || v instanceof Uint8Array) return false;
  return (v as { _bsontype?: unknown })._bsontype === undefined;
}

/**
 * Every value a dotted path reaches, expanding arrays as a multikey index does: an array at the end yields each
 * element (an empty array yields `undefined`), an array in the middle is walked element by element. A path that
 * reaches nothing yields `[undefined]`.
 */
export function pathValues(doc: Doc, path: string | string[]): unknown[] {
  const parts = typeof path === "string" ? path.split(".") : path;
  const out: unknown[] = [];
  walk(doc, parts, 0, out);
  if (out.length === 0) out.push(undefined);
  return out;
}

function walk(value: unknown, parts: string[], i: number, out: unknown[]): void {
  if (i === parts.length) {
    if (Array.isArray(value)) {
      if (value.length === 0) out.push(undefined);
      else for (const el of value) out.push(el);
    } else {
      out.push(value);
    }
    return;
  }
  const part = parts[i];
  if (Array.isArray(value)) {
    if (/^\d+$/.test(part) && Number(part) < value.length) walk(value[Number(part)], parts, i + 1, out);
    for (const el of value) if (isDocument(el)) walk(el[part], parts, i + 1, out);
    return;
  }
  if (isDocument(value)) {
    walk(value[part], parts, i + 1, out);
    return;
  }
  out.push(undefined);
}

/** The value at a dotted path without array expansion (undefined when missing). */
export function getPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split(".")) {
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(part)) return undefined;
      cur = cur[Number(part)];
    } else if (isDocument(cur)) {
      cur = cur[part];
    } else {
      return undefined;
    }
  }
  return cur;
}

/** Sets a dotted path, creating embedded documents on the way (used to build upsert documents). */
export function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur: Doc = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = cur[parts[i]];
    if (isDocument(next)) {
      cur = next;
    } else {
      const created: Doc = {};
      cur[parts[i]] = created;
      cur = created;
    }
  }
  cur[parts[parts.length - 1]] = value;
}

/** A deep copy of plain documents and arrays; BSON values (immutable) and dates are copied by value or shared. */
export function cloneDeep<T>(value: T): T {
  if (Array.isArray(value)) return value.map(cloneDeep) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (isDocument(value)) {
    const out: Doc = {};
    for (const k of Object.keys(value)) out[k] = cloneDeep(value[k]);
    return out as T;
  }
  return value;
}

/** Freezes plain documents and arrays (not BSON values) so that a stored document can never change in place. */
export function deepFreeze<T>(value: T): T {
  if (Array.isArray(value)) {
    for (const el of value) deepFreeze(el);
    Object.freeze(value);
  } else if (isDocument(value)) {
    for (const k of Object.keys(value)) deepFreeze(value[k]);
    Object.freeze(value);
  } else if (value instanceof Date) {
    Object.freeze(value);
  }
  return value;
}
