// A tenant's overview page (routes/tenants.$slug._index.tsx): the first-run help only for a tenant never sent a
// request, not for a quiet period; another user's tenant is a 404.
import { Types } from "mongoose";
import { beforeAll, describe, expect, it } from "vitest";
import * as overviewPage from "#app/routes/tenants.$slug._index.tsx";
import { DailyUsage } from "#models/daily-usage.ts";
import { Tenant } from "#models/tenant.ts";
import { localCookie } from "#tests/fixtures/auth.ts";
import { resetDb } from "#tests/fixtures/db.ts";
import { call, read } from "#tests/fixtures/http.ts";

let owner: string;
const quietId = new Types.ObjectId();

const tenant = (slug: string, _id = new Types.ObjectId()) =>
  Tenant.create({ _id, slug, ownerId: "ov-owner", billingSubject: "user:ov-owner", cms: "contentful", spaceId: "sp1", cacheTTL: 3600 });

async function load(slug: string, period?: string, cookie = owner) {
  const res = await read(await call(overviewPage, `/tenants/${slug}${period ? `?period=${period}` : ""}`, { params: { slug }, cookie }));
  return { status: res.status, body: res.body as { neverServed: boolean; invalidPeriod: string | null; analytics: { totals: { requests: number } } } };
}

beforeAll(async () => {
  await resetDb();
  owner = await localCookie({ userId: "ov-owner" });
  await tenant("ov-new");
  await tenant("ov-quiet", quietId);
  // Traffic in January 2025 only.
  await DailyUsage.create({ tenant: quietId, slug: "ov-quiet", billingSubject: "user:ov-owner", ownerId: "ov-owner", day: new Date("2025-01-15T00:00:00Z"), requests: 12, bytes: 3_000, hits: 6, misses: 6 });
});

describe("the overview page", () => {
  it("offers the first-run help to a tenant never sent a request, in any period", async () => {
    for (const period of [undefined, "7d", "2025-01"]) {
      const { status, body } = await load("ov-new", period);
      expect([status, body.neverServed, body.analytics.totals.requests]).toEqual([200, true, 0]);
    }
  });

  it("does not offer it to a tenant with traffic, in a period without any", async () => {
    const quiet = await load("ov-quiet", "2025-02");
    expect([quiet.status, quiet.body.neverServed, quiet.body.analytics.totals.requests]).toEqual([200, false, 0]);
    const busy = await load("ov-quiet", "2025-01");
    expect([busy.status, busy.body.neverServed, busy.body.analytics.totals.requests]).toEqual([200, false, 12]);
  });

  it("answers 404 for another user's tenant", async () => {
    const stranger = await localCookie({ userId: "ov-stranger" });
    const res = await call(overviewPage, "/tenants/ov-quiet", { params: { slug: "ov-quiet" }, cookie: stranger });
    // The same answer as for a tenant that does not exist.
    expect([res.status, await res.text()]).toEqual([404, 'No tenant "ov-quiet"']);
    const none = await call(overviewPage, "/tenants/ov-none", { params: { slug: "ov-none" }, cookie: stranger });
    expect([none.status, await none.text()]).toEqual([404, 'No tenant "ov-none"']);
  });
});
