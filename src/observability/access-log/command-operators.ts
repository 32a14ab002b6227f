// Envoy's access-log command operators (%START_TIME%, %REQ(X?Y):Z%, %RESPONSE_CODE%, …), each
// compiled once per snapshot into a function of the finished StreamInfo. An operator returns a
// string, a number (Envoy's numeric operators: codes, bytes, durations, ports — typed in JSON), or
// undefined when the value is unset (`-` in TEXT, null in JSON), as Envoy's formatters do
// (source/common/formatter/stream_info_formatter.cc, http_specific_formatter.cc).

import { hostname } from "node:os";
import type { HeaderList } from "../../http/header-list.js";
import { formatGrpcStatus, isGrpcRequest, responseGrpcStatus, type GrpcStatusFormat } from "../../http/grpc/grpc-status.js";
import type { PeerCertificateInfo } from "../../listener/connection-info.js";
import type { StreamInfo, StreamTimings } from "../stream-info.js";
import { justPort, withoutPort, withPort } from "./address-format.js";
import { longFlags, shortFlags } from "./envoy-response-flags.js";
import { compileStartTimeFormat, defaultStartTime } from "./start-time-format.js";

export type OperatorValue = string | number | undefined;
export type Operator = (info: StreamInfo) => OperatorValue;

/** Envoy's CommandSyntaxChecker classes: what a command accepts after its name. */
const enum Syntax {
  CommandOnly,
  ParamsRequired,
  ParamsOptional,
}

interface OperatorSpec {
  syntax: Syntax;
  /** `:Z` (max length) is accepted. */
  length?: boolean;
  create(arg: string, maxLength: number | undefined): Operator;
}

const truncate = (v: string | undefined, max: number | undefined): string | undefined => (v === undefined || max === undefined || v.length <= max ? v : v.slice(0, max));

const ms = (v: number | undefined): number | undefined => (v === undefined ? undefined : Math.floor(v));

function timing(point: keyof StreamTimings): Operator {
  return (i) => ms(i.timings[point]);
}

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === "" ? undefined : v);

/** Envoy replaces whitespace in details and failure reasons with `_` so a TEXT line keeps its fields. */
const noSpaces = (v: string | undefined): string | undefined => (v === undefined || v === "" ? undefined : /\s/.test(v) ? v.replace(/\s/g, "_") : v);

type HeaderSource = "request" | "response" | "trailers";

function headerList(info: StreamInfo, src: HeaderSource): HeaderList | undefined {
  return src === "request" ? info.requestHeaders : src === "response" ? info.responseHeaders : info.responseTrailers;
}

/** One header lookup, pseudo-headers answered from StreamInfo. */
function headerGetter(name: string, src: HeaderSource): (info: StreamInfo) => string | undefined {
  if (src === "request") {
    switch (name) {
      case ":method":
        return (i) => (i.requestHeaders === undefined ? undefined : i.method);
      // The path as received: StreamInfo keeps no rewritten path (x-envoy-original-path is set on
      // a rewrite, so `X-ENVOY-ORIGINAL-PATH?:PATH` is exact either way).
      case ":path":
        return (i) => (i.requestHeaders === undefined ? undefined : i.path);
      case ":authority":
        return (i) => (i.requestHeaders === undefined ? undefined : i.authority);
      case "host":
        return (i) => (i.requestHeaders === undefined ? undefined : (i.requestHeaders.get("host") ?? i.authority));
      case ":scheme":
        return (i) => (i.requestHeaders === undefined ? undefined : nonEmpty(i.scheme));
    }
  } else if (src === "response" && name === ":status") {
    return (i) => (i.responseHeaders === undefined ? undefined : String(i.responseCode));
  }
  return (i) => headerList(i, src)?.get(name);
}

function parseHeaderArg(command: string, arg: string): [string, string | undefined] {
  const parts = arg.split("?");
  if (parts.length > 2) throw new Error(`More than 1 alternative header specified in token: ${command}(${arg})`);
  const main = parts[0]!.toLowerCase();
  const alt = parts[1]?.toLowerCase();
  if (main === "" || alt === "") throw new Error(`%${command}(${arg})%: empty header name`);
  return [main, alt];
}

function headerOperator(command: string, src: HeaderSource, stripQuery = false): OperatorSpec {
  return {
    syntax: Syntax.ParamsRequired,
    length: true,
    create(arg, max) {
      const [main, alt] = parseHeaderArg(command, arg);
      const a = headerGetter(main, src);
      const b = alt === undefined ? undefined : headerGetter(alt, src);
      return (i) => {
        let v = a(i);
        if (v === undefined && b !== undefined) v = b(i);
        if (v !== undefined && stripQuery) {
          const q = v.indexOf("?");
          if (q !== -1) v = v.slice(0, q);
        }
        return truncate(v, max);
      };
    },
  };
}

/** Envoy joins a certificate's SANs with ","; none = `-`. */
function joined(values: readonly string[] | undefined): string | undefined {
  return values === undefined || values.length === 0 ? undefined : values.join(",");
}

const simple = (fn: Operator): OperatorSpec => ({ syntax: Syntax.CommandOnly, create: () => fn });

/** What both sides' TLS facts have in common (ConnectionInfo.tls, StreamInfo.upstreamTls). */
interface TlsFacts {
  readonly version: string;
  readonly cipher: string;
  readonly localUriSans: readonly string[];
  readonly localDnsSans?: readonly string[] | undefined;
  readonly localSubject?: string | undefined;
  readonly peerCertificate?: PeerCertificateInfo | undefined;
  readonly sessionId?: string | undefined;
}

/** A certificate validity bound: Envoy's START_TIME default format, or the given strftime format. */
function certTime(get: (i: StreamInfo) => number | undefined): OperatorSpec {
  return {
    syntax: Syntax.ParamsOptional,
    create(arg) {
      const f = arg === "" ? defaultStartTime : compileStartTimeFormat(arg);
      return (i) => {
        const t = get(i);
        return t === undefined || Number.isNaN(t) ? undefined : f(t);
      };
    },
  };
}

/**
 * Envoy's TLS operators of one side (`DOWNSTREAM_…` / `UPSTREAM_…`), with its formats: SANs joined
 * with ",", RFC 2253 names, lower-case hex session id, URL-encoded PEM; `-` on a plaintext
 * connection or when the certificate lacks the field.
 */
function tlsOperators(side: "DOWNSTREAM" | "UPSTREAM", tls: (i: StreamInfo) => TlsFacts | undefined): Record<string, OperatorSpec> {
  return {
    [`${side}_PEER_URI_SAN`]: simple((i) => joined(tls(i)?.peerCertificate?.uriSans)),
    [`${side}_PEER_DNS_SAN`]: simple((i) => joined(tls(i)?.peerCertificate?.dnsSans)),
    [`${side}_LOCAL_URI_SAN`]: simple((i) => joined(tls(i)?.localUriSans)),
    [`${side}_LOCAL_DNS_SAN`]: simple((i) => joined(tls(i)?.localDnsSans)),
    [`${side}_LOCAL_SUBJECT`]: simple((i) => nonEmpty(tls(i)?.localSubject)),
    [`${side}_PEER_SUBJECT`]: simple((i) => nonEmpty(tls(i)?.peerCertificate?.subject)),
    [`${side}_PEER_ISSUER`]: simple((i) => nonEmpty(tls(i)?.peerCertificate?.issuer)),
    [`${side}_TLS_SESSION_ID`]: simple((i) => nonEmpty(tls(i)?.sessionId)),
    [`${side}_TLS_VERSION`]: simple((i) => nonEmpty(tls(i)?.version)),
    [`${side}_TLS_CIPHER`]: simple((i) => nonEmpty(tls(i)?.cipher)),
    // URL-encoded PEM, as Envoy's urlEncodedPemEncodedPeerCertificate.
    [`${side}_PEER_CERT`]: simple((i) => {
      const pem = tls(i)?.peerCertificate?.pem;
      return pem === undefined || pem === "" ? undefined : encodeURIComponent(pem);
    }),
    [`${side}_PEER_CERT_V_START`]: certTime((i) => tls(i)?.peerCertificate?.validFrom),
    [`${side}_PEER_CERT_V_END`]: certTime((i) => tls(i)?.peerCertificate?.validTo),
  };
}

const OPERATORS: Record<string, OperatorSpec> = {
  START_TIME: {
    syntax: Syntax.ParamsOptional,
    create(arg) {
      const f = arg === "" ? defaultStartTime : compileStartTimeFormat(arg);
      return (i) => f(i.startTime);
    },
  },
  REQ: headerOperator("REQ", "request"),
  REQ_WITHOUT_QUERY: headerOperator("REQ_WITHOUT_QUERY", "request", true),
  RESP: headerOperator("RESP", "response"),
  TRAILER: headerOperator("TRAILER", "trailers"),

  RESPONSE_CODE: simple((i) => i.responseCode),
  RESPONSE_FLAGS: simple((i) => shortFlags(i.responseFlags)),
  RESPONSE_FLAGS_LONG: simple((i) => longFlags(i.responseFlags)),
  RESPONSE_CODE_DETAILS: {
    syntax: Syntax.ParamsOptional,
    create(arg) {
      if (arg !== "" && arg !== "ALLOW_WHITESPACES") throw new Error(`%RESPONSE_CODE_DETAILS(${arg})%: the only parameter is ALLOW_WHITESPACES`);
      return arg === "" ? (i) => noSpaces(i.responseCodeDetails) : (i) => nonEmpty(i.responseCodeDetails);
    },
  },
  // Envoy's GrpcStatusFormatter: only for a gRPC request (validate_grpc_header_before_log_grpc_status);
  // trailers' grpc-status, else the trailers-only headers', else mapped from the HTTP status.
  GRPC_STATUS: {
    syntax: Syntax.ParamsOptional,
    create(arg) {
      const format = (arg === "" ? "CAMEL_STRING" : arg) as GrpcStatusFormat;
      if (format !== "CAMEL_STRING" && format !== "SNAKE_STRING" && format !== "NUMBER") throw new Error(`%GRPC_STATUS(${arg})%: the format is CAMEL_STRING, SNAKE_STRING or NUMBER`);
      return (i) => {
        if (i.requestHeaders === undefined || !isGrpcRequest(i.requestHeaders)) return undefined;
        const code = responseGrpcStatus(i.responseTrailers, i.responseHeaders, i.responseCode);
        if (code === undefined) return undefined;
        // NUMBER is typed in JSON (Envoy's numberValue); the names are strings.
        if (format === "NUMBER") return code === -1 ? formatGrpcStatus(code, format) : code;
        return formatGrpcStatus(code, format);
      };
    },
  },
    CONNECTION_TERMINATION_DETAILS: simple((i) => nonEmpty(i.connectionTerminationDetails)),
  UPSTREAM_TRANSPORT_FAILURE_REASON: simple((i) => noSpaces(i.upstreamTransportFailureReason)),

  BYTES_RECEIVED: simple((i) => i.bytesReceived),
  BYTES_SENT: simple((i) => i.bytesSent),

  DURATION: simple((i) => Math.floor(i.durationMs)),
  REQUEST_DURATION: simple(timing("lastDownstreamRxByteReceived")),
  REQUEST_TX_DURATION: simple(timing("lastUpstreamTxByteSent")),
  RESPONSE_DURATION: simple(timing("firstUpstreamRxByteReceived")),
  RESPONSE_TX_DURATION: simple((i) => {
    const down = i.timings.lastDownstreamTxByteSent;
    const up = i.timings.firstUpstreamRxByteReceived;
    return down === undefined || up === undefined ? undefined : Math.floor(down - up);
  }),

  UPSTREAM_HOST: simple((i) => withPort(i.upstreamHost)),
  UPSTREAM_REMOTE_ADDRESS: simple((i) => withPort(i.upstreamHost)),
  UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: simple((i) => withoutPort(i.upstreamHost)),
  UPSTREAM_REMOTE_PORT: simple((i) => justPort(i.upstreamHost)),
  // The model has no alt_stat_name, so the observability name is the cluster's name.
  UPSTREAM_CLUSTER: simple((i) => nonEmpty(i.clusterName)),
  UPSTREAM_CLUSTER_RAW: simple((i) => nonEmpty(i.clusterName)),
  UPSTREAM_LOCAL_ADDRESS: simple((i) => withPort(i.upstreamLocalAddress)),
  UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: simple((i) => withoutPort(i.upstreamLocalAddress)),
  UPSTREAM_LOCAL_PORT: simple((i) => justPort(i.upstreamLocalAddress)),
  UPSTREAM_REQUEST_ATTEMPT_COUNT: simple((i) => i.attemptCount),

  DOWNSTREAM_REMOTE_ADDRESS: simple((i) => withPort(i.downstreamRemoteAddress)),
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: simple((i) => withoutPort(i.downstreamRemoteAddress)),
  DOWNSTREAM_REMOTE_PORT: simple((i) => justPort(i.downstreamRemoteAddress)),
  // No proxy protocol or XFF-derived remote address yet: the direct peer is the remote address.
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: simple((i) => withPort(i.downstreamRemoteAddress)),
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT: simple((i) => withoutPort(i.downstreamRemoteAddress)),
  DOWNSTREAM_DIRECT_REMOTE_PORT: simple((i) => justPort(i.downstreamRemoteAddress)),
  DOWNSTREAM_LOCAL_ADDRESS: simple((i) => withPort(i.downstreamLocalAddress)),
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: simple((i) => withoutPort(i.downstreamLocalAddress)),
  DOWNSTREAM_LOCAL_PORT: simple((i) => justPort(i.downstreamLocalAddress)),
  DOWNSTREAM_DIRECT_LOCAL_ADDRESS: simple((i) => withPort(i.downstreamLocalAddress)),
  DOWNSTREAM_DIRECT_LOCAL_ADDRESS_WITHOUT_PORT: simple((i) => withoutPort(i.downstreamLocalAddress)),
  DOWNSTREAM_DIRECT_LOCAL_PORT: simple((i) => justPort(i.downstreamLocalAddress)),

  REQUESTED_SERVER_NAME: simple((i) => nonEmpty(i.requestedServerName)),
  ...tlsOperators("DOWNSTREAM", (i) => i.downstreamTls),
  DOWNSTREAM_PEER_FINGERPRINT_256: simple((i) => nonEmpty(i.downstreamTls?.peerCertificate?.sha256)),
  DOWNSTREAM_PEER_SERIAL: simple((i) => nonEmpty(i.downstreamTls?.peerCertificate?.serial)),
  ...tlsOperators("UPSTREAM", (i) => i.upstreamTls),
  ROUTE_NAME: simple((i) => nonEmpty(i.routeName)),
  // Virtual clusters are not in the model: no stream ever matches one.
  VIRTUAL_CLUSTER_NAME: simple(() => undefined),
  FILTER_CHAIN_NAME: simple((i) => nonEmpty(i.filterChainName)),
  PROTOCOL: simple((i) => (i.protocol === "-" ? undefined : i.protocol)),
  // Envoy's stream id is the request id (x-request-id) when the request carries one.
  STREAM_ID: simple((i) => i.requestId),
  HOSTNAME: {
    syntax: Syntax.CommandOnly,
    create() {
      const h = hostname();
      return () => h;
    },
  },
  ENVIRONMENT: {
    syntax: Syntax.ParamsRequired,
    length: true,
    create(arg, max) {
      // Read once, when the format is compiled (as Envoy does).
      const v = truncate(process.env[arg], max) ?? "-";
      return () => v;
    },
  },
};

/** The operators this build knows, for docs and error messages. */
export const KNOWN_OPERATORS: readonly string[] = Object.keys(OPERATORS).sort();

/** Compiles one command (name, argument, max length) or throws a clear error. */
export function compileOperator(command: string, arg: string | undefined, maxLength: number | undefined): Operator {
  const spec = OPERATORS[command];
  if (spec === undefined) throw new Error(`unsupported command operator %${command}%`);
  if (spec.syntax === Syntax.CommandOnly && arg !== undefined) throw new Error(`%${command}% does not take parameters`);
  if (spec.syntax === Syntax.ParamsRequired && (arg === undefined || arg === "")) throw new Error(`%${command}% requires a parameter, e.g. %${command}(x-request-id)%`);
  if (maxLength !== undefined && spec.length !== true) throw new Error(`%${command}% does not take a length`);
  return spec.create(arg ?? "", maxLength);
}
