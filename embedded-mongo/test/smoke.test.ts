import { describe, expect, it } from "vitest";
import { useTestServer } from "./harness";

const server = useTestServer();

describe("handshake and basic commands", () => {
  it("answers ping, hello and buildInfo like a MongoDB 7 standalone", async () => {
    const admin = server.client.db("admin");
    expect(await admin.command({ ping: 1 })).toEqual({ ok: 1 });
    const hello = await admin.command({ hello: 1 });
    expect(hello.isWritablePrimary).toBe(true);
    expect(hello.maxWireVersion).toBeGreaterThanOrEqual(21);
    expect(hello.maxBsonObjectSize).toBe(16 * 1024 * 1024);
    expect(hello.maxMessageSizeBytes).toBe(48_000_000);
    expect(hello.maxWriteBatchSize).toBe(100_000);
    expect(hello.logicalSessionTimeoutMinutes).toBeTypeOf("number");
    expect(hello.localTime).toBeInstanceOf(Date);
    expect(hello.connectionId).toBeTypeOf("number");
    const legacy = await admin.command({ isMaster: 1 });
    expect(legacy.ismaster).toBe(true);
    const info = await admin.command({ buildInfo: 1 });
    expect(info.versionArray[0]).toBeGreaterThanOrEqual(7);
  });

  it("answers an unknown command with CommandNotFound", async () => {
    await expect(server.db.command({ frobnicate: 1 })).rejects.toMatchObject({
      code: 59,
      codeName: "CommandNotFound",
    });
  });
});
