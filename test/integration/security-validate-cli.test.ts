// `outrigger validate` on PeerAuthentication and DestinationRule tls: problems as
// file:line: path: message with exit 1, and one summary line per PeerAuthentication when clean.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startCli, tempDir } from "../helpers/cli-process.js";

const SIDECAR = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  ingress:
  - port: {number: 18090, protocol: HTTP, name: http}
    bind: 127.0.0.1
---
`;

async function config(text: string): Promise<string> {
  const dir = await tempDir();
  const f = join(dir, "security.yaml");
  await writeFile(f, text);
  return f;
}

describe("outrigger validate: mTLS resources", () => {
  it("names file, line and field of PeerAuthentication and DestinationRule tls errors, and exits 1", async () => {
    const f = await config(
      SIDECAR +
        `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec:
  mtls: {mode: STRICT}
  portLevelMtls:
    18090: {mode: DISABLE}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: shop}
spec:
  host: api.example.com
  trafficPolicy:
    tls: {mode: MUTUAL, privateKey: /k.pem}
`,
    );
    const cli = startCli(["validate", "--config", f, "--namespace", "shop"]);
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toBe(
      [
        `${f}:13: spec.mtls.mode: STRICT needs a workload certificate: run with --certs DIR or --ca-address HOST:PORT`,
        `${f}:14: spec.portLevelMtls: mesh/namespace peer authentication cannot have port level mTLS`,
        `${f}:23: spec.trafficPolicy.tls: client certificate required for mutual tls`,
        "3 errors",
        "",
      ].join("\n"),
    );
  });

  it("a clean PeerAuthentication prints whether it applies and the effective mode per inbound port", async () => {
    const f = await config(
      SIDECAR +
        `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  mtls: {mode: DISABLE}
`,
    );
    const cli = startCli(["validate", "--config", f, "--namespace", "shop", "--labels", "app=web"]);
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toContain("PeerAuthentication shop/web: applies to this proxy (workload, mtls DISABLE)\n");
    expect(cli.stdout()).toContain("peer authentication: DISABLE (workload); inbound ports 18090 DISABLE; no workload certificate: inbound is plaintext only\n");
  });
});
