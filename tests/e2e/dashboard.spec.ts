// Every dashboard page, the whole life of a tenant, twice: with JavaScript and with it turned off. Each page is
// checked with axe (no serious or critical violations) and photographed (test-results/screenshots).
import { type BrowserContext, type Page } from "@playwright/test";
import { EDGE_PORT } from "../../playwright.config";
import { expect, expectAccessible, ingest, publishDns, screenshot, signedInContext, test, type TrafficEvent } from "./support/fixtures";

const DAY = 86_400_000;

/** Traffic of the last days: enough for charts, tables and two pages of logs. */
function traffic(slug: string): TrafficEvent[] {
  const now = Date.now();
  return Array.from({ length: 120 }, (_, n) => ({
    tenant: slug,
    timestamp: new Date(now - (n % 6) * DAY - 60_000 - n * 1000).toISOString(),
    method: "GET",
    path: n % 4 === 0 ? `/~api/entries/${n % 5}` : `/img/photo-${n % 7}.jpg`,
    status: n % 15 === 0 ? 404 : 200,
    bytes: 10_000 + n * 10,
    cacheStatus: (["HIT", "HIT", "MISS", "BYPASS"] as const)[n % 4],
    kind: n % 4 === 0 ? "api" : "asset",
    durationMs: 8 + (n % 20),
  }));
}

for (const js of [true, false]) {
  const mode = js ? "js" : "no-js";

  test.describe(`dashboard (${js ? "with" : "without"} JavaScript)`, () => {
    test.describe.configure({ mode: "serial" });
    const slug = `flow-${mode}`;
    const user = `e2e-owner-${mode}`;
    /** The traffic the overview test ingested. */
    let sent: TrafficEvent[] = [];
    let context: BrowserContext;
    let page: Page;

    /** Visits a page, checks it with axe and keeps a screenshot. */
    async function visit(path: string, name: string) {
      await page.goto(path);
      await expect(page.locator("h1")).toBeVisible();
      await expectAccessible(page, js);
      await screenshot(page, name, js);
    }

    test.beforeAll(async ({ browser }) => {
      context = await signedInContext(browser, { userId: user, plan: "pro" }, { javaScriptEnabled: js });
      page = await context.newPage();
    });
    test.afterAll(async () => {
      await context.close();
    });

    test("the tenants page, empty, with the plan's usage", async () => {
      await visit("/", "tenants-empty");
      await expect(page.getByRole("heading", { name: "Tenants", level: 1 })).toBeVisible();
      await expect(page.getByText("No tenants yet.")).toBeVisible();
      await expect(page.getByRole("progressbar", { name: /^Tenants: 0 of 100/ })).toBeVisible();
    });

    test("creating a tenant: a validation error, a taken slug, then success", async ({ browser }) => {
      // Someone else already holds the slug `taken-${mode}`.
      const other = await signedInContext(browser, { userId: `e2e-other-${mode}`, plan: "pro" }, { javaScriptEnabled: true });
      const res = await other.request.post("/api/tenants", { data: { slug: `taken-${mode}`, cms: "storyblok" } });
      expect(res.status()).toBe(201);
      await other.close();

      await visit("/tenants/new", "new-tenant");
      await page.getByLabel("Slug", { exact: true }).fill("Bad Slug!");
      await page.getByLabel("Space ID", { exact: true }).fill("space123");
      await page.getByText("Optional settings").click();
      await page.getByLabel("Cache TTL (seconds)").fill("5");
      // (Leaving the field first: with JavaScript its error then shows below it, and the button moves down.)
      await page.getByLabel("Cache TTL (seconds)").press("Tab");
      await page.getByRole("button", { name: "Create tenant" }).click();
      const slugError = page.locator("#new-tenant-slug-error");
      await expect(slugError).toContainText("may contain only a-z, 0-9 and hyphens");
      await expect(page.getByLabel("Slug", { exact: true })).toBeFocused();
      await expect(page.getByLabel("Slug", { exact: true })).toHaveAttribute("aria-invalid", "true");
      // An error under "Optional settings" is in sight: the section comes back open, its value kept.
      await expect(page.locator("#new-tenant-cacheTTL-error")).toBeVisible();
      await expect(page.locator("#new-tenant-cacheTTL-error")).toHaveText("must be at least 60 seconds");
      await expect(page.getByLabel("Cache TTL (seconds)")).toHaveValue("5");
      await page.getByLabel("Cache TTL (seconds)").fill("");

      await page.getByLabel("Slug", { exact: true }).fill(`taken-${mode}`);
      if (js) await expect(page.getByText(`taken-${mode} is taken`)).toBeVisible();
      await page.getByRole("button", { name: "Create tenant" }).click();
      await expect(slugError).toHaveText(`The slug "taken-${mode}" is taken`);
      await screenshot(page, "new-tenant-errors", js);

      await page.getByLabel("Slug", { exact: true }).fill(slug);
      if (js) await expect(page.getByText(`${slug} is available`)).toBeVisible();
      if (js) {
        // With JavaScript, pressing again while the form is on its way sends nothing (a second POST would answer
        // "taken" for the tenant just made). The browser holds the POST back for a moment to press in between.
        const posts: string[] = [];
        const onRequest = (r: { method(): string; url(): string }) => {
          if (r.method() === "POST" && new URL(r.url()).pathname === "/tenants/new") posts.push(r.url());
        };
        page.on("request", onRequest);
        const createPath = (url: URL) => url.pathname === "/tenants/new";
        await page.route(createPath, async (route) => {
          if (route.request().method() === "POST") await new Promise((r) => setTimeout(r, 800));
          await route.continue();
        });
        const submit = page.locator('form#new-tenant button[type="submit"]');
        await submit.click();
        await expect(submit).toHaveAttribute("aria-disabled", "true");
        // (A person's click is not held back by aria-disabled, as Playwright's is unless forced.)
        await submit.click({ force: true });
        await page.getByLabel("Slug", { exact: true }).press("Enter");
        await expect(page).toHaveURL(new RegExp(`/tenants/${slug}$`));
        expect(posts).toHaveLength(1);
        page.off("request", onRequest);
        await page.unroute(createPath);
      } else await page.getByRole("button", { name: "Create tenant" }).click();
      await expect(page).toHaveURL(new RegExp(`/tenants/${slug}$`));
      await expect(page.getByRole("status").filter({ hasText: `Tenant ${slug} created` })).toBeVisible();
    });

    test("the overview: empty state first, then numbers, charts and tables", async () => {
      await visit(`/tenants/${slug}`, "overview-empty");
      await expect(page.getByText("No traffic yet.")).toBeVisible();
      await expect(page.getByText(`curl -I http://${slug}.localhost:${EDGE_PORT}/your-asset.jpg`)).toBeVisible();

      sent = traffic(slug);
      await ingest(page.request, sent);
      await page.goto(`/tenants/${slug}?period=7d`);
      await expect(page.getByText("No traffic yet.")).toHaveCount(0);
      const kpi = (label: string) =>
        page.locator(".kpi").filter({ has: page.locator(".kpi-label", { hasText: new RegExp(`^${label}$`) }) }).locator(".kpi-value");
      await expect(kpi("Requests")).toHaveText("120");
      await expect(kpi("Cache hit ratio")).toHaveText("50.0%");
      await expect(kpi("Origin requests avoided")).toHaveText("60");
      await expect(page.getByRole("table", { name: "Daily traffic" }).getByRole("row")).toHaveCount(8);
      await expect(page.getByRole("region", { name: "Top paths table" })).toContainText("/img/photo-1.jpg");
      if (js) await expect(page.locator(".chart-box .recharts-wrapper")).toHaveCount(2);
      else await expect(page.locator(".chart-placeholder")).toHaveCount(2);
      await expectAccessible(page, js);
      await screenshot(page, "overview", js);

      // The period switcher is a GET form, sent by its Show button (not on change, with JavaScript either).
      const period = page.getByRole("combobox", { name: "Period" });
      await period.selectOption("30d");
      await page.waitForTimeout(300);
      await expect(page).toHaveURL(/period=7d$/);
      await page.getByRole("button", { name: "Show" }).click();
      await expect(page).toHaveURL(/period=30d/);
      await expect(page.getByRole("table", { name: "Daily traffic" }).getByRole("row")).toHaveCount(31);
      if (js) {
        // Back: the switcher shows the period the page shows.
        await page.goBack();
        await expect(page).toHaveURL(/period=7d$/);
        await expect(page.getByRole("table", { name: "Daily traffic" }).getByRole("row")).toHaveCount(8);
        await expect(period).toHaveValue("7d");
        await page.goForward();
        await expect(period).toHaveValue("30d");
      }

      // A month before the traffic: no first-run help, the period said to be quiet, no ratio where there were no requests.
      await page.goto(`/tenants/${slug}?period=2020-01`);
      await expect(page.getByText("No requests in this period: choose another one to see earlier traffic.", { exact: true })).toBeVisible();
      await expect(page.getByText("No traffic yet.")).toHaveCount(0);
      await expect(kpi("Cache hit ratio")).toHaveText("—");
      const firstDay = page.getByRole("table", { name: "Daily traffic" }).getByRole("row", { name: /^2020-01-01/ });
      await expect(firstDay.getByRole("cell")).toHaveText(["0", "0 B", "—"]);

      // A period it cannot read: said next to the switcher, which is marked invalid and points at the message.
      await page.goto(`/tenants/${slug}?period=bogus`);
      const select = page.getByRole("combobox", { name: "Period" });
      await expect(select).toHaveAttribute("aria-invalid", "true");
      await expect(select).toHaveAccessibleDescription("“bogus” is not a period; showing this month.");
    });

    test("the bandwidth page with a from/to range", async () => {
      await visit(`/tenants/${slug}/bandwidth`, "bandwidth");
      await expect(page.getByRole("table", { name: "Daily bandwidth" }).getByRole("row")).toHaveCount(31);
      const today = new Date().toISOString().slice(0, 10);
      const from = new Date(Date.now() - 2 * DAY).toISOString().slice(0, 10);
      await page.getByLabel("From", { exact: true }).fill(from);
      await page.getByLabel("To", { exact: true }).fill(today);
      await page.getByRole("button", { name: "Show" }).click();
      await expect(page).toHaveURL(new RegExp(`from=${from}&to=${today}`));
      await expect(page.getByRole("table", { name: "Daily bandwidth" }).getByRole("row")).toHaveCount(4);
      await expect(page.getByLabel("From", { exact: true })).not.toHaveAttribute("aria-invalid", "true");

      // A day that does not exist: the field is marked invalid and points at the message; the other is not.
      await page.goto(`/tenants/${slug}/bandwidth?from=2025-02-30&to=${today}`);
      const fromField = page.getByLabel("From", { exact: true });
      await expect(fromField).toHaveAttribute("aria-invalid", "true");
      await expect(fromField).toHaveAccessibleDescription("from must be a date as YYYY-MM-DD. Showing the last 30 days.");
      await expect(page.getByLabel("To", { exact: true })).not.toHaveAttribute("aria-invalid", "true");
    });

    test("settings: edit the tenant, configure the API proxy, set the token, refresh caches", async () => {
      await visit(`/tenants/${slug}/settings`, "settings");
      await page.getByLabel("Cache TTL (seconds)", { exact: true }).fill("3600");
      await page.getByLabel("Website domain", { exact: true }).fill("www.example.com");
      // The toast's live region is on the page before there is news: a screen reader announces what is put in it,
      // not a region made together with its text (as a client-side navigation would).
      await expect(page.locator('div[role="status"]')).toHaveCount(1);
      const region = await page.locator('div[role="status"]').elementHandle();
      expect(await region?.evaluate((el) => el.textContent)).toBe("");
      await page.getByRole("button", { name: "Save settings" }).click();
      await expect(page.getByRole("status").filter({ hasText: /saved/i })).toBeVisible();
      if (js) expect(await region?.evaluate((el) => el.isConnected && el.textContent)).toBe("Settings saved×");
      await expect(page.getByLabel("Cache TTL (seconds)", { exact: true })).toHaveValue("3600");

      // A validation error keeps the page and says where.
      await page.getByLabel("Cache TTL (seconds)", { exact: true }).fill("5");
      await page.getByRole("button", { name: "Save settings" }).click();
      await expect(page.getByText("must be at least 60 seconds")).toBeVisible();
      await page.goto(`/tenants/${slug}/settings`);

      await page.getByLabel("API origin", { exact: true }).fill("https://cdn.contentful.com");
      await page.getByLabel("Authentication", { exact: true }).selectOption("bearer");
      await page.getByRole("button", { name: "Save API proxy" }).click();
      await expect(page.getByRole("status").filter({ hasText: /API proxy/i })).toBeVisible();
      await expect(page.getByLabel("API origin", { exact: true })).toHaveValue("https://cdn.contentful.com");

      const token = `e2e-secret-${mode}-8f3a`;
      await page.getByLabel("API token", { exact: true }).fill(token);
      await page.getByRole("button", { name: "Save token" }).click();
      await expect(page.getByRole("status").filter({ hasText: "API token saved" })).toBeVisible();
      await expect(page.getByText(/set on \d{4}-\d{2}-\d{2}/)).toBeVisible();
      expect(await page.content()).not.toContain(token);

      // The origin moves to another host: the token does not follow it, and the page says so until the reader has
      // seen it (with JavaScript, an info toast does not go by itself as a success does: 10 s later it is still there).
      if (js) await page.clock.install();
      await page.getByLabel("API origin", { exact: true }).fill("https://api.elsewhere.example");
      await page.getByRole("button", { name: "Save API proxy" }).click();
      const removed = page.getByRole("status").filter({ hasText: "the API token was removed because the API origin changed host, scheme or port: enter it again" });
      await expect(removed).toBeVisible();
      await expect(page.getByText("The token is not set.")).toBeVisible();
      if (js) {
        await page.clock.fastForward(10_000);
        await expect(removed).toBeVisible();
      }
      await page.getByLabel("API token", { exact: true }).fill(token);
      await page.getByRole("button", { name: "Save token" }).click();
      await expect(page.getByRole("status").filter({ hasText: "API token saved" })).toBeVisible();
      if (js) {
        await page.clock.fastForward(10_000);
        await expect(page.getByRole("status").filter({ hasText: "API token saved" })).toHaveCount(0);
      }

      await page.getByRole("button", { name: "Refresh API cache" }).click();
      await expect(page.getByRole("status").filter({ hasText: "Cache versions now api 2, assets 1" })).toBeVisible();
      await page.getByRole("button", { name: "Refresh both" }).click();
      await expect(page.getByRole("status").filter({ hasText: "Cache versions now api 3, assets 2" })).toBeVisible();
      await screenshot(page, "settings-after", js);
    });

    test("domains: add, verify against the test DNS server, remove", async () => {
      await visit(`/tenants/${slug}/domains`, "domains-empty");
      const hostname = `cdn.${slug}.com`;
      await page.getByLabel("Hostname", { exact: true }).fill(hostname);
      await page.getByRole("button", { name: "Add domain" }).click();
      await expect(page.getByRole("status").filter({ hasText: `${hostname} added` })).toBeVisible();
      await expect(page.getByText("pending").first()).toBeVisible();

      // Publish exactly the records the page asks for, then verify.
      const card = page.locator(`#domain-${hostname.replaceAll(".", "\\.")}`);
      const token = (await card.locator("code").filter({ hasNotText: "." }).first().textContent())?.trim() ?? "";
      expect(token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      await publishDns(page.request, hostname, { CNAME: ["edge.localhost"] });
      await publishDns(page.request, `_cmsassets-challenge.${hostname}`, { TXT: [[token]] });
      await page.getByRole("button", { name: `Verify ${hostname}` }).click();
      await expect(page.getByRole("status").filter({ hasText: `${hostname} verified: active` })).toBeVisible();
      await expect(card.getByText("active").first()).toBeVisible();
      await expectAccessible(page, js);
      await screenshot(page, "domains", js);

      if (js) {
        // Each domain's Verify is a form of its own: pressing one while another's check is on its way sends it too
        // (the double-submit guard holds back only the form that submitted). The browser holds POSTs back a moment.
        const second = `img.${slug}.com`;
        await page.getByLabel("Hostname", { exact: true }).fill(second);
        await page.getByRole("button", { name: "Add domain" }).click();
        await expect(page.getByRole("status").filter({ hasText: `${second} added` })).toBeVisible();
        const verifies: string[] = [];
        const onRequest = (r: { method(): string; postData(): string | null }) => {
          if (r.method() === "POST" && (r.postData() ?? "").includes("intent=verify")) verifies.push(r.postData() ?? "");
        };
        page.on("request", onRequest);
        const domainsPath = (url: URL) => url.pathname === `/tenants/${slug}/domains`;
        await page.route(domainsPath, async (route) => {
          if (route.request().method() === "POST") await new Promise((r) => setTimeout(r, 800));
          await route.continue().catch(() => undefined);
        });
        await page.getByRole("button", { name: `Verify ${second}` }).click();
        await page.getByRole("button", { name: `Verify ${hostname}` }).click({ force: true });
        await expect(page.getByRole("status").filter({ hasText: `${hostname} verified: active` })).toBeVisible();
        expect(verifies).toHaveLength(2);
        page.off("request", onRequest);
        await page.unroute(domainsPath);
        await page.getByLabel(`Yes, remove ${second}`, { exact: true }).check();
        await page.getByRole("button", { name: `Remove ${second}` }).click();
        await expect(page.getByRole("status").filter({ hasText: `${second} removed` })).toBeVisible();
      }

      await page.getByLabel(`Yes, remove ${hostname}`, { exact: true }).check();
      await page.getByRole("button", { name: `Remove ${hostname}` }).click();
      await expect(page.getByRole("status").filter({ hasText: `${hostname} removed` })).toBeVisible();
      await expect(page.getByRole("button", { name: `Verify ${hostname}` })).toHaveCount(0);
    });

    test("logs: filter, page through, download the CSV", async () => {
      await visit(`/tenants/${slug}/logs`, "logs");
      const rows = page.getByRole("table", { name: /request logs/i }).locator("tbody tr");
      await expect(rows).toHaveCount(50);
      await page.getByRole("link", { name: "Next page" }).click();
      await expect(rows).toHaveCount(50);
      await page.getByRole("link", { name: "Next page" }).click();
      await expect(rows).toHaveCount(20);
      await expect(page.getByRole("link", { name: "Next page" })).toHaveCount(0);
      await page.getByRole("link", { name: "Back to the newest" }).click();
      await expect(rows).toHaveCount(50);

      await page.getByLabel("Kind", { exact: true }).selectOption("api");
      await page.getByLabel("Path prefix", { exact: true }).fill("/~api/entries/0");
      await page.getByRole("button", { name: "Filter" }).click();
      await expect(page).toHaveURL(/kind=api/);
      await expect(rows).toHaveCount(6);
      await screenshot(page, "logs-filtered", js);

      const download = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download CSV" }).click()]);
      expect(download[0].suggestedFilename()).toBe(`${slug}-logs.csv`);
      const csv = await (await download[0].createReadStream()).toArray();
      const lines = Buffer.concat(csv).toString().trim().split(/\r?\n/);
      expect(lines[0]).toBe("timestamp,method,path,status,cacheStatus,kind,bytes,durationMs");
      expect(lines).toHaveLength(7);
      expect(lines.slice(1).every((l) => l.includes(",/~api/entries/0,") && l.includes(",api,"))).toBe(true);

      // Clear: every log again, and the form empty (a filter pressed next starts from nothing).
      await page.getByRole("link", { name: "Clear" }).click();
      await expect(rows).toHaveCount(50);
      await expect(page.getByLabel("Kind", { exact: true })).toHaveValue("");
      await expect(page.getByLabel("Path prefix", { exact: true })).toHaveValue("");
      await page.getByLabel("Cache status", { exact: true }).selectOption("HIT");
      await page.getByRole("button", { name: "Filter" }).click();
      await expect(page).toHaveURL(/\/logs\?status=&cache=HIT&kind=&path=&from=&to=$/);
    });

    test("the usage page, and the tenant in the list", async () => {
      await visit("/usage?period=7d", "usage");
      await expect(page.getByRole("row", { name: new RegExp(slug) })).toContainText("120");
      // A period without requests has no hit ratio to show.
      await page.goto("/usage?period=2020-01");
      await expect(page.getByRole("row", { name: new RegExp(slug) }).getByRole("cell")).toHaveText(["0", "0", "—", "0 B", "0 B", "—", "—"]);
      await visit("/", "tenants");
      const row = page.getByRole("row", { name: new RegExp(slug) });
      await expect(row).toContainText("contentful");
      await expect(row).toContainText(`http://${slug}.localhost:${EDGE_PORT}`);
      // The list counts this UTC month's requests: early in a month, the traffic of the days before is last month's.
      const today = new Date();
      const monthStart = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1);
      const thisMonth = sent.filter((e) => Date.parse(e.timestamp) >= monthStart).length;
      await expect(row.getByRole("cell").nth(3)).toHaveText(String(thisMonth));
    });

    test("deleting the tenant only after its slug is typed again", async () => {
      await page.goto(`/tenants/${slug}/settings`);
      await page.getByLabel(`Type ${slug} to confirm`, { exact: true }).fill("wrong");
      await page.getByRole("button", { name: "Delete tenant" }).click();
      await expect(page).toHaveURL(new RegExp(`/tenants/${slug}/settings`));
      await expect(page.locator(".danger-zone .field-errors")).toBeVisible();
      await page.getByLabel(`Type ${slug} to confirm`, { exact: true }).fill(slug);
      await page.getByRole("button", { name: "Delete tenant" }).click();
      await expect(page).toHaveURL(/\/$/);
      await expect(page.getByRole("status").filter({ hasText: `Tenant ${slug} deleted` })).toBeVisible();
      await page.goto(`/tenants/${slug}`);
      await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();
      await expectAccessible(page, js);
    });
  });
}

test("a form's own error (the plan's limit on domains) is focused as the page comes back, without JavaScript", async ({ browser }) => {
  const context = await signedInContext(browser, { userId: "e2e-free-domains", plan: "free" }, { javaScriptEnabled: false });
  const page = await context.newPage();
  expect((await context.request.post("/api/tenants", { data: { slug: "free-domains", cms: "storyblok" } })).status()).toBe(201);
  await page.goto("/tenants/free-domains/domains");
  await page.getByLabel("Hostname", { exact: true }).fill("cdn.free-domains.com");
  await page.getByRole("button", { name: "Add domain" }).click();
  const errors = page.locator("[data-form-errors]");
  await expect(errors).toContainText("free plan");
  await expect(errors).toBeFocused();
  await context.close();
});
