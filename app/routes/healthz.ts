// GET /healthz: the app answers, and whether the database does.
import { pingDb } from "#app/server/db.server.ts";
import { apiRoute, json } from "#app/server/http.server.ts";

const route = apiRoute({
  async GET() {
    const up = await pingDb();
    return json({ ok: up, db: up ? "up" : "down" }, { status: up ? 200 : 503 });
  },
});

export const loader = route.loader;
export const action = route.action;
