// `.env` for npm start and npm run dev: its variables are added where the environment does not set them already.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadDotEnv } from "../../scripts/dot-env.ts";

describe("loadDotEnv", () => {
  it("adds the file's variables the environment lacks, keeps those it has, and names what it added", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dot-env-"));
    const file = path.join(dir, ".env");
    fs.writeFileSync(file, '# a comment\nPORT=4000\nEDGE_PORT=9000\nPROXY_BASE_URL="http://{slug}.edge.test:9000"\nEMPTY=\n');
    const into: Record<string, string | undefined> = { PORT: "3000" };
    expect(loadDotEnv(file, into).sort()).toEqual(["EDGE_PORT", "EMPTY", "PROXY_BASE_URL"]);
    expect(into).toEqual({ PORT: "3000", EDGE_PORT: "9000", PROXY_BASE_URL: "http://{slug}.edge.test:9000", EMPTY: "" });
    fs.rmSync(dir, { recursive: true });
  });

  it("does nothing without a file", () => {
    const into = { PORT: "3000" };
    expect(loadDotEnv(path.join(os.tmpdir(), "no-such-dir-for-dot-env", ".env"), into)).toEqual([]);
    expect(into).toEqual({ PORT: "3000" });
  });
});
