// The product doing its job, in a browser: a tenant created through the API is served by the edge that `npm start`
// runs beside the app, and the dashboard then shows that real traffic (overview and request logs).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { BASE_URL, EDGE_PORT } from "../../playwright.config";
import { expect, signedInContext, test } from "./support/fixtures";

const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

let origin: http.Server;
let originPort = 0;

test.beforeAll(async () => {
  origin = http.createServer((req, res) => {
    if (req.url === "/media/hero.png") res.writeHead(200, { "content-type": "image/png" }).end(PNG);
    else res.writeHead(404, { "content-type": "text/plain" }).end("not found");
  });
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
  originPort = (origin.address() as AddressInfo).port;
});
test.afterAll(() => new Promise<void>((resolve) => origin.close(() => resolve())));

test("a new tenant's assets are served by the edge, and its traffic shows on the dashboard", async ({ browser }) => {
  const slug = "e2e-edge";
  const context = await signedInContext(browser, { userId: "e2e-edge-owner", plan: "pro" }, { javaScriptEnabled: true });
  const created = await context.request.post(`${BASE_URL}/api/tenants`, {
    data: { slug, cms: "generic", originUrl: `http://127.0.0.1:${originPort}/media` },
  });
  expect(created.status()).toBe(201);

  // Chromium resolves *.localhost to loopback by itself: the address the dashboard hands out works as it is.
  const page = await context.newPage();
  const asset = `http://${slug}.localhost:${EDGE_PORT}/hero.png`;
  const first = await page.goto(asset);
  expect(first?.status()).toBe(200);
  expect(first?.headers()["x-cache"]).toBe("MISS");
  expect(first?.headers()["content-type"]).toBe("image/png");
  expect((await first?.body())?.equals(PNG)).toBe(true);
  const again = await page.evaluate(async (url) => {
    const res = await fetch(url, { cache: "no-store" });
    return { status: res.status, cache: res.headers.get("x-cache"), bytes: (await res.arrayBuffer()).byteLength };
  }, asset);
  expect(again).toEqual({ status: 200, cache: "HIT", bytes: PNG.length });

  // The edge writes its usage every 2 s: the request logs show both requests once it has.
  await expect(async () => {
    await page.goto(`${BASE_URL}/tenants/${slug}/logs?path=/hero.png`);
    const rows = page.getByRole("table", { name: /request logs/i }).locator("tbody tr");
    await expect(rows).toHaveCount(2, { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  const rows = page.getByRole("table", { name: /request logs/i }).locator("tbody tr");
  await expect(rows.nth(0)).toContainText("HIT");
  await expect(rows.nth(1)).toContainText("MISS");
  await expect(rows.nth(0)).toContainText("/hero.png");

  await page.goto(`${BASE_URL}/tenants/${slug}?period=7d`);
  await expect(page.getByText("No traffic yet.")).toHaveCount(0);
  await expect(page.getByRole("region", { name: "Top paths table" })).toContainText("/hero.png");
  await context.close();
});
