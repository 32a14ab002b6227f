// Envoy's transport failure reasons for an upstream TLS handshake that did not complete, made from
// what Node (OpenSSL) reports. Envoy prints BoringSSL's error queue as
// `TLS_error:|<packed code>:<library>:OPENSSL_internal:<REASON>:TLS_error_end`; OpenSSL names and
// numbers differ, so the handshake's observable cause (the alert the server sent, a plaintext
// answer, a reset) is mapped to the BoringSSL entry Envoy would print for it. A peer that closes
// without an alert leaves BoringSSL's queue empty: Envoy's reason is then "" (the 503 body ends at
// `reset reason: connection failure`).

/** BoringSSL ERR_LIB_SSL packed into the high byte: 16 << 24. */
const SSL_LIB = 268435456;
/** BoringSSL: an alert received from the peer is reason 1000 + the alert number. */
const ALERT_OFFSET = 1000;

/** BoringSSL's SSL_R_ names of received alerts (ssl.h), by alert number. */
const ALERT_NAMES: Record<number, string> = {
  0: "SSLV3_ALERT_CLOSE_NOTIFY",
  10: "SSLV3_ALERT_UNEXPECTED_MESSAGE",
  20: "SSLV3_ALERT_BAD_RECORD_MAC",
  21: "TLSV1_ALERT_DECRYPTION_FAILED",
  22: "TLSV1_ALERT_RECORD_OVERFLOW",
  30: "SSLV3_ALERT_DECOMPRESSION_FAILURE",
  40: "SSLV3_ALERT_HANDSHAKE_FAILURE",
  41: "SSLV3_ALERT_NO_CERTIFICATE",
  42: "SSLV3_ALERT_BAD_CERTIFICATE",
  43: "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
  44: "SSLV3_ALERT_CERTIFICATE_REVOKED",
  45: "SSLV3_ALERT_CERTIFICATE_EXPIRED",
  46: "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
  47: "SSLV3_ALERT_ILLEGAL_PARAMETER",
  48: "TLSV1_ALERT_UNKNOWN_CA",
  49: "TLSV1_ALERT_ACCESS_DENIED",
  50: "TLSV1_ALERT_DECODE_ERROR",
  51: "TLSV1_ALERT_DECRYPT_ERROR",
  60: "TLSV1_ALERT_EXPORT_RESTRICTION",
  70: "TLSV1_ALERT_PROTOCOL_VERSION",
  71: "TLSV1_ALERT_INSUFFICIENT_SECURITY",
  80: "TLSV1_ALERT_INTERNAL_ERROR",
  86: "TLSV1_ALERT_INAPPROPRIATE_FALLBACK",
  90: "TLSV1_ALERT_USER_CANCELLED",
  100: "TLSV1_ALERT_NO_RENEGOTIATION",
  110: "TLSV1_ALERT_UNSUPPORTED_EXTENSION",
  111: "TLSV1_ALERT_CERTIFICATE_UNOBTAINABLE",
  112: "TLSV1_ALERT_UNRECOGNIZED_NAME",
  113: "TLSV1_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE",
  114: "TLSV1_ALERT_BAD_CERTIFICATE_HASH_VALUE",
  115: "TLSV1_ALERT_UNKNOWN_PSK_IDENTITY",
  116: "TLSV1_ALERT_CERTIFICATE_REQUIRED",
  120: "TLSV1_ALERT_NO_APPLICATION_PROTOCOL",
  121: "TLSV1_ALERT_ECH_REQUIRED",
};

function sslEntry(reason: number, name: string): string {
  return `TLS_error:|${SSL_LIB + reason}:SSL routines:OPENSSL_internal:${name}:TLS_error_end`;
}

/** The server answered with something that is not TLS (a plaintext HTTP server): BoringSSL's WRONG_VERSION_NUMBER. */
export const TLS_WRONG_VERSION_NUMBER = sslEntry(247, "WRONG_VERSION_NUMBER");
/** The connection was reset mid-handshake: BoringSSL's system-library entry for ECONNRESET (errno 104). */
export const TLS_CONNECTION_RESET = "TLS_error:|33554536:system library:OPENSSL_internal:Connection reset by peer:TLS_error_end";

/** Envoy's reason for an alert the server sent during the handshake. */
export function alertFailureReason(alert: number): string {
  const name = ALERT_NAMES[alert];
  return name === undefined ? sslEntry(ALERT_OFFSET + alert, `TLSV1_ALERT_${alert}`) : sslEntry(ALERT_OFFSET + alert, name);
}

/**
 * Envoy's transport failure reason for a handshake error Node reported. OpenSSL puts the alert
 * number in its message (`SSL alert number 46`); other reasons are matched by OpenSSL's text.
 * An error this does not know keeps OpenSSL's reason in Envoy's frame, upper-cased.
 */
export function handshakeFailureReason(err: NodeJS.ErrnoException & { reason?: string }): string {
  const msg = err.message;
  const alert = /SSL alert number (\d+)/.exec(msg);
  if (alert !== null) return alertFailureReason(Number(alert[1]));
  if (err.code === "ECONNRESET") {
    // Node reports a clean close before the handshake finished as ECONNRESET too, without a
    // syscall: BoringSSL saw EOF, its queue is empty, and Envoy's reason is "".
    return err.syscall === undefined ? "" : TLS_CONNECTION_RESET;
  }
  if (err.code === "EPIPE") return TLS_CONNECTION_RESET;
  const reason = (err.reason ?? "").toLowerCase();
  // OpenSSL says "wrong version number" or "packet length too long" for a non-TLS answer; BoringSSL says WRONG_VERSION_NUMBER.
  if (reason.includes("wrong version number") || reason.includes("packet length too long") || reason.includes("record layer failure")) return TLS_WRONG_VERSION_NUMBER;
  if (reason.includes("unsupported protocol") || reason.includes("no protocols available")) return sslEntry(240, "UNSUPPORTED_PROTOCOL");
  if (reason.includes("no shared cipher") || reason.includes("no cipher")) return sslEntry(184, "NO_SHARED_CIPHER");
  if (reason !== "") return `TLS_error:|SSL routines:OPENSSL_internal:${reason.toUpperCase().replace(/[^A-Z0-9]+/g, "_")}:TLS_error_end`;
  return "";
}
