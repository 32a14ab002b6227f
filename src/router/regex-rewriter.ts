// RegexRewriter: RE2 GlobalReplace for Envoy's regex_rewrite (Istio uriRegexRewrite). The
// substitution uses RE2 rewrite syntax: \0..\9 insert a capture group, \\ a backslash; anything
// else after "\" is rejected at compile time (RE2::CheckRewriteString), as Envoy rejects it.

import { compileRegex, type Regex } from "./compile-regex.js";

/** Literal text or a capture group number. */
type Piece = string | number;

export class RegexRewriter {
  private readonly re: Regex;
  private readonly pieces: readonly Piece[];

  private constructor(re: Regex, pieces: Piece[]) {
    this.re = re;
    this.pieces = pieces;
  }

  static compile(pattern: string, substitution: string, where = "regexRewrite"): RegexRewriter {
    const re = compileRegex(pattern, `${where}.pattern`);
    const groups = re.groupCount();
    const pieces: Piece[] = [];
    let lit = "";
    for (let i = 0; i < substitution.length; i++) {
      const c = substitution[i]!;
      if (c !== "\\") {
        lit += c;
        continue;
      }
      const next = substitution[++i];
      if (next === "\\") {
        lit += "\\";
      } else if (next !== undefined && next >= "0" && next <= "9") {
        const g = next.charCodeAt(0) - 48;
        if (g > groups) {
          throw new Error(
            `${where}.substitution: ${JSON.stringify(substitution)} refers to group \\${g} but the pattern has ${groups}`,
          );
        }
        if (lit !== "") pieces.push(lit);
        lit = "";
        pieces.push(g);
      } else {
        throw new Error(
          `${where}.substitution: invalid rewrite ${JSON.stringify(substitution)}: "\\" must be followed by a digit or "\\"`,
        );
      }
    }
    if (lit !== "") pieces.push(lit);
    return new RegexRewriter(re, pieces);
  }

  /**
   * Replace every non-overlapping match in `input`, with RE2's rule for empty matches: an empty
   * match right where the previous match ended is skipped (so `a*` on "baaa" gives "-b-").
   */
  replaceAll(input: string): string {
    const m = this.re.matcher(input);
    const len = input.length;
    let out = "";
    let copied = 0; // input[0..copied) is already in `out`
    let pos = 0;
    let lastEnd = -1;
    let count = 0;
    while (pos <= len && m.find(pos)) {
      const start = m.start();
      const end = m.end();
      if (start === end && start === lastEnd) {
        // Step over one code point and search again.
        pos = start + (isHighSurrogateAt(input, start) ? 2 : 1);
        continue;
      }
      out += input.slice(copied, start);
      for (const p of this.pieces) out += typeof p === "number" ? (m.group(p) ?? "") : p;
      copied = end;
      lastEnd = end;
      pos = end;
      count++;
    }
    if (count === 0) return input;
    return out + input.slice(copied);
  }
}

function isHighSurrogateAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length;
}
