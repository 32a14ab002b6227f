// Envoy's access log configs (envoy.config.accesslog.v3.AccessLog) → the model's file access logs.
// The file logger (and the stdout/stderr loggers, which are the same file logger on /dev/std*),
// TEXT and JSON formats, and the CEL filter istiod writes for the Telemetry API. Other loggers
// (gRPC/OTel access log services) and other filters are notes: a log is observability, never
// the data path, so a missing one must not refuse the whole listener.

import type { AccessLogConfig } from "../model/telemetry.js";
import { at, checkFields, DecodeState, list, obj, str, typedConfig } from "./decode-common.js";

/** Envoy's default access log format (used when a file logger has no log_format). */
export const ENVOY_DEFAULT_ACCESS_LOG_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

const FILE_TYPES = new Set(["envoy.extensions.access_loggers.file.v3.FileAccessLog", "envoy.config.accesslog.v2.FileAccessLog"]);
const STD_TYPES: Record<string, string> = {
  "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog": "/dev/stdout",
  "envoy.extensions.access_loggers.stream.v3.StderrAccessLog": "/dev/stderr",
};

function logFormat(v: unknown, path: string, st: DecodeState): AccessLogConfig["format"] | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return { kind: "text", text: ENVOY_DEFAULT_ACCESS_LOG_FORMAT };
  checkFields(o, path, st, ["text_format_source", "text_format", "json_format"], {}, {
    omit_empty_values: "omit_empty_values is not supported; empty values are written as \"-\" / null",
    content_type: "content_type is ignored by the file logger",
    formatters: "formatter extensions are not supported; their command operators print \"-\"",
    json_format_options: "json_format_options are not supported; ignored",
  });
  if (o.json_format !== undefined) return jsonFormat(o.json_format, at(path, "json_format"), st);
  if (o.text_format !== undefined) {
    const t = str(o.text_format, at(path, "text_format"), st);
    return t === undefined ? undefined : { kind: "text", text: t };
  }
  if (o.text_format_source !== undefined) {
    const p = at(path, "text_format_source");
    const so = obj(o.text_format_source, p, st) ?? {};
    const t = str(so.inline_string, at(p, "inline_string"), st);
    if (t === undefined) return st.error(p, "only an inline_string format source is supported");
    return { kind: "text", text: t };
  }
  return { kind: "text", text: ENVOY_DEFAULT_ACCESS_LOG_FORMAT };
}

function jsonFormat(v: unknown, path: string, st: DecodeState): AccessLogConfig["format"] | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  const json: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) {
    if (typeof val === "string") json[k] = val;
    else st.note(at(path, k), "only string values are supported in JSON access log formats; key left out");
  }
  return { kind: "json", json };
}

/** The CEL filter of istiod's Telemetry API access logs; other filters are noted and the log keeps every entry. */
function logFilter(v: unknown, path: string, st: DecodeState): AccessLogConfig["filter"] | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  const ext = obj(o.extension_filter, at(path, "extension_filter"), st);
  if (ext !== undefined) {
    const p = at(path, "extension_filter");
    const tc = typedConfig(ext.typed_config, at(p, "typed_config"), st);
    if (tc?.type === "envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter") {
      const e = str(tc.fields.expression, at(at(p, "typed_config"), "expression"), st);
      if (e !== undefined) return { expression: e };
    }
  }
  st.note(path, `access log filter ${Object.keys(o).join(", ")} is not supported: every entry is logged (istiod's listener-level NR filter belongs to a listener access log, which Outrigger does not write)`);
  return undefined;
}

/** One access_log entry; undefined (with a note) for loggers Outrigger does not have. */
export function decodeAccessLog(v: unknown, path: string, st: DecodeState): AccessLogConfig | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["name", "filter", "typed_config", "config"]);
  const name = str(o.name, at(path, "name"), st) ?? "";
  const tp = at(path, "typed_config");
  let type: string | undefined;
  let fields = obj(o.config, at(path, "config"), st);
  if (o.typed_config !== undefined) {
    const tc = typedConfig(o.typed_config, tp, st);
    type = tc?.type;
    fields = tc?.fields;
  } else if (name === "envoy.file_access_log" || name === "envoy.access_loggers.file") type = "envoy.config.accesslog.v2.FileAccessLog";
  if (type === undefined || fields === undefined) {
    st.note(path, `access logger ${JSON.stringify(name)} has no config; not written`);
    return undefined;
  }
  let logPath: string | undefined;
  if (FILE_TYPES.has(type)) {
    checkFields(fields, tp, st, ["path", "log_format", "format", "json_format", "typed_json_format"]);
    logPath = str(fields.path, at(tp, "path"), st);
    if (logPath === undefined || logPath === "") return st.error(at(tp, "path"), "a file access log needs a path");
  } else if (STD_TYPES[type] !== undefined) {
    checkFields(fields, tp, st, ["log_format"]);
    logPath = STD_TYPES[type];
  } else {
    st.note(path, `access logger ${name} (${type}) is not supported by Outrigger; not written`);
    return undefined;
  }
  let format: AccessLogConfig["format"] | undefined;
  if (fields.format !== undefined) {
    const t = str(fields.format, at(tp, "format"), st);
    format = t === undefined ? undefined : { kind: "text", text: t };
  } else if (fields.json_format !== undefined) format = jsonFormat(fields.json_format, at(tp, "json_format"), st);
  else if (fields.typed_json_format !== undefined) format = jsonFormat(fields.typed_json_format, at(tp, "typed_json_format"), st);
  else format = logFormat(fields.log_format, at(tp, "log_format"), st);
  if (format === undefined || logPath === undefined) return undefined;
  const a: AccessLogConfig = { name: "envoy.access_loggers.file", path: logPath, format };
  const filter = o.filter !== undefined ? logFilter(o.filter, at(path, "filter"), st) : undefined;
  if (filter !== undefined) a.filter = filter;
  return a;
}

/** A repeated access_log field; absent when none is written. */
export function decodeAccessLogs(v: unknown, path: string, st: DecodeState): AccessLogConfig[] | undefined {
  const out: AccessLogConfig[] = [];
  list(v, path, st).forEach((a, i) => {
    const d = decodeAccessLog(a, at(path, i), st);
    if (d !== undefined) out.push(d);
  });
  return out.length > 0 ? out : undefined;
}
