// Envoy's jwt_authn failure reasons (google::jwt_verify::Status strings): the 401/403 body, and
// with spaces as underscores inside `jwt_authn_access_denied{…}` the response code details.

export const JwtStatus = {
  Missed: "Jwt is missing",
  BadFormat: "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections",
  HeaderBadBase64: "Jwt header is an invalid Base64url encoded",
  HeaderBadJson: "Jwt header is an invalid JSON",
  HeaderBadAlg: "Jwt header [alg] field is required and must be a string",
  HeaderNotImplementedAlg: "Jwt header [alg] is not supported",
  HeaderBadKid: "Jwt header [kid] field is not a string",
  PayloadBadBase64: "Jwt payload is an invalid Base64url encoded",
  PayloadBadJson: "Jwt payload is an invalid JSON",
  IssNotString: "Jwt payload [iss] field is not a string",
  SubNotString: "Jwt payload [sub] field is not a string",
  IatNotInteger: "Jwt payload [iat] field is not an integer",
  NbfNotInteger: "Jwt payload [nbf] field is not an integer",
  ExpNotInteger: "Jwt payload [exp] field is not an integer",
  AudNotString: "Jwt payload [aud] field is not a string or string list",
  SignatureBadBase64: "Jwt signature is an invalid Base64url encoded",
  UnknownIssuer: "Jwt issuer is not configured",
  AudienceNotAllowed: "Audiences in Jwt are not allowed",
  NotYetValid: "Jwt not yet valid",
  Expired: "Jwt is expired",
  VerificationFail: "Jwt verification fails",
  JwksKidAlgMismatch: "Jwks doesn't have key to match kid or alg from Jwt",
} as const;

export type JwtStatusValue = (typeof JwtStatus)[keyof typeof JwtStatus];

/** Envoy: 403 for a token whose audiences are not allowed, 401 for every other failure. */
export function jwtStatusCode(s: JwtStatusValue): number {
  return s === JwtStatus.AudienceNotAllowed ? 403 : 401;
}

/** Envoy's response code details for a denial: `jwt_authn_access_denied{Jwt_is_expired}`. */
export function jwtDeniedDetails(s: JwtStatusValue): string {
  return DETAILS.get(s)!;
}

const DETAILS = new Map<string, string>(Object.values(JwtStatus).map((s) => [s, `jwt_authn_access_denied{${s.replace(/ /g, "_")}}`]));
