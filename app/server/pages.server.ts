// What pages share on the server: a missing (or inaccessible) tenant is the 404 page, not an error.
import { ApiError } from "./http.server.ts";

/** Runs a lookup; a not_found ApiError becomes a 404 response for the page's error boundary. */
export async function pageNotFound<T>(lookup: () => Promise<T>): Promise<T> {
  try {
    return await lookup();
  } catch (err) {
    if (err instanceof ApiError && err.code === "not_found") throw new Response(err.message, { status: 404, statusText: "Not Found" });
    throw err;
  }
}
