// End-to-end tests in Debian's Chromium against the built app on its embedded defaults (npx playwright install
// cannot download here, and need not). A second server without a database checks /healthz reporting it down.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defineConfig } from "@playwright/test";

export const PORT = 3210;
export const NO_DB_PORT = 3211;
export const DNS_CONTROL_PORT = 3212;
export const DNS_PORT = 53053;
export const EDGE_PORT = 3213;
export const BASE_URL = `http://127.0.0.1:${PORT}`;
export const DNS_CONTROL_URL = `http://127.0.0.1:${DNS_CONTROL_PORT}`;
/** Known to the tests so that they can mint session cookies and report traffic like the edge. */
export const E2E_SESSION_SECRET = "e2e-session-secret-0123456789abcdefghij";
export const E2E_INGEST_KEY = "e2e-ingest-key-0123456789";
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cms-edge-e2e-"));

export default defineConfig({
  testDir: "tests/e2e",
  timeout: 60_000,
  expect: { timeout: 5_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: BASE_URL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
  webServer: [
    {
      command: "npx tsx tests/e2e/support/dns-control.ts",
      url: `${DNS_CONTROL_URL}/health`,
      env: { E2E_DNS_PORT: String(DNS_PORT), E2E_DNS_CONTROL_PORT: String(DNS_CONTROL_PORT) },
      timeout: 30_000,
      reuseExistingServer: false,
      stdout: "ignore",
    },
    {
      command: "node --import tsx scripts/start.ts",
      url: `${BASE_URL}/healthz`,
      env: {
        PORT: String(PORT),
        EDGE_PORT: String(EDGE_PORT),
        // The edge test's origin is on loopback.
        ALLOW_PRIVATE_ORIGINS: "1",
        DATA_DIR: dataDir,
        MONGODB_URI: "",
        CLERK_PUBLISHABLE_KEY: "",
        CLERK_SECRET_KEY: "",
        DNS_SERVERS: `127.0.0.1:${DNS_PORT}`,
        SESSION_SECRET: E2E_SESSION_SECRET,
        INGEST_KEY: E2E_INGEST_KEY,
      },
      timeout: 120_000,
      reuseExistingServer: false,
      stdout: "ignore",
    },
    {
      command: "node node_modules/@remix-run/serve/dist/cli.js build/index.js",
      url: `http://127.0.0.1:${NO_DB_PORT}/api/openapi.json`,
      env: {
        PORT: String(NO_DB_PORT),
        HOST: "127.0.0.1",
        NODE_ENV: "production",
        DATA_DIR: path.join(dataDir, "no-db"),
        MONGODB_URI: "mongodb://127.0.0.1:9/unreachable",
      },
      timeout: 60_000,
      reuseExistingServer: false,
    },
  ],
});
