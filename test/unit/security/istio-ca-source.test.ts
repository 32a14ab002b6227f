import { X509Certificate } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/common/logger.js";
import { seededRandom } from "../../../src/common/random.js";
import type { ConfigSink, ConfigUpdate, UpdateResult } from "../../../src/config/source/config-source.js";
import { IstioCaClient } from "../../../src/security/istio-ca-client.js";
import { IstioCaSource } from "../../../src/security/istio-ca-source.js";
import { createRootCa } from "../../../src/security/local-ca.js";
import { ManualTimers } from "../../helpers/manual-timers.js";
import { pkiDir } from "../../helpers/pki.js";
import { FakeIstioCa } from "./fake-istio-ca.js";

const SPIFFE = "spiffe://cluster.local/ns/shop/sa/reviews";

class RecordingSink implements ConfigSink {
  readonly updates: ConfigUpdate[] = [];
  private waiters: Array<() => void> = [];
  push(u: ConfigUpdate): Promise<UpdateResult> {
    this.updates.push(u);
    for (const w of this.waiters.splice(0)) w();
    return Promise.resolve({ accepted: true, errors: [], version: u.updates[0]?.version ?? null });
  }
  next(): Promise<void> {
    return new Promise((res) => this.waiters.push(res));
  }
}

function secretsOf(u: ConfigUpdate | undefined): { chain: string; key: string; root: string } {
  const s = u?.updates[0];
  if (s?.type !== "secret" || s.kind !== "state-of-the-world") throw new Error("not a secret update");
  return { chain: s.resources["default"]!.tlsCertificate!.certificateChain, key: s.resources["default"]!.tlsCertificate!.privateKey, root: s.resources["ROOTCA"]!.validationContext!.trustedCa };
}

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const lines: string[] = [];
async function setup(o: { token?: string; keyType?: "ec" | "rsa"; clusterId?: string; startRetryMs?: number } = {}) {
  const ca = new FakeIstioCa();
  await ca.start();
  cleanup.push(() => ca.close());
  const dir = pkiDir("ca-token-");
  const tokenFile = join(dir, "istio-token");
  writeFileSync(tokenFile, (o.token ?? "token-1") + "\n");
  const timers = new ManualTimers();
  const client = new IstioCaClient({ address: ca.address, rootPem: ca.servingRootPem, tokenFile, clusterId: o.clusterId ?? "Kubernetes", timeoutMs: 5_000 });
  const source = new IstioCaSource({ signer: client, address: ca.address, spiffeId: SPIFFE, keyType: o.keyType ?? "ec", timers, random: seededRandom(7), now: Date.now, ...(o.startRetryMs !== undefined ? { startRetryMs: o.startRetryMs } : {}) }, createLogger("info", "test", (l) => lines.push(l)));
  cleanup.push(() => source.close());
  const sink = new RecordingSink();
  return { ca, tokenFile, timers, source, sink };
}

describe("IstioCaSource (--ca-address) against a fake Istio CA", () => {
  it.each(["ec", "rsa"] as const)("sends a CSR with the SPIFFE URI SAN, the bearer token and ClusterID; the chain becomes default, its last element ROOTCA (%s key)", async (keyType) => {
    const { ca, source, sink } = await setup({ keyType });
    const r = await source.start(sink);
    expect(r.accepted).toBe(true);
    expect(ca.requests).toEqual([{ token: "token-1", clusterId: "Kubernetes", uris: [SPIFFE], validityDuration: 86_400 }]);
    const s = secretsOf(sink.updates[0]);
    expect(s.root).toBe(ca.signing.certPem);
    expect(s.chain.endsWith(ca.signing.certPem)).toBe(true);
    expect(s.key).toMatch(/BEGIN PRIVATE KEY/);
    const leaf = new X509Certificate(s.chain);
    expect(leaf.subjectAltName).toBe(`URI:${SPIFFE}`);
    expect(leaf.publicKey.asymmetricKeyType).toBe(keyType);
    expect(leaf.verify(new X509Certificate(ca.signing.certPem).publicKey)).toBe(true);
  });

  it("renews at half-life ±1% with a new key, re-reading the token file", async () => {
    const { ca, source, sink, timers, tokenFile } = await setup();
    await source.start(sink);
    // 24 h certificate: renewal 12 h ± 1% of 12 h (minus the few ms the call took).
    const [delay] = timers.waiting();
    expect(delay).toBeGreaterThan(12 * 3600_000 * 0.99 - 60_000);
    expect(delay).toBeLessThan(12 * 3600_000 * 1.01);
    const first = secretsOf(sink.updates[0]);
    writeFileSync(tokenFile, "token-2");
    ca.expectedToken = "token-2";
    const pushed = sink.next();
    timers.advance(delay!);
    await pushed;
    // The source arms the next renewal in the microtasks after the push settles.
    await new Promise((r) => setImmediate(r));
    const second = secretsOf(sink.updates[1]);
    expect(ca.requests[1]?.token).toBe("token-2");
    expect(second.key).not.toBe(first.key);
    expect(new X509Certificate(second.chain).serialNumber).not.toBe(new X509Certificate(first.chain).serialNumber);
    expect(timers.waiting()).toHaveLength(1);
  });

  it("a failing renewal keeps the old certificate and retries with jittered exponential back-off", async () => {
    const { ca, source, sink, timers } = await setup();
    await source.start(sink);
    ca.failWith = { code: 14, details: "istiod unavailable" };
    ca.failTimes = 3;
    const delays: number[] = [];
    const waitFailure = async (n: number): Promise<void> => {
      while (ca.requests.length < n || source.failures < n - 1) await new Promise((r) => setImmediate(r));
    };
    timers.advance(timers.waiting()[0]!);
    for (let i = 2; i <= 4; i++) {
      await waitFailure(i);
      delays.push(timers.waiting()[0]!);
      timers.advance(timers.waiting()[0]!);
    }
    // 1 s, 2 s, 4 s, each ±10%.
    expect(delays[0]).toBeGreaterThanOrEqual(900);
    expect(delays[0]).toBeLessThanOrEqual(1100);
    expect(delays[1]).toBeGreaterThanOrEqual(1800);
    expect(delays[1]).toBeLessThanOrEqual(2200);
    expect(delays[2]).toBeGreaterThanOrEqual(3600);
    expect(delays[2]).toBeLessThanOrEqual(4400);
    expect(sink.updates).toHaveLength(1);
    expect(lines.some((l) => l.includes("renewal (renewal) failed") && l.includes("UNAVAILABLE: istiod unavailable") && l.includes("keeps serving"))).toBe(true);
    // The fourth attempt succeeds: the new certificate is pushed and the next renewal armed.
    const pushed = sink.next();
    await pushed;
    expect(sink.updates).toHaveLength(2);
    expect(source.failures).toBe(3);
  });

  it("short TTLs from the CA are renewed at their half-life", async () => {
    const { ca, source, sink, timers } = await setup();
    ca.ttlSeconds = 3600;
    await source.start(sink);
    expect(timers.waiting()[0]).toBeGreaterThan(1800_000 * 0.99 - 60_000);
    expect(timers.waiting()[0]).toBeLessThan(1800_000 * 1.01);
  });

  it("the first attempt failing is refused with the CA's reason: wrong token, wrong ClusterID, missing token file, chain without root, expired certificate", async () => {
    const wrongToken = await setup({ token: "stolen" });
    expect((await wrongToken.source.start(wrongToken.sink)).errors[0]?.message).toMatch(/CreateCertificate on localhost:\d+ failed: UNAUTHENTICATED: authenticate failure/);

    const wrongCluster = await setup({ clusterId: "east" });
    expect((await wrongCluster.source.start(wrongCluster.sink)).errors[0]?.message).toMatch(/UNAUTHENTICATED: unknown ClusterID east/);

    const noToken = await setup();
    rmSync(noToken.tokenFile);
    expect((await noToken.source.start(noToken.sink)).errors[0]?.message).toMatch(/--ca-token-file .*istio-token: ENOENT/);

    const leafOnly = await setup();
    leafOnly.ca.leafOnly = true;
    expect((await leafOnly.source.start(leafOnly.sink)).errors[0]?.message).toMatch(/invalid CertChain of 1 certificate\(s\)/);

    const expired = await setup();
    expired.ca.ttlSeconds = -600;
    expect((await expired.source.start(expired.sink)).errors[0]?.message).toMatch(/expired at/);
  });

  it("the CA's TLS is verified: a wrong --ca-root fails the call", async () => {
    const { ca, tokenFile, timers, sink } = await setup();
    const wrongRoot = createRootCa({ org: "elsewhere", keyType: "ec", now: Date.now() }).certPem;
    const client = new IstioCaClient({ address: ca.address, rootPem: wrongRoot, tokenFile, clusterId: "Kubernetes", timeoutMs: 3_000 });
    const source = new IstioCaSource({ signer: client, address: ca.address, spiffeId: SPIFFE, keyType: "ec", timers, random: seededRandom(1), now: Date.now }, createLogger("off"));
    cleanup.push(() => source.close());
    const r = await source.start(sink);
    expect(r.accepted).toBe(false);
    expect(r.errors[0]?.message).toMatch(/UNAVAILABLE/);
    expect(ca.requests).toHaveLength(0);
  });

  it("at start, transient failures (CA unavailable) are retried within startRetryMs; an answer (token refused) is not", async () => {
    const { ca, source, sink, timers } = await setup({ startRetryMs: 60_000 });
    ca.failWith = { code: 14, details: "istiod starting" };
    ca.failTimes = 2;
    const started = source.start(sink);
    for (let i = 0; i < 2; i++) {
      while (timers.waiting().length === 0) await new Promise((r) => setImmediate(r));
      timers.advance(timers.waiting()[0]!);
    }
    expect((await started).accepted).toBe(true);
    expect(ca.requests).toHaveLength(3);
    expect(lines.some((l) => l.includes("no workload certificate yet, retrying in") && l.includes("UNAVAILABLE: istiod starting"))).toBe(true);

    const refused = await setup({ token: "stolen", startRetryMs: 60_000 });
    const r = await refused.source.start(refused.sink);
    expect(r.accepted).toBe(false);
    expect(refused.ca.requests).toHaveLength(1);
    expect(refused.timers.waiting()).toEqual([]);
  });

  it("close() during the start retries ends the start", async () => {
    const { ca, source, sink, timers } = await setup({ startRetryMs: 60_000 });
    ca.failWith = { code: 14, details: "down" };
    ca.failTimes = 100;
    const started = source.start(sink);
    while (timers.waiting().length === 0) await new Promise((r) => setImmediate(r));
    source.close();
    expect((await started).accepted).toBe(false);
  });
});
