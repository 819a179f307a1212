// CLERK_AUTHORIZED_PARTIES: a session token issued for another origin than the app's (its `azp`, as Clerk sets it for
// the page that asked for it) is refused like no session at all, on the API and on pages; one for the app's origins,
// or one without `azp` (Clerk checks the claim only when present), is accepted.
import { APP_ORIGINS } from "#tests/fixtures/clerk-authorized-parties-mode.ts";
import { beforeAll, describe, expect, it } from "vitest";
import * as home from "#app/routes/_index.tsx";
import * as tenantsRoute from "#app/routes/api.tenants.ts";
import { env } from "#app/server/env.server.ts";
import { mintSessionToken } from "#tests/fixtures/clerk.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { call, read } from "#tests/fixtures/http.ts";

const UNAUTHORIZED = { error: { code: "unauthorized", message: "Sign in, or send a session token as Authorization: Bearer <token>" } };
const list = async (token: string) => read(await call(tenantsRoute, "/api/tenants", { headers: { Authorization: `Bearer ${token}` } }));

beforeAll(resetDb);

describe("CLERK_AUTHORIZED_PARTIES", () => {
  it("is read as the list of the app's origins", () => {
    expect(env.clerk?.authorizedParties).toEqual(APP_ORIGINS);
  });

  it("accepts a token issued for one of the app's origins, or without azp", async () => {
    for (const azp of [...APP_ORIGINS, undefined]) {
      const res = await list(mintSessionToken({ userId: "user_azp_ok", azp }));
      expect([res.status, res.body], String(azp)).toEqual([200, { total: 0, tenants: [] }]);
    }
  });

  it("refuses a token issued for another origin: 401 on the API, the sign-in page for a page", async () => {
    const token = mintSessionToken({ userId: "user_azp_elsewhere", azp: "https://evil.example" });
    const res = await list(token);
    expect([res.status, res.body]).toEqual([401, UNAUTHORIZED]);
    const now = Math.floor(Date.now() / 1000);
    const page = await call(home, "/", { headers: { Cookie: `__session=${token}; __client_uat=${now - 5}` } });
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toMatch(/^\/sign-in\?redirectTo=/);
  });
});
