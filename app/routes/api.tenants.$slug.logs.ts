// GET /api/tenants/{slug}/logs: request logs, newest first, with filters and a cursor.
import { logsQuerySchema } from "#app/schemas/logs.ts";
import { requireApiCaller } from "#app/server/auth.server.ts";
import { apiRoute, json, queryOf, validate } from "#app/server/http.server.ts";
import { listLogs } from "#app/server/logs.server.ts";

const route = apiRoute({
  async GET(args) {
    const who = await requireApiCaller(args);
    const query = validate(logsQuerySchema, queryOf(args.request), "Invalid query");
    return json(await listLogs(who, args.params.slug as string, query));
  },
});

export const loader = route.loader;
export const action = route.action;
