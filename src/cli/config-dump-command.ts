// `outrigger config-dump`: the translated snapshot in Envoy's ConfigDump shape, rendered by the
// same code as the admin `/config_dump`, without starting anything.

import { parseFlags, renderHelp } from "../bootstrap/flag-parser.js";
import type { CommandSpec } from "../bootstrap/flag-parser.js";
import { bootstrapFromFlags, securityOptionsFrom, translationFlags } from "../bootstrap/parse-run-flags.js";
import { buildConfigDump } from "../admin/config-dump/config-dump.js";
import { envoyResources } from "../admin/config-dump/envoy-resources.js";
import type { Command } from "./command.js";
import { reportProblems, translateConfig } from "./translate-config.js";

/** The snapshot version config-dump reports (nothing is running, so no time/sequence stamp). */
export const offlineVersion = "offline";

export const configDumpCommandSpec: CommandSpec = {
  name: "config-dump",
  usage: "outrigger config-dump --config <file|dir> [--config <file|dir> ...] [flags]",
  description: [
    "Print the translated configuration as JSON in Envoy's ConfigDump shape, as the admin",
    "/config_dump?include_eds shows it ({configs: [bootstrap, clusters, endpoints, listeners,",
    "scoped routes, routes, secrets]}), without starting anything.",
    "With --envoy, print instead the Envoy v3 resources istiod would push, in its push order",
    "({resources: [clusters, load assignments of EDS clusters, listeners, route configurations,",
    "secrets]}, each an Any with its @type; private keys redacted).",
    "Config errors are printed on stderr as `file:line: path: message`; exit 1.",
  ].join("\n"),
  flags: [
    ...translationFlags,
    { name: "envoy", help: "print {resources: [Any…]}: the config as Envoy v3 resources in istiod's push order (CDS, EDS, LDS, RDS, SDS)" },
  ],
};

export const configDumpCommand: Command = {
  spec: configDumpCommandSpec,
  summary: "print the translated configuration as JSON",
  async run(argv, ctx) {
    const parsed = parseFlags(configDumpCommandSpec, argv);
    if (parsed.help) {
      ctx.stdout(renderHelp(configDumpCommandSpec));
      return 0;
    }
    const bootstrap = bootstrapFromFlags(parsed, ctx);
    const t = await translateConfig(
      ctx,
      bootstrap.configPaths,
      {
        namespace: bootstrap.namespace,
        proxyLabels: bootstrap.proxyLabels,
        domainSuffix: bootstrap.domainSuffix,
        defaultOutbound: bootstrap.outbound,
        proxyLocality: bootstrap.proxyLocality ?? {},
        mirrorShadowSuffix: bootstrap.mirrorShadowSuffix ?? false,
        ...(bootstrap.rootNamespace !== undefined ? { rootNamespace: bootstrap.rootNamespace } : {}),
        ...(bootstrap.otel !== undefined ? { otel: bootstrap.otel } : {}),
        ...(bootstrap.intercept !== undefined ? { intercept: bootstrap.intercept } : {}),
        ...(bootstrap.identity !== undefined ? { security: securityOptionsFrom(bootstrap.identity) } : {}),
        node: bootstrap.node,
        env: ctx.env,
      },
      bootstrap.meshConfigPath,
    );
    reportProblems(ctx, t);
    if (t.errors.length > 0 || t.result === undefined) return 1;
    // A fixed version keeps the output diffable between runs; a running proxy stamps time/sequence.
    const snapshot = { version: offlineVersion, ...t.result.snapshot };
    if (parsed.switches.has("envoy")) {
      ctx.stdout(JSON.stringify({ resources: envoyResources(snapshot) }, null, 2) + "\n");
      return 0;
    }
    ctx.stdout(JSON.stringify(buildConfigDump({ bootstrap, snapshot, lastReloadError: null }, { includeEds: true }), null, 2) + "\n");
    return 0;
  },
};
