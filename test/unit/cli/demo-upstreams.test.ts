import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { demoUpstreamSpecs, startDemoUpstreams } from "../../../src/demo/demo-upstreams.js";

describe("demo upstreams", () => {
  it("the default set: productpage, reviews v1-v3, ratings on their fixed ports", () => {
    expect(demoUpstreamSpecs.map((s) => `${s.service}/${s.version}:${s.port}`)).toEqual([
      "productpage/v1:19080",
      "reviews/v1:19081",
      "reviews/v2:19082",
      "reviews/v3:19083",
      "ratings/v1:19091",
    ]);
  });

  it("each answers JSON describing the request it received", async () => {
    const demo = await startDemoUpstreams({ specs: demoUpstreamSpecs.map((s) => ({ ...s, port: 0 })) });
    try {
      expect(demo.upstreams).toHaveLength(5);
      for (const u of demo.upstreams) {
        const r = await fetch(`http://127.0.0.1:${u.port}/some/path?q=1`, { method: "POST", body: "hello", headers: { "x-test": "yes" } });
        expect(r.status).toBe(200);
        expect(r.headers.get("content-type")).toBe("application/json");
        const echo = (await r.json()) as { service: string; version: string; method: string; path: string; headers: Record<string, string> };
        expect(echo).toMatchObject({ service: u.service, version: u.version, method: "POST", path: "/some/path?q=1" });
        expect(echo.headers["x-test"]).toBe("yes");
      }
    } finally {
      await demo.close();
    }
  });

  it("a taken port is a clear error, and nothing is left listening", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const taken = (blocker.address() as AddressInfo).port;
    try {
      await expect(
        startDemoUpstreams({ specs: [{ service: "a", version: "v1", port: 0 }, { service: "reviews", version: "v2", port: taken }] }),
      ).rejects.toThrow(`demo upstream reviews v2 cannot listen on 127.0.0.1:${taken}: address already in use`);
    } finally {
      blocker.close();
    }
  });
});
