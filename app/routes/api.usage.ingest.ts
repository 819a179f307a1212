// POST /api/usage/ingest: an edge running elsewhere reports traffic (X-Ingest-Key, no session).
import { MAX_INGEST_BODY_BYTES, ingestBodySchema } from "#app/schemas/usage.ts";
import { apiRoute, json, readJson } from "#app/server/http.server.ts";
import { recordRequests, requireIngestKey } from "#app/server/traffic.server.ts";

const route = apiRoute({
  async POST({ request }) {
    requireIngestKey(request);
    const { events } = await readJson(request, ingestBodySchema, { maxBytes: MAX_INGEST_BODY_BYTES });
    const result = await recordRequests(events.map((e) => ({ ...e, timestamp: new Date(e.timestamp) })));
    return json({ ok: true, ...result });
  },
});

export const loader = route.loader;
export const action = route.action;
