// The local sign-in page signs a user in and shows the tenant list; the same session cookie works for the API.
import { EDGE_PORT, NO_DB_PORT } from "../../playwright.config";
import { expect, expectAccessible, screenshot, test } from "./support/fixtures";

test("signs in on the local sign-in page and sees the tenant list", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/sign-in\?redirectTo=%2F$/);
  await expect(page.getByRole("note")).toHaveText("Local sign-in — not for production");
  await expectAccessible(page, true);
  await screenshot(page, "sign-in", true);

  await page.getByLabel("User id").fill("e2e-user");
  await page.getByLabel("Plan").selectOption("pro");
  await page.getByRole("button", { name: "Sign in" }).click();

  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("heading", { name: "Tenants", level: 1 })).toBeVisible();
  await expect(page.getByRole("banner")).toContainText("e2e-user");
  await expect(page.getByText("No tenants yet.")).toBeVisible();

  // The page's session cookie authenticates API requests too (local mode).
  const created = await page.request.post("/api/tenants", { data: { slug: "e2e-acme", cms: "contentful", spaceId: "abc123" } });
  expect(created.status()).toBe(201);
  await page.reload();
  const row = page.getByRole("row", { name: /e2e-acme/ });
  await expect(row).toBeVisible();
  await expect(row).toContainText("contentful");
  // The edge address the app hands out follows EDGE_PORT (PROXY_BASE_URL unset).
  await expect(row).toContainText(`http://e2e-acme.localhost:${EDGE_PORT}`);
});

test("routes the steps below /sign-in to the sign-in page (Clerk's path routing), which in local mode leads back to its form", async ({ page }) => {
  await page.goto("/sign-in/factor-one?redirectTo=%2Fusage");
  await expect(page).toHaveURL(/\/sign-in\?redirectTo=%2Fusage$/);
  await expect(page.getByRole("heading", { name: "Local sign-in", level: 1 })).toBeVisible();
});

test("rejects an invalid user id on the sign-in form, with JavaScript off", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/sign-in");
  await expectAccessible(page, false);
  await screenshot(page, "sign-in", false);
  await page.getByLabel("User id").fill("not valid!");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText("Letters, digits and _ . @ - only")).toBeVisible();
  await expect(page).toHaveURL(/\/sign-in/);
  await context.close();
});

test("reports the database down on /healthz when it is unreachable", async ({ request }) => {
  const res = await request.get(`http://127.0.0.1:${NO_DB_PORT}/healthz`);
  expect(res.status()).toBe(503);
  expect(res.headers()["content-type"]).toBe("application/json; charset=utf-8");
  expect(await res.json()).toEqual({ ok: false, db: "down" });
});
