import { describe, expect, it } from "vitest";
import { normalizeProtoJson } from "../../../../src/config/envoy/proto-json.js";
import { redactSensitive } from "../../../../src/config/envoy/redact-sensitive.js";

describe("redactSensitive (Envoy's MessageUtil::redact by the protos' sensitive annotation)", () => {
  const bootstrap = {
    node: { id: "n", metadata: { private_key: "not sensitive: a Struct key" } },
    static_resources: {
      secrets: [
        { name: "inline", tls_certificate: { certificate_chain: { inline_string: "CERT" }, private_key: { inline_bytes: "S0VZ" }, password: { filename: "/etc/pw" } } },
        { name: "generic", generic_secret: { secret: { inline_string: "token" } } },
        { name: "stek", session_ticket_keys: { keys: [{ inline_bytes: "AAAA" }, { filename: "/k" }] } },
      ],
      listeners: [
        {
          name: "tls",
          filter_chains: [
            {
              transport_socket: {
                name: "envoy.transport_sockets.tls",
                typed_config: {
                  "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                  common_tls_context: { tls_certificates: [{ certificate_chain: { filename: "/c.pem" }, privateKey: { filename: "/k.pem" } }] },
                },
              },
            },
          ],
        },
      ],
    },
  };

  it("redacts every sensitive field and all below it (through Anys, camelCase keys too); the rest is untouched", () => {
    const r = redactSensitive("envoy.config.bootstrap.v3.Bootstrap", bootstrap) as typeof bootstrap;
    const red = Buffer.from("[redacted]").toString("base64");
    expect(r.node).toEqual(bootstrap.node);
    expect(r.static_resources.secrets[0]!.tls_certificate).toEqual({ certificate_chain: { inline_string: "CERT" }, private_key: { inline_bytes: red }, password: { filename: "[redacted]" } });
    expect(r.static_resources.secrets[1]!.generic_secret).toEqual({ secret: { inline_string: "[redacted]" } });
    expect(r.static_resources.secrets[2]!.session_ticket_keys).toEqual({ keys: [{ inline_bytes: red }, { filename: "[redacted]" }] });
    const tls = r.static_resources.listeners[0]!.filter_chains[0]!.transport_socket.typed_config.common_tls_context.tls_certificates[0]!;
    expect(tls).toEqual({ certificate_chain: { filename: "/c.pem" }, privateKey: { filename: "[redacted]" } });
    // Still a valid Bootstrap.
    expect(() => normalizeProtoJson("envoy.config.bootstrap.v3.Bootstrap", r as never)).not.toThrow();
    // The input is not modified.
    expect(bootstrap.static_resources.secrets[0]!.tls_certificate?.private_key).toEqual({ inline_bytes: "S0VZ" });
  });
});
