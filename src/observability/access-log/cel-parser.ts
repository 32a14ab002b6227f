// A parser for the subset of CEL that Telemetry API access-log filters use
// (`response.code >= 400 && request.headers['x-debug'] == 'on'`): literals, lists, member and
// index access, calls, `! - && || == != < <= > >= in`, `?:` and parentheses. Produces an AST; a
// construct outside the subset is a syntax error that names it.

export type CelAst =
  | { k: "lit"; v: string | number | boolean | null; uint?: boolean }
  | { k: "ident"; name: string }
  | { k: "select"; target: CelAst; field: string }
  | { k: "index"; target: CelAst; index: CelAst }
  | { k: "call"; fn: string; target: CelAst | undefined; args: CelAst[] }
  | { k: "list"; items: CelAst[] }
  | { k: "unary"; op: "!" | "-"; arg: CelAst }
  | { k: "binary"; op: "&&" | "||" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "in"; left: CelAst; right: CelAst }
  | { k: "cond"; test: CelAst; then: CelAst; else: CelAst };

type Tok = { t: "num"; v: number; uint: boolean; pos: number } | { t: "str"; v: string; pos: number } | { t: "id"; v: string; pos: number } | { t: "op"; v: string; pos: number } | { t: "eof"; pos: number };

const OPS = ["&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "(", ")", "[", "]", "{", "}", ",", ".", "?", ":", "-", "+", "*", "/", "%"];

export class CelSyntaxError extends Error {}

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      const m = /^(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)([uU]?)/.exec(src.slice(i))!;
      out.push({ t: "num", v: Number(m[1]), uint: m[2] !== "", pos: start });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      // Raw and byte string prefixes (r'…', b'…') are outside the subset.
      if ((m[0] === "r" || m[0] === "R" || m[0] === "b" || m[0] === "B") && (src[i + 1] === "'" || src[i + 1] === '"')) {
        throw new CelSyntaxError(`${m[0]}-prefixed string literals are not supported (position ${start})`);
      }
      out.push({ t: "id", v: m[0], pos: start });
      i += m[0].length;
      continue;
    }
    if (c === "'" || c === '"') {
      if (src.startsWith(c.repeat(3), i)) throw new CelSyntaxError(`triple-quoted strings are not supported (position ${start})`);
      let v = "";
      i++;
      for (;;) {
        if (i >= src.length) throw new CelSyntaxError(`unterminated string starting at position ${start}`);
        const d = src[i]!;
        if (d === c) break;
        if (d === "\\") {
          const e = src[i + 1];
          const map: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"', "`": "`", "?": "?" };
          if (e === undefined || map[e] === undefined) throw new CelSyntaxError(`unsupported escape \\${e ?? ""} at position ${i}`);
          v += map[e];
          i += 2;
          continue;
        }
        v += d;
        i++;
      }
      i++;
      out.push({ t: "str", v, pos: start });
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op === undefined) throw new CelSyntaxError(`unexpected character ${JSON.stringify(c)} at position ${i}`);
    out.push({ t: "op", v: op, pos: start });
    i += op.length;
  }
  out.push({ t: "eof", pos: src.length });
  return out;
}

export function parseCel(src: string): CelAst {
  const toks = lex(src);
  let p = 0;
  const peek = (): Tok => toks[p]!;
  const isOp = (v: string): boolean => {
    const t = peek();
    return t.t === "op" && t.v === v;
  };
  const expect = (v: string): void => {
    if (!isOp(v)) throw new CelSyntaxError(`expected '${v}' at position ${peek().pos}`);
    p++;
  };

  const expr = (): CelAst => {
    const test = or();
    if (!isOp("?")) return test;
    p++;
    const then = or();
    expect(":");
    return { k: "cond", test, then, else: expr() };
  };
  const or = (): CelAst => {
    let left = and();
    while (isOp("||")) {
      p++;
      left = { k: "binary", op: "||", left, right: and() };
    }
    return left;
  };
  const and = (): CelAst => {
    let left = rel();
    while (isOp("&&")) {
      p++;
      left = { k: "binary", op: "&&", left, right: rel() };
    }
    return left;
  };
  const rel = (): CelAst => {
    let left = arith();
    for (;;) {
      const t = peek();
      const op = t.t === "op" && ["==", "!=", "<", "<=", ">", ">="].includes(t.v) ? t.v : t.t === "id" && t.v === "in" ? "in" : undefined;
      if (op === undefined) return left;
      p++;
      left = { k: "binary", op: op as "==", left, right: arith() };
    }
  };
  const arith = (): CelAst => {
    const left = unary();
    const t = peek();
    if (t.t === "op" && ["+", "-", "*", "/", "%"].includes(t.v)) throw new CelSyntaxError(`arithmetic ('${t.v}' at position ${t.pos}) is not supported in access log filters`);
    return left;
  };
  const unary = (): CelAst => {
    if (isOp("!")) {
      p++;
      return { k: "unary", op: "!", arg: unary() };
    }
    if (isOp("-")) {
      p++;
      const arg = unary();
      if (arg.k === "lit" && typeof arg.v === "number") return { k: "lit", v: -arg.v };
      return { k: "unary", op: "-", arg };
    }
    return member();
  };
  const args = (): CelAst[] => {
    expect("(");
    const out: CelAst[] = [];
    if (!isOp(")")) {
      out.push(expr());
      while (isOp(",")) {
        p++;
        out.push(expr());
      }
    }
    expect(")");
    return out;
  };
  const member = (): CelAst => {
    let node = primary();
    for (;;) {
      if (isOp(".")) {
        p++;
        const t = peek();
        if (t.t !== "id") throw new CelSyntaxError(`expected a field name after '.' at position ${t.pos}`);
        p++;
        node = isOp("(") ? { k: "call", fn: t.v, target: node, args: args() } : { k: "select", target: node, field: t.v };
      } else if (isOp("[")) {
        p++;
        const index = expr();
        expect("]");
        node = { k: "index", target: node, index };
      } else return node;
    }
  };
  const primary = (): CelAst => {
    const t = peek();
    if (t.t === "num") {
      p++;
      return { k: "lit", v: t.v, uint: t.uint };
    }
    if (t.t === "str") {
      p++;
      return { k: "lit", v: t.v };
    }
    if (t.t === "id") {
      p++;
      if (t.v === "true" || t.v === "false") return { k: "lit", v: t.v === "true" };
      if (t.v === "null") return { k: "lit", v: null };
      if (isOp("(")) return { k: "call", fn: t.v, target: undefined, args: args() };
      return { k: "ident", name: t.v };
    }
    if (isOp("(")) {
      p++;
      const e = expr();
      expect(")");
      return e;
    }
    if (isOp("[")) {
      p++;
      const items: CelAst[] = [];
      if (!isOp("]")) {
        items.push(expr());
        while (isOp(",")) {
          p++;
          if (isOp("]")) break;
          items.push(expr());
        }
      }
      expect("]");
      return { k: "list", items };
    }
    if (isOp("{")) throw new CelSyntaxError(`map literals ('{' at position ${t.pos}) are not supported in access log filters`);
    if (t.t === "eof") throw new CelSyntaxError("unexpected end of expression");
    throw new CelSyntaxError(`unexpected '${t.t === "op" ? t.v : ""}' at position ${t.pos}`);
  };

  const ast = expr();
  if (peek().t !== "eof") throw new CelSyntaxError(`unexpected input at position ${peek().pos}`);
  return ast;
}
