// GET /api/openapi.json: the OpenAPI 3.1 document of every endpoint, generated from the zod schemas.
import { apiRoute, json } from "#app/server/http.server.ts";
import { openApiDocument } from "#app/server/openapi.server.ts";

const route = apiRoute({
  async GET() {
    return json(openApiDocument());
  },
});

export const loader = route.loader;
export const action = route.action;
