// Every setting, parsed once with zod at start-up; the rest of the code imports `env` and never reads process.env.
import { isIP } from "node:net";
import path from "node:path";
import { z } from "zod";
import { loadSecrets } from "./secrets.server";

const flag = z
  .enum(["0", "1", "true", "false", ""])
  .optional()
  .transform((v) => v === "1" || v === "true");

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

/** A DNS server as Node's resolver takes it: an IP address (IPv6 in brackets) and a port. */
const hostPort = /^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/;

export const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: z.coerce.number().int().min(1).max(65535).default(3000),
    HOST: optionalText,
    MONGODB_URI: optionalText.refine((v) => v === undefined || /^mongodb(\+srv)?:\/\//.test(v), {
      message: "must be a mongodb:// or mongodb+srv:// connection string",
    }),
    DATA_DIR: z.string().default("./.data"),
    // Unset: the edge's own address, http://{slug}.<EDGE_HOST>:<EDGE_PORT>.
    PROXY_BASE_URL: optionalText
      .refine((v) => v === undefined || v.includes("{slug}"), { message: "must contain {slug}" })
      .refine((v) => v === undefined || URL.canParse(v.replaceAll("{slug}", "example")), { message: "must be a URL once {slug} is filled in" }),
    CNAME_TARGET: z
      .string()
      .default("edge.localhost")
      .refine((v) => /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(v), {
        message: "must be a hostname",
      }),
    INGEST_KEY: optionalText.refine((v) => v === undefined || v.length >= 16, { message: "must be at least 16 characters" }),
    TOKEN_ENCRYPTION_KEY: optionalText.refine(
      (v) => v === undefined || v.split(",").every((k) => Buffer.from(k.trim(), "base64").length === 32),
      { message: "must be 32 bytes, base64-encoded (openssl rand -base64 32); to rotate, list the new key first: new,old" },
    ),
    SESSION_SECRET: optionalText.refine((v) => v === undefined || v.length >= 32, { message: "must be at least 32 characters" }),
    DNS_SERVERS: optionalText.refine((v) => v === undefined || v.split(",").every((s) => hostPort.test(s.trim())), {
      message: "must be a comma-separated list of ip:port (IPv6 as [addr]:port)",
    }),
    ALLOW_PRIVATE_ORIGINS: flag,
    EDGE_PORT: z.coerce.number().int().min(1).max(65535).default(8787),
    EDGE_HOST: z
      .string()
      .default("localhost")
      .refine((v) => /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(v), { message: "must be a hostname" }),
    EDGE_CACHE_MB: z.coerce.number().int().min(1).max(65536).default(256),
    LOG_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(1),
    EDGE_BLOCKED_BOTS: optionalText,
    CLERK_PUBLISHABLE_KEY: optionalText.refine((v) => v === undefined || /^pk_(live|test)_/.test(v), {
      message: "must start with pk_live_ or pk_test_",
    }),
    CLERK_SECRET_KEY: optionalText,
    CLERK_AUTHORIZED_PARTIES: optionalText.refine((v) => v === undefined || v.split(",").every((o) => originOf(o) !== null), {
      message: "must be a comma-separated list of origins, scheme and host without a path (https://app.example.com)",
    }),
    CLERK_JWT_KEY: optionalText.refine((v) => v === undefined || v.includes("BEGIN PUBLIC KEY"), {
      message: "must be a PEM public key (-----BEGIN PUBLIC KEY-----)",
    }),
  })
  .refine((e) => (e.CLERK_PUBLISHABLE_KEY === undefined) === (e.CLERK_SECRET_KEY === undefined), {
    message: "set both CLERK_PUBLISHABLE_KEY and CLERK_SECRET_KEY (Clerk mode) or neither (local mode)",
    path: ["CLERK_SECRET_KEY"],
  });

export type Env = ReturnType<typeof parseEnv>;

/** An origin as a browser writes it (`https://App.example.com:443/` → `https://app.example.com`); null for what is not one. */
function originOf(value: string): string | null {
  const v = value.trim();
  if (!URL.canParse(v)) return null;
  const u = new URL(v);
  return (u.protocol === "https:" || u.protocol === "http:") && u.pathname === "/" && !u.search && !u.hash && !u.username ? u.origin : null;
}

/**
 * The edge's own address for a tenant: `<slug>.<EDGE_HOST>` when EDGE_HOST is a name, the path form `<EDGE_HOST>/<slug>`
 * when it is an IP address (which has no subdomains).
 */
function defaultProxyBase(edgeHost: string, edgePort: number): string {
  return isIP(edgeHost) ? `http://${edgeHost}:${edgePort}/{slug}` : `http://{slug}.${edgeHost}:${edgePort}`;
}

/** Parses a settings source (process.env in production); throws one readable line per problem. */
export function parseEnv(source: Record<string, string | undefined>) {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".") || "settings"} ${i.message}`);
    throw new Error(`Invalid configuration: ${problems.join("; ")}`);
  }
  const e = result.data;
  const dataDir = path.resolve(e.DATA_DIR);
  const secrets = loadSecrets(dataDir);
  const clerk =
    e.CLERK_PUBLISHABLE_KEY && e.CLERK_SECRET_KEY
      ? {
          publishableKey: e.CLERK_PUBLISHABLE_KEY,
          secretKey: e.CLERK_SECRET_KEY,
          jwtKey: e.CLERK_JWT_KEY,
          /** The app's origins: a token issued for another (its `azp`) is refused. Unset: not checked. */
          authorizedParties: e.CLERK_AUTHORIZED_PARTIES?.split(",").map((o) => originOf(o) as string),
        }
      : undefined;
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    /** Set only when HOST was given explicitly. */
    host: e.HOST,
    /** Where the app listens: local sign-in has no passwords, so local mode stays on loopback unless HOST says otherwise. */
    listenHost: e.HOST ?? (clerk ? undefined : "127.0.0.1"),
    mongodbUri: e.MONGODB_URI,
    dataDir,
    proxyBaseUrl: e.PROXY_BASE_URL ?? defaultProxyBase(e.EDGE_HOST.toLowerCase(), e.EDGE_PORT),
    cnameTarget: e.CNAME_TARGET.toLowerCase(),
    ingestKey: e.INGEST_KEY ?? secrets.ingestKey,
    /** The first key encrypts; every key listed still decrypts what it encrypted (rotation). */
    tokenEncryptionKeys: (e.TOKEN_ENCRYPTION_KEY ?? secrets.tokenEncryptionKey).split(",").map((k) => Buffer.from(k.trim(), "base64")),
    sessionSecret: e.SESSION_SECRET ?? secrets.sessionSecret,
    dnsServers: e.DNS_SERVERS?.split(",").map((s) => s.trim()),
    allowPrivateOrigins: e.ALLOW_PRIVATE_ORIGINS,
    /** The SSRF rules every origin URL (generic originUrl/videoOrigin, apiOrigin) is checked with. */
    originRules: { allowPrivate: e.ALLOW_PRIVATE_ORIGINS },
    edge: {
      port: e.EDGE_PORT,
      /** Tenants are served on <slug>.<host>, and by path (/<slug>/…) on the host itself. */
      host: e.EDGE_HOST.toLowerCase(),
      cacheBytes: e.EDGE_CACHE_MB * 1024 * 1024,
      logSampleRate: e.LOG_SAMPLE_RATE,
      /** User-agent substrings refused with 403: unset → the built-in list, "none" → none. */
      blockedBots:
        e.EDGE_BLOCKED_BOTS === undefined
          ? undefined
          : e.EDGE_BLOCKED_BOTS.toLowerCase() === "none"
            ? []
            : e.EDGE_BLOCKED_BOTS.split(",").map((b) => b.trim().toLowerCase()).filter(Boolean),
    },
    /** Clerk mode when both keys are set; local mode (the embedded default) otherwise. */
    clerk,
    authMode: clerk ? ("clerk" as const) : ("local" as const),
  };
}

function loadEnv(): Env {
  try {
    return parseEnv(process.env);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}

export const env: Env = loadEnv();
