import { afterEach, describe, expect, it } from "vitest";
import { createXdsSource, type XdsSource } from "../../../src/xds/xds-source.js";
import { FakeXdsServer } from "../../helpers/fake-xds-server.js";
import { assignment, caSecret, captureLog, certSecret, edsCluster, NODE, options, RecordingSink, tlsListener } from "./xds-test-kit.js";

let servers: FakeXdsServer[] = [];
let client: XdsSource | undefined;
afterEach(async () => {
  client?.close();
  for (const s of servers) await s.close();
  servers = [];
  client = undefined;
});

async function fake(): Promise<FakeXdsServer> {
  const s = await FakeXdsServer.start();
  servers.push(s);
  return s;
}

describe.each(["sotw", "delta"] as const)("SDS (ADS %s)", (mode) => {
  it("fetches default and ROOTCA over its own SotW stream, warms the cluster until both arrived, merges partial pushes, rotates", async () => {
    const ads = await fake();
    const sds = await fake();
    ads.set("cluster", [edsCluster("outbound|80||mtls", { secrets: { cert: "default", ca: "ROOTCA" } })]);
    ads.set("endpoint", [assignment("outbound|80||mtls", ["10.0.0.1", 80])]);
    ads.set("listener", []);
    const sink = new RecordingSink();
    client = createXdsSource(options(ads, mode, captureLog().log, { sds: { target: sds.target, clusterName: "sds-grpc" } }));
    const first = client.start(sink);
    const req = await sds.nextRequest("secret");
    expect(req.service).toBe("sds");
    expect(req.mode).toBe("sotw");
    expect(req.resourceNames.sort()).toEqual(["ROOTCA", "default"]);
    expect(req.node).toEqual(NODE);
    // Not asked over ADS.
    expect(ads.requests.some((r) => r.type === "secret")).toBe(false);
    await ads.waitFor((r) => r.type === "endpoint" && r.kind === "ack");
    expect(client.warming().clusters).toEqual(["outbound|80||mtls"]);

    // pilot-agent pushes one secret at a time: the cluster waits for both.
    sds.upsertSecret(certSecret("default", "CERT-1"));
    await sds.nextRequest("secret", (r) => r.kind === "ack");
    expect(client.warming().clusters).toEqual(["outbound|80||mtls"]);
    expect(sink.names("cluster")).toEqual([]);
    sds.upsertSecret(caSecret("ROOTCA", "ROOT-1"));
    await sink.waitFor(() => sink.names("cluster").includes("outbound|80||mtls"));
    expect(sink.names("secret")).toEqual(["ROOTCA", "default"]);
    expect(sink.pushes.some((p) => p.update.origin === "xds:sds")).toBe(true);
    expect((await first).accepted).toBe(true);

    // Rotation: only `default` is pushed; ROOTCA stays.
    sds.upsertSecret(certSecret("default", "CERT-2"));
    await sink.waitFor(() => sink.store.snapshot!.secrets?.default?.tlsCertificate?.certificateChain === "CERT-2");
    expect(sink.store.snapshot!.secrets!.ROOTCA!.validationContext!.trustedCa).toBe("ROOT-1");
    const ack = await sds.nextRequest("secret", (r) => r.kind === "ack");
    expect(ack.versionInfo).toMatch(/^2026-11-30T00:00:00Z\//);
  });
});

it("NACKs an SDS response naming a secret twice, with the last good version, and keeps the old secret", async () => {
  const ads = await fake();
  const sds = await fake();
  ads.set("cluster", [edsCluster("c", { secrets: { cert: "default" } })]);
  ads.set("endpoint", [assignment("c", ["10.0.0.1", 80])]);
  ads.set("listener", []);
  sds.setSecrets([certSecret("default", "CERT-1")]);
  const sink = new RecordingSink();
  client = createXdsSource(options(ads, "sotw", captureLog().log, { sds: { target: sds.target, clusterName: "sds-grpc" } }));
  await client.start(sink);
  await sink.waitFor(() => sink.names("cluster").includes("c"));
  const good = (await sds.nextRequest("secret", (r) => r.kind === "ack")).versionInfo;
  sds.respond("secret", { resources: [certSecret("bad-default", "X"), certSecret("default", "CERT-9"), certSecret("default", "CERT-9")], service: "sds" });
  const nack = await sds.nextRequest("secret", (r) => r.kind === "nack");
  expect(nack.versionInfo).toBe(good);
  expect(nack.errorDetail!.message).toContain('duplicate secret resource name "default"');
  expect(sink.store.snapshot!.secrets!.default!.tlsCertificate!.certificateChain).toBe("CERT-1");
});

it("asks ADS for credentialName secrets (kubernetes://…) and SDS for the rest", async () => {
  const ads = await fake();
  const sds = await fake();
  ads.set("cluster", [edsCluster("gw", { secrets: { cert: "kubernetes://my-cert", ca: "ROOTCA" } })]);
  ads.set("listener", []);
  ads.set("secret", [certSecret("kubernetes://my-cert", "K8S")]);
  const sink = new RecordingSink();
  client = createXdsSource(options(ads, "delta", captureLog().log, { sds: { target: sds.target, clusterName: "sds-grpc" } }));
  void client.start(sink);
  const viaAds = await ads.nextRequest("secret");
  expect(viaAds.subscribe).toEqual(["kubernetes://my-cert"]);
  const viaSds = await sds.nextRequest("secret");
  expect(viaSds.resourceNames).toEqual(["ROOTCA"]);
  await ads.waitFor((r) => r.type === "secret" && r.kind === "ack");
  expect(client.warming().clusters).toEqual(["gw"]);
});

it("keeps a listener whose filter chain names an SDS secret warming until the secret arrives", async () => {
  const ads = await fake();
  const sds = await fake();
  ads.set("cluster", []);
  ads.set("listener", [tlsListener("virtualInbound", 0, "default")]);
  const sink = new RecordingSink();
  client = createXdsSource(options(ads, "delta", captureLog().log, { sds: { target: sds.target, clusterName: "sds-grpc" } }));
  const first = client.start(sink);
  await sds.nextRequest("secret");
  await ads.waitFor((r) => r.type === "listener" && r.kind === "ack");
  expect(client.warming().listeners).toEqual(["virtualInbound"]);
  expect(sink.names("listener")).toEqual([]);
  sds.upsertSecret(certSecret("default", "CERT-1"));
  await sink.waitFor(() => sink.names("listener").includes("virtualInbound"));
  expect(client.warming().listeners).toEqual([]);
  expect((await first).accepted).toBe(true);
});
