// End-to-end certificate rotation: the workload certificate from the (fake) Istio CA serves
// downstream mTLS; the CA issues a new one at renewal while mTLS requests flow on keep-alive
// connections: no request fails, and new connections are served with the new certificate.

import { X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/common/logger.js";
import { seededRandom } from "../../src/common/random.js";
import { ROOT_CA_SECRET, TLS_TRANSPORT_SOCKET, WORKLOAD_SECRET, type Secret, type Snapshot } from "../../src/config/model/types.js";
import type { ConfigUpdate, UpdateResult } from "../../src/config/source/config-source.js";
import { IstioCaClient } from "../../src/security/istio-ca-client.js";
import { IstioCaSource } from "../../src/security/istio-ca-source.js";
import { generateKey, privateKeyPem, signWorkload } from "../../src/security/local-ca.js";
import { ManualTimers } from "../helpers/manual-timers.js";
import { pkiDir } from "../helpers/pki.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { startEchoUpstream } from "../helpers/upstreams.js";
import { FakeIstioCa } from "../unit/security/fake-istio-ca.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function serialOf(secrets: Record<string, Secret>): string {
  return new X509Certificate(secrets[WORKLOAD_SECRET]!.tlsCertificate!.certificateChain).serialNumber;
}

describe("certificate rotation under load (Istio CA → SDS secrets → downstream mTLS)", () => {
  it("250+ mTLS requests across a renewal: zero failures, new connections see the new serial", async () => {
    const ca = new FakeIstioCa();
    await ca.start();
    cleanups.push(() => ca.close());
    const tokenFile = join(pkiDir("rot-"), "token");
    writeFileSync(tokenFile, "token-1");
    const timers = new ManualTimers();
    const source = new IstioCaSource(
      {
        signer: new IstioCaClient({ address: ca.address, rootPem: ca.servingRootPem, tokenFile, clusterId: "Kubernetes" }),
        address: ca.address,
        spiffeId: "spiffe://cluster.local/ns/shop/sa/reviews",
        keyType: "ec",
        timers,
        random: seededRandom(3),
        now: Date.now,
      },
      createLogger("off"),
    );
    cleanups.push(() => source.close());

    // The sink the supervisor would be: each secret update becomes a new snapshot on the runtime.
    let proxy: TestProxy | undefined;
    let current: Snapshot | undefined;
    let applied = 0;
    let secrets: Record<string, Secret> = {};
    const sink = {
      async push(u: ConfigUpdate): Promise<UpdateResult> {
        const s = u.updates[0]!;
        if (s.type !== "secret" || s.kind !== "state-of-the-world") throw new Error("expected secrets");
        secrets = s.resources;
        if (proxy !== undefined && current !== undefined) {
          current = { ...current, version: `v${++applied}`, secrets };
          const r = await proxy.runtime.apply(current);
          if (!r.ok) throw new Error(r.errors.join("\n"));
        }
        return { accepted: true, errors: [], version: s.version };
      },
    };
    expect((await source.start(sink)).accepted).toBe(true);
    const firstSerial = serialOf(secrets);

    const app = await startEchoUpstream("app");
    cleanups.push(() => app.close());
    const snapshot = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "app" } })] }], [cluster("app", [app.port])]);
    snapshot.listeners[0]!.filterChains[0]!.transportSocket = {
      name: TLS_TRANSPORT_SOCKET,
      typedConfig: {
        commonTlsContext: {
          tlsCertificateSdsSecretConfigs: [{ name: WORKLOAD_SECRET }],
          combinedValidationContext: { defaultValidationContext: {}, validationContextSdsSecretConfig: { name: ROOT_CA_SECRET } },
          alpnProtocols: ["h2", "http/1.1"],
        },
        requireClientCertificate: true,
      },
    };
    snapshot.listeners[0]!.listenerFilters = [{ name: "envoy.filters.listener.tls_inspector" }];
    current = { ...snapshot, secrets };
    proxy = await startProxy(current);
    cleanups.push(() => proxy!.close());

    // The client: another workload of the mesh, its certificate from the same CA.
    const clientKey = generateKey("ec");
    const clientCert = signWorkload(ca.signing, { subjectKey: clientKey.publicKey, uris: ["spiffe://cluster.local/ns/shop/sa/productpage"], ttlMs: 3600_000, now: Date.now() });
    const tlsOpts = { cert: clientCert, key: privateKeyPem(clientKey.privateKey), ca: ca.signing.certPem, checkServerIdentity: () => undefined };
    const agent = new Agent({ keepAlive: true, maxSockets: 4, ...tlsOpts });
    cleanups.push(() => agent.destroy());
    const port = proxy.port;
    const get = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path: "/", agent }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", reject);
        req.end();
      });
    const servedSerial = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const s = tlsConnect({ host: "127.0.0.1", port, ...tlsOpts, ALPNProtocols: ["http/1.1"] }, () => {
          const serial = s.getPeerCertificate().serialNumber;
          s.destroy();
          resolve(serial);
        });
        s.on("error", reject);
      });
    expect(await servedSerial()).toBe(firstSerial);

    const statuses: number[] = [];
    const failures: unknown[] = [];
    let doneAtRenewal = -1;
    let isRenewed = false;
    const renewed = new Promise<void>((resolve) => {
      const push = sink.push.bind(sink);
      sink.push = async (u) => {
        const r = await push(u);
        doneAtRenewal = statuses.length + failures.length;
        isRenewed = true;
        resolve();
        return r;
      };
    });
    // 4 concurrent keep-alive loops; the renewal fires after 100 requests, and they go on until
    // 250 are done and 20 more were sent after the new certificate went live.
    let sent = 0;
    const loop = async (): Promise<void> => {
      while (sent < 250 || !isRenewed || sent < doneAtRenewal + 20) {
        sent++;
        if (sent === 100) timers.advance(timers.waiting()[0]!);
        try {
          statuses.push(await get());
        } catch (e) {
          failures.push(e);
        }
      }
    };
    await Promise.all([loop(), loop(), loop(), loop()]);
    await renewed;
    expect(failures).toEqual([]);
    expect(statuses.length).toBeGreaterThanOrEqual(250);
    // The new certificate went live while requests were still flowing.
    expect(doneAtRenewal).toBeGreaterThanOrEqual(96);
    expect(statuses.length).toBeGreaterThanOrEqual(doneAtRenewal + 20);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const secondSerial = serialOf(secrets);
    expect(secondSerial).not.toBe(firstSerial);
    expect(applied).toBe(1);
    expect(await servedSerial()).toBe(secondSerial);
    // Requests after the rotation still work on the kept-alive connections and on new ones.
    expect(await get()).toBe(200);
  });
});
