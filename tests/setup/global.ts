// Once per test run: the embedded store in memory (or the MongoDB named by MONGODB_URI), shared by the workers,
// each of which uses its own database.
import type { TestProject } from "vitest/node";
import { start } from "../../embedded-mongo/src/index.ts";

declare module "vitest" {
  export interface ProvidedContext {
    mongoUri: string;
  }
}

export default async function setup(project: TestProject) {
  if (process.env.MONGODB_URI) {
    project.provide("mongoUri", process.env.MONGODB_URI);
    return;
  }
  const store = await start({ log: () => {} });
  project.provide("mongoUri", store.uri);
  return async () => {
    await store.stop();
  };
}
