// cluster.<name>.ssl.versions.<v> / ciphers.<c> / curves.<g> as Envoy's logHandshake counts them,
// against openssl s_server forced to one version, cipher and key exchange group.

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import { issueLeaf, makeRootCa, pkiDir, type Ca, type Leaf } from "../helpers/pki.js";
import { cluster, route, snapshotWith, startProxy } from "../helpers/proxy.js";
import { istioMutualContext, istioSecrets, startOpensslServer, tlsSocketConfig } from "../helpers/tls-upstreams.js";

const SERVER_SA = "spiffe://cluster.local/ns/shop/sa/reviews";
let ca: Ca;
let client: Leaf;
let server: Leaf;

beforeAll(() => {
  const dir = pkiDir();
  ca = makeRootCa(dir, "Mesh Root");
  client = issueLeaf(ca, { spiffe: "spiffe://cluster.local/ns/default/sa/sleep" });
  server = issueLeaf(ca, { spiffe: SERVER_SA });
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function oneRequest(serverArgs: string[]): Promise<StatsStore> {
  const s = await startOpensslServer(["-cert", server.certFile, "-key", server.keyFile, ...serverArgs, "-www"]);
  cleanups.push(() => s.close());
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "reviews" } })] }], [
    cluster("reviews", [s.port], { transportSocket: tlsSocketConfig(istioMutualContext({ san: SERVER_SA })) }),
  ]);
  snap.secrets = istioSecrets(client, ca);
  const stats = new StatsStore();
  const p = await startProxy(snap, { runtime: { stats } });
  cleanups.push(() => p.close());
  const res = await fetch(p.url("/"));
  await res.text();
  expect(res.status).toBe(200);
  return stats;
}

const names = (stats: StatsStore, part: string): string[] =>
  Object.entries(stats.snapshot().counters)
    .filter(([n, v]) => n.startsWith(`cluster.reviews.ssl.${part}.`) && v > 0)
    .map(([n, v]) => `${n.slice("cluster.reviews.ssl.".length)}=${v}`);

describe("upstream ssl.versions / ciphers / curves", () => {
  it("TLS 1.3 with the group the server insists on (P-384 after a HelloRetryRequest)", async () => {
    const stats = await oneRequest(["-tls1_3", "-groups", "P-384", "-ciphersuites", "TLS_AES_256_GCM_SHA384"]);
    expect(names(stats, "versions")).toEqual(["versions.TLSv1.3=1"]);
    expect(names(stats, "ciphers")).toEqual(["ciphers.TLS_AES_256_GCM_SHA384=1"]);
    expect(names(stats, "curves")).toEqual(["curves.P-384=1"]);
  });

  it("TLS 1.2 with an ECDHE cipher over X25519", async () => {
    const stats = await oneRequest(["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", "-groups", "X25519"]);
    expect(names(stats, "versions")).toEqual(["versions.TLSv1.2=1"]);
    expect(names(stats, "ciphers")).toEqual(["ciphers.ECDHE-ECDSA-AES128-GCM-SHA256=1"]);
    expect(names(stats, "curves")).toEqual(["curves.X25519=1"]);
  });
});
