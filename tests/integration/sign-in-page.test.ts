// The sign-in page's destination after signing in (`redirectTo`): a path on this site, or the home page — never
// another site however the value is spelled, and never a failure.
import { describe, expect, it } from "vitest";
import * as signIn from "#app/routes/sign-in.tsx";
import { safeRedirect } from "#app/server/auth.server.ts";
import { localCookie } from "#tests/fixtures/auth.ts";
import { call } from "#tests/fixtures/http.ts";

/** Values that name another site, or that no header may carry, each as a browser would be handed it. */
const HOSTILE = [
  "https://evil.example/",
  "//evil.example",
  "/\\evil.example",
  "/\t/evil.example",
  "/\n/evil.example",
  "/\r\n/evil.example",
  " /evil",
  "/ /evil.example",
  "/a\nb",
  "/a\u0085b",
  "/\u0000",
  "/.//evil.example",
  "/a/..//evil.example",
  "/%2e//evil.example",
  "/./\\evil.example",
  "evil.example",
  "",
];

describe("safeRedirect", () => {
  it("keeps a path on this site, serialized as the URL parser does, and falls back for anything else", () => {
    expect(safeRedirect("/tenants/acme/logs?kind=api&status=5xx#top")).toBe("/tenants/acme/logs?kind=api&status=5xx#top");
    expect(safeRedirect("/tenants/日本")).toBe("/tenants/%E6%97%A5%E6%9C%AC");
    expect(safeRedirect("/a/../b")).toBe("/b");
    for (const to of HOSTILE) expect(safeRedirect(to), JSON.stringify(to)).toBe("/");
    expect(safeRedirect(undefined)).toBe("/");
    expect(safeRedirect(["/a"])).toBe("/");
    expect(safeRedirect("//evil.example", "/tenants")).toBe("/tenants");
  });
});

describe("the sign-in page", () => {
  it("sends a signed-in visitor to redirectTo when it is a path on this site, else home, never failing", async () => {
    const cookie = await localCookie({ userId: "sign-in-user" });
    const visit = async (to: string) => {
      const res = await call(signIn, `/sign-in?redirectTo=${encodeURIComponent(to)}`, { cookie });
      return [res.status, res.headers.get("location")];
    };
    expect(await visit("/tenants/x?tab=all")).toEqual([302, "/tenants/x?tab=all"]);
    for (const to of HOSTILE) expect(await visit(to), JSON.stringify(to)).toEqual([302, "/"]);
  });

  it("signs in with the local form and goes to redirectTo when it is a path on this site, else home", async () => {
    const submit = async (redirectTo: string) => {
      const body = new URLSearchParams({ userId: "sign-in-form-user", plan: "free", redirectTo }).toString();
      const res = await call(signIn, "/sign-in", { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
      return [res.status, res.headers.get("location"), (res.headers.get("set-cookie") ?? "").startsWith("__local_session=")];
    };
    expect(await submit("/tenants/new")).toEqual([302, "/tenants/new", true]);
    for (const to of HOSTILE.filter(Boolean)) expect(await submit(to), JSON.stringify(to)).toEqual([302, "/", true]);
  });
});
