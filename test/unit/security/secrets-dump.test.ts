import { describe, expect, it } from "vitest";
import { certsJson } from "../../../src/admin/certs-json.js";
import { buildConfigDump } from "../../../src/admin/config-dump/config-dump.js";
import { bootstrapFromFlags } from "../../../src/bootstrap/parse-run-flags.js";
import { parseFlags } from "../../../src/bootstrap/flag-parser.js";
import { runCommandSpec } from "../../../src/bootstrap/parse-run-flags.js";
import { issueLeaf, makeRootCa, pkiDir } from "../../helpers/pki.js";

describe("secrets in the admin API", () => {
  const ca = makeRootCa(pkiDir());
  const leaf = issueLeaf(ca, { spiffe: "spiffe://cluster.local/ns/shop/sa/reviews", dns: ["reviews.shop.svc"], days: 10 });
  const secrets = {
    default: { name: "default", tlsCertificate: { certificateChain: leaf.chainPem, privateKey: leaf.keyPem } },
    ROOTCA: { name: "ROOTCA", validationContext: { trustedCa: ca.rootPem } },
  };

  it("/certs: Envoy's Certificates JSON (lower-case hex serial, SANs, whole days left, RFC 3339 times)", () => {
    const now = Date.now();
    const j = certsJson(secrets, now) as { certificates: Array<{ ca_cert: Array<Record<string, unknown>>; cert_chain: Array<Record<string, unknown>> }> };
    expect(j.certificates).toHaveLength(1);
    const c = j.certificates[0]!.cert_chain[0]!;
    expect(c).toMatchObject({ path: "<inline>", serial_number: leaf.serial, days_until_expiration: "9" });
    expect(c["subject_alt_names"]).toEqual([{ uri: "spiffe://cluster.local/ns/shop/sa/reviews" }, { dns: "reviews.shop.svc" }]);
    expect(c["expiration_time"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(j.certificates[0]!.ca_cert[0]).not.toHaveProperty("subject_alt_names");
    expect(certsJson(undefined, now)).toEqual({ certificates: [] });
  });

  it("/config_dump: dynamic_active_secrets with the key [redacted], filtered by name_regex", () => {
    const bootstrap = bootstrapFromFlags(parseFlags(runCommandSpec, ["--config", "x.yaml"]), { env: {}, cpuCount: () => 2 });
    const snapshot = { version: "v1", listeners: [], routeConfigs: {}, clusters: {}, secrets };
    const dump = buildConfigDump({ bootstrap, snapshot, lastReloadError: null, lastUpdated: "2026-11-30T20:00:00.000Z" });
    const sec = dump.configs.find((c) => String(c["@type"]).endsWith("SecretsConfigDump")) as { dynamic_active_secrets: Array<Record<string, any>> };
    expect(sec.dynamic_active_secrets.map((s) => s["name"])).toEqual(["default", "ROOTCA"]);
    const d = sec.dynamic_active_secrets[0]!;
    expect(d).toMatchObject({ version_info: "v1", last_updated: "2026-11-30T20:00:00.000Z" });
    expect(d["secret"]).toEqual({
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
      name: "default",
      tls_certificate: { certificate_chain: { inline_bytes: Buffer.from(leaf.chainPem).toString("base64") }, private_key: { inline_bytes: "W3JlZGFjdGVkXQ==" } },
    });
    expect(sec.dynamic_active_secrets[1]!["secret"]["validation_context"]).toEqual({ trusted_ca: { inline_bytes: Buffer.from(ca.rootPem).toString("base64") } });
    expect(JSON.stringify(dump)).not.toContain(Buffer.from(leaf.keyPem).toString("base64").slice(0, 40));
    const only = buildConfigDump({ bootstrap, snapshot, lastReloadError: null }, { nameRegex: /^ROOTCA$/ });
    const onlySec = only.configs.find((c) => String(c["@type"]).endsWith("SecretsConfigDump")) as { dynamic_active_secrets: Array<{ name: string }> };
    expect(onlySec.dynamic_active_secrets.map((s) => s.name)).toEqual(["ROOTCA"]);
  });
});
