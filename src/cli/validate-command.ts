// `outrigger validate`: load and translate the Istio YAML without starting anything; print what it
// became, or every problem with its file, line and field path.

import { parseFlags, renderHelp } from "../bootstrap/flag-parser.js";
import type { CommandSpec } from "../bootstrap/flag-parser.js";
import { translateOptionsFrom, translationFlags, translationFromFlags } from "../bootstrap/parse-run-flags.js";
import type { Snapshot } from "../config/model/types.js";
import { nodeIdentity } from "../observability/node-identity.js";
import type { Command } from "./command.js";
import { plural, reportProblems, translateConfig } from "./translate-config.js";

export const validateCommandSpec: CommandSpec = {
  name: "validate",
  usage: "outrigger validate --config <file|dir> [--config <file|dir> ...] [flags]",
  description: [
    "Check Istio YAML the way `outrigger run` would read it, without starting anything.",
    "OK: one line per resource, then a count, on stdout; exit 0 (warnings go to stderr).",
    "Problems: each as `file:line: path: message` on stderr, then the count; exit 1.",
  ].join("\n"),
  flags: translationFlags,
};

export const validateCommand: Command = {
  spec: validateCommandSpec,
  summary: "check Istio YAML and show what it translates to",
  async run(argv, ctx) {
    const parsed = parseFlags(validateCommandSpec, argv);
    if (parsed.help) {
      ctx.stdout(renderHelp(validateCommandSpec));
      return 0;
    }
    const s = translationFromFlags(parsed, ctx.env);
    const node = nodeIdentity({ env: ctx.env, namespace: s.namespace, labels: s.proxyLabels, domainSuffix: s.domainSuffix });
    const t = await translateConfig(ctx, s.configPaths, { ...translateOptionsFrom(s), node, env: ctx.env }, s.meshConfigPath);
    reportProblems(ctx, t);
    if (t.errors.length > 0 || t.result === undefined) return 1;
    for (const line of t.result.summary) ctx.stdout(line + "\n");
    ctx.stdout(`${snapshotCounts(t.documentCount, t.result.snapshot)}: OK\n`);
    return 0;
  },
};

/** `N resources, M listeners, K routes, J clusters` (K counts routes across every virtual host). */
export function snapshotCounts(resources: number, snapshot: Pick<Snapshot, "listeners" | "routeConfigs" | "clusters"> | null): string {
  const listeners = snapshot?.listeners.length ?? 0;
  let routes = 0;
  for (const rc of Object.values(snapshot?.routeConfigs ?? {})) for (const vh of rc.virtualHosts) routes += vh.routes.length;
  const clusters = Object.keys(snapshot?.clusters ?? {}).length;
  return `${plural(resources, "resource")}, ${plural(listeners, "listener")}, ${plural(routes, "route")}, ${plural(clusters, "cluster")}`;
}
