// The settings of a `.env` file at the project's root (see .env.example), for `npm start` and `npm run dev`: the
// launcher imports this module before anything reads the environment, and the app and the edge it starts inherit
// what it loaded. A variable already set in the environment wins over the file; no file is no error.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseEnv } from "node:util";

/** Adds a file's variables that `into` does not set already; returns their names. */
export function loadDotEnv(file: string, into: Record<string, string | undefined> = process.env): string[] {
  if (!fs.existsSync(file)) return [];
  const parsed = parseEnv(fs.readFileSync(file, "utf8")) as Record<string, string>;
  const loaded = Object.keys(parsed).filter((name) => into[name] === undefined);
  for (const name of loaded) into[name] = parsed[name];
  return loaded;
}

/** The variables this process took from the project's `.env` (names only: values may be secrets). */
export const loadedFromDotEnv = loadDotEnv(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", ".env"));
