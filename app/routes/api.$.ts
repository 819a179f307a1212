// Any other /api/… path: the API's 404 in its own error shape (never the HTML page).
import { ApiError, handleError } from "#app/server/http.server.ts";

const notFound = async ({ request }: { request: Request }) =>
  handleError(new ApiError("not_found", `No endpoint ${new URL(request.url).pathname}`));

export const loader = notFound;
export const action = notFound;
