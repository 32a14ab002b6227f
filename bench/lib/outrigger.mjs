// Outrigger under test: writes its Istio YAML config and starts `bin/outrigger.js run`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const UPSTREAM_HOST = 'upstream.bench.svc.cluster.local';
export const NAMESPACE = 'bench';

/**
 * A ServiceEntry whose service port equals the Sidecar egress port (proxyPort), so the route
 * exists on that listener; the endpoint's named port maps to the real upstream.
 */
export function writeConfig(dir, { proxyPort, upstreamPort, upstreamPorts, resilience = false }) {
  mkdirSync(dir, { recursive: true });
  const ports = upstreamPorts ?? [upstreamPort];
  const endpoints = ports.map((p) => `    - address: 127.0.0.1\n      ports:\n        http: ${p}\n`).join('');
  const yaml = `# Written by bench/lib/outrigger.mjs
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: bench-upstream
  namespace: ${NAMESPACE}
spec:
  hosts:
    - ${UPSTREAM_HOST}
  location: MESH_INTERNAL
  ports:
    - number: ${proxyPort}
      name: http
      protocol: HTTP
  resolution: STATIC
  endpoints:
${endpoints}---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: default
  namespace: ${NAMESPACE}
spec:
  egress:
    - port:
        number: ${proxyPort}
        name: http
        protocol: HTTP
      bind: 127.0.0.1
      hosts:
        - "./*"
${resilience ? RESILIENCE_YAML : ''}`;
  writeFileSync(path.join(dir, 'bench.yaml'), yaml);
  return dir;
}

export const TCP_HOST = 'echo.bench.svc.cluster.local';

/**
 * The TCP scenario (bench/README.md, "TCP scenario"): a ServiceEntry with a `protocol: TCP` port
 * and a Sidecar egress listener on that port bound to 127.0.0.1, so the listener's network filter
 * is tcp_proxy to outbound|proxyPort||echo.bench.svc.cluster.local. A build without tcp_proxy
 * skips the port (with a warning) and nothing listens there.
 */
export function writeTcpConfig(dir, { proxyPort, upstreamPort }) {
  mkdirSync(dir, { recursive: true });
  const yaml = `# Written by bench/lib/outrigger.mjs (TCP scenario)
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: bench-echo
  namespace: ${NAMESPACE}
spec:
  hosts:
    - ${TCP_HOST}
  location: MESH_INTERNAL
  ports:
    - number: ${proxyPort}
      name: tcp-echo
      protocol: TCP
  resolution: STATIC
  endpoints:
    - address: 127.0.0.1
      ports:
        tcp-echo: ${upstreamPort}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: default
  namespace: ${NAMESPACE}
spec:
  egress:
    - port:
        number: ${proxyPort}
        name: tcp-echo
        protocol: TCP
      bind: 127.0.0.1
      hosts:
        - "./*"
`;
  writeFileSync(path.join(dir, 'bench.yaml'), yaml);
  return dir;
}

/**
 * The resilience scenarios' extra config (bench/README.md, "Resilience scenarios"): least-request
 * balancing, outlier detection (5 consecutive 5xx eject for 30 s), a pending-request limit, and
 * on the route 2 retries on 5xx/connect-failure within a 10 s timeout.
 */
export const RESILIENCE_YAML = `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: bench-upstream
  namespace: ${NAMESPACE}
spec:
  host: ${UPSTREAM_HOST}
  trafficPolicy:
    loadBalancer:
      simple: LEAST_REQUEST
    outlierDetection:
      consecutive5xxErrors: 5
      interval: 10s
      baseEjectionTime: 30s
      maxEjectionPercent: 100
    connectionPool:
      http:
        http1MaxPendingRequests: 1024
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: bench-upstream
  namespace: ${NAMESPACE}
spec:
  hosts:
    - ${UPSTREAM_HOST}
  http:
    - route:
        - destination:
            host: ${UPSTREAM_HOST}
      timeout: 10s
      retries:
        attempts: 2
        retryOn: 5xx,connect-failure
`;

/** The reason Outrigger cannot be run at all, or undefined; cli: another build's entry point. */
export function unavailableReason(repoRoot, cli = cliPath(repoRoot)) {
  if (!existsSync(cli)) return `${path.relative(repoRoot, cli)} does not exist yet`;
  return undefined;
}

/** bin/outrigger.js, or BENCH_OUTRIGGER_CLI (another build, or a stand-in to test the bench). */
export function cliPath(repoRoot) {
  return process.env.BENCH_OUTRIGGER_CLI ? path.resolve(process.env.BENCH_OUTRIGGER_CLI) : path.join(repoRoot, 'bin', 'outrigger.js');
}

/**
 * bin/outrigger.js runs the compiled dist/, so compile src/ first (the tree is being edited in
 * parallel; a failing type check still emits). Returns a warning or undefined.
 */
export function build(repoRoot) {
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const res = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8', timeout: 300_000 });
  if (res.status === 0) return undefined;
  const first = `${res.stdout}${res.stderr}${res.error?.message ?? ''}`.trim().split('\n').slice(0, 2).join(' | ');
  return `build reported errors (using whatever dist/ it emitted): ${first}`;
}

/**
 * node arguments for `outrigger run`; profileDir adds --cpu-prof (main thread and each worker
 * thread); cli: another build's bin/outrigger.js (the baseline) instead of this tree's.
 */
/**
 * The full-telemetry target's MeshConfig (bench/README.md, "Full telemetry"): Istio's default TEXT
 * access log to a file, 100% tracing to the OTLP sink, Prometheus metrics (on by default).
 */
export function writeMeshConfig(dir, { otlpPort, accessLogPath }) {
  mkdirSync(dir, { recursive: true });
  const yaml = `# Written by bench/lib/outrigger.mjs (full telemetry)
accessLogFile: ${accessLogPath}
accessLogEncoding: TEXT
enableTracing: true
defaultConfig:
  tracing:
    sampling: 100
extensionProviders:
  - name: otel
    opentelemetry:
      service: 127.0.0.1
      port: ${otlpPort}
defaultProviders:
  tracing: [otel]
  metrics: [prometheus]
`;
  const file = path.join(dir, 'mesh.yaml');
  writeFileSync(file, yaml);
  return file;
}

export function outriggerArgs(repoRoot, { configDir, workers, adminPort, profileDir, cli, extraArgs = [] }) {
  const prof = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  return [
    ...prof,
    cli ?? cliPath(repoRoot),
    'run',
    '--config', configDir,
    '--workers', String(workers),
    '--admin-port', String(adminPort),
    '--namespace', NAMESPACE,
    // No default 15001 listener: two instances run side by side, and only the bench port matters.
    '--outbound', 'off',
    '--no-watch',
    '--log-level', 'warn',
    '--drain-timeout', '1s',
    ...extraArgs,
    ...(process.env.BENCH_OUTRIGGER_ARGS ?? '').split(/\s+/).filter(Boolean),
  ];
}
