import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../../src/cli/main.js";
import { createLogger } from "../../../src/common/logger.js";
import type { ConfigUpdate, UpdateResult } from "../../../src/config/source/config-source.js";
import { CertsDirSource } from "../../../src/security/certs-dir-source.js";
import { pkiDir } from "../../helpers/pki.js";

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, { stdout: (s) => void (out += s), stderr: (s) => void (err += s) });
  return { code, out, err };
}

const openssl = (args: string[]): string => execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

describe("outrigger ca", () => {
  it.each(["ec", "rsa"] as const)("init makes a 10-year self-signed root (O=trust domain, CA:TRUE), issue a workload certificate openssl verifies (%s)", async (key) => {
    const base = pkiDir();
    const caDir = join(base, "ca");
    const out = join(base, "workload");
    expect((await cli(["ca", "init", caDir, "--key", key, "--trust-domain", "example.org"])).code).toBe(0);
    const rootText = openssl(["x509", "-in", join(caDir, "root-cert.pem"), "-noout", "-text"]);
    expect(rootText).toMatch(/Issuer: O ?= ?example\.org/);
    expect(rootText).toMatch(/Subject: O ?= ?example\.org/);
    expect(rootText).toMatch(/CA:TRUE/);
    expect(rootText).toMatch(/Certificate Sign, CRL Sign/);
    expect(rootText).toMatch(key === "ec" ? /id-ecPublicKey[\s\S]*prime256v1/ : /rsaEncryption[\s\S]*2048 bit/);
    const days = Number(openssl(["x509", "-in", join(caDir, "root-cert.pem"), "-noout", "-checkend", String(3649 * 86400)]).includes("will not expire"));
    expect(days).toBe(1);
    expect(statSync(join(caDir, "root-key.pem")).mode & 0o777).toBe(0o600);

    const r = await cli(["ca", "issue", caDir, "--spiffe", "spiffe://example.org/ns/shop/sa/reviews", "--out", out, "--ttl", "2h", "--dns", "reviews.shop.svc", "--key", key]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("spiffe://example.org/ns/shop/sa/reviews");
    // cert-chain.pem: the leaf, then the root (Istio's layout); root-cert.pem: the root.
    const chain = readFileSync(join(out, "cert-chain.pem"), "utf8");
    expect(chain.endsWith(readFileSync(join(caDir, "root-cert.pem"), "utf8"))).toBe(true);
    expect(readFileSync(join(out, "root-cert.pem"), "utf8")).toBe(readFileSync(join(caDir, "root-cert.pem"), "utf8"));
    expect(statSync(join(out, "key.pem")).mode & 0o777).toBe(0o600);
    expect(openssl(["verify", "-purpose", "sslserver", "-CAfile", join(out, "root-cert.pem"), join(out, "cert-chain.pem")])).toMatch(/: OK/);
    expect(openssl(["verify", "-purpose", "sslclient", "-CAfile", join(out, "root-cert.pem"), join(out, "cert-chain.pem")])).toMatch(/: OK/);
    const leafText = openssl(["x509", "-in", join(out, "cert-chain.pem"), "-noout", "-text"]);
    expect(leafText).toMatch(/Subject: *\n/);
    expect(leafText).toMatch(/X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/example\.org\/ns\/shop\/sa\/reviews, DNS:reviews\.shop\.svc/);
    expect(leafText).toMatch(/TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(leafText).toMatch(/CA:FALSE/);
    // 2h: expired 3 hours from now, valid in 1 hour.
    expect(openssl(["x509", "-in", join(out, "cert-chain.pem"), "-noout", "-checkend", "3600"])).toMatch(/will not expire/);
    expect(() => openssl(["x509", "-in", join(out, "cert-chain.pem"), "-noout", "-checkend", String(3 * 3600)])).toThrow();
    // The key matches: --certs accepts the folder.
    const sink = { push: (u: ConfigUpdate): Promise<UpdateResult> => Promise.resolve({ accepted: u.updates.length > 0, errors: [], version: "v" }) };
    const src = new CertsDirSource(out, createLogger("off"), { watch: false });
    expect((await src.start(sink)).accepted).toBe(true);
    expect(src.identity?.uriSans).toEqual(["spiffe://example.org/ns/shop/sa/reviews"]);
    src.close();
  });

  it("bad input is a usage error (exit 2) saying why", async () => {
    const base = pkiDir();
    const caDir = join(base, "ca");
    expect((await cli(["ca", "init", caDir])).code).toBe(0);
    const cases: Array<[string[], RegExp]> = [
      [["ca"], /Usage: outrigger ca/],
      [["ca", "sign"], /unknown subcommand "sign"/],
      [["ca", "init"], /expected a folder/],
      [["ca", "init", caDir], /already holds a root.*not overwriting/],
      [["ca", "init", join(base, "x"), "--key", "dsa"], /--key: expected ec or rsa, got "dsa"/],
      [["ca", "issue", caDir, "--out", join(base, "o")], /--spiffe is required/],
      [["ca", "issue", caDir, "--spiffe", "spiffe://cluster.local/default", "--out", join(base, "o")], /--spiffe: expected spiffe:\/\/<trust domain>\/ns\/<namespace>\/sa\/<service account>/],
      [["ca", "issue", caDir, "--spiffe", "spiffe://cluster.local/ns/a/sa/b"], /--out is required/],
      [["ca", "issue", caDir, "--spiffe", "spiffe://cluster.local/ns/a/sa/b", "--out", join(base, "o"), "--ttl", "soon"], /--ttl: expected a positive duration/],
      [["ca", "issue", caDir, "--spiffe", "spiffe://cluster.local/ns/a/sa/b", "--out", join(base, "o"), "--dns", "bad name"], /--dns: "bad name" is not a DNS name/],
      [["ca", "issue", join(base, "nope"), "--spiffe", "spiffe://cluster.local/ns/a/sa/b", "--out", join(base, "o")], /cannot read the CA in .*nope \(run `outrigger ca init/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err, args.join(" ")).toMatch(re);
    }
  });

  it("--help of each subcommand lists its flags", async () => {
    expect((await cli(["ca", "init", "--help"])).out).toMatch(/--trust-domain[\s\S]*--key/);
    expect((await cli(["ca", "issue", "--help"])).out).toMatch(/--spiffe[\s\S]*--out[\s\S]*--ttl[\s\S]*--dns/);
    expect((await cli(["--help"])).out).toMatch(/\bca\b.*a small CA/);
  });
});
