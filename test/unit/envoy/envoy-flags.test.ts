// Envoy's command line: every flag pilot-agent passes, defaults, short forms, bad values and
// unknown flags (an error naming the flag), log level mapping and /server_info's options.

import { describe, expect, it } from "vitest";
import { commandLineOptionsJson, effectiveLogLevel, parseEnvoyFlags } from "../../../src/envoy/envoy-flags.js";
import { renderHelp } from "../../../src/bootstrap/flag-parser.js";
import { envoyCommandSpec } from "../../../src/envoy/envoy-flags.js";

/** pilot-agent 1.28's argv (pkg/envoy/proxy.go), every optional flag present. */
const pilotAgentArgv = [
  "-c", "etc/istio/proxy/envoy-rev.json",
  "--drain-time-s", "45",
  "--drain-strategy", "immediate",
  "--local-address-ip-version", "v4",
  "--file-flush-interval-msec", "1000",
  "--disable-hot-restart",
  "--allow-unknown-static-fields",
  "-l", "warning",
  "--component-log-level", "misc:error",
  "--skip-deprecated-logs",
  "--enable-core-dump",
  "--config-yaml", '{"node":{"cluster":"x"}}',
  "--concurrency", "2",
];

describe("parseEnvoyFlags", () => {
  it("accepts pilot-agent's command line", () => {
    const o = parseEnvoyFlags(pilotAgentArgv);
    expect(o).toMatchObject({
      configPath: "etc/istio/proxy/envoy-rev.json",
      configYaml: '{"node":{"cluster":"x"}}',
      drainTimeS: 45,
      drainStrategy: "immediate",
      localAddressIpVersion: "v4",
      fileFlushIntervalMs: 1000,
      disableHotRestart: true,
      allowUnknownStaticFields: true,
      logLevel: "warning",
      componentLogLevels: [{ component: "misc", level: "error" }],
      skipDeprecatedLogs: true,
      enableCoreDump: true,
      concurrency: 2,
      mode: "serve",
    });
  });

  it("has Envoy's defaults", () => {
    const o = parseEnvoyFlags(["--config-path", "b.yaml"]);
    expect(o).toMatchObject({ drainTimeS: 600, drainStrategy: "gradual", localAddressIpVersion: "v4", fileFlushIntervalMs: 10_000, fileFlushMinSizeKb: 64, logLevel: "info", baseId: 0, mode: "serve", allowUnknownStaticFields: false });
    expect(o.concurrency).toBeUndefined();
  });

  it("takes the remaining flags, long and short, with = or a separate value", () => {
    const o = parseEnvoyFlags([
      "-c=b.json", "--log-level=debug", "--mode", "validate", "--file-flush-min-size-kb", "128", "--base-id", "7",
      "--service-cluster", "sc", "--service-node", "sn", "--service-zone", "sz", "--log-format", "%v", "--log-path", "/dev/null",
      "--reject-unknown-dynamic-fields", "--local-address-ip-version", "v6",
    ]);
    expect(o).toMatchObject({ configPath: "b.json", logLevel: "debug", mode: "validate", fileFlushMinSizeKb: 128, baseId: 7, serviceCluster: "sc", serviceNode: "sn", serviceZone: "sz", logFormat: "%v", logPath: "/dev/null", rejectUnknownDynamicFields: true, localAddressIpVersion: "v6" });
  });

  it("accepts older pilot-agents' hot-restart flags", () => {
    expect(parseEnvoyFlags(["-c", "b", "--restart-epoch", "0", "--parent-shutdown-time-s", "60", "--use-dynamic-base-id", "--cpuset-threads"]).restartEpoch).toBe(0);
  });

  it("needs -c or --config-yaml", () => {
    expect(() => parseEnvoyFlags(["--concurrency", "1"])).toThrow(/--config-path \(-c\) or --config-yaml/);
    expect(parseEnvoyFlags(["--config-yaml", "{}"]).configYaml).toBe("{}");
    expect(parseEnvoyFlags(["--version"]).version).toBe(true);
    expect(parseEnvoyFlags(["--help"]).help).toBe(true);
  });

  it.each([
    [["-c", "b", "--frobnicate"], /unknown flag --frobnicate/],
    [["-c", "b", "-x"], /unknown flag -x/],
    [["-c", "b", "--certs", "/x"], /unknown flag --certs/],
    [["-c", "b", "--drain-time-s", "soon"], /--drain-time-s: expected an integer, got "soon"/],
    [["-c", "b", "--drain-strategy", "slow"], /--drain-strategy: expected one of gradual, immediate, got "slow"/],
    [["-c", "b", "--local-address-ip-version", "v5"], /--local-address-ip-version: expected one of v4, v6/],
    [["-c", "b", "-l", "loud"], /--log-level: expected one of trace, debug, info, warning, warn, error, critical, off, got "loud"/],
    [["-c", "b", "--component-log-level", "misc"], /--component-log-level: component log level not correctly specified 'misc'/],
    [["-c", "b", "--component-log-level", "misc:loud"], /--component-log-level: expected one of .* got "loud"/],
    [["-c", "b", "--concurrency", "0"], /--concurrency: 0 is out of range 1..1024/],
    [["-c", "b", "--mode", "dry"], /--mode: expected one of serve, validate, init_only/],
    [["-c", "b", "--file-flush-interval-msec", "-5"], /--file-flush-interval-msec needs a value/],
    [["-c", "b", "--reject-unknown-dynamic-fields", "--ignore-unknown-dynamic-fields"], /mutually exclusive/],
    [["-c", "b", "-c", "c"], /--config-path given more than once/],
    [["-c"], /--config-path needs a value/],
    [["-c", "b", "--restart-epoch", "1"], /--restart-epoch: 1 is out of range 0..0/],
    [["-c", "b", "--parent-shutdown-time-s", "x"], /--parent-shutdown-time-s: expected an integer/],
  ])("refuses %j", (argv, message) => {
    expect(() => parseEnvoyFlags(argv)).toThrow(message);
  });

  it("maps Envoy's log levels, the most verbose component level winning", () => {
    expect(effectiveLogLevel(parseEnvoyFlags(["-c", "b", "-l", "warning"]))).toBe("warn");
    expect(effectiveLogLevel(parseEnvoyFlags(["-c", "b", "-l", "trace"]))).toBe("debug");
    expect(effectiveLogLevel(parseEnvoyFlags(["-c", "b", "-l", "critical"]))).toBe("error");
    expect(effectiveLogLevel(parseEnvoyFlags(["-c", "b", "-l", "off"]))).toBe("off");
    expect(effectiveLogLevel(parseEnvoyFlags(["-c", "b", "-l", "warning", "--component-log-level", "misc:error,upstream:debug"]))).toBe("debug");
  });

  it("reports the options as ServerInfo.command_line_options", () => {
    const j = commandLineOptionsJson(parseEnvoyFlags(pilotAgentArgv), 2);
    expect(j).toMatchObject({
      config_path: "etc/istio/proxy/envoy-rev.json",
      concurrency: 2,
      drain_time: "45s",
      drain_strategy: "Immediate",
      file_flush_interval: "1s",
      log_level: "warning",
      component_log_level: "misc:error",
      allow_unknown_static_fields: true,
      disable_hot_restart: true,
      local_address_ip_version: "v4",
      mode: "Serve",
    });
  });

  it("documents every flag in --help", () => {
    const help = renderHelp(envoyCommandSpec);
    for (const f of envoyCommandSpec.flags) expect(help).toContain(`--${f.name}`);
    expect(help).toContain("-c:");
  });
});
