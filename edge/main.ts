// The edge process (`npm start` runs it beside the app): serves tenants on EDGE_PORT until SIGTERM/SIGINT, then
// finishes the answers in progress, writes the usage it holds and closes the database connection.
import { closeDbByOwner } from "#app/server/db.server.ts";
import { env } from "#app/server/env.server.ts";
import { DatabaseThread } from "./database.ts";
import { createEdge } from "./server.ts";

closeDbByOwner();
if (!env.mongodbUri) {
  // A setting missing is not a database that does not answer yet: nothing would ever be served.
  console.error("[edge] MONGODB_URI is not set: start the edge with `npm start`, which starts the embedded store, or set it");
  process.exit(1);
}
// The serving thread runs no database driver code: its look-ups and writes go to a thread of their own (decision 015).
const database = new DatabaseThread();
// Served from the start whether or not the database answers yet: until it does, requests for tenants not known get
// 502 (decision 012), and every look-up tries the connection again. (A database down when the edge restarts must not
// stop the edge, nor — through the launcher — the dashboard.)
database.connect().then(
  () => console.log("[edge] database connected"),
  (err: unknown) => console.warn(`[edge] the database does not answer yet (${(err as Error).message}): tenants are looked up again at each request`),
);

const edge = createEdge({
  edgeHost: env.edge.host,
  // The scheme of the addresses the control plane hands out (PROXY_BASE_URL): behind a TLS terminator that is https.
  scheme: new URL(env.proxyBaseUrl.replaceAll("{slug}", "x")).protocol.replace(":", ""),
  allowPrivateOrigins: env.allowPrivateOrigins,
  dnsServers: env.dnsServers,
  cacheBytes: env.edge.cacheBytes,
  logSampleRate: env.edge.logSampleRate,
  blockedBots: env.edge.blockedBots,
  database,
});

// Where the app listens too: in local mode loopback only unless HOST says otherwise (its API proxy holds tenants' tokens).
const port = await edge.listen(env.edge.port, env.listenHost);
console.log(`[edge] serving tenants on http://<slug>.${env.edge.host}:${port} and http://${env.edge.host}:${port}/<slug>`);

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      // (Closing the edge closes its database thread, once the usage it holds is written.)
      await edge.close();
      console.log("[edge] stopped, usage written");
      process.exit(0);
    })().catch((err: unknown) => {
      console.error(`[edge] ${(err as Error).message}`);
      process.exit(1);
    });
  });
}
