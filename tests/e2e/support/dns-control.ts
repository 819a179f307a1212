// For the browser tests: the test DNS server on a fixed loopback port (the app's DNS_SERVERS), and a small HTTP
// API on another port through which tests publish and withdraw records. Run by Playwright as a web server.
import http from "node:http";
import { type ZoneEntry, startDnsZoneServer } from "../../support/dns-zone-server.ts";

export const DNS_PORT = Number(process.env.E2E_DNS_PORT ?? 53053);
export const CONTROL_PORT = Number(process.env.E2E_DNS_CONTROL_PORT ?? 3212);

const dns = await startDnsZoneServer(DNS_PORT);

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/health") {
    res.writeHead(200).end("ok");
    return;
  }
  const name = decodeURIComponent(url.pathname.replace(/^\/zone\//, "")).toLowerCase();
  if (!url.pathname.startsWith("/zone/") || !name) {
    res.writeHead(404).end();
    return;
  }
  if (req.method === "DELETE") {
    dns.zone.delete(name);
    res.writeHead(204).end();
    return;
  }
  let body = "";
  req.on("data", (c: Buffer) => (body += c.toString()));
  req.on("end", () => {
    try {
      dns.zone.set(name, JSON.parse(body) as ZoneEntry);
      res.writeHead(204).end();
    } catch {
      res.writeHead(400).end("invalid JSON");
    }
  });
});
server.listen(CONTROL_PORT, "127.0.0.1", () => {
  console.log(`test DNS on ${dns.address}, control on http://127.0.0.1:${CONTROL_PORT}`);
});
