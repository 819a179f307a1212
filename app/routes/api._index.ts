// GET /api: where the API is described (a constant document; also the benchmark's baseline).
import { apiRoute, json } from "#app/server/http.server.ts";

const index = { name: "cms-edge", description: "Tenants API of the CMS edge", openapi: "/api/openapi.json", tenants: "/api/tenants" };

const route = apiRoute({
  async GET() {
    return json(index);
  },
});

export const loader = route.loader;
export const action = route.action;
