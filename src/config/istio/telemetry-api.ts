// The Telemetry API (`telemetry.istio.io/v1` and `v1alpha1` `Telemetry`): parsed and validated as
// istiod's ValidateTelemetry does (providers named, sampling 0..100, custom tags complete, tag
// override values only with UPSERT), into the shape telemetry-resolve.ts merges.

import { parseDuration } from "./duration.js";
import type { FieldPath } from "./doc-issues.js";
import { MessageReader, parseCustomTags } from "./mesh-config.js";
import type { ConfigRef } from "./parsed-config.js";
import { isObj, typeName } from "./spec-reader.js";
import type { TracingCustomTag } from "../model/telemetry.js";
import { parseWorkloadSelector } from "./workload-selector.js";

export const TELEMETRY_VERSIONS = ["telemetry.istio.io/v1", "telemetry.istio.io/v1alpha1"];

export type WorkloadMode = "CLIENT_AND_SERVER" | "CLIENT" | "SERVER";
const MODES: readonly WorkloadMode[] = ["CLIENT_AND_SERVER", "CLIENT", "SERVER"];

export const ISTIO_METRICS = [
  "ALL_METRICS", "REQUEST_COUNT", "REQUEST_DURATION", "REQUEST_SIZE", "RESPONSE_SIZE", "TCP_OPENED_CONNECTIONS", "TCP_CLOSED_CONNECTIONS",
  "TCP_SENT_BYTES", "TCP_RECEIVED_BYTES", "GRPC_REQUEST_MESSAGES", "GRPC_RESPONSE_MESSAGES",
] as const;
export type IstioMetric = (typeof ISTIO_METRICS)[number];

export interface TelemetryTracing {
  /** `match.mode`; absent = both. */
  mode?: WorkloadMode;
  providers: string[];
  randomSamplingPercentage?: number;
  disableSpanReporting?: boolean;
  /** Absent = not set at this level (inherited); present replaces the parent's tags. */
  customTags?: TracingCustomTag[];
  enableIstioTags?: boolean;
}

export interface TelemetryAccessLogging {
  mode?: WorkloadMode;
  providers: string[];
  disabled?: boolean;
  filter?: string;
}

export interface MetricsOverride {
  /** Absent match = every metric, both modes. */
  metric?: IstioMetric;
  customMetric?: string;
  mode: WorkloadMode;
  disabled?: boolean;
  tagOverrides: Record<string, { remove: boolean; value: string }>;
}

export interface TelemetryMetrics {
  providers: string[];
  overrides: MetricsOverride[];
  reportingIntervalMs?: number;
}

export interface ParsedTelemetry {
  ref: ConfigRef;
  /** metadata.creationTimestamp ("" when absent): the oldest wins among namespace-wide ones. */
  creationTimestamp: string;
  /** `selector.matchLabels`; absent or empty = namespace-wide. */
  selector?: Record<string, string>;
  /** `targetRef` / `targetRefs` set: for gateways and waypoints, never for sidecars. */
  targeted: boolean;
  tracing: TelemetryTracing[];
  accessLogging: TelemetryAccessLogging[];
  metrics: TelemetryMetrics[];
}

function providers(r: MessageReader, o: Record<string, unknown>, p: FieldPath): string[] {
  const out: string[] = [];
  r.arr(o, "providers", p)?.forEach((raw, i) => {
    const pp = [...p, "providers", i];
    const ref = r.msg(raw, pp, ["name"]);
    const name = ref ? (r.str(ref, "name", pp) ?? "") : "";
    if (name === "") r.issues.error(pp, "providers.name may not be empty");
    else out.push(name);
  });
  return out;
}

function mode(r: MessageReader, v: unknown, p: FieldPath): WorkloadMode | undefined {
  const m = r.msg(v, p, ["mode"]);
  if (!m) return undefined;
  return r.enumOf(m, "mode", p, MODES) ?? "CLIENT_AND_SERVER";
}

function tracing(r: MessageReader, raw: unknown, p: FieldPath): TelemetryTracing | undefined {
  const o = r.msg(raw, p, ["match", "providers", "randomSamplingPercentage", "disableSpanReporting", "customTags", "useRequestIdForTraceSampling", "enableIstioTags", "disableContextPropagation"]);
  if (!o) return undefined;
  const t: TelemetryTracing = { providers: providers(r, o, p) };
  if (t.providers.length > 1) r.issues.warn([...p, "providers"], `multiple providers is not currently supported: only ${t.providers[0]} is used`);
  const m = mode(r, o["match"], [...p, "match"]);
  if (m !== undefined) t.mode = m;
  const pct = r.num(o, "randomSamplingPercentage", p);
  if (pct !== undefined) {
    if (pct < 0 || pct > 100) r.issues.error([...p, "randomSamplingPercentage"], `randomSamplingPercentage must be in range [0.0, 100.0], got ${pct}`);
    else t.randomSamplingPercentage = pct;
  }
  const disable = r.bool(o, "disableSpanReporting", p);
  if (disable !== undefined) t.disableSpanReporting = disable;
  const istioTags = r.bool(o, "enableIstioTags", p);
  if (istioTags !== undefined) t.enableIstioTags = istioTags;
  if (o["customTags"] !== undefined && o["customTags"] !== null) t.customTags = parseCustomTags(r, o["customTags"], [...p, "customTags"], ["literal", "environment", "header", "formatter"]);
  for (const k of ["useRequestIdForTraceSampling", "disableContextPropagation"]) {
    if (o[k] !== undefined && o[k] !== null) {
      r.bool(o, k, p);
      r.issues.warn([...p, k], `${k} is not supported by outrigger; ignored`);
    }
  }
  return t;
}

function accessLogging(r: MessageReader, raw: unknown, p: FieldPath): TelemetryAccessLogging | undefined {
  const o = r.msg(raw, p, ["match", "providers", "disabled", "filter"]);
  if (!o) return undefined;
  const a: TelemetryAccessLogging = { providers: providers(r, o, p) };
  const m = mode(r, o["match"], [...p, "match"]);
  if (m !== undefined) a.mode = m;
  const disabled = r.bool(o, "disabled", p);
  if (disabled !== undefined) a.disabled = disabled;
  const fp = [...p, "filter"];
  const f = r.msg(o["filter"], fp, ["expression"]);
  if (f) {
    const expr = r.str(f, "expression", fp) ?? "";
    const why = celSyntaxProblem(expr);
    if (why !== undefined) r.issues.error([...fp, "expression"], `must be a valid CEL expression: ${why}`);
    else a.filter = expr;
  }
  return a;
}

/**
 * A light syntax check of a CEL expression (istiod parses it with cel-go): not empty, brackets
 * balanced, strings closed. Evaluating it is the access logger's business.
 */
export function celSyntaxProblem(expr: string): string | undefined {
  if (expr.trim() === "") return "the expression is empty";
  const stack: string[] = [];
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (c === '"' || c === "'") {
      let j = i + 1;
      for (; j < expr.length && expr[j] !== c; j++) if (expr[j] === "\\") j++;
      if (j >= expr.length) return `unterminated string starting at column ${i + 1}`;
      i = j;
    } else if (c === "(" || c === "[" || c === "{") stack.push(c);
    else if (c in pairs) {
      if (stack.pop() !== pairs[c]) return `unbalanced ${c} at column ${i + 1}`;
    }
  }
  if (stack.length > 0) return `unclosed ${stack[stack.length - 1]}`;
  if (/(&&|\|\||==|!=|<=|>=|[+\-*/%<>!?:])\s*$/.test(expr)) return "the expression ends with an operator";
  return undefined;
}

function override(r: MessageReader, raw: unknown, p: FieldPath): MetricsOverride | undefined {
  const o = r.msg(raw, p, ["match", "disabled", "tagOverrides"]);
  if (!o) {
    if (raw === null) r.issues.error(p, "overrides may not be null");
    return undefined;
  }
  const ov: MetricsOverride = { mode: "CLIENT_AND_SERVER", tagOverrides: {} };
  const mp = [...p, "match"];
  const m = r.msg(o["match"], mp, ["metric", "customMetric", "mode"]);
  if (m) {
    const hasMetric = m["metric"] !== undefined && m["metric"] !== null;
    const hasCustom = m["customMetric"] !== undefined && m["customMetric"] !== null;
    if (hasMetric && hasCustom) r.issues.error(mp, "set metric or customMetric, not both (metric_match is one of a kind)");
    else if (hasCustom) {
      const c = r.str(m, "customMetric", mp) ?? "";
      if (c === "") r.issues.error([...mp, "customMetric"], "customMetric may not be empty");
      else ov.customMetric = c;
    } else {
      // An explicit `metric` (the enum's zero is ALL_METRICS) or none: every metric.
      ov.metric = r.enumOf(m, "metric", mp, ISTIO_METRICS) ?? "ALL_METRICS";
    }
    ov.mode = r.enumOf(m, "mode", mp, MODES) ?? "CLIENT_AND_SERVER";
  }
  const disabled = r.bool(o, "disabled", p);
  if (disabled !== undefined) ov.disabled = disabled;
  const tp = [...p, "tagOverrides"];
  const tags = o["tagOverrides"];
  if (tags !== undefined && tags !== null) {
    if (!isObj(tags)) r.issues.error(tp, `must be a map of tag name to override, got ${typeName(tags)}`);
    else {
      for (const [tag, tRaw] of Object.entries(tags)) {
        const op = [...tp, tag];
        if (tag === "") r.issues.warn(op, "tagOverrides.name may not be empty");
        const t = r.msg(tRaw, op, ["operation", "value"]);
        if (!t) {
          if (tRaw === null || tRaw === undefined) r.issues.error(op, "tagOverrides may not be null");
          continue;
        }
        const given = t["operation"] !== undefined && t["operation"] !== null;
        const parsedOp = r.enumOf(t, "operation", op, ["UPSERT", "REMOVE"] as const);
        if (given && parsedOp === undefined) continue;
        const operation = parsedOp ?? "UPSERT";
        const value = r.str(t, "value", op) ?? "";
        if (operation === "UPSERT" && value === "") r.issues.error([...op, "value"], "tagOverrides.value must be set when operation is UPSERT");
        else if (operation === "REMOVE" && value !== "") r.issues.error([...op, "value"], "tagOverrides.value may only be set when operation is UPSERT");
        else ov.tagOverrides[tag] = { remove: operation === "REMOVE", value };
      }
    }
  }
  return ov;
}

function metrics(r: MessageReader, raw: unknown, p: FieldPath): TelemetryMetrics | undefined {
  const o = r.msg(raw, p, ["providers", "overrides", "reportingInterval"]);
  if (!o) return undefined;
  const out: TelemetryMetrics = { providers: providers(r, o, p), overrides: [] };
  r.arr(o, "overrides", p)?.forEach((ov, i) => {
    const parsed = override(r, ov, [...p, "overrides", i]);
    if (parsed) out.overrides.push(parsed);
  });
  const ri = o["reportingInterval"];
  if (ri !== undefined && ri !== null) {
    const d = parseDuration(ri);
    if ("error" in d) r.issues.error([...p, "reportingInterval"], d.error);
    else out.reportingIntervalMs = d.ms;
  }
  return out;
}

export function parseTelemetry(issues: MessageReader["issues"], spec: unknown, ref: ConfigRef, creationTimestamp: string | undefined): ParsedTelemetry | undefined {
  const r = new MessageReader(issues);
  const p: FieldPath = ["spec"];
  if (spec === undefined || spec === null) {
    return { ref, creationTimestamp: creationTimestamp ?? "", targeted: false, tracing: [], accessLogging: [], metrics: [] };
  }
  const o = r.obj(spec, p, ["selector", "targetRef", "targetRefs", "tracing", "metrics", "accessLogging"]);
  if (!o) return undefined;
  const t: ParsedTelemetry = { ref, creationTimestamp: creationTimestamp ?? "", targeted: false, tracing: [], accessLogging: [], metrics: [] };
  const hasSelector = o["selector"] !== undefined && o["selector"] !== null;
  const targetRefs = (o["targetRef"] !== undefined && o["targetRef"] !== null) || (Array.isArray(o["targetRefs"]) && o["targetRefs"].length > 0);
  if (hasSelector && targetRefs) r.issues.error(p, "only one of targetRefs or workloadSelector can be set");
  if (hasSelector) {
    const labels = parseWorkloadSelector(r, o["selector"], [...p, "selector"], "matchLabels");
    if (labels !== undefined && Object.keys(labels).length > 0) t.selector = labels;
  }
  if (targetRefs) {
    t.targeted = true;
    issues.warn([...p, o["targetRefs"] !== undefined ? "targetRefs" : "targetRef"], "targetRefs select gateways and waypoints; istiod never applies them to sidecars, so this Telemetry does not apply to this proxy");
  }
  const list = <T>(key: string, fn: (r: MessageReader, raw: unknown, p: FieldPath) => T | undefined): T[] => {
    const out: T[] = [];
    r.arr(o, key, p)?.forEach((raw, i) => {
      const v = fn(r, raw, [...p, key, i]);
      if (v !== undefined) out.push(v);
    });
    return out;
  };
  t.tracing = list("tracing", tracing);
  if (t.tracing.length > 1) issues.warn([...p, "tracing"], "multiple tracing is not currently supported (istiod warns too); later entries override earlier ones field by field");
  t.accessLogging = list("accessLogging", accessLogging);
  t.metrics = list("metrics", metrics);
  return t;
}
