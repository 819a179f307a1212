// The ordered map behind every index: sorted-btree's B+ tree keyed by key strings.
import * as btreeModule from "sorted-btree";

type BTreeClass = typeof btreeModule.default;
// sorted-btree is CommonJS: Node's ESM loader exposes module.exports as the default, bundlers unwrap it.
const moduleDefault = btreeModule.default as unknown as { default?: BTreeClass };
const BTreeImpl: BTreeClass = moduleDefault.default ?? (btreeModule.default as BTreeClass);

export function createKeyTree(): btreeModule.default<string, string> {
  return new BTreeImpl<string, string>();
}

export type OrderedTree = btreeModule.default<string, string>;
