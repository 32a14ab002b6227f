// `outrigger explain`: which listener, VirtualService rule, route and cluster a request would take
// through the translated config, and why the other rules did not match — offline, the same module
// as the admin `/explain`.

import { parseFlags, renderHelp, usageError, type CommandSpec } from "../bootstrap/flag-parser.js";
import { bootstrapFromFlags, securityOptionsFrom, translationFlags } from "../bootstrap/parse-run-flags.js";
import { explainQuery } from "../router/explain-query.js";
import { formatExplanation } from "../router/explain-text.js";
import { explainRequest, isExplainError } from "../router/explain.js";
import type { Command } from "./command.js";
import { ExitCode } from "./command.js";
import { reportProblems, translateConfig } from "./translate-config.js";

export const explainCommandSpec: CommandSpec = {
  name: "explain",
  usage: "outrigger explain --config <file|dir> --authority <host[:port]> [--method M] [--path /p] [--header name:value ...] [flags]",
  description: [
    "Explain how the proxy would route one request: the listener and filter chain, the route",
    "configuration and virtual host (and why other hosts' domains do not match), each route tried",
    "with why it does not match (path, method, header, query: expected vs actual), the route taken",
    "and its VirtualService rule, the weighted clusters and subsets, and each cluster's policies;",
    "on inbound chains, which AuthorizationPolicy (RBAC filter and policy) allows or denies it.",
    "Exit 0 when explained (even a 404), 1 on config errors or an unknown listener/port.",
  ].join("\n"),
  flags: [
    ...translationFlags,
    { name: "authority", value: "<host[:port]>", required: true, help: "the request's Host / :authority, e.g. reviews:9080" },
    { name: "method", value: "<method>", default: "GET", help: "the request method" },
    { name: "path", value: "</path?query>", default: "/", help: "the request path, query string included" },
    { name: "header", value: "<name:value>", repeatable: true, help: "a request header" },
    { name: "port", value: "<port>", default: "the authority's port, else 80", help: "the connection's destination port (picks the listener)" },
    { name: "listener", value: "<name>", help: "the listener by name (instead of --port)" },
    { name: "principal", value: "<spiffe identity>", help: "the client's mTLS identity for AuthorizationPolicy, e.g. cluster.local/ns/default/sa/sleep (default: plaintext)" },
    { name: "format", value: "text|json", default: "text", help: "output format" },
  ],
};

export const explainCommand: Command = {
  spec: explainCommandSpec,
  summary: "explain which listener, route and cluster a request would take, and why",
  async run(argv, ctx) {
    const parsed = parseFlags(explainCommandSpec, argv);
    if (parsed.help) {
      ctx.stdout(renderHelp(explainCommandSpec));
      return ExitCode.Ok;
    }
    const q = explainQuery((n) => parsed.values.get(n)?.[0], (n) => parsed.values.get(n) ?? []);
    if (typeof q === "string") throw usageError(q.startsWith("authority") ? "--authority is required (the Host header, e.g. reviews:9080)" : `--${q}`);
    const bootstrap = bootstrapFromFlags(parsed, ctx);
    const t = await translateConfig(ctx, bootstrap.configPaths, {
      namespace: bootstrap.namespace,
      proxyLabels: bootstrap.proxyLabels,
      domainSuffix: bootstrap.domainSuffix,
      defaultOutbound: bootstrap.outbound,
      proxyLocality: bootstrap.proxyLocality ?? {},
      mirrorShadowSuffix: bootstrap.mirrorShadowSuffix ?? false,
      ...(bootstrap.intercept !== undefined ? { intercept: bootstrap.intercept } : {}),
      ...(bootstrap.identity !== undefined ? { security: securityOptionsFrom(bootstrap.identity) } : {}),
    });
    reportProblems(ctx, t);
    if (t.errors.length > 0 || t.result === undefined) return ExitCode.Failure;
    try {
      const x = explainRequest({ version: "offline", ...t.result.snapshot }, q.request, t.result.upstreamProtocols);
      ctx.stdout(q.format === "json" ? JSON.stringify(x, null, 2) + "\n" : formatExplanation(x));
      return ExitCode.Ok;
    } catch (e) {
      if (!isExplainError(e)) throw e;
      ctx.stderr(`outrigger explain: ${e.message}\n`);
      return ExitCode.Failure;
    }
  },
};
