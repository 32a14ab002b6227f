import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { meshYaml, startCli, tempDir } from "../helpers/cli-process.js";
import { freePort } from "../helpers/upstreams.js";
import { FakeIstioCa } from "../unit/security/fake-istio-ca.js";

async function ca(args: string[]): Promise<void> {
  let err = "";
  const code = await main(["ca", ...args], { stdout: () => {}, stderr: (s) => void (err += s) });
  if (code !== 0) throw new Error(err);
}

async function serialOf(admin: number): Promise<{ serial: string; uri: unknown; days: string }> {
  const certs = (await (await fetch(`http://127.0.0.1:${admin}/certs`)).json()) as { certificates: Array<{ ca_cert: unknown[]; cert_chain: Array<Record<string, unknown>> }> };
  const leaf = certs.certificates[0]!.cert_chain[0]!;
  return { serial: String(leaf["serial_number"]), uri: leaf["subject_alt_names"], days: String(leaf["days_until_expiration"]) };
}

describe("outrigger run --certs (workload identity from files)", () => {
  it("serves the certificate in /certs and /config_dump (key redacted), and reloads when `ca issue` rewrites the folder", async () => {
    const dir = await tempDir();
    await ca(["init", join(dir, "ca")]);
    await ca(["issue", join(dir, "ca"), "--spiffe", "spiffe://cluster.local/ns/shop/sa/reviews", "--out", join(dir, "certs"), "--ttl", "48h"]);
    const config = join(dir, "mesh.yaml");
    await writeFile(config, meshYaml("shop", await freePort(), [await freePort()]));
    const admin = await freePort();
    const cli = startCli(["run", "--config", config, "--certs", join(dir, "certs"), "--namespace", "shop", "--admin-port", String(admin), "--workers", "1", "--outbound", "off", "--drain-timeout", "0s"]);
    try {
      await cli.waitReady(admin);
      const first = await serialOf(admin);
      expect(first.uri).toEqual([{ uri: "spiffe://cluster.local/ns/shop/sa/reviews" }]);
      expect(first.days).toBe("1");
      const certs = (await (await fetch(`http://127.0.0.1:${admin}/certs`)).json()) as { certificates: Array<{ ca_cert: Array<Record<string, unknown>> }> };
      expect(certs.certificates[0]!.ca_cert[0]).toMatchObject({ path: "<inline>", days_until_expiration: expect.stringMatching(/^36\d\d$/) });

      const dump = (await (await fetch(`http://127.0.0.1:${admin}/config_dump?resource=dynamic_active_secrets`)).json()) as { configs: Array<{ name: string; secret: Record<string, any> }> };
      const byName = Object.fromEntries(dump.configs.map((c) => [c.name, c.secret]));
      expect(Object.keys(byName).sort()).toEqual(["ROOTCA", "default"]);
      expect(byName["default"]!["tls_certificate"]["private_key"]).toEqual({ inline_bytes: Buffer.from("[redacted]").toString("base64") });
      expect(Buffer.from(byName["default"]!["tls_certificate"]["certificate_chain"]["inline_bytes"], "base64").toString()).toMatch(/^-----BEGIN CERTIFICATE-----/);
      expect(byName["ROOTCA"]!["validation_context"]["trusted_ca"]["inline_bytes"]).toBeTruthy();
      expect(JSON.stringify(dump)).not.toMatch(/PRIVATE KEY/);

      // Rotation: a new certificate written over the old files is picked up without a restart.
      await ca(["issue", join(dir, "ca"), "--spiffe", "spiffe://cluster.local/ns/shop/sa/reviews", "--out", join(dir, "certs")]);
      await cli.waitForLog(/workload certificate loaded from .* \(file change\)/);
      const second = await serialOf(admin);
      expect(second.serial).not.toBe(first.serial);
      expect(second.days).toBe("0");
    } finally {
      cli.kill();
      await cli.exited;
    }
  });

  it("a folder without a usable certificate stops the start with the reason (exit 1)", async () => {
    const dir = await tempDir();
    const config = join(dir, "mesh.yaml");
    await writeFile(config, meshYaml("shop", await freePort(), [await freePort()]));
    const cli = startCli(["run", "--config", config, "--certs", join(dir, "missing"), "--admin-port", "0", "--workers", "1", "--outbound", "off", "--drain-timeout", "0s"]);
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toMatch(/workload certificate not loaded: .*missing.*ENOENT/);
  });

  it("--certs with --ca-address is a usage error (exit 2)", async () => {
    const cli = startCli(["run", "--config", "x.yaml", "--certs", "d", "--ca-address", "istiod:15012"]);
    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toMatch(/--certs and --ca-address are mutually exclusive/);
  });

  it("--ca-address: gets the certificate for spiffe://TD/ns/NS/sa/SA from the Istio CA before serving", async () => {
    const ca = new FakeIstioCa();
    await ca.start();
    const dir = await tempDir();
    await writeFile(join(dir, "ca-root.pem"), ca.servingRootPem);
    await writeFile(join(dir, "token"), "token-1");
    const config = join(dir, "mesh.yaml");
    await writeFile(config, meshYaml("shop", await freePort(), [await freePort()]));
    const admin = await freePort();
    const args = ["--ca-address", ca.address, "--ca-root", join(dir, "ca-root.pem"), "--ca-token-file", join(dir, "token"), "--trust-domain", "example.org"];
    const cli = startCli(["run", "--config", config, ...args, "--namespace", "shop", "--service-account", "reviews", "--admin-port", String(admin), "--workers", "1", "--outbound", "off", "--drain-timeout", "0s"], { CLUSTER_ID: "" });
    try {
      await cli.waitReady(admin);
      expect((await serialOf(admin)).uri).toEqual([{ uri: "spiffe://example.org/ns/shop/sa/reviews" }]);
      expect(ca.requests).toMatchObject([{ token: "token-1", clusterId: "Kubernetes", uris: ["spiffe://example.org/ns/shop/sa/reviews"], validityDuration: 86400 }]);
    } finally {
      cli.kill();
      await cli.exited;
    }
    // A CA that refuses: the start fails with its reason.
    ca.expectedToken = "other";
    const refused = startCli(["run", "--config", config, ...args, "--admin-port", "0", "--workers", "1", "--outbound", "off", "--drain-timeout", "0s"]);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toMatch(/workload certificate not loaded: .*UNAUTHENTICATED/);
    await ca.close();
  });
});
