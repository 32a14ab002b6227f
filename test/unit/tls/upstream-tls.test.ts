// Upstream TLS pieces without sockets: ALPN per codec, Envoy's failure reasons from Node's errors,
// the bounded session cache, and the factory's pool key.

import { describe, expect, it } from "vitest";
import { TLS_TRANSPORT_SOCKET } from "../../../src/config/model/types.js";
import { builtInTransportSockets } from "../../../src/tls/tls-transport.js";
import { UpstreamSessionCache } from "../../../src/tls/upstream-session-cache.js";
import { alertFailureReason, handshakeFailureReason, TLS_CONNECTION_RESET, TLS_WRONG_VERSION_NUMBER } from "../../../src/tls/upstream-tls-failure.js";
import { upstreamAlpn, upstreamTlsFactory } from "../../../src/tls/upstream-tls.js";

describe("upstreamAlpn", () => {
  it("Istio mTLS: istio.alpn's values for HTTP, and TCP without istio-peer-exchange", () => {
    expect(upstreamAlpn(["istio-peer-exchange", "istio"])).toEqual({
      "http/1.1": ["istio-http/1.1", "istio", "http/1.1"],
      h2: ["istio-h2", "istio", "h2"],
      tcp: ["istio"],
    });
  });

  it("any other context offers its own list for every codec, and none when it has none", () => {
    expect(upstreamAlpn(["h2", "http/1.1"])).toEqual({ "http/1.1": ["h2", "http/1.1"], h2: ["h2", "http/1.1"], tcp: ["h2", "http/1.1"] });
    expect(upstreamAlpn([]).tcp).toEqual([]);
  });
});

describe("handshakeFailureReason", () => {
  const err = (message: string, extra: Record<string, unknown> = {}): NodeJS.ErrnoException => Object.assign(new Error(message), extra);

  it("an alert from the server: BoringSSL's packed code and name", () => {
    expect(handshakeFailureReason(err("C0:error:0A000416:SSL routines:ssl3_read_bytes:ssl/tls alert certificate unknown:rec_layer_s3.c:916:SSL alert number 46"))).toBe(
      "TLS_error:|268436502:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_UNKNOWN:TLS_error_end",
    );
    expect(alertFailureReason(40)).toBe("TLS_error:|268436496:SSL routines:OPENSSL_internal:SSLV3_ALERT_HANDSHAKE_FAILURE:TLS_error_end");
    expect(alertFailureReason(48)).toBe("TLS_error:|268436504:SSL routines:OPENSSL_internal:TLSV1_ALERT_UNKNOWN_CA:TLS_error_end");
    expect(alertFailureReason(116)).toBe("TLS_error:|268436572:SSL routines:OPENSSL_internal:TLSV1_ALERT_CERTIFICATE_REQUIRED:TLS_error_end");
  });

  it("a reset is the system library's ECONNRESET; a bare close has no reason", () => {
    expect(handshakeFailureReason(err("read ECONNRESET", { code: "ECONNRESET", syscall: "read" }))).toBe(TLS_CONNECTION_RESET);
    expect(handshakeFailureReason(err("Client network socket disconnected before secure TLS connection was established", { code: "ECONNRESET" }))).toBe("");
  });

  it("a non-TLS answer is WRONG_VERSION_NUMBER; an unknown OpenSSL reason keeps its text in Envoy's frame", () => {
    expect(handshakeFailureReason(err("wrong version number", { reason: "wrong version number" }))).toBe(TLS_WRONG_VERSION_NUMBER);
    expect(handshakeFailureReason(err("packet length too long", { reason: "packet length too long" }))).toBe(TLS_WRONG_VERSION_NUMBER);
    expect(handshakeFailureReason(err("x", { reason: "bad key share" }))).toBe("TLS_error:|SSL routines:OPENSSL_internal:BAD_KEY_SHARE:TLS_error_end");
  });
});

describe("UpstreamSessionCache", () => {
  it("keeps at most its bound, dropping the least recently stored", () => {
    const c = new UpstreamSessionCache(2);
    c.set("a", Buffer.from("1"));
    c.set("b", Buffer.from("2"));
    c.set("a", Buffer.from("3"));
    c.set("c", Buffer.from("4"));
    expect(c.size).toBe(2);
    expect(c.get("b")).toBeUndefined();
    expect(c.get("a")?.toString()).toBe("3");
    expect(c.get("c")?.toString()).toBe("4");
  });
});

describe("upstreamTlsFactory", () => {
  it("the pool key follows the context and the SNI; plaintext's is empty", () => {
    const a = upstreamTlsFactory({ sni: "a", commonTlsContext: {} }, {});
    const a2 = upstreamTlsFactory({ sni: "a", commonTlsContext: {} }, {});
    const b = upstreamTlsFactory({ sni: "b", commonTlsContext: {} }, {});
    expect(a.hashKey).toBe(a2.hashKey);
    expect(a.hashKey).not.toBe(b.hashKey);
    expect(a.hashKey).not.toBe("");
    expect(builtInTransportSockets().resolve(undefined, { side: "upstream", secrets: {} }).hashKey).toBe("");
  });

  it("a context naming a secret the snapshot lacks is refused with a clear message", () => {
    expect(() =>
      builtInTransportSockets().resolve({ name: TLS_TRANSPORT_SOCKET, typedConfig: { commonTlsContext: { tlsCertificateSdsSecretConfigs: [{ name: "default" }] } } }, { side: "upstream", secrets: {} }),
    ).toThrow(/secret "default" is not available/);
  });
});
