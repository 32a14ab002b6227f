// `outrigger demo`: bookinfo-like upstreams in-process plus the proxy on examples/demo/, and the
// curl commands that show routing, header matches, redirects and the inbound path.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ReceivedSpan } from "../observability/tracing/otlp-receiver.js";
import type { Bootstrap } from "../bootstrap/bootstrap.js";
import { defaultAdminAddress, defaultAdminPort, defaultDomainSuffix, defaultDrainTimeoutMs, defaultLimits, defaultMinimumDrainMs, defaultOutbound } from "../bootstrap/bootstrap.js";
import { flagValue, parseFlags, renderHelp } from "../bootstrap/flag-parser.js";
import type { CommandSpec } from "../bootstrap/flag-parser.js";
import { logLevelFlag, portFlag } from "../bootstrap/flag-values.js";
import { adminPortFlag, logLevelFlagSpec, workersFlag, workersFromFlag } from "../bootstrap/parse-run-flags.js";
import type { Command } from "./command.js";
import { ExitCode } from "./command.js";
import { nodeIdentity } from "../observability/node-identity.js";
import { packageRoot } from "./package-root.js";
import { runProxy } from "./run-command.js";

export const demoNamespace = "demo";

export const demoCommandSpec: CommandSpec = {
  name: "demo",
  usage: "outrigger demo [flags]",
  description: [
    "Start demo upstreams (productpage, reviews v1/v2/v3, ratings on 127.0.0.1:19080-19091)",
    "and the proxy with the bundled examples/demo/ config (namespace demo), then print curl",
    "commands to try. Telemetry is on: Istio's access log on stdout, every request traced to a",
    "collector inside the demo that prints each span, Istio's metrics on the admin API.",
    "Ctrl-C drains and exits.",
  ].join("\n"),
  flags: [adminPortFlag, workersFlag, logLevelFlagSpec],
};

export function demoInstructions(adminPort: number): string {
  const admin = `http://127.0.0.1:${adminPort}`;
  const tries: Array<[string, string]> = [
    ["curl -H 'Host: reviews:9080' http://127.0.0.1:9080/", "outbound to reviews (weighted subsets)"],
    ["curl -H 'Host: reviews:9080' -H 'end-user: jason' http://127.0.0.1:9080/", "header match: jason's route"],
    ["curl -i -H 'Host: reviews:9080' http://127.0.0.1:9080/old/x", "a redirect"],
    ["curl -H 'Host: reviews:9080' http://127.0.0.1:9080/preview/x", "prefix rewrite: reviews v3 sees /x"],
    ["curl http://127.0.0.1:15080/", "inbound to productpage"],
    [`curl ${admin}/config_dump`, "the configuration the proxy runs"],
    [`curl '${admin}/explain?authority=reviews:9080&path=/old/x'`, "which route, cluster and policies a request would take, and why"],
    [`curl -s ${admin}/stats/prometheus | grep istio_requests_total`, "Istio's standard metrics"],
    [`curl ${admin}/clusters`, "hosts, health and ejections"],
    [`curl ${admin}/ready`, "readiness, as Envoy reports it"],
  ];
  const width = Math.max(...tries.map(([c]) => c.length)) + 2;
  return [
    "",
    "Try:",
    ...tries.map(([c, why]) => `  ${c.padEnd(width)}# ${why}`),
    "",
    "Each request prints Istio's access log line, and its span (100% sampled) once exported (within 5 s).",
    "Ctrl-C drains and exits.",
    "",
  ].join("\n");
}

/** The demo's MeshConfig: access log on stdout, every request traced to the demo's own collector. */
export function demoMeshConfig(otlpPort: number): string {
  return [
    "accessLogFile: /dev/stdout",
    "enableTracing: true",
    "defaultConfig:",
    "  tracing:",
    "    sampling: 100",
    "extensionProviders:",
    "  - name: demo-otel",
    "    opentelemetry:",
    "      service: 127.0.0.1",
    `      port: ${otlpPort}`,
    "      http:",
    "        path: /v1/traces",
    "defaultProviders:",
    "  tracing: [demo-otel]",
    "  metrics: [prometheus]",
    "",
  ].join("\n");
}

function formatSpan(s: ReceivedSpan): string {
  const ms = Number(s.endTimeUnixNano - s.startTimeUnixNano) / 1e6;
  const status = s.attributes["http.status_code"] ?? "-";
  return `span ${s.traceId}/${s.spanId}${s.parentSpanId === "" ? "" : ` parent ${s.parentSpanId}`} ${s.kind} "${s.name}" ${status} ${ms.toFixed(1)} ms`;
}

export const demoCommand: Command = {
  spec: demoCommandSpec,
  summary: "run the proxy with demo upstreams and config",
  async run(argv, ctx) {
    const parsed = parseFlags(demoCommandSpec, argv);
    if (parsed.help) {
      ctx.stdout(renderHelp(demoCommandSpec));
      return ExitCode.Ok;
    }
    const adminPort = flagValue(parsed, "admin-port");
    const workers = flagValue(parsed, "workers");
    const logLevel = flagValue(parsed, "log-level");
    const reusePort = ctx.reusePortBalances();
    const bootstrap: Bootstrap = {
      configPaths: [join(packageRoot(), "examples", "demo")],
      workers: reusePort ? workersFromFlag(workers, ctx.cpuCount) : 1,
      reusePort,
      adminAddress: defaultAdminAddress,
      adminPort: adminPort === undefined ? defaultAdminPort : portFlag("admin-port", adminPort),
      namespace: demoNamespace,
      proxyLabels: {},
      domainSuffix: defaultDomainSuffix,
      outbound: { ...defaultOutbound },
      drainTimeoutMs: defaultDrainTimeoutMs,
      exitOnZeroActiveConnections: false,
      minimumDrainMs: defaultMinimumDrainMs,
      limits: { ...defaultLimits },
      logLevel: logLevel === undefined ? "info" : logLevelFlag("log-level", logLevel),
      watch: true,
      node: nodeIdentity({ env: {}, namespace: demoNamespace, labels: {}, domainSuffix: defaultDomainSuffix }),
    };

    let upstreams;
    try {
      // Loaded here, not at start-up: the demo apps use node:http, which `run` never needs.
      const { startDemoUpstreams } = await import("../demo/demo-upstreams.js");
      upstreams = await startDemoUpstreams();
    } catch (e) {
      ctx.stderr(`outrigger demo: ${(e as Error).message}\n`);
      return ExitCode.Failure;
    }
    // Telemetry on, as a demo should show it: Istio's access log on stdout, 100% tracing to a
    // collector inside this process that prints each span, Istio's metrics on the admin API.
    const { startOtlpReceiver } = await import("../observability/tracing/otlp-receiver.js");
    let receiver;
    try {
      receiver = await startOtlpReceiver({ port: 0 });
    } catch (e) {
      await upstreams.close();
      ctx.stderr(`outrigger demo: trace collector: ${(e as Error).message}\n`);
      return ExitCode.Failure;
    }
    receiver.onSpans((spans) => {
      for (const s of spans) ctx.stdout(`${formatSpan(s)}\n`);
    });
    const { demoUpstreamSpecs } = await import("../demo/demo-upstreams.js");
    const list = demoUpstreamSpecs.map((u) => `${u.service} ${u.version} :${u.port}`).join(", ");
    ctx.stdout(`demo upstreams on 127.0.0.1: ${list}\n`);
    let meshDir: string | undefined;
    try {
      meshDir = await mkdtemp(join(tmpdir(), "outrigger-demo-"));
      bootstrap.meshConfigPath = join(meshDir, "mesh.yaml");
      await writeFile(bootstrap.meshConfigPath, demoMeshConfig(receiver.port));
      return await runProxy(bootstrap, ctx, "demo", {
        onReady: ({ admin }) => ctx.stdout(demoInstructions(admin.port)),
      });
    } finally {
      await upstreams.close();
      await receiver.close();
      if (meshDir !== undefined) await rm(meshDir, { recursive: true, force: true });
    }
  },
};
