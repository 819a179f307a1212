// The bad-bot filter: a user agent naming a listed bot (case aside) is refused; verdicts are kept per agent, bounded.
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

  it("gives the same verdicts when asked again, past the number of verdicts it keeps", () => {
    const blocked = botFilter(["ahrefsbot"]);
    const agents = Array.from({ length: 2_500 }, (_, i) => (i % 3 === 0 ? `${AHREFS} #${i}` : `${CHROME} #${i}`));
    const first = agents.map(blocked);
    expect(first.filter(Boolean).length).toBe(834);
    for (let round = 0; round < 2; round++) expect(agents.map(blocked)).toEqual(first);
    expect([...agents].reverse().map(blocked)).toEqual([...first].reverse());
  });
});
