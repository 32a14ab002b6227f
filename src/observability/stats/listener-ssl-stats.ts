// A listener's TLS stats as Envoy names them (`listener.<address>_<port>.ssl.*`, from
// source/common/tls/stats.h ALL_SSL_STATS): made on the first TLS connection of a listener, so a
// plaintext listener shows none (Envoy creates them only for listeners with a TLS context).

import type { Counter, StatsStore } from "./stats-store.js";

export class ListenerSslStats {
  readonly handshake: Counter;
  readonly connectionError: Counter;
  readonly sessionReused: Counter;
  readonly noCertificate: Counter;
  readonly failVerifyNoCert: Counter;
  readonly failVerifyError: Counter;
  readonly failVerifySan: Counter;
  /** `ssl.versions.TLSv1.3`, `ssl.ciphers.TLS_AES_128_GCM_SHA256`: few distinct values, kept by name. */
  private readonly byName = new Map<string, Counter>();

  constructor(
    private readonly store: StatsStore,
    private readonly prefix: string,
  ) {
    this.handshake = store.counter(prefix + "handshake");
    this.connectionError = store.counter(prefix + "connection_error");
    this.sessionReused = store.counter(prefix + "session_reused");
    this.noCertificate = store.counter(prefix + "no_certificate");
    this.failVerifyNoCert = store.counter(prefix + "fail_verify_no_cert");
    this.failVerifyError = store.counter(prefix + "fail_verify_error");
    this.failVerifySan = store.counter(prefix + "fail_verify_san");
  }

  /** A successful handshake: Envoy's logHandshake (handshake, session_reused, no_certificate, version, cipher). */
  handshakeDone(version: string, cipher: string, reused: boolean, peerCert: boolean): void {
    this.handshake.inc();
    if (reused) this.sessionReused.inc();
    if (!peerCert) this.noCertificate.inc();
    this.named("versions." + version).inc();
    this.named("ciphers." + cipher).inc();
  }

  private named(suffix: string): Counter {
    let c = this.byName.get(suffix);
    if (c === undefined) {
      c = this.store.counter(this.prefix + suffix);
      this.byName.set(suffix, c);
    }
    return c;
  }
}
