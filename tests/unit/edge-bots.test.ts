// The bad-bot filter: a user agent naming a listed bot (case aside, the names taken as plain text) is refused.
import { describe, expect, it } from "vitest";
import { botFilter } from "#edge/handler.ts";
import { DEFAULT_BLOCKED_BOTS } from "#edge/server.ts";

const AHREFS = "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)";
const CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36";

describe("botFilter", () => {
  it("refuses an agent naming a listed bot in any case, and no other", () => {
    const blocked = botFilter(DEFAULT_BLOCKED_BOTS);
    expect([AHREFS, AHREFS.toUpperCase(), "semrushbot/7", "Bytespider", CHROME, "curl/8.5.0", ""].map(blocked)).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  it("takes names in any case, ignores empty ones, and refuses nothing when none are listed", () => {
    const blocked = botFilter(["BadBot", ""]);
    expect(["a badbot crawler", "BADBOT", CHROME].map(blocked)).toEqual([true, true, false]);
    expect([AHREFS, CHROME, ""].map(botFilter([]))).toEqual([false, false, false]);
    expect([AHREFS, CHROME].map(botFilter([""]))).toEqual([false, false]);
  });

  it("takes names as plain text, whatever characters they hold", () => {
    const blocked = botFilter(["bad.bot", "a+b", "(x)", "[y]", "q?", "back\\slash", "slash/bot", "dash-bot", "c$", "^d", "e|f", "{2}"]);
    const agents = ["bad.bot/1", "badxbot/1", "a+b", "aab", "(x)", "x", "[y]", "y", "q?", "q", "back\\slash", "slash/bot", "dash-bot", "dashbot", "c$", "c", "^d", "d", "e|f", "e", "{2}"];
    expect(agents.filter(blocked)).toEqual(["bad.bot/1", "a+b", "(x)", "[y]", "q?", "back\\slash", "slash/bot", "dash-bot", "c$", "^d", "e|f", "{2}"]);
  });
});
