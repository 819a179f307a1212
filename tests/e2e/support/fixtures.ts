// Browser-test fixtures: contexts with a real session cookie planted (no clicking through sign-in), with and without
// JavaScript; traffic through the ingest API; DNS records through the test DNS server; accessibility checks with
// axe; screenshots kept as artifacts.
import fs from "node:fs";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { type APIRequestContext, type Browser, type BrowserContext, type Page, expect, test as base } from "@playwright/test";
import { createCookieSessionStorage } from "@remix-run/node";
import { BASE_URL, DNS_CONTROL_URL, E2E_INGEST_KEY, E2E_SESSION_SECRET } from "../../../playwright.config";

const sessions = createCookieSessionStorage({
  cookie: { name: "__local_session", httpOnly: true, sameSite: "lax", path: "/", secrets: [E2E_SESSION_SECRET] },
});

export interface Who {
  userId: string;
  plan?: "free" | "pro";
  orgId?: string;
}

/** A browser context signed in as `who` with a real local-mode session cookie. */
export async function signedInContext(browser: Browser, who: Who, opts: { javaScriptEnabled: boolean }): Promise<BrowserContext> {
  const session = await sessions.getSession();
  session.set("userId", who.userId);
  session.set("plan", who.plan ?? "pro");
  if (who.orgId) session.set("orgId", who.orgId);
  const [pair] = (await sessions.commitSession(session)).split(";");
  const [name, ...rest] = pair.split("=");
  const context = await browser.newContext({ javaScriptEnabled: opts.javaScriptEnabled, baseURL: BASE_URL });
  await context.addCookies([{ name, value: rest.join("="), url: BASE_URL }]);
  watch(context);
  return context;
}

export interface TrafficEvent {
  tenant: string;
  timestamp: string;
  method: string;
  path: string;
  status: number;
  bytes: number;
  cacheStatus: "HIT" | "MISS" | "BYPASS" | "ERROR";
  kind: "asset" | "api";
  durationMs: number;
}

export async function ingest(request: APIRequestContext, events: TrafficEvent[]): Promise<void> {
  const res = await request.post(`${BASE_URL}/api/usage/ingest`, { headers: { "X-Ingest-Key": E2E_INGEST_KEY }, data: { events } });
  expect(res.status()).toBe(200);
  expect((await res.json()) as { accepted: number }).toMatchObject({ accepted: events.length });
}

export async function publishDns(request: APIRequestContext, name: string, entry: { CNAME?: string[]; TXT?: string[][] }): Promise<void> {
  const res = await request.put(`${DNS_CONTROL_URL}/zone/${encodeURIComponent(name)}`, { data: entry });
  expect(res.status()).toBe(204);
}

/**
 * No serious or critical accessibility violations on the page as it is now. axe runs inside the page, so for a
 * page without JavaScript its HTML (scripts removed: exactly what that visitor has) is checked in a helper page.
 */
export async function expectAccessible(page: Page, jsEnabled: boolean): Promise<void> {
  let target = page;
  let helper: BrowserContext | undefined;
  if (!jsEnabled) {
    const html = (await page.content()).replace(/<script\b[\s\S]*?<\/script>/gi, "").replace("<head>", `<head><base href="${BASE_URL}/">`);
    helper = await (page.context().browser() as Browser).newContext({ javaScriptEnabled: true });
    target = await helper.newPage();
    await target.setContent(html, { waitUntil: "load" });
  }
  const results = await new AxeBuilder({ page: target }).analyze();
  await helper?.close();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`)).toEqual([]);
}

const SHOTS = path.resolve("test-results/screenshots");

/** A full-page screenshot kept as a test artifact, named after the page and whether JavaScript was on. */
export async function screenshot(page: Page, name: string, js: boolean): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}-${js ? "js" : "no-js"}.png`), fullPage: true });
}

/** What the browser reported going wrong during the current test: uncaught page errors and console errors. */
const browserErrors: string[] = [];
const watched = new WeakSet<BrowserContext>();

function watch(context: BrowserContext): void {
  if (watched.has(context)) return;
  watched.add(context);
  context.on("weberror", (e) => browserErrors.push(`uncaught: ${e.error().message}`));
  context.on("console", (m) => {
    // A page answered 4xx on purpose (a tenant not found, a refused form) is the browser saying so, not a fault.
    if (m.type() === "error" && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      browserErrors.push(`console.error: ${m.text()}`);
    }
  });
}

/**
 * Every test fails on an uncaught error or a console.error in any page of its browser (a hydration mismatch, a
 * React warning, a script that throws), whichever context the page is in.
 */
export const test = base.extend<{ noBrowserErrors: void }>({
  noBrowserErrors: [
    async ({ context }, use) => {
      watch(context);
      browserErrors.length = 0;
      await use();
      expect(browserErrors, "errors the browser reported").toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };
