// `outrigger ca`: a small certificate authority for running Outrigger with --certs outside a
// mesh (or beside one in tests): `ca init DIR` makes a self-signed root as istiod's self-signed
// CA does; `ca issue DIR --spiffe URI --out DIR2` writes a workload certificate in Istio's
// file-mounted layout (cert-chain.pem with the root appended, key.pem, root-cert.pem).

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { flagValue, parseFlags, renderHelp, usageError } from "../bootstrap/flag-parser.js";
import type { CommandSpec } from "../bootstrap/flag-parser.js";
import { formatDuration, parseDuration } from "../bootstrap/duration.js";
import { createRootCa, generateKey, privateKeyPem, signWorkload, type KeyType } from "../security/local-ca.js";
import { parseSpiffeId } from "../security/workload-secrets.js";
import { CERT_CHAIN_FILE, KEY_FILE, ROOT_CERT_FILE } from "../security/certs-dir-source.js";
import type { Command } from "./command.js";
import { ExitCode } from "./command.js";

export const ROOT_KEY_FILE = "root-key.pem";
/** 24 h: istio-agent's default workload certificate TTL (SECRET_TTL). */
const DEFAULT_TTL_MS = 86_400_000;

const keyFlag = { name: "key", value: "<ec|rsa>", default: "ec", help: "key type: ec (ECDSA P-256) or rsa (2048 bits)" };

export const caInitSpec: CommandSpec = {
  name: "ca init",
  usage: "outrigger ca init <dir> [--trust-domain <domain>] [--key ec|rsa]",
  description: `Make a self-signed root CA in <dir>: ${ROOT_CERT_FILE} and ${ROOT_KEY_FILE} (mode 0600), O=<trust domain>,\nvalid 10 years, as istiod's self-signed CA. Refuses to overwrite an existing root.`,
  flags: [{ name: "trust-domain", value: "<domain>", default: "cluster.local", help: "the root's organization (istiod writes its trust domain)" }, keyFlag],
};

export const caIssueSpec: CommandSpec = {
  name: "ca issue",
  usage: "outrigger ca issue <ca-dir> --spiffe spiffe://TD/ns/NS/sa/SA --out <dir> [--ttl 24h] [--dns NAME]...",
  description: `Issue a workload certificate signed by the root in <ca-dir>, written in Istio's layout into --out:\n${CERT_CHAIN_FILE} (leaf, then the root), ${KEY_FILE} (mode 0600), ${ROOT_CERT_FILE}. Use it with \`outrigger run --certs <dir>\`.`,
  flags: [
    { name: "spiffe", value: "<uri>", required: true, help: "the workload identity, spiffe://<trust domain>/ns/<namespace>/sa/<service account>" },
    { name: "out", value: "<dir>", required: true, help: "where to write the files (created)" },
    { name: "ttl", value: "<duration>", default: formatDuration(DEFAULT_TTL_MS), help: "validity (istio-agent's SECRET_TTL default is 24h)" },
    { name: "dns", value: "<name>", repeatable: true, help: "a DNS SAN to add" },
    keyFlag,
  ],
};

const caSpec: CommandSpec = {
  name: "ca",
  usage: "outrigger ca <init|issue> ...",
  description: "A small CA for --certs: `outrigger ca init <dir>`, `outrigger ca issue <ca-dir> --spiffe <uri> --out <dir>`.\nSee `outrigger ca init --help` and `outrigger ca issue --help`.",
  flags: [],
};

/** `<dir>` first, then flags. */
function splitDir(argv: readonly string[], what: string): [string, readonly string[]] {
  const [dir, ...rest] = argv;
  if (dir === undefined || dir.startsWith("-")) throw usageError(`${what}: expected a folder as the first argument`);
  return [dir, rest];
}

function keyType(text: string | undefined): KeyType {
  const k = text ?? "ec";
  if (k !== "ec" && k !== "rsa") throw usageError(`--key: expected ec or rsa, got "${k}"`);
  return k;
}

function writeSecret(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
}

export const caCommand: Command = {
  spec: caSpec,
  summary: "a small CA: make a root, issue workload certificates for --certs",
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === "-h" || sub === "--help") {
      (sub === undefined ? ctx.stderr : ctx.stdout)(renderHelp(caSpec));
      return sub === undefined ? ExitCode.Usage : ExitCode.Ok;
    }
    if (sub === "init") {
      const help = rest.some((a) => a === "-h" || a === "--help");
      if (help) return ctx.stdout(renderHelp(caInitSpec)), ExitCode.Ok;
      const [dir, flags] = splitDir(rest, "ca init");
      const parsed = parseFlags(caInitSpec, flags);
      const org = flagValue(parsed, "trust-domain") ?? "cluster.local";
      const kt = keyType(flagValue(parsed, "key"));
      const certFile = join(dir, ROOT_CERT_FILE);
      if (existsSync(certFile) || existsSync(join(dir, ROOT_KEY_FILE))) throw usageError(`ca init: ${dir} already holds a root (${ROOT_CERT_FILE} / ${ROOT_KEY_FILE}); not overwriting it`);
      const root = createRootCa({ org, keyType: kt, now: Date.now() });
      mkdirSync(dir, { recursive: true });
      writeSecret(join(dir, ROOT_KEY_FILE), root.keyPem);
      writeFileSync(certFile, root.certPem);
      ctx.stdout(`root CA (O=${org}, ${kt === "ec" ? "ECDSA P-256" : "RSA 2048"}, 10 years) written to ${certFile} and ${join(dir, ROOT_KEY_FILE)}\n`);
      return ExitCode.Ok;
    }
    if (sub === "issue") {
      const help = rest.some((a) => a === "-h" || a === "--help");
      if (help) return ctx.stdout(renderHelp(caIssueSpec)), ExitCode.Ok;
      const [caDir, flags] = splitDir(rest, "ca issue");
      const parsed = parseFlags(caIssueSpec, flags);
      const spiffe = flagValue(parsed, "spiffe");
      const out = flagValue(parsed, "out");
      if (spiffe === undefined) throw usageError("--spiffe is required (spiffe://cluster.local/ns/<namespace>/sa/<service account>)");
      if (parseSpiffeId(spiffe) === undefined) throw usageError(`--spiffe: expected spiffe://<trust domain>/ns/<namespace>/sa/<service account>, got "${spiffe}"`);
      if (out === undefined) throw usageError("--out is required (the folder for cert-chain.pem, key.pem, root-cert.pem)");
      const ttlText = flagValue(parsed, "ttl");
      const ttlMs = ttlText === undefined ? DEFAULT_TTL_MS : parseDuration(ttlText);
      if (ttlMs === undefined || ttlMs <= 0) throw usageError(`--ttl: expected a positive duration such as 1h or 24h, got "${ttlText}"`);
      const dnsNames = parsed.values.get("dns") ?? [];
      for (const d of dnsNames) if (!/^(\*\.)?[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$/.test(d)) throw usageError(`--dns: "${d}" is not a DNS name`);
      let ca;
      try {
        ca = { certPem: readFileSync(join(caDir, ROOT_CERT_FILE), "utf8"), keyPem: readFileSync(join(caDir, ROOT_KEY_FILE), "utf8") };
      } catch (e) {
        throw usageError(`ca issue: cannot read the CA in ${caDir} (run \`outrigger ca init ${caDir}\` first): ${(e as Error).message}`);
      }
      const key = generateKey(keyType(flagValue(parsed, "key")));
      let leaf;
      try {
        leaf = signWorkload(ca, { subjectKey: key.publicKey, uris: [spiffe], dnsNames, ttlMs, now: Date.now() });
      } catch (e) {
        throw usageError(`ca issue: the CA in ${caDir} is unusable: ${(e as Error).message}`);
      }
      mkdirSync(out, { recursive: true });
      // Istio's cert-chain.pem carries the root at the end (istio-agent appends it).
      writeFileSync(join(out, CERT_CHAIN_FILE), leaf + ca.certPem);
      writeSecret(join(out, KEY_FILE), privateKeyPem(key.privateKey));
      writeFileSync(join(out, ROOT_CERT_FILE), ca.certPem);
      ctx.stdout(`${spiffe} (valid ${formatDuration(ttlMs)}) written to ${out}: ${CERT_CHAIN_FILE}, ${KEY_FILE}, ${ROOT_CERT_FILE}\n`);
      return ExitCode.Ok;
    }
    throw usageError(sub.startsWith("-") ? `unknown flag ${sub}` : `unknown subcommand "${sub}": expected init or issue`);
  },
};
