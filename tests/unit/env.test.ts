// Settings: defaults, one readable line per problem, generated secrets kept in the data directory.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseEnv } from "#app/server/env.server.ts";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "env-test-"));

describe("parseEnv", () => {
  it("runs on defaults alone: local mode on loopback, embedded store, generated secrets", () => {
    const dir = tmp();
    const env = parseEnv({ DATA_DIR: dir });
    expect(env).toMatchObject({
      nodeEnv: "development",
      port: 3000,
      host: undefined,
      listenHost: "127.0.0.1",
      mongodbUri: undefined,
      dataDir: dir,
      proxyBaseUrl: "http://{slug}.localhost:8787",
      cnameTarget: "edge.localhost",
      dnsServers: undefined,
      allowPrivateOrigins: false,
      clerk: undefined,
      authMode: "local",
    });
    expect(env.tokenEncryptionKeys).toHaveLength(1);
    expect(env.tokenEncryptionKeys[0]).toHaveLength(32);
    expect(env.ingestKey.length).toBeGreaterThanOrEqual(16);
    const secrets = JSON.parse(fs.readFileSync(path.join(dir, "secrets.json"), "utf8"));
    expect(secrets).toEqual({
      ingestKey: env.ingestKey,
      tokenEncryptionKey: env.tokenEncryptionKeys[0].toString("base64"),
      sessionSecret: env.sessionSecret,
    });
    expect(fs.statSync(path.join(dir, "secrets.json")).mode & 0o777).toBe(0o600);
    // The next start reuses them.
    const again = parseEnv({ DATA_DIR: dir });
    expect([again.ingestKey, again.sessionSecret, again.tokenEncryptionKeys[0].toString("hex")]).toEqual([
      env.ingestKey,
      env.sessionSecret,
      env.tokenEncryptionKeys[0].toString("hex"),
    ]);
  });

  it("reads the edge's settings: defaults, a bot list, or none", () => {
    expect(parseEnv({ DATA_DIR: tmp() }).edge).toEqual({
      port: 8787,
      host: "localhost",
      cacheBytes: 256 * 1024 * 1024,
      logSampleRate: 1,
      blockedBots: undefined,
    });
    expect(
      parseEnv({ DATA_DIR: tmp(), EDGE_PORT: "9000", EDGE_HOST: "Edge.Example.com", EDGE_CACHE_MB: "64", LOG_SAMPLE_RATE: "0.1", EDGE_BLOCKED_BOTS: " AhrefsBot, ,BadBot " }).edge,
    ).toEqual({ port: 9000, host: "edge.example.com", cacheBytes: 64 * 1024 * 1024, logSampleRate: 0.1, blockedBots: ["ahrefsbot", "badbot"] });
    expect(parseEnv({ DATA_DIR: tmp(), EDGE_BLOCKED_BOTS: "none" }).edge.blockedBots).toEqual([]);
  });

  it("prefers settings the operator gave over generated ones", () => {
    const key = Buffer.alloc(32, 7).toString("base64");
    const env = parseEnv({
      DATA_DIR: tmp(),
      PORT: "8080",
      HOST: "0.0.0.0",
      MONGODB_URI: "mongodb://db.internal:27017/cms",
      PROXY_BASE_URL: "https://{slug}.edge.example.com",
      CNAME_TARGET: "Edge.Example.com",
      INGEST_KEY: "ingest-key-0123456789",
      TOKEN_ENCRYPTION_KEY: key,
      SESSION_SECRET: "s".repeat(40),
      DNS_SERVERS: "127.0.0.1:5353, [::1]:53",
      ALLOW_PRIVATE_ORIGINS: "1",
    });
    expect(env).toMatchObject({
      port: 8080,
      host: "0.0.0.0",
      listenHost: "0.0.0.0",
      mongodbUri: "mongodb://db.internal:27017/cms",
      proxyBaseUrl: "https://{slug}.edge.example.com",
      cnameTarget: "edge.example.com",
      ingestKey: "ingest-key-0123456789",
      sessionSecret: "s".repeat(40),
      dnsServers: ["127.0.0.1:5353", "[::1]:53"],
      allowPrivateOrigins: true,
      originRules: { allowPrivate: true },
    });
    expect(env.tokenEncryptionKeys.map((k) => k.equals(Buffer.alloc(32, 7)))).toEqual([true]);
    const rotated = parseEnv({ DATA_DIR: tmp(), TOKEN_ENCRYPTION_KEY: `${Buffer.alloc(32, 8).toString("base64")}, ${key}` });
    expect(rotated.tokenEncryptionKeys.map((k) => k[0])).toEqual([8, 7]);
  });

  it("gives tenants the edge's own address when PROXY_BASE_URL is unset, following EDGE_HOST and EDGE_PORT", () => {
    expect(parseEnv({ DATA_DIR: tmp(), EDGE_HOST: "Edge.Test", EDGE_PORT: "9000" }).proxyBaseUrl).toBe("http://{slug}.edge.test:9000");
    expect(parseEnv({ DATA_DIR: tmp(), EDGE_PORT: "9000", PROXY_BASE_URL: "https://{slug}.cdn.example" }).proxyBaseUrl).toBe("https://{slug}.cdn.example");
    // An IP address has no subdomains: the path form.
    expect(parseEnv({ DATA_DIR: tmp(), EDGE_HOST: "192.0.2.10" }).proxyBaseUrl).toBe("http://192.0.2.10:8787/{slug}");
  });

  it("switches to Clerk mode with both keys, listening on every interface unless HOST says otherwise", () => {
    const env = parseEnv({ DATA_DIR: tmp(), CLERK_PUBLISHABLE_KEY: "pk_live_Y2xlcmsuZXhhbXBsZS50ZXN0JA", CLERK_SECRET_KEY: "sk_live_x" });
    expect(env.authMode).toBe("clerk");
    expect(env.listenHost).toBeUndefined();
    expect(env.clerk).toEqual({ publishableKey: "pk_live_Y2xlcmsuZXhhbXBsZS50ZXN0JA", secretKey: "sk_live_x", jwtKey: undefined, authorizedParties: undefined });
    const parties = parseEnv({
      DATA_DIR: tmp(),
      CLERK_PUBLISHABLE_KEY: "pk_live_Y2xlcmsuZXhhbXBsZS50ZXN0JA",
      CLERK_SECRET_KEY: "sk_live_x",
      CLERK_AUTHORIZED_PARTIES: "https://App.Example.com:443/, http://localhost:3000",
    });
    expect(parties.clerk?.authorizedParties).toEqual(["https://app.example.com", "http://localhost:3000"]);
  });

  it.each([
    [{ PORT: "http" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ MONGODB_URI: "postgres://x" }, "MONGODB_URI must be a mongodb:// or mongodb+srv:// connection string"],
    [{ PROXY_BASE_URL: "http://edge.example.com" }, "PROXY_BASE_URL must contain {slug}"],
    [{ CNAME_TARGET: "not a host" }, "CNAME_TARGET must be a hostname"],
    [{ TOKEN_ENCRYPTION_KEY: "c2hvcnQ=" }, "TOKEN_ENCRYPTION_KEY must be 32 bytes, base64-encoded (openssl rand -base64 32)"],
    [{ TOKEN_ENCRYPTION_KEY: `${Buffer.alloc(32).toString("base64")},c2hvcnQ=` }, "TOKEN_ENCRYPTION_KEY must be 32 bytes"],
    [{ DNS_SERVERS: "8.8.8.8" }, "DNS_SERVERS must be a comma-separated list of ip:port (IPv6 as [addr]:port)"],
    [{ DNS_SERVERS: "dns.google:53" }, "DNS_SERVERS must be a comma-separated list of ip:port"],
    [{ ALLOW_PRIVATE_ORIGINS: "yes" }, "ALLOW_PRIVATE_ORIGINS"],
    [{ CLERK_PUBLISHABLE_KEY: "pk_live_abc" }, "CLERK_SECRET_KEY set both CLERK_PUBLISHABLE_KEY and CLERK_SECRET_KEY (Clerk mode) or neither (local mode)"],
    [{ CLERK_JWT_KEY: "abc" }, "CLERK_JWT_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----)"],
    [{ CLERK_AUTHORIZED_PARTIES: "app.example.com" }, "CLERK_AUTHORIZED_PARTIES must be a comma-separated list of origins, scheme and host without a path (https://app.example.com)"],
    [{ CLERK_AUTHORIZED_PARTIES: "https://app.example.com," }, "CLERK_AUTHORIZED_PARTIES must be a comma-separated list of origins"],
    [{ CLERK_AUTHORIZED_PARTIES: "https://app.example.com/dashboard" }, "CLERK_AUTHORIZED_PARTIES must be a comma-separated list of origins"],
    [{ EDGE_PORT: "0" }, "EDGE_PORT"],
    [{ EDGE_HOST: "not a host" }, "EDGE_HOST must be a hostname"],
    [{ EDGE_CACHE_MB: "0" }, "EDGE_CACHE_MB"],
    [{ LOG_SAMPLE_RATE: "1.5" }, "LOG_SAMPLE_RATE"],
  ])("stops with one clear line for %j", (source, message) => {
    let thrown: Error | undefined;
    try {
      parseEnv({ DATA_DIR: tmp(), ...source });
    } catch (err) {
      thrown = err as Error;
    }
    expect(thrown?.message).toMatch(/^Invalid configuration: /);
    expect(thrown?.message).toContain(message);
    expect(thrown?.message).not.toContain("\n");
  });
});
