// What holds on every page: usable at 375 px, dark mode that follows the system (and stays accessible), charts
// that take their space before they draw, titles.
import { expect, expectAccessible, ingest, screenshot, signedInContext, test } from "./support/fixtures";

const slug = "throughout-co";
const pages = ["/", "/usage", `/tenants/${slug}`, `/tenants/${slug}/bandwidth`, `/tenants/${slug}/domains`, `/tenants/${slug}/logs`, `/tenants/${slug}/settings`, "/tenants/new"];

test.beforeAll(async ({ browser }) => {
  const context = await signedInContext(browser, { userId: "e2e-throughout", plan: "pro" }, { javaScriptEnabled: true });
  // A worker started again after a failure finds the tenant (and its traffic) already there.
  const created = (await context.request.post("/api/tenants", { data: { slug, cms: "sanity", projectId: "p1" } })).status();
  expect([201, 409]).toContain(created);
  const now = Date.now();
  if (created === 201) await ingest(
    context.request,
    Array.from({ length: 30 }, (_, n) => ({
      tenant: slug,
      timestamp: new Date(now - n * 3_600_000 - 60_000).toISOString(),
      method: "GET",
      path: `/images/${n % 3}.png`,
      status: 200,
      bytes: 5000,
      cacheStatus: n % 2 ? "HIT" : "MISS",
      kind: "asset",
      durationMs: 9,
    })),
  );
  await context.close();
});

test("every page fits 375 px without sideways scrolling, and has its own title", async ({ browser }) => {
  const context = await signedInContext(browser, { userId: "e2e-throughout", plan: "pro" }, { javaScriptEnabled: true });
  const page = await context.newPage();
  await page.setViewportSize({ width: 375, height: 800 });
  const titles = new Set<string>();
  for (const path of pages) {
    await page.goto(path);
    await expect(page.locator("h1")).toBeVisible();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, `${path} scrolls sideways by ${overflow}px`).toBeLessThanOrEqual(0);
    titles.add(await page.title());
  }
  expect(titles.size).toBe(pages.length);
  await screenshot(page, "overview-375px", true);
  await context.close();
});

test("dark mode follows the system and stays accessible", async ({ browser }) => {
  for (const js of [true, false]) {
    const context = await signedInContext(browser, { userId: "e2e-throughout", plan: "pro" }, { javaScriptEnabled: js });
    const page = await context.newPage();
    await page.emulateMedia({ colorScheme: "dark" });
    for (const path of [`/tenants/${slug}`, `/tenants/${slug}/settings`]) {
      await page.goto(path);
      const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(background).toBe("rgb(20, 23, 27)");
      await expectAccessible(page, js);
    }
    await screenshot(page, "settings-dark", js);
    await context.close();
  }
});

test("charts take their place before JavaScript draws them: nothing moves", async ({ browser }) => {
  const heights: number[] = [];
  const tablesTop: number[] = [];
  for (const js of [false, true]) {
    const context = await signedInContext(browser, { userId: "e2e-throughout", plan: "pro" }, { javaScriptEnabled: js });
    const page = await context.newPage();
    await page.setViewportSize({ width: 1200, height: 900 });
    await page.goto(`/tenants/${slug}?period=7d`);
    if (js) await expect(page.locator(".recharts-wrapper")).toHaveCount(2);
    const boxes = await page.locator(".chart-box").evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height));
    heights.push(...boxes);
    tablesTop.push(await page.getByRole("table", { name: "Daily traffic" }).evaluate((e) => e.getBoundingClientRect().top));
    await context.close();
  }
  expect(new Set(heights).size).toBe(1);
  expect(tablesTop[0]).toBe(tablesTop[1]);
});
