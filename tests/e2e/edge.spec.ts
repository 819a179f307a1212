// The product doing its job, in a browser: a tenant created through the API is served by the edge that `npm start`
// runs beside the app, and the dashboard then shows that real traffic (request logs, overview, bandwidth and usage).
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
  // Chromium asks the edge for /favicon.ico after showing the image: kept out, so the figures are this test's requests.
  // (With any route set, Playwright itself aborts a page's favicon requests; this one says which requests it means.)
  await page.route("**/favicon.ico", (route) => route.abort());
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
  // The UTC day both requests were counted on (they came a moment apart).
  const day = new Date().toISOString().slice(0, 10);
  const bandwidth = `${2 * PNG.length} B`;

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

  // Overview, bandwidth and usage pages: exactly those two requests, one miss and one hit.
  await page.goto(`${BASE_URL}/tenants/${slug}?period=7d`);
  await expect(page.getByText("No traffic yet.")).toHaveCount(0);
  const row = (region: string, header: string | RegExp) => page.getByRole("region", { name: region }).getByRole("row").filter({ has: page.getByRole("rowheader", { name: header }) });
  await expect(row("Assets and API table", "Assets").getByRole("cell")).toHaveText(["2", bandwidth, "50.0%"]);
  // No API requests: no ratio to show.
  await expect(row("Assets and API table", "API").getByRole("cell")).toHaveText(["0", "0 B", "—"]);
  await expect(row("Status classes table", "2xx").getByRole("cell")).toHaveText(["2"]);
  await expect(row("Top paths table", "/hero.png").getByRole("cell")).toHaveText(["2", bandwidth]);
  await page.goto(`${BASE_URL}/tenants/${slug}/bandwidth`);
  await expect(page.getByRole("table", { name: "Daily bandwidth" }).getByRole("row").filter({ has: page.getByRole("rowheader", { name: day }) }).getByRole("cell")).toHaveText([
    bandwidth,
    "2",
  ]);
  await page.goto(`${BASE_URL}/usage?period=7d`);
  const usage = page.getByRole("table", { name: "Usage per tenant" }).getByRole("row").filter({ has: page.getByRole("rowheader", { name: slug }) }).getByRole("cell");
  await expect(usage.nth(0)).toHaveText("2");
  await expect(usage.nth(3)).toHaveText(bandwidth);
  await expect(usage.nth(6)).toHaveText("50.0%");
  await context.close();
});
