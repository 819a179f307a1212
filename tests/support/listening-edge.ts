// An edge of the project's own in a test process, on loopback (kept apart from edge-client.ts, which tests of an edge
// in another process or thread import without loading the edge's modules).
import { createEdge, type Edge, type EdgeConfig } from "#edge/server.ts";

/**
 * An edge listening on a free loopback port, for a test: tenants on `<slug>.localhost`, origins on loopback allowed, an
 * 8 MB cache, usage written when it is closed (no timer); `config` on top.
 */
export async function listeningEdge(config: Partial<EdgeConfig> = {}): Promise<{ edge: Edge; port: number }> {
  const edge = createEdge({ edgeHost: "localhost", allowPrivateOrigins: true, cacheBytes: 8 * 1024 * 1024, usage: { intervalMs: 3_600_000 }, ...config });
  return { edge, port: await edge.listen(0, "127.0.0.1") };
}
