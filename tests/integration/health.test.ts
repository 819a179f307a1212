import { describe, expect, it } from "vitest";
import * as healthz from "#app/routes/healthz.ts";
import { call, read } from "#tests/fixtures/http.ts";

describe("GET /healthz", () => {
  it("answers 200 with the database up", async () => {
    const res = await read(await call(healthz, "/healthz"));
    expect(res).toMatchObject({ status: 200, contentType: "application/json; charset=utf-8", cacheControl: "no-store" });
    expect(res.body).toEqual({ ok: true, db: "up" });
  });

  it("answers other methods with 405 and Allow", async () => {
    const res = await read(await call(healthz, "/healthz", { method: "POST" }));
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    expect(res.body).toEqual({ error: { code: "method_not_allowed", message: "POST is not allowed here" } });
  });
});
