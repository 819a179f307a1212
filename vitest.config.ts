import { defineConfig } from "vitest/config";

// Two projects: the embedded store's compatibility suite (which decides by itself whether MONGODB_URI names a real
// MongoDB to run against), and the app's tests, which share one store per run and a database per worker.
export default defineConfig({
  test: {
    globals: true,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: "forks",
    projects: [
      {
        extends: true,
        test: { name: "embedded-mongo", include: ["embedded-mongo/test/**/*.test.ts"] },
      },
      {
        extends: true,
        test: {
          name: "app",
          include: ["tests/**/*.test.ts"],
          globalSetup: ["tests/setup/global.ts"],
          setupFiles: ["tests/setup/env.ts"],
        },
      },
    ],
  },
});
