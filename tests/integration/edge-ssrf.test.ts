// Without ALLOW_PRIVATE_ORIGINS the edge connects to origins at public addresses only: a tenant origin whose name
// resolves (through a real DNS server on loopback) to 127.0.0.1 is refused with 502 before any connection is made,
// as are private and link-local addresses written in the URL; and the look-up each connection makes hands it only an
// address it has just resolved and checked (a name that rebinds to a private address is caught at its next connect).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guardedLookup, OriginRefused } from "#edge/fetch.ts";
import { createEdge, type Edge } from "#edge/server.ts";
import { Tenant } from "#models/tenant.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { type DnsZoneServer, startDnsZoneServer } from "#tests/support/dns-zone-server.ts";
import { edgeRequest } from "#tests/support/edge-client.ts";

let dns: DnsZoneServer;
let edge: Edge;
let port = 0;
let loopback: http.Server;
let loopbackHits = 0;

beforeAll(async () => {
  await resetDb();
  dns = await startDnsZoneServer();
  loopback = http.createServer((_req, res) => {
    loopbackHits++;
    res.writeHead(200, { "content-type": "image/png" }).end("internal");
  });
  await new Promise<void>((resolve) => loopback.listen(0, "127.0.0.1", resolve));
  const loopbackPort = (loopback.address() as AddressInfo).port;
  dns.zone.set("cms.rebind.example", { A: ["127.0.0.1"] });
  dns.zone.set("metadata.rebind.example", { A: ["169.254.169.254"] });
  // Names whose only addresses are private IPv6 ones: loopback, unique-local, IPv4-mapped loopback, link-local.
  dns.zone.set("v6.loopback.example", { AAAA: ["::1"] });
  dns.zone.set("v6.ula.example", { AAAA: ["fd00::1"] });
  dns.zone.set("v6.mapped.example", { AAAA: ["::ffff:127.0.0.1"] });
  dns.zone.set("v6.linklocal.example", { AAAA: ["fe80::1"] });
  const base = { ownerId: "u1", billingSubject: "user:u1", cms: "generic", cacheTTL: 3600 };
  await Tenant.create([
    { ...base, _id: new Types.ObjectId(), slug: "rebind", originUrl: `https://cms.rebind.example:${loopbackPort}/media`, apiOrigin: `https://cms.rebind.example:${loopbackPort}` },
    { ...base, _id: new Types.ObjectId(), slug: "metadata", originUrl: "https://metadata.rebind.example/latest" },
    { ...base, _id: new Types.ObjectId(), slug: "literal", originUrl: `https://127.0.0.1:${loopbackPort}/media` },
    { ...base, _id: new Types.ObjectId(), slug: "private", originUrl: "https://10.1.2.3/media" },
    { ...base, _id: new Types.ObjectId(), slug: "plainhttp", originUrl: `http://cms.rebind.example:${loopbackPort}/media` },
    ...["loopback", "ula", "mapped", "linklocal"].map((name) => ({
      ...base,
      _id: new Types.ObjectId(),
      slug: `v6${name}`,
      originUrl: `https://v6.${name}.example:${loopbackPort}/media`,
    })),
  ]);
  edge = createEdge({ edgeHost: "localhost", allowPrivateOrigins: false, dnsServers: [dns.address], cacheBytes: 1024 * 1024, connectTimeoutMs: 1_000 });
  port = await edge.listen(0, "127.0.0.1");
});

afterAll(async () => {
  await edge?.close();
  await dns?.stop();
  await new Promise<void>((resolve) => loopback.close(() => resolve()));
});

describe("origin address checks at the edge", () => {
  it("refuses an origin name that resolves to loopback, after resolving it, without connecting", async () => {
    const asset = await edgeRequest(port, `rebind.localhost:${port}`, "/a.png");
    expect([asset.status, asset.headers["x-cache"], asset.text]).toEqual([502, "ERROR", "The origin is not at a public address.\n"]);
    const api = await edgeRequest(port, `rebind.localhost:${port}`, "/~api/entries");
    expect([api.status, api.headers["x-cache"], api.text]).toEqual([502, "ERROR", "The origin is not at a public address.\n"]);
    expect(dns.questions).toContain("A cms.rebind.example");
    // Not cached: asked again, resolved again.
    const asked = dns.questions.filter((q) => q === "A cms.rebind.example").length;
    await edgeRequest(port, `rebind.localhost:${port}`, "/a.png");
    expect(dns.questions.filter((q) => q === "A cms.rebind.example").length).toBe(asked + 1);
    expect(loopbackHits).toBe(0);
  });

  it("refuses link-local, loopback and private addresses, by name or written in the URL, and plain http", async () => {
    for (const slug of ["metadata", "literal", "private"]) {
      const res = await edgeRequest(port, `${slug}.localhost:${port}`, "/a.png");
      expect([slug, res.status, res.headers["x-cache"], res.text]).toEqual([slug, 502, "ERROR", "The origin is not at a public address.\n"]);
    }
    for (const slug of ["v6loopback", "v6ula", "v6mapped", "v6linklocal"]) {
      const res = await edgeRequest(port, `${slug}.localhost:${port}`, "/a.png");
      expect([slug, res.status, res.headers["x-cache"], res.text]).toEqual([slug, 502, "ERROR", "The origin is not at a public address.\n"]);
    }
    expect(dns.questions).toEqual(expect.arrayContaining(["AAAA v6.loopback.example", "AAAA v6.ula.example", "AAAA v6.mapped.example", "AAAA v6.linklocal.example"]));
    const http = await edgeRequest(port, `plainhttp.localhost:${port}`, "/a.png");
    expect([http.status, http.headers["x-cache"], http.text]).toEqual([502, "ERROR", "The origin is not an https address.\n"]);
    expect(loopbackHits).toBe(0);
  });

  it("hands a connection only an address it has just checked: each connect asks anew, and a private answer is never used", async () => {
    const lookup = guardedLookup({ allowPrivate: false, dnsServers: [dns.address], connectTimeoutMs: 1_000, headersTimeoutMs: 1_000, bodyTimeoutMs: 1_000 });
    const ask = (name: string, options: { all?: boolean; family?: number }) =>
      new Promise<{ err: unknown; address: unknown; family?: unknown }>((resolve) =>
        (lookup as unknown as (h: string, o: object, cb: (err: unknown, address: unknown, family?: unknown) => void) => void)(name, options, (err, address, family) =>
          resolve({ err, address, family }),
        ),
      );
    // A name with a public and a private address: only the public one is handed out (a lookup connects to nothing).
    dns.zone.set("mixed.rebind.example", { A: ["127.0.0.1", "93.184.215.14", "10.0.0.7"], AAAA: ["::1"] });
    expect(await ask("mixed.rebind.example", {})).toEqual({ err: null, address: "93.184.215.14", family: 4 });
    expect(await ask("mixed.rebind.example", { all: true })).toEqual({ err: null, address: [{ address: "93.184.215.14", family: 4 }], family: undefined });
    // A name that answers a public address, then a private one (rebinding): every connect resolves and checks anew.
    dns.zone.set("flip.rebind.example", { A: ["93.184.215.14"] });
    const before = dns.questions.filter((q) => q === "A flip.rebind.example").length;
    expect(await ask("flip.rebind.example", {})).toEqual({ err: null, address: "93.184.215.14", family: 4 });
    dns.zone.set("flip.rebind.example", { A: ["127.0.0.1"] });
    const second = await ask("flip.rebind.example", {});
    expect([second.err instanceof OriginRefused, (second.err as Error).message, second.address]).toEqual([
      true,
      "flip.rebind.example resolves only to private or reserved addresses",
      undefined,
    ]);
    expect(dns.questions.filter((q) => q === "A flip.rebind.example").length).toBe(before + 2);
  });
});
