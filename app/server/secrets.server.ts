// Secrets the operator did not set are generated once into the data directory and reused on every start.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export interface GeneratedSecrets {
  ingestKey: string;
  /** base64 of 32 random bytes */
  tokenEncryptionKey: string;
  sessionSecret: string;
}

function generate(): GeneratedSecrets {
  return {
    ingestKey: randomBytes(24).toString("base64url"),
    tokenEncryptionKey: randomBytes(32).toString("base64"),
    sessionSecret: randomBytes(32).toString("base64url"),
  };
}

/** Reads `<dataDir>/secrets.json`, creating it (mode 0600) the first time; concurrent first starts agree. */
export function loadSecrets(dataDir: string): GeneratedSecrets {
  const file = path.join(dataDir, "secrets.json");
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    const fd = fs.openSync(file, "wx", 0o600);
    try {
      fs.writeSync(fd, `${JSON.stringify(generate(), null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  for (let attempt = 0; ; attempt++) {
    try {
      const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<GeneratedSecrets>;
      if (parsed.ingestKey && parsed.tokenEncryptionKey && parsed.sessionSecret) return parsed as GeneratedSecrets;
      throw new Error("incomplete");
    } catch (err) {
      // Another process may be between creating the file and writing it.
      if (attempt < 20) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
        continue;
      }
      throw new Error(`${file} is unreadable or incomplete (${(err as Error).message}); delete it to generate new secrets`, {
        cause: err,
      });
    }
  }
}
