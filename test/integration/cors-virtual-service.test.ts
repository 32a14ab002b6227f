// A VirtualService corsPolicy, end to end: YAML translated as istiod would, served by the proxy,
// answered by Envoy's CORS filter over a real socket.

import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { translate } from "../../src/config/istio/translate.js";
import { parseConfigText } from "../../src/config/load/load-sources.js";
import { formatConfigError } from "../../src/config/model/config-error.js";
import { sharedPath } from "../helpers/shared-dir.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { parseResponses, rawExchange } from "../helpers/raw-client.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";

let proxy: TestProxy | undefined;
let upstream: EchoUpstream | undefined;
afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

/** Istio's own sample (tests/testdata/config/rule-default-route-cors-policy.yaml), its endpoint moved to our upstream. */
async function sampleProxy(extraCors = ""): Promise<TestProxy> {
  upstream = await startEchoUpstream("cors-app");
  const sample = readFileSync(sharedPath("istio-samples", "istio", "tests", "testdata", "config", "rule-default-route-cors-policy.yaml"), "utf8");
  expect(sample).toContain("address: 127.0.0.2");
  const yaml = sample.replace("address: 127.0.0.2", "address: 127.0.0.1").replace("http: 7072", `http: ${upstream.port}`).replace("allowCredentials: true", `allowCredentials: true${extraCors}`);
  const { documents, errors } = parseConfigText(yaml, "cors.yaml");
  expect(errors).toEqual([]);
  const port = await freePort();
  const r = translate(documents, { namespace: "testns", proxyLabels: {}, domainSuffix: "cluster.local", defaultOutbound: { address: "127.0.0.1", port } });
  expect(r.errors.map(formatConfigError)).toEqual([]);
  proxy = await startProxy({ version: "cors/1", ...r.snapshot });
  return proxy;
}

async function send(p: TestProxy, method: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string> }> {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  const out = await rawExchange(p.port, `${method} /api HTTP/1.1\r\nHost: cors.test.istio.io\r\n${extra}Connection: close\r\n\r\n`);
  const r = parseResponses(out)[0]!;
  return { status: r.status, headers: r.headers };
}

describe("VirtualService corsPolicy through the proxy", () => {
  it("answers the browser's preflight for the allowed origin without reaching the app", async () => {
    const p = await sampleProxy();
    const r = await send(p, "OPTIONS", { Origin: "http://foo.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" });
    expect(r.status).toBe(200);
    expect(r.headers).toMatchObject({
      "access-control-allow-origin": "http://foo.example",
      "access-control-allow-methods": "POST,GET,OPTIONS",
      "access-control-allow-headers": "content-type",
      "access-control-max-age": "300",
      "access-control-allow-credentials": "true",
    });
    expect(upstream!.requests).toHaveLength(0);
  });

  it("the actual request reaches the app and its response carries allow-origin, credentials and expose-headers", async () => {
    const p = await sampleProxy();
    const r = await send(p, "GET", { Origin: "http://foo.example" });
    expect(r.status).toBe(200);
    expect(r.headers["x-upstream"]).toBe("cors-app");
    expect(r.headers).toMatchObject({ "access-control-allow-origin": "http://foo.example", "access-control-allow-credentials": "true", "access-control-expose-headers": "x-custom-header" });
  });

  it("unmatchedPreflights: default FORWARD sends another origin's preflight to the app; IGNORE answers it locally", async () => {
    const forward = await sampleProxy();
    const f = await send(forward, "OPTIONS", { Origin: "http://evil.example", "Access-Control-Request-Method": "POST" });
    expect(f.headers["x-upstream"]).toBe("cors-app");
    expect(f.headers["access-control-allow-origin"]).toBeUndefined();
    await proxy!.close();
    await upstream!.close();

    const ignore = await sampleProxy("\n        unmatchedPreflights: IGNORE");
    const i = await send(ignore, "OPTIONS", { Origin: "http://evil.example", "Access-Control-Request-Method": "POST" });
    expect(i.status).toBe(200);
    expect(i.headers["x-upstream"]).toBeUndefined();
    expect(i.headers["access-control-allow-origin"]).toBeUndefined();
    expect(upstream!.requests).toHaveLength(0);
  });
});
