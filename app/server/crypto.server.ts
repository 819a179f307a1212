// Stored CMS API tokens: AES-256-GCM with a random IV per write, the key's id beside the ciphertext so keys can
// rotate, and the tenant's id as associated data so a ciphertext cannot be moved to another tenant.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { env } from "./env.server.ts";

export interface EncryptedToken {
  keyId: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

export const keyIdOf = (key: Buffer) => createHash("sha256").update(key).digest("hex").slice(0, 16);

export function encryptToken(plain: string, tenantId: string, keys: Buffer[] = env.tokenEncryptionKeys): EncryptedToken {
  const key = keys[0];
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(`api-token:${tenantId}`));
  const ciphertext = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return { keyId: keyIdOf(key), iv: iv.toString("base64"), tag: cipher.getAuthTag().toString("base64"), ciphertext: ciphertext.toString("base64") };
}

/** The token, or an error that names the key id (never the token or the key). */
export function decryptToken(enc: EncryptedToken, tenantId: string, keys: Buffer[] = env.tokenEncryptionKeys): string {
  const key = keys.find((k) => keyIdOf(k) === enc.keyId);
  if (!key) throw new Error(`no encryption key with id ${enc.keyId} is configured (TOKEN_ENCRYPTION_KEY)`);
  const tag = Buffer.from(enc.tag, "base64");
  // A full-length tag only: GCM would otherwise check just the bytes given, and a shortened tag is forgeable.
  if (tag.length !== 16) throw new Error("the token's authentication tag is not 16 bytes");
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(enc.iv, "base64"), { authTagLength: 16 });
  decipher.setAAD(Buffer.from(`api-token:${tenantId}`));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(Buffer.from(enc.ciphertext, "base64")), decipher.final()]).toString("utf8");
}
