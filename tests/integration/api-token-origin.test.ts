// The write-only API token goes only to the origin it was entered for (decision 024): moving the API origin to another
// scheme, host or port removes it, through the API (PUT /api/tenants/{slug}/api-config) and through the settings
// page's form alike; other changes of the API proxy settings keep it. Tokens a request header cannot carry are refused.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import * as apiConfigRoute from "#app/routes/api.tenants.$slug.api-config.ts";
import * as apiTokenRoute from "#app/routes/api.tenants.$slug.api-token.ts";
import * as tenantsRoute from "#app/routes/api.tenants.ts";
import * as settingsPage from "#app/routes/tenants.$slug.settings.tsx";
import { type EncryptedToken, decryptToken } from "#app/server/crypto.server.ts";
import { takeToast } from "#app/server/toast.server.ts";
import { Tenant } from "#models/tenant.ts";
import { localCookie } from "#tests/fixtures/auth.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { call, read } from "#tests/fixtures/http.ts";

const TOKEN = "tok_origin_bound_0123456789";
const DEFAULTS = { apiTokenHeader: "Authorization", apiCacheTTL: 60, previewBypassParam: "preview", transformApiUrls: true };

let owner: string;

const create = async (slug: string) => {
  const res = await call(tenantsRoute, "/api/tenants", { method: "POST", json: { slug, cms: "contentful", spaceId: "space1" }, cookie: owner });
  expect(res.status).toBe(201);
};
const putConfig = async (slug: string, json: Record<string, unknown>) =>
  read(await call(apiConfigRoute, `/api/tenants/${slug}/api-config`, { method: "PUT", params: { slug }, json, cookie: owner }));
const putToken = async (slug: string, token: string) =>
  read(await call(apiTokenRoute, `/api/tenants/${slug}/api-token`, { method: "PUT", params: { slug }, json: { token }, cookie: owner }));

async function stored(slug: string) {
  const doc = await Tenant.findOne({ slug }).lean();
  if (!doc) throw new Error(`no tenant ${slug}`);
  return doc;
}

/** The token stored for a tenant, decrypted (null when none). */
async function storedToken(slug: string): Promise<string | null> {
  const doc = await stored(slug);
  return doc.apiToken ? decryptToken(doc.apiToken as EncryptedToken, doc._id.toHexString()) : null;
}

beforeAll(async () => {
  await resetDb();
  owner = await localCookie({ userId: "ato-owner", plan: "pro" });
});

afterAll(async () => {
  await resetDb();
});

describe("the API token and the API origin", () => {
  it("keeps the token through changes that leave the origin's scheme, host and port alone", async () => {
    await create("ato-keeps");
    expect((await putConfig("ato-keeps", { apiOrigin: "https://cdn.contentful.com/spaces/space1", apiAuthMode: "bearer" })).status).toBe(200);
    expect((await putToken("ato-keeps", TOKEN)).status).toBe(200);
    const before = await stored("ato-keeps");

    // Another path, auth mode, header, TTL, and the same host and port spelled otherwise: the same server, which was
    // trusted with the token already (the origin is stored as given).
    const body = { apiOrigin: "https://CDN.contentful.com:443/spaces/space2", apiAuthMode: "token", apiTokenHeader: "X-Api-Key", apiCacheTTL: 120 };
    const res = await putConfig("ato-keeps", body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ...DEFAULTS,
      apiOrigin: "https://CDN.contentful.com:443/spaces/space2",
      apiAuthMode: "token",
      apiTokenHeader: "X-Api-Key",
      apiCacheTTL: 120,
      apiTokenSet: true,
    });
    const after = await stored("ato-keeps");
    expect(after.apiToken).toEqual(before.apiToken);
    expect(after.apiTokenUpdatedAt).toEqual(before.apiTokenUpdatedAt);
    expect(await storedToken("ato-keeps")).toBe(TOKEN);
  });

  it.each([
    ["another host", "https://collector.attacker.example/spaces/space1"],
    ["a subdomain of the same host", "https://preview.cdn.contentful.com/spaces/space1"],
    ["another port", "https://cdn.contentful.com:8443/spaces/space1"],
  ])("removes the token when the origin moves to %s, and says so in the answer", async (_what, apiOrigin) => {
    const slug = `ato-moves-${Math.random().toString(36).slice(2, 8)}`;
    await create(slug);
    expect((await putConfig(slug, { apiOrigin: "https://cdn.contentful.com/spaces/space1", apiAuthMode: "bearer" })).status).toBe(200);
    expect((await putToken(slug, TOKEN)).status).toBe(200);
    expect(await storedToken(slug)).toBe(TOKEN);

    const res = await putConfig(slug, { apiOrigin, apiAuthMode: "bearer" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...DEFAULTS, apiOrigin, apiAuthMode: "bearer", apiTokenSet: false });
    const doc = await stored(slug);
    expect(doc.apiToken).toBeNull();
    expect(doc.apiTokenUpdatedAt).toBeNull();
    expect(doc.apiOrigin).toBe(apiOrigin);

    // A token entered for the new origin is kept from then on.
    expect((await putToken(slug, `${TOKEN}-new`)).status).toBe(200);
    expect((await putConfig(slug, { apiOrigin, apiAuthMode: "basic" })).body).toMatchObject({ apiTokenSet: true });
    expect(await storedToken(slug)).toBe(`${TOKEN}-new`);
  });

  it("keeps a token entered before the first API origin was set", async () => {
    await create("ato-first");
    expect((await putToken("ato-first", TOKEN)).status).toBe(200);
    const res = await putConfig("ato-first", { apiOrigin: "https://cdn.contentful.com/spaces/space1", apiAuthMode: "bearer" });
    expect(res.body).toEqual({ ...DEFAULTS, apiOrigin: "https://cdn.contentful.com/spaces/space1", apiAuthMode: "bearer", apiTokenSet: true });
    expect(await storedToken("ato-first")).toBe(TOKEN);
  });

  it("reads the tenant again when another write lands between its read and its write: a stale 'no move' never keeps a token", async () => {
    await create("ato-stale");
    expect((await putConfig("ato-stale", { apiOrigin: "https://cdn.contentful.com/a", apiAuthMode: "bearer" })).status).toBe(200);
    // This request reads contentful's origin (no move), then, before its write, another editor moves the origin to
    // another host and saves a token for it: written as read, the token entered for that host would go to contentful.
    const original = Tenant.findOneAndUpdate.bind(Tenant) as (...args: unknown[]) => { lean: () => Promise<unknown> };
    let interleaved = false;
    const spy = vi.spyOn(Tenant, "findOneAndUpdate").mockImplementation(((...args: unknown[]) => ({
      lean: async () => {
        if (!interleaved) {
          interleaved = true;
          expect((await putConfig("ato-stale", { apiOrigin: "https://api.other.example", apiAuthMode: "bearer" })).status).toBe(200);
          expect((await putToken("ato-stale", `${TOKEN}-other`)).status).toBe(200);
        }
        return original(...args).lean();
      },
    })) as never);
    try {
      const res = await putConfig("ato-stale", { apiOrigin: "https://cdn.contentful.com/b", apiAuthMode: "bearer" });
      expect(res.body).toEqual({ ...DEFAULTS, apiOrigin: "https://cdn.contentful.com/b", apiAuthMode: "bearer", apiTokenSet: false });
    } finally {
      spy.mockRestore();
    }
    expect(interleaved).toBe(true);
    expect(await storedToken("ato-stale")).toBeNull();
  });

  it("refuses a token typed on a page that showed another API origin than the one set now, or none (the form), and saves it otherwise", async () => {
    await create("ato-shown");
    const post = (shownOrigin: string) =>
      call(settingsPage, "/tenants/ato-shown/settings", {
        method: "POST",
        params: { slug: "ato-shown" },
        cookie: owner,
        body: new URLSearchParams({ intent: "api-token", token: TOKEN, shownOrigin }).toString(),
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      });
    const refusal = async (res: Response) => {
      expect(res.status).toBe(200);
      const reply = (await res.json()) as { intent: string; result: { status: string; error: Record<string, string[]> } };
      expect(JSON.stringify(reply)).not.toContain(TOKEN);
      expect([reply.intent, reply.result.status]).toEqual(["api-token", "error"]);
      return reply.result.error;
    };
    // No origin set yet, none shown: the form takes no token for nowhere.
    expect(await refusal(await post("none"))).toEqual({ token: ["set the API origin first: the token is sent only to it"] });
    expect((await putConfig("ato-shown", { apiOrigin: "https://cdn.contentful.com", apiAuthMode: "bearer" })).status).toBe(200);
    // Pages loaded before someone set the origin, or moved it away from what they show.
    const changed = (shown: string) =>
      `the API origin changed since this page was loaded (now https://cdn.contentful.com, the page showed ${shown}): check it, then enter the token again`;
    expect(await refusal(await post("none"))).toEqual({ token: [changed("none")] });
    expect(await refusal(await post("https://api.previous.example"))).toEqual({ token: [changed("https://api.previous.example")] });
    expect(await storedToken("ato-shown")).toBeNull();

    const fresh = await post("https://cdn.contentful.com");
    expect(fresh.status).toBe(302);
    expect(await storedToken("ato-shown")).toBe(TOKEN);
  });

  it("lands every one of ten parallel writes (no 'kept changing' 500), and the moves among them remove the token", async () => {
    await create("ato-race");
    expect((await putConfig("ato-race", { apiOrigin: "https://cdn.contentful.com", apiAuthMode: "bearer" })).status).toBe(200);
    expect((await putToken("ato-race", TOKEN)).status).toBe(200);
    // Ten writes at once, half of them moving the origin away: each is conditional on the origin it read.
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        putConfig("ato-race", { apiOrigin: i % 2 ? "https://elsewhere.example" : "https://cdn.contentful.com", apiAuthMode: "bearer" }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    // At least one move landed after the origin it read was contentful's: the token is gone for good.
    expect(await storedToken("ato-race")).toBeNull();
  });

  it("tells the settings page's user the token was removed (a form post, no JavaScript)", async () => {
    await create("ato-page");
    expect((await putConfig("ato-page", { apiOrigin: "https://cdn.contentful.com", apiAuthMode: "bearer" })).status).toBe(200);
    expect((await putToken("ato-page", TOKEN)).status).toBe(200);
    const form = { intent: "api-config", apiOrigin: "https://api.other.example", apiAuthMode: "bearer", apiTokenHeader: "", apiCacheTTL: "", previewBypassParam: "" };
    /** Posts the form as a browser does, and reads back the toast its redirect to the settings page carries. */
    const save = async () => {
      const res = await call(settingsPage, "/tenants/ato-page/settings", {
        method: "POST",
        params: { slug: "ato-page" },
        cookie: owner,
        body: new URLSearchParams(form).toString(),
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      });
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe("/tenants/ato-page/settings");
      const cookie = (res.headers.get("set-cookie") as string).split(";")[0];
      return (await takeToast(new Request("http://localhost/", { headers: { Cookie: cookie } }))).toast;
    };
    expect(await save()).toEqual({
      kind: "info",
      message: "API proxy settings saved; the API token was removed because the API origin changed host, scheme or port: enter it again",
    });
    expect(await storedToken("ato-page")).toBeNull();
    // Saved again without a move: the usual toast.
    expect(await save()).toEqual({ kind: "success", message: "API proxy settings saved" });
  });
});

describe("tokens a request header cannot carry", () => {
  const ASCII = "must contain only ASCII characters (a request header cannot carry others)";
  it.each([
    ["an en dash (U+2013)", "abc\u2013def", 1],
    ["a Latin-1 letter (U+00E9)", "caf\u00e9-token", 2],
    ["a no-break space (U+00A0)", "abc\u00a0def", 3],
    ["an emoji", "tok_\u{1f511}", 4],
  ])("answers 400 for a token with %s and keeps the stored one", async (_what, token, n) => {
    const slug = `ato-chars-${n}`;
    await create(slug);
    expect((await putToken(slug, TOKEN)).status).toBe(200);
    const before = await stored(slug);
    const res = await putToken(slug, token);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: "invalid_request", message: "Invalid request body", issues: [{ path: "token", message: ASCII }] } });
    expect((await stored(slug)).apiToken).toEqual(before.apiToken);
  });
});
