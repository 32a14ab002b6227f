// AuthorizationPolicy path templates (`{*}` one segment, `{**}` the rest) as istiod handles them:
// validated by pkg/config/security CheckValidPathTemplate and written as Envoy uri_template
// matchers with `{*}` → `*`, `{**}` → `**` (pilot/pkg/security/authz/matcher/template.go).

import { uriTemplateRegex } from "../../http/filters/rbac/uri-template.js";

const MATCH_ONE = "{*}";
const MATCH_ANY = "{**}";
/** istiod's validLiteral (RFC 3986 pchar; istiod also lets `=` through). */
const VALID_LITERAL = /^[a-zA-Z0-9\-._~%!$&'()+,;:@=]+$/;

export function isPathTemplate(v: string): boolean {
  return v.includes(MATCH_ONE) || v.includes(MATCH_ANY);
}

/** istiod sanitizePathTemplate. */
export function envoyPathTemplate(v: string): string {
  return v.replaceAll(MATCH_ANY, "**").replaceAll(MATCH_ONE, "*");
}

/**
 * istiod's CheckValidPathTemplate for one `paths` / `notPaths` value (every path, template or
 * not: a `{` or `}` outside `{*}` / `{**}` is refused), then what Envoy would refuse in the
 * generated template (no leading `/`, `=` in a literal). The error message, or undefined.
 */
export function pathTemplateError(path: string, key: string): string | undefined {
  const template = isPathTemplate(path);
  const trimmed = path.replace(/^\/+|\/+$/g, "");
  let sawAny = false;
  for (const glob of trimmed.split("/")) {
    if ((glob === MATCH_ONE || glob === MATCH_ANY) && sawAny) return `invalid or unsupported path ${trimmed}, found in ${key}. {**} is not the last operator`;
    if (glob === MATCH_ONE) continue;
    if (glob === MATCH_ANY) {
      sawAny = true;
      continue;
    }
    if (glob.includes("{") || glob.includes("}")) return `invalid or unsupported path ${trimmed}, found in ${key}. Contains '{' or '}' beyond a supported path template`;
    if (template && !VALID_LITERAL.test(glob)) return `invalid or unsupported path ${trimmed}, found in ${key}. Contains segment ${glob} with invalid string literal`;
  }
  if (!template) return undefined;
  const envoy = uriTemplateRegex(envoyPathTemplate(path));
  return "error" in envoy ? `${envoy.error} (Envoy would refuse it), found in ${key}` : undefined;
}
