// A RequestAuthentication with a jwksUri through the Istio file source: the first push carries
// the provider pending (remote_jwks) while the keys are fetched from a local endpoint; once they
// arrive the source re-translates on its own and pushes them inlined (local_jwks), as istiod does.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/common/logger.js";
import type { JwtAuthentication } from "../../src/config/model/jwt-authn.js";
import type { HttpConnectionManager, Listener } from "../../src/config/model/types.js";
import { IstioFileSource } from "../../src/config/source/istio-file-source.js";
import type { ConfigUpdate, UpdateResult } from "../../src/config/source/config-source.js";
import { sharedPath } from "../helpers/shared-dir.js";

const JWKS_FILE = sharedPath("istio-samples", "istio", "security", "tools", "jwt", "samples", "jwks.json");

function jwtOf(u: ConfigUpdate): JwtAuthentication | undefined {
  const up = u.updates.find((x) => x.type === "listener");
  if (up === undefined || up.kind !== "state-of-the-world") throw new Error("no state-of-the-world listener update");
  const ls = up.resources as Record<string, Listener>;
  const l = ls["0.0.0.0_8080"]!;
  const hcm = l.filterChains[0]!.filters.at(-1)!.typedConfig as HttpConnectionManager;
  return hcm.httpFilters.find((f) => f.name === "envoy.filters.http.jwt_authn")?.typedConfig as JwtAuthentication | undefined;
}

describe("RequestAuthentication jwksUri through the Istio file source", () => {
  it("pushes the provider pending, then re-translates with the fetched keys inlined", async () => {
    const jwks = await readFile(JWKS_FILE, "utf8");
    const srv = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(jwks);
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const uri = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/jwks.json`;
    const dir = await mkdtemp(join(tmpdir(), "outrigger-jwks-"));
    await writeFile(
      join(dir, "mesh.yaml"),
      `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: foo}
spec:
  ingress:
  - port: {number: 8080, protocol: HTTP, name: http}
    defaultEndpoint: 127.0.0.1:18080
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: foo}
spec:
  jwtRules:
  - issuer: testing@secure.istio.io
    jwksUri: ${uri}
`,
    );
    const pushes: ConfigUpdate[] = [];
    let second: () => void = () => {};
    const secondPush = new Promise<void>((r) => (second = r));
    const sink = {
      push: async (u: ConfigUpdate): Promise<UpdateResult> => {
        pushes.push(u);
        if (pushes.length === 2) second();
        return { accepted: true, errors: [], version: String(pushes.length) };
      },
    };
    const source = new IstioFileSource([dir], { namespace: "foo", proxyLabels: { app: "httpbin" }, domainSuffix: "cluster.local", defaultOutbound: null }, createLogger("off"));
    try {
      await source.start(sink);
      expect(jwtOf(pushes[0]!)!.providers["origins-0"]).toMatchObject({ issuer: "testing@secure.istio.io", remoteJwks: { httpUri: { uri } } });
      await secondPush;
      const p = jwtOf(pushes[1]!)!.providers["origins-0"]!;
      expect(p.localJwks).toEqual({ inlineString: jwks });
      expect(p.remoteJwks).toBeUndefined();
    } finally {
      source.close();
      srv.close();
    }
  });
});
