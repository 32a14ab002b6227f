// An access-log filter expression (Telemetry API `accessLogging[].filter.expression`, Envoy's
// CEL access-log filter) compiled once per snapshot into closures over the StreamInfo. Runtime
// errors (a missing header, comparing a string with a number) are values, never exceptions: they
// make the filter false, as Envoy's CEL filter does, and the caller counts them. Anything outside
// the supported subset is refused at compile time with a message naming it.

import type { StreamInfo } from "../stream-info.js";
import { ABSENT, CEL_ATTRIBUTES, CEL_ROOTS, CelHeaderMap } from "./cel-attributes.js";
import { parseCel, type CelAst } from "./cel-parser.js";

class CelError {
  constructor(readonly message: string) {}
}

type Val = string | number | boolean | null | Val[] | CelHeaderMap | CelError;
type Eval = (info: StreamInfo) => Val;

const err = (m: string): CelError => new CelError(m);
const isErr = (v: Val): v is CelError => v instanceof CelError;

export type FilterResult = "match" | "no-match" | "error";

export class CelFilter {
  private readonly run: Eval;

  constructor(readonly expression: string) {
    let ast: CelAst;
    try {
      ast = parseCel(expression);
    } catch (e) {
      throw new Error(`access log filter ${JSON.stringify(expression)}: ${(e as Error).message}`);
    }
    try {
      this.run = compile(ast);
    } catch (e) {
      throw new Error(`access log filter ${JSON.stringify(expression)}: ${(e as Error).message}`);
    }
  }

  /** true/false, or "error" for an evaluation error or a non-boolean result (not logged). */
  evaluate(info: StreamInfo): FilterResult {
    const v = this.run(info);
    return v === true ? "match" : v === false ? "no-match" : "error";
  }
}

/** `a.b.c` as a dotted name when the chain is made of identifiers only. */
function dotted(ast: CelAst): string | undefined {
  if (ast.k === "ident") return ast.name;
  if (ast.k === "select") {
    const t = dotted(ast.target);
    return t === undefined ? undefined : `${t}.${ast.field}`;
  }
  return undefined;
}

function attribute(name: string): Eval {
  const a = CEL_ATTRIBUTES[name];
  if (a === undefined) {
    const root = name.split(".")[0]!;
    if (!CEL_ROOTS.has(root)) throw new Error(`unknown identifier '${root}'`);
    throw new Error(`attribute '${name}' is not supported`);
  }
  return (i) => {
    const v = a(i);
    return v === ABSENT ? err(`no such attribute '${name}'`) : v;
  };
}

function typeName(v: Val): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "list";
  if (v instanceof CelHeaderMap) return "map";
  return typeof v === "number" ? "number" : typeof v;
}

function equals(a: Val, b: Val): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, k) => equals(x, b[k]!));
  return a === b;
}

function compare(op: string, a: Val, b: Val): Val {
  if (typeof a === "number" && typeof b === "number") return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
  if (typeof a === "string" && typeof b === "string") return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
  return err(`no such overload: ${typeName(a)} ${op} ${typeName(b)}`);
}

function stringMethod(fn: string, target: Eval, args: Eval[]): Eval {
  if (args.length !== 1) throw new Error(`${fn}() takes one argument`);
  const arg = args[0]!;
  return (i) => {
    const s = target(i);
    if (isErr(s)) return s;
    const x = arg(i);
    if (isErr(x)) return x;
    if (typeof s !== "string" || typeof x !== "string") return err(`no such overload: ${typeName(s)}.${fn}(${typeName(x)})`);
    return fn === "startsWith" ? s.startsWith(x) : fn === "endsWith" ? s.endsWith(x) : s.includes(x);
  };
}

function matches(target: Eval, pattern: CelAst): Eval {
  // RE2 syntax; the pattern must be a literal so it is compiled once, here.
  if (pattern.k !== "lit" || typeof pattern.v !== "string") throw new Error("matches() needs a string literal pattern");
  let re: RegExp;
  try {
    re = new RegExp(pattern.v, "u");
  } catch (e) {
    throw new Error(`matches(): invalid regular expression ${JSON.stringify(pattern.v)}: ${(e as Error).message}`);
  }
  return (i) => {
    const s = target(i);
    if (isErr(s)) return s;
    if (typeof s !== "string") return err(`no such overload: ${typeName(s)}.matches(string)`);
    return re.test(s);
  };
}

function size(target: Eval): Eval {
  return (i) => {
    const v = target(i);
    if (isErr(v)) return v;
    if (typeof v === "string") return [...v].length;
    if (Array.isArray(v)) return v.length;
    if (v instanceof CelHeaderMap) return v.size;
    return err(`no such overload: size(${typeName(v)})`);
  };
}

function compileCall(ast: Extract<CelAst, { k: "call" }>): Eval {
  const { fn } = ast;
  if (fn === "has") {
    const arg = ast.args[0];
    if (ast.target !== undefined || ast.args.length !== 1 || arg === undefined || arg.k !== "select") throw new Error("has() takes one field selection, e.g. has(request.headers.x)");
    const name = dotted(arg);
    if (name !== undefined && CEL_ATTRIBUTES[name] !== undefined) {
      const a = CEL_ATTRIBUTES[name]!;
      return (i) => a(i) !== ABSENT;
    }
    const target = compile(arg.target);
    const field = arg.field;
    return (i) => {
      const m = target(i);
      if (isErr(m)) return m;
      if (m instanceof CelHeaderMap) return m.has(field);
      return err(`has(): ${typeName(m)} has no fields`);
    };
  }
  if (ast.target !== undefined) {
    const target = compile(ast.target);
    if (fn === "startsWith" || fn === "endsWith" || fn === "contains") return stringMethod(fn, target, ast.args.map(compile));
    if (fn === "matches") {
      if (ast.args.length !== 1) throw new Error("matches() takes one argument");
      return matches(target, ast.args[0]!);
    }
    if (fn === "size" && ast.args.length === 0) return size(target);
    throw new Error(`function '${fn}' is not supported`);
  }
  if (fn === "matches" && ast.args.length === 2) return matches(compile(ast.args[0]!), ast.args[1]!);
  if (fn === "size" && ast.args.length === 1) return size(compile(ast.args[0]!));
  if ((fn === "int" || fn === "uint" || fn === "double" || fn === "string") && ast.args.length === 1) {
    const a = compile(ast.args[0]!);
    return (i) => {
      const v = a(i);
      if (isErr(v)) return v;
      if (fn === "string") return typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : err(`no such overload: string(${typeName(v)})`);
      const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
      if (Number.isNaN(n)) return err(`cannot convert ${JSON.stringify(v)} to ${fn}`);
      if (fn === "double") return n;
      if (fn === "uint" && n < 0) return err(`${n} is out of range for uint`);
      return Math.trunc(n);
    };
  }
  throw new Error(`function '${fn}' is not supported`);
}

function compile(ast: CelAst): Eval {
  switch (ast.k) {
    case "lit": {
      const v = ast.v;
      return () => v;
    }
    case "ident":
      return attribute(ast.name);
    case "select": {
      const name = dotted(ast);
      if (name !== undefined && (CEL_ATTRIBUTES[name] !== undefined || CEL_ATTRIBUTES[dotted(ast.target) ?? ""] === undefined)) return attribute(name);
      // A field of a map attribute: request.headers.host
      const target = compile(ast.target);
      const field = ast.field;
      return (i) => {
        const m = target(i);
        if (isErr(m)) return m;
        if (!(m instanceof CelHeaderMap)) return err(`${typeName(m)} has no field '${field}'`);
        return m.get(field) ?? err(`no such key: '${field}'`);
      };
    }
    case "index": {
      const target = compile(ast.target);
      const index = compile(ast.index);
      return (i) => {
        const m = target(i);
        if (isErr(m)) return m;
        const k = index(i);
        if (isErr(k)) return k;
        if (m instanceof CelHeaderMap) {
          if (typeof k !== "string") return err(`no such overload: map[${typeName(k)}]`);
          return m.get(k) ?? err(`no such key: '${k}'`);
        }
        if (Array.isArray(m)) {
          if (typeof k !== "number" || !Number.isInteger(k)) return err(`no such overload: list[${typeName(k)}]`);
          return k >= 0 && k < m.length ? m[k]! : err(`index ${k} out of range`);
        }
        return err(`no such overload: ${typeName(m)}[${typeName(k)}]`);
      };
    }
    case "list": {
      const items = ast.items.map(compile);
      return (i) => {
        const out: Val[] = [];
        for (const it of items) {
          const v = it(i);
          if (isErr(v)) return v;
          out.push(v);
        }
        return out;
      };
    }
    case "call":
      return compileCall(ast);
    case "unary": {
      const arg = compile(ast.arg);
      if (ast.op === "!") {
        return (i) => {
          const v = arg(i);
          return isErr(v) ? v : typeof v === "boolean" ? !v : err(`no such overload: !${typeName(v)}`);
        };
      }
      return (i) => {
        const v = arg(i);
        return isErr(v) ? v : typeof v === "number" ? -v : err(`no such overload: -${typeName(v)}`);
      };
    }
    case "cond": {
      const test = compile(ast.test);
      const a = compile(ast.then);
      const b = compile(ast.else);
      return (i) => {
        const t = test(i);
        return t === true ? a(i) : t === false ? b(i) : isErr(t) ? t : err(`no such overload: ${typeName(t)} ? _ : _`);
      };
    }
    case "binary":
      return compileBinary(ast);
  }
}

function compileBinary(ast: Extract<CelAst, { k: "binary" }>): Eval {
  const left = compile(ast.left);
  const right = compile(ast.right);
  switch (ast.op) {
    // CEL's logical operators are commutative over errors: `false && error` is false,
    // `true || error` is true, whichever side the error is on.
    case "&&":
      return (i) => {
        const a = left(i);
        if (a === false) return false;
        const b = right(i);
        if (b === false) return false;
        if (a === true && b === true) return true;
        return isErr(a) ? a : isErr(b) ? b : err(`no such overload: ${typeName(a)} && ${typeName(b)}`);
      };
    case "||":
      return (i) => {
        const a = left(i);
        if (a === true) return true;
        const b = right(i);
        if (b === true) return true;
        if (a === false && b === false) return false;
        return isErr(a) ? a : isErr(b) ? b : err(`no such overload: ${typeName(a)} || ${typeName(b)}`);
      };
    case "==":
    case "!=": {
      const neg = ast.op === "!=";
      return (i) => {
        const a = left(i);
        if (isErr(a)) return a;
        const b = right(i);
        if (isErr(b)) return b;
        return equals(a, b) !== neg;
      };
    }
    case "in":
      return (i) => {
        const a = left(i);
        if (isErr(a)) return a;
        const b = right(i);
        if (isErr(b)) return b;
        if (Array.isArray(b)) return b.some((x) => equals(a, x));
        if (b instanceof CelHeaderMap) return typeof a === "string" ? b.has(a) : err(`no such overload: ${typeName(a)} in map`);
        return err(`no such overload: ${typeName(a)} in ${typeName(b)}`);
      };
    default: {
      const op = ast.op;
      return (i) => {
        const a = left(i);
        if (isErr(a)) return a;
        const b = right(i);
        if (isErr(b)) return b;
        return compare(op, a, b);
      };
    }
  }
}
