// compileUriTemplate: Envoy's uri_template path matcher (envoy.path.match.uri_template), which istiod
// writes into RBAC for AuthorizationPolicy path templates (`{*}` → `*`, `{**}` → `**`). Compiled
// once per snapshot into one anchored RegExp, as Envoy turns the template into one RE2 pattern:
// `*` is one non-empty segment, `**` zero or more characters including `/` (so `/a/**` matches
// `/a/` and `/a/b/c`, not `/a`), literals are RFC 3986 pchars (Envoy's set: no `*` or `=`).

/** Envoy's kLiteral: unreserved, pct-encoded, sub-delims without `*` and `=`, `:` and `@`. */
const LITERAL_CHARS = "a-zA-Z0-9\\-._~%!$&'()+,;:@";
const LITERAL = new RegExp(`^[${LITERAL_CHARS}]+$`);
const ONE = `[${LITERAL_CHARS}]+`;
const ANY = `[${LITERAL_CHARS}/]*`;

function quote(s: string): string {
  return s.replace(/[$()+.]/g, "\\$&");
}

/** The anchored regex source of `template`, or an error message as Envoy would refuse it. */
export function uriTemplateRegex(template: string): { source: string } | { error: string } {
  if (!/^\/[\x21-\x7e]*$/.test(template)) return { error: `invalid path template "${template}": must start with "/" and hold printable characters only` };
  const segments = template.slice(1).split("/");
  const out: string[] = [];
  let sawTextGlob = false;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (seg === "" && last && i > 0) {
      out.push(""); // a trailing `/`
      continue;
    }
    const op = seg.startsWith("**") ? "**" : seg.startsWith("*") ? "*" : "";
    const rest = seg.slice(op.length);
    if (op !== "") {
      if (sawTextGlob) return { error: `invalid path template "${template}": no operator may follow "**"` };
      sawTextGlob = op === "**";
    }
    if (rest !== "" && !LITERAL.test(rest)) return { error: `invalid path template "${template}": segment "${seg}" is not a valid literal` };
    // An operator followed by text is Envoy's suffix form (`/**.mpd`): only in the last segment.
    if (op !== "" && rest !== "" && !last) return { error: `invalid path template "${template}": text after an operator is only allowed in the last segment` };
    if (op === "" && rest === "") return { error: `invalid path template "${template}": empty segment` };
    out.push((op === "**" ? ANY : op === "*" ? ONE : "") + quote(rest));
  }
  return { source: `^/${out.join("/")}$` };
}

/** A predicate on the request path (without query), or throws with `where` for a template Envoy would refuse. */
export function compileUriTemplate(template: string, where: string): (path: string) => boolean {
  const r = uriTemplateRegex(template);
  if ("error" in r) throw new Error(`${where}: ${r.error}`);
  const re = new RegExp(r.source);
  return (path) => re.test(path);
}
