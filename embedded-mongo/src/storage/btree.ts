// The ordered map behind every index: sorted-btree's B+ tree keyed by key strings.
import * as btreeModule from "sorted-btree";

type BTreeClass = typeof btreeModule.default;
// sorted-btree is CommonJS: Node's ESM loader exposes module.exports as the default, bundlers unwrap it.
const moduleDefault = btreeModule.default as unknown as { default?: BTreeClass };
const BTreeImpl: BTreeClass = moduleDefault.default ?? (btreeModule.default as BTreeClass);

/** Key strings compare by UTF-16 unit, which is what `<` does (the library's default comparator checks types first). */
const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function createKeyTree(): btreeModule.default<string, string> {
  return new BTreeImpl<string, string>(undefined, compareKeys);
}

export type OrderedTree = btreeModule.default<string, string>;
