// Stored CMS API tokens: AES-256-GCM with a random IV, the tenant's id as associated data, and a keyring for
// rotation (TOKEN_ENCRYPTION_KEY=new,old: the first key encrypts, every key decrypts). Errors name the key id, never
// the token or a key.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { type EncryptedToken, decryptToken, encryptToken, keyIdOf } from "#app/server/crypto.server.ts";
import { env, parseEnv } from "#app/server/env.server.ts";

const TOKEN = `tok_${randomBytes(16).toString("hex")}`;
const TENANT_A = "65f000000000000000000a0a";
const TENANT_B = "65f000000000000000000b0b";
const K1 = randomBytes(32);
const K2 = randomBytes(32);
const K3 = randomBytes(32);

/** Every way a secret could show up in text. */
const formsOf = (secret: Buffer | string) => {
  const b = Buffer.isBuffer(secret) ? secret : Buffer.from(secret);
  return [b.toString("utf8"), b.toString("base64"), b.toString("base64url"), b.toString("hex")].filter((f) => f.length >= 8);
};

/** The error `fn` throws, with everything it would print (message, stack, inspected form). */
function thrownBy(fn: () => unknown): { error: Error; text: string } {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    return { error: error as Error, text: [String(error), (error as Error).stack ?? "", inspect(error, { depth: 5 })].join("\n") };
  }
  throw new Error(`expected a failure, but it succeeded${result === TOKEN ? " and returned the token" : ""}`);
}

function expectNoSecretsIn(text: string, secrets: Array<Buffer | string>) {
  for (const secret of secrets) for (const form of formsOf(secret)) expect(text).not.toContain(form);
}

/** `enc` with one bit of the base64 field `field` flipped (or the bytes replaced by `edit`). */
function tampered(enc: EncryptedToken, field: "iv" | "tag" | "ciphertext", edit?: (b: Buffer) => Buffer): EncryptedToken {
  const bytes = Buffer.from(enc[field], "base64");
  const changed = edit
    ? edit(bytes)
    : (() => {
        const copy = Buffer.from(bytes);
        copy[0] ^= 0x01;
        return copy;
      })();
  return { ...enc, [field]: changed.toString("base64") };
}

describe("encryptToken / decryptToken", () => {
  it("round-trips, keeping only the key id, IV, tag and ciphertext", () => {
    const enc = encryptToken(TOKEN, TENANT_A, [K1]);
    expect(Object.keys(enc).sort()).toEqual(["ciphertext", "iv", "keyId", "tag"]);
    expect(enc.keyId).toBe(keyIdOf(K1));
    expect(enc.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(Buffer.from(enc.iv, "base64")).toHaveLength(12);
    expect(Buffer.from(enc.tag, "base64")).toHaveLength(16);
    expect(Buffer.from(enc.ciphertext, "base64")).toHaveLength(Buffer.byteLength(TOKEN));
    expectNoSecretsIn(JSON.stringify(enc), [TOKEN, K1]);
    expect(decryptToken(enc, TENANT_A, [K1])).toBe(TOKEN);
  });

  it.each([
    ["a 4096-character token", "t".repeat(4096)],
    ["a single character", "x"],
    ["spaces and non-ASCII", "Bearer ünïcödé 🔑 token"],
  ])("round-trips %s", (_what, token) => {
    expect(decryptToken(encryptToken(token, TENANT_A, [K1]), TENANT_A, [K1])).toBe(token);
  });

  it("uses the configured keyring by default", () => {
    const enc = encryptToken(TOKEN, TENANT_A);
    expect(enc.keyId).toBe(keyIdOf(env.tokenEncryptionKeys[0]));
    expect(decryptToken(enc, TENANT_A)).toBe(TOKEN);
  });

  it("uses a fresh IV every time, so equal tokens never give equal ciphertexts", () => {
    const all = Array.from({ length: 20 }, () => encryptToken(TOKEN, TENANT_A, [K1]));
    expect(new Set(all.map((e) => e.iv)).size).toBe(20);
    expect(new Set(all.map((e) => e.ciphertext)).size).toBe(20);
    for (const e of all) expect(decryptToken(e, TENANT_A, [K1])).toBe(TOKEN);
  });

  describe("tampering fails", () => {
    const enc = encryptToken(TOKEN, TENANT_A, [K1]);
    const other = encryptToken(TOKEN, TENANT_A, [K1]);

    it.each([
      ["a bit of the ciphertext", tampered(enc, "ciphertext")],
      ["the ciphertext's last byte", tampered(enc, "ciphertext", (b) => Buffer.concat([b.subarray(0, -1), Buffer.from([b[b.length - 1] ^ 0x80])]))],
      ["a truncated ciphertext", tampered(enc, "ciphertext", (b) => b.subarray(0, -1))],
      ["an extended ciphertext", tampered(enc, "ciphertext", (b) => Buffer.concat([b, Buffer.from([0])]))],
      ["another encryption's ciphertext", { ...enc, ciphertext: other.ciphertext }],
      ["a bit of the tag", tampered(enc, "tag")],
      ["another encryption's tag", { ...enc, tag: other.tag }],
      ["an all-zero tag", tampered(enc, "tag", (b) => Buffer.alloc(b.length))],
      ["a tag truncated to 12 bytes", tampered(enc, "tag", (b) => b.subarray(0, 12))],
      ["a tag truncated to 4 bytes", tampered(enc, "tag", (b) => b.subarray(0, 4))],
      ["an empty tag", { ...enc, tag: "" }],
      ["a bit of the IV", tampered(enc, "iv")],
      ["another encryption's IV", { ...enc, iv: other.iv }],
      ["a longer IV", tampered(enc, "iv", (b) => Buffer.concat([b, Buffer.from([0])]))],
    ])("with %s", (_what, bad) => {
      const { text } = thrownBy(() => decryptToken(bad, TENANT_A, [K1]));
      expectNoSecretsIn(text, [TOKEN, K1]);
    });
  });

  it("binds a ciphertext to its tenant (associated data): A's token does not decrypt as B's", () => {
    const enc = encryptToken(TOKEN, TENANT_A, [K1]);
    const { text } = thrownBy(() => decryptToken(enc, TENANT_B, [K1]));
    expectNoSecretsIn(text, [TOKEN, K1]);
    expect(decryptToken(enc, TENANT_A, [K1])).toBe(TOKEN);
    // And B's own ciphertext is not A's.
    expect(() => decryptToken(encryptToken(TOKEN, TENANT_B, [K1]), TENANT_A, [K1])).toThrow();
  });

  describe("key rotation", () => {
    it("decrypts a token written with K1 under the keyring [K2, K1], and writes new tokens with K2", () => {
      const old = encryptToken(TOKEN, TENANT_A, [K1]);
      expect(old.keyId).toBe(keyIdOf(K1));
      const keyring = [K2, K1];
      expect(decryptToken(old, TENANT_A, keyring)).toBe(TOKEN);
      const fresh = encryptToken(TOKEN, TENANT_A, keyring);
      expect(fresh.keyId).toBe(keyIdOf(K2));
      expect(fresh.keyId).not.toBe(old.keyId);
      expect(decryptToken(fresh, TENANT_A, keyring)).toBe(TOKEN);
      expect(decryptToken(fresh, TENANT_A, [K2])).toBe(TOKEN);
      // The old keyring cannot read what the new key wrote.
      expect(() => decryptToken(fresh, TENANT_A, [K1])).toThrow(keyIdOf(K2));
    });

    it("reads the keyring from TOKEN_ENCRYPTION_KEY=new,old", () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "token-crypto-"));
      const before = parseEnv({ DATA_DIR: dir, TOKEN_ENCRYPTION_KEY: K1.toString("base64") });
      const old = encryptToken(TOKEN, TENANT_A, before.tokenEncryptionKeys);
      const after = parseEnv({ DATA_DIR: dir, TOKEN_ENCRYPTION_KEY: `${K2.toString("base64")}, ${K1.toString("base64")}` });
      expect(after.tokenEncryptionKeys.map(keyIdOf)).toEqual([keyIdOf(K2), keyIdOf(K1)]);
      expect(decryptToken(old, TENANT_A, after.tokenEncryptionKeys)).toBe(TOKEN);
      expect(encryptToken(TOKEN, TENANT_A, after.tokenEncryptionKeys).keyId).toBe(keyIdOf(K2));
    });

    it("names the missing key's id, and never the token or any key, when the keyring lacks the key", () => {
      const enc = encryptToken(TOKEN, TENANT_A, [K1]);
      for (const keyring of [[K3], [K2, K3], []]) {
        const { error, text } = thrownBy(() => decryptToken(enc, TENANT_A, keyring));
        expect(error.message).toContain(keyIdOf(K1));
        expectNoSecretsIn(text, [TOKEN, K1, K2, K3]);
      }
    });
  });
});
