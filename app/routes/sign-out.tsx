// Sign out (local mode): ends the session cookie and goes back to the sign-in page.
import { type ActionFunctionArgs, redirect } from "@remix-run/node";
import { refuseCrossSiteForm, endLocalSession } from "#app/server/auth.server.ts";

export async function action({ request }: ActionFunctionArgs) {
  refuseCrossSiteForm(request);
  return redirect("/sign-in", { headers: { "Set-Cookie": await endLocalSession(request) } });
}

export async function loader() {
  return redirect("/");
}
