// The edge's tenant directory: by subdomain of the edge host, by path on the bare edge host, by an active custom
// domain only; answers kept for at most a second; the API token decrypted for the edge alone.
import { Types } from "mongoose";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { encryptToken } from "#app/server/crypto.server.ts";
import { TenantDirectory } from "#edge/tenants.ts";
import { Domain } from "#models/domain.ts";
import { Tenant } from "#models/tenant.ts";
import { resetDb } from "#tests/fixtures/db.ts";

const acmeId = new Types.ObjectId();
const globexId = new Types.ObjectId();
const base = { ownerId: "u1", billingSubject: "user:u1", cms: "contentful", spaceId: "sp1", cacheTTL: 3600 };

beforeAll(async () => {
  await resetDb();
  await Tenant.create([
    { _id: acmeId, slug: "acme", ...base, apiToken: encryptToken("secret-token-1", acmeId.toHexString()) },
    // A token sealed for another tenant id does not open here (the id is the AAD).
    { _id: globexId, slug: "globex", ...base, apiToken: encryptToken("stolen", acmeId.toHexString()) },
  ]);
  await Domain.create([
    { tenant: acmeId, hostname: "cdn.acme.example", token: "t1", status: "active" },
    { tenant: globexId, hostname: "cdn.globex.example", token: "t2", status: "pending" },
  ]);
});

describe("TenantDirectory", () => {
  it("finds a tenant by subdomain, by path on the bare edge host, and by an active custom domain", async () => {
    const dir = new TenantDirectory("localhost");
    const sub = await dir.resolve("acme.localhost:8787", "/a/b.png?w=1");
    expect(sub && { slug: sub.tenant.doc.slug, path: sub.path, base: sub.base, token: sub.tenant.apiToken }).toEqual({
      slug: "acme",
      path: "/a/b.png?w=1",
      base: "http://acme.localhost:8787",
      token: "secret-token-1",
    });
    const byPath = await dir.resolve("localhost:8787", "/acme/a/b.png");
    expect(byPath && { slug: byPath.tenant.doc.slug, path: byPath.path, base: byPath.base }).toEqual({
      slug: "acme",
      path: "/a/b.png",
      base: "http://localhost:8787/acme",
    });
    // The tenant's root by path, with or without a slash before its query.
    for (const [asked, path] of [["/acme", "/"], ["/acme?w=1", "/?w=1"], ["/acme/?w=1", "/?w=1"]]) {
      const root = await dir.resolve("localhost:8787", asked);
      expect(root && { slug: root.tenant.doc.slug, path: root.path, base: root.base }, asked).toEqual({ slug: "acme", path, base: "http://localhost:8787/acme" });
    }
    const custom = await dir.resolve("CDN.Acme.Example", "/x.jpg", "https");
    expect(custom && { slug: custom.tenant.doc.slug, base: custom.base }).toEqual({ slug: "acme", base: "https://cdn.acme.example" });
  });

  it("finds nothing for unknown slugs, pending domains, malformed hosts and the bare host's root", async () => {
    const dir = new TenantDirectory("localhost");
    expect(await dir.resolve("nobody.localhost", "/a.png")).toBeNull();
    expect(await dir.resolve("cdn.globex.example", "/a.png")).toBeNull();
    expect(await dir.resolve("a.b.localhost", "/a.png")).toBeNull();
    expect(await dir.resolve("localhost", "/")).toBeNull();
    expect(await dir.resolve(undefined, "/a.png")).toBeNull();
    expect(await dir.resolve("-bad-.localhost", "/a.png")).toBeNull();
  });

  it("does not hand out a token that does not decrypt for the tenant", async () => {
    const dir = new TenantDirectory("localhost");
    const warn = console.warn;
    const warnings: string[] = [];
    console.warn = (msg: string) => void warnings.push(msg);
    try {
      const g = await dir.resolve("globex.localhost", "/");
      expect(g?.tenant.apiToken).toBeNull();
    } finally {
      console.warn = warn;
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).not.toContain("stolen");
  });

  it("sees a change, a new active domain and a deletion once its answer is a second old, not before", async () => {
    let clock = 1_000_000;
    const dir = new TenantDirectory("localhost", 1_000, () => clock);
    expect((await dir.resolve("acme.localhost", "/"))?.tenant.doc.cacheVersions?.assets).toBe(1);
    expect(await dir.resolve("cdn.globex.example", "/")).toBeNull();

    await Tenant.updateOne({ _id: acmeId }, { $inc: { "cacheVersions.assets": 1 } });
    await Domain.updateOne({ hostname: "cdn.globex.example" }, { $set: { status: "active" } });
    clock += 999;
    expect((await dir.resolve("acme.localhost", "/"))?.tenant.doc.cacheVersions?.assets).toBe(1);
    expect(await dir.resolve("cdn.globex.example", "/")).toBeNull();
    clock += 1;
    expect((await dir.resolve("acme.localhost", "/"))?.tenant.doc.cacheVersions?.assets).toBe(2);
    expect((await dir.resolve("cdn.globex.example", "/"))?.tenant.doc.slug).toBe("globex");

    await Tenant.deleteOne({ _id: acmeId });
    clock += 1_000;
    expect(await dir.resolve("acme.localhost", "/")).toBeNull();
    expect(await dir.resolve("cdn.acme.example", "/")).toBeNull();
  });

  it("takes an answer as expired when the clock is stepped back behind the time it was loaded at", async () => {
    let clock = 3_000_000;
    const dir = new TenantDirectory("localhost", 1_000, () => clock);
    const version = async () => (await dir.resolve("globex.localhost", "/"))?.tenant.doc.cacheVersions?.assets as number;
    const before = await version();
    expect(dir.resolveKept("globex.localhost", "/")?.tenant.doc.slug).toBe("globex");
    await Tenant.updateOne({ slug: "globex" }, { $inc: { "cacheVersions.assets": 1 } });
    // An hour back: not a kept answer for another hour, but one to load again now.
    clock -= 3_600_000;
    expect(dir.resolveKept("globex.localhost", "/")).toBeUndefined();
    expect(await version()).toBe(before + 1);
    // Dated from that load: fresh for a second of the clock as it now reads.
    await Tenant.updateOne({ slug: "globex" }, { $inc: { "cacheVersions.assets": 1 } });
    clock += 999;
    expect(dir.resolveKept("globex.localhost", "/")?.tenant.doc.cacheVersions?.assets).toBe(before + 1);
  });

  it("reloads an answer in the background once it is half a second old, so steady traffic never waits for it", async () => {
    let clock = 2_000_000;
    const dir = new TenantDirectory("localhost", 1_000, () => clock);
    const version = () => dir.resolveKept("globex.localhost", "/")?.tenant.doc.cacheVersions?.assets;
    expect(version()).toBeUndefined();
    const before = (await dir.resolve("globex.localhost", "/"))?.tenant.doc.cacheVersions?.assets as number;
    await Tenant.updateOne({ slug: "globex" }, { $inc: { "cacheVersions.assets": 1 } });
    clock += 499;
    expect(version()).toBe(before);
    // Younger than half the age: no load was started, the kept answer stays.
    await new Promise((r) => setTimeout(r, 100));
    expect(version()).toBe(before);
    clock += 1;
    // Half a second old: still answered at once from what is kept, while the new answer loads.
    expect(version()).toBe(before);
    await vi.waitFor(() => expect(version()).toBe(before + 1));
    // Dated from its load: fresh for another second without waiting.
    clock += 999;
    expect(version()).toBe(before + 1);
  });

  it("keeps a tenant's answer however many made-up hosts and slugs are asked for (those only push out one another)", async () => {
    const loads: string[] = [];
    const acme = { doc: { _id: acmeId, slug: "acme" }, apiToken: null } as never;
    const dir = new TenantDirectory("localhost", 1_000, () => 5_000_000, undefined, async (key) => {
      loads.push(key);
      return key === "slug:acme" ? acme : null;
    });
    expect(await dir.resolve("acme.localhost", "/a.png")).not.toBeNull();
    for (let i = 0; i < 10_050; i++) await dir.resolve(i % 2 ? `x${i}.localhost` : `made-up-${i}.example`, "/a.png");
    expect(loads).toHaveLength(10_051);
    // Still kept: answered at once, with no load.
    expect(dir.resolveKept("acme.localhost", "/a.png")?.tenant).toBe(acme);
    expect(loads).toHaveLength(10_051);
    // The oldest "none" answers were pushed out by the newest (10,000 kept).
    expect(dir.resolveKept("made-up-0.example", "/a.png")).toBeUndefined();
    expect(dir.resolveKept("x10049.localhost", "/a.png")).toBeNull();
  });
});
