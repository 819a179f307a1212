// Sign in: Clerk's component in Clerk mode; in local mode a development form (user id, plan, organization).
// A splat route: Clerk's component, routed by path, moves through /sign-in/factor-one, /sign-in/sso-callback and
// other steps below /sign-in, each of which must render it again (in local mode they lead back to /sign-in).
import { getFormProps, getInputProps, getSelectProps, useForm } from "@conform-to/react";
import { getZodConstraint, parseWithZod } from "@conform-to/zod/v4";
import { SignIn } from "@clerk/remix";
import { type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction, redirect } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useSearchParams } from "@remix-run/react";
import { localSignInSchema } from "#app/schemas/auth.ts";
import { refuseCrossSiteForm, getCaller, safeRedirect, startLocalSession } from "#app/server/auth.server.ts";
import { env } from "#app/server/env.server.ts";

export const meta: MetaFunction = () => [{ title: "Sign in · CMS edge" }];

export async function loader(args: LoaderFunctionArgs) {
  const url = new URL(args.request.url);
  const redirectTo = safeRedirect(url.searchParams.get("redirectTo"));
  if (await getCaller(args, { forApi: false })) throw redirect(redirectTo);
  // Only Clerk's component has steps of its own.
  if (env.authMode === "local" && args.params["*"]) throw redirect(`/sign-in${url.search}`);
  return { authMode: env.authMode, redirectTo };
}

export async function action({ request, params }: ActionFunctionArgs) {
  if (env.authMode !== "local" || params["*"]) throw new Response("Not found", { status: 404 });
  refuseCrossSiteForm(request);
  const submission = parseWithZod(await request.formData(), { schema: localSignInSchema });
  if (submission.status !== "success") return submission.reply();
  const { userId, plan, orgId, redirectTo } = submission.value;
  const cookie = await startLocalSession({ userId, plan, orgId });
  return redirect(safeRedirect(redirectTo), { headers: { "Set-Cookie": cookie } });
}

export default function SignInPage() {
  const { authMode, redirectTo } = useLoaderData<typeof loader>();
  // Signed in, Clerk goes where the visitor was sent from (a path on this site: safeRedirect).
  return authMode === "clerk" ? <SignIn routing="path" path="/sign-in" forceRedirectUrl={redirectTo} /> : <LocalSignIn />;
}

function LocalSignIn() {
  const lastResult = useActionData<typeof action>();
  const [searchParams] = useSearchParams();
  const [form, fields] = useForm({
    lastResult,
    constraint: getZodConstraint(localSignInSchema),
    onValidate: ({ formData }) => parseWithZod(formData, { schema: localSignInSchema }),
    shouldValidate: "onBlur",
  });
  return (
    <>
      <h1>Local sign-in</h1>
      <p className="muted">
        For development: no password and no network. Choose who you are; with Clerk keys configured, Clerk signs people in
        instead.
      </p>
      <Form method="post" {...getFormProps(form)}>
        <input type="hidden" name="redirectTo" value={searchParams.get("redirectTo") ?? "/"} />
        <label htmlFor={fields.userId.id}>User id</label>
        <input {...getInputProps(fields.userId, { type: "text" })} autoComplete="username" />
        {fields.userId.errors ? (
          <p id={fields.userId.errorId} className="field-error">
            {fields.userId.errors.join(", ")}
          </p>
        ) : null}
        <label htmlFor={fields.plan.id}>Plan</label>
        <select {...getSelectProps(fields.plan)} defaultValue={fields.plan.initialValue ?? "free"}>
          <option value="free">free</option>
          <option value="pro">pro</option>
        </select>
        <label htmlFor={fields.orgId.id}>Organization id (optional)</label>
        <input {...getInputProps(fields.orgId, { type: "text" })} />
        {fields.orgId.errors ? (
          <p id={fields.orgId.errorId} className="field-error">
            {fields.orgId.errors.join(", ")}
          </p>
        ) : null}
        <div>
          <button type="submit">Sign in</button>
        </div>
      </Form>
    </>
  );
}
