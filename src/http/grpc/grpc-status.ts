// gRPC status codes as Envoy reads and writes them (source/common/grpc/common.cc, status.cc): what
// makes a request gRPC, the HTTP → gRPC status table of local replies, and the names the access
// log's %GRPC_STATUS% prints.

import type { HeaderList } from "../header-list.js";

/** The well-known gRPC status codes (grpc/status.h). */
export const GrpcStatus = {
  Ok: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;

/** 16: the highest well-known code (Unauthenticated). */
export const MAX_KNOWN_GRPC_STATUS = 16;

/** Envoy's Grpc::Utility::grpcStatusToString (%GRPC_STATUS(CAMEL_STRING)%), indexed by code. */
export const GRPC_STATUS_CAMEL: readonly string[] = Object.keys(GrpcStatus);

/** absl::StatusCodeToString (%GRPC_STATUS(SNAKE_STRING)%), indexed by code; note CANCELLED's spelling. */
export const GRPC_STATUS_SNAKE: readonly string[] = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

const GRPC = "application/grpc";

/**
 * Envoy's Grpc::Common::hasGrpcContentType, which decides whether a request is gRPC for the data
 * path (local replies, timeouts): exactly `application/grpc` or `application/grpc+…`
 * (`application/grpc-web` and `application/grpc;…` are not).
 */
export function hasGrpcContentType(ct: string | undefined): boolean {
  if (ct === undefined || !ct.startsWith(GRPC)) return false;
  return ct.length === 16 || ct.charCodeAt(16) === 43; /* + */
}

/** Whether request headers make the request gRPC in Envoy's eyes (content-type, see above). */
export function isGrpcRequest(headers: HeaderList): boolean {
  return hasGrpcContentType(headers.get("content-type"));
}

/**
 * The telemetry rule (istio.stats request_protocol `grpc`): `application/grpc`, or followed by
 * `+` or `;` parameters.
 */
export function isGrpcContentType(ct: string | undefined): boolean {
  if (ct === undefined || !ct.startsWith(GRPC)) return false;
  if (ct.length === 16) return true;
  const c = ct.charCodeAt(16);
  return c === 43 /* + */ || c === 59 /* ; */;
}

/** Envoy's Grpc::Utility::httpToGrpcStatus (grpc's http-grpc-status-mapping.md). */
export function httpToGrpcStatus(code: number): number {
  switch (code) {
    case 400:
      return GrpcStatus.Internal;
    case 401:
      return GrpcStatus.Unauthenticated;
    case 403:
      return GrpcStatus.PermissionDenied;
    case 404:
      return GrpcStatus.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.Unavailable;
    default:
      return GrpcStatus.Unknown;
  }
}

/**
 * Envoy's Grpc::Common::getGrpcStatus(trailers, headers, info, allow_user_defined = true): the
 * trailers' grpc-status, else the (trailers-only) headers', else mapped from the HTTP status.
 * -1 = a grpc-status that is not a number (Envoy's InvalidCode); undefined = no response at all.
 */
export function responseGrpcStatus(trailers: HeaderList | undefined, headers: HeaderList | undefined, responseCode: number): number | undefined {
  const t = parseStatus(trailers?.get("grpc-status"));
  if (t !== undefined) return t;
  const h = parseStatus(headers?.get("grpc-status"));
  if (h !== undefined) return h;
  return responseCode === 0 ? undefined : httpToGrpcStatus(responseCode);
}

function parseStatus(v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  return /^[0-9]{1,10}$/.test(v) ? Number(v) : -1;
}

/** The response's grpc-message as sent (percent-encoded): the trailers', else the trailers-only headers'. */
export function responseGrpcMessage(trailers: HeaderList | undefined, headers: HeaderList | undefined): string | undefined {
  return trailers?.get("grpc-message") ?? (trailers?.has("grpc-status") === true ? undefined : headers?.get("grpc-message"));
}

/** %GRPC_STATUS(FORMAT)%: CAMEL_STRING (default), SNAKE_STRING or NUMBER. */
export type GrpcStatusFormat = "CAMEL_STRING" | "SNAKE_STRING" | "NUMBER";

/** Envoy's GrpcStatusFormatter: a name for a well-known code, else the number. */
export function formatGrpcStatus(code: number, format: GrpcStatusFormat): string {
  // InvalidCode is -1 in Envoy's unsigned GrpcStatus: every format prints it as that number.
  if (code === -1) return "18446744073709551615";
  if (format === "CAMEL_STRING") return GRPC_STATUS_CAMEL[code] ?? String(code);
  if (format === "SNAKE_STRING") return GRPC_STATUS_SNAKE[code] ?? String(code);
  return String(code);
}
