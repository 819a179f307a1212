import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["embedded-mongo/test/**/*.test.ts", "tests/**/*.test.ts"],
    globals: true,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: "forks",
    globalSetup: ["tests/setup/global.ts"],
    setupFiles: ["tests/setup/env.ts"],
  },
});
