// Before every test file: settings for a database of this worker's own and a private data directory, and the
// house rule that an unexpected console.error fails the test.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, inject, vi } from "vitest";

const worker = process.env.VITEST_POOL_ID ?? "0";
const base = inject("mongoUri").replace(/\/+$/, "");
process.env.MONGODB_URI = `${base}/app_test_${worker}`;
process.env.DATA_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), `cms-edge-test-${worker}-`));
process.env.NODE_ENV = "test";
process.env.PROXY_BASE_URL = "http://{slug}.localhost:8787";
process.env.CNAME_TARGET = "edge.example.net";

let errors: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  errors = vi.spyOn(console, "error");
});
afterEach(() => {
  const calls = errors.mock.calls;
  errors.mockRestore();
  expect(calls, "an unexpected console.error happened during the test").toEqual([]);
});
