import { describe, expect, it } from "vitest";
import { defaultLimits } from "../../../src/bootstrap/bootstrap.js";
import { parseFlags, renderHelp } from "../../../src/bootstrap/flag-parser.js";
import type { CommandSpec } from "../../../src/bootstrap/flag-parser.js";
import { parseRunFlags, runCommandSpec } from "../../../src/bootstrap/parse-run-flags.js";
import { ErrorCode } from "../../../src/common/errors.js";

const ctx = { env: {}, cpuCount: () => 3, reusePortBalances: () => true };
const parse = (argv: string[], env: Record<string, string> = {}) => parseRunFlags(argv, { ...ctx, env });

function usage(argv: string[]): string {
  try {
    parse(argv);
  } catch (e) {
    expect((e as { code: string }).code).toBe(ErrorCode.Usage);
    return (e as Error).message;
  }
  throw new Error("expected a usage error");
}

describe("parseRunFlags", () => {
  it("defaults", () => {
    expect(parse(["--config", "a.yaml"])).toEqual({
      configPaths: ["a.yaml"],
      namespace: "default",
      proxyLabels: {},
      domainSuffix: "cluster.local",
      outbound: { address: "127.0.0.1", port: 15001 },
      workers: 2,
      reusePort: true,
      adminAddress: "127.0.0.1",
      adminPort: 15000,
      healthPort: 15021,
      identity: { trustDomain: "cluster.local" },
      statsPort: 15090,
      drainTimeoutMs: 5_000,
      exitOnZeroActiveConnections: false,
      minimumDrainMs: 5_000,
      limits: defaultLimits,
      logLevel: "info",
      watch: true,
      proxyLocality: {},
      mirrorShadowSuffix: false,
      node: {
        nodeId: "sidecar~127.0.0.1~outrigger.default~default.svc.cluster.local",
        instanceName: "outrigger",
        instanceIp: "127.0.0.1",
        workloadName: "outrigger",
        namespace: "default",
        clusterId: "Kubernetes",
        meshId: "cluster.local",
        labels: {},
        canonicalService: "outrigger",
        canonicalRevision: "latest",
        app: "unknown",
        version: "unknown",
      },
      otel: { tracesDisabled: false, headers: {} },
    });
  });

  it("node identity: istio-agent's environment (POD_NAME, INSTANCE_IP, ISTIO_META_*) and the workload labels", () => {
    const b = parse(["--config", "a", "--namespace", "shop", "--labels", "app=reviews,version=v2,service.istio.io/canonical-revision=r7"], {
      POD_NAME: "reviews-v2-5d8f9c7b6-x2k9z",
      INSTANCE_IP: "10.1.2.3",
      ISTIO_META_CLUSTER_ID: "east",
      ISTIO_META_MESH_ID: "mesh1",
    });
    expect(b?.node).toEqual({
      nodeId: "sidecar~10.1.2.3~reviews-v2-5d8f9c7b6-x2k9z.shop~shop.svc.cluster.local",
      instanceName: "reviews-v2-5d8f9c7b6-x2k9z",
      instanceIp: "10.1.2.3",
      workloadName: "reviews-v2",
      namespace: "shop",
      clusterId: "east",
      meshId: "mesh1",
      labels: { app: "reviews", version: "v2", "service.istio.io/canonical-revision": "r7" },
      canonicalService: "reviews",
      canonicalRevision: "r7",
      app: "reviews",
      version: "v2",
    });
    expect(parse(["--config", "a"], { POD_NAME: "ratings-1", ISTIO_META_WORKLOAD_NAME: "ratings" })?.node.workloadName).toBe("ratings");
  });

  it("every flag, in both --flag value and --flag=value forms", () => {
    const b = parse([
      "--config", "a.yaml", "--config=dir/",
      "--workers=4",
      "--admin-port", "0",
      "--health-port", "0",
      "--admin-address=0.0.0.0",
      "--stats-port=15091",
      "--namespace", "shop",
      "--labels", "app=reviews,version=v2",
      "--outbound=127.0.0.1:16001",
      "--drain-timeout", "30s",
      "--exit-on-zero-active-connections",
      "--minimum-drain-duration=1500ms",
      "--max-request-headers-kb", "96",
      "--max-headers-count=200",
      "--request-headers-timeout", "0",
      "--idle-timeout", "5m",
      "--log-level", "debug",
      "--no-watch",
      "--locality=us-east1/us-east1-b/rack1",
      "--mirror-shadow-suffix",
      "--mesh-config", "mesh.yaml",
      "--root-namespace=mesh-root",
    ]);
    expect(b).toEqual({
      configPaths: ["a.yaml", "dir/"],
      namespace: "shop",
      proxyLabels: { app: "reviews", version: "v2" },
      domainSuffix: "cluster.local",
      outbound: { address: "127.0.0.1", port: 16001 },
      workers: 4,
      reusePort: true,
      adminAddress: "0.0.0.0",
      adminPort: 0,
      healthPort: 0,
      identity: { trustDomain: "cluster.local" },
      statsPort: 15091,
      drainTimeoutMs: 30_000,
      exitOnZeroActiveConnections: true,
      minimumDrainMs: 1_500,
      limits: { maxRequestHeadersKb: 96, maxHeadersCount: 200, requestHeadersTimeoutMs: 0, idleTimeoutMs: 300_000 },
      logLevel: "debug",
      watch: false,
      proxyLocality: { region: "us-east1", zone: "us-east1-b", subZone: "rack1" },
      mirrorShadowSuffix: true,
      meshConfigPath: "mesh.yaml",
      rootNamespace: "mesh-root",
      node: expect.objectContaining({ namespace: "shop", workloadName: "outrigger", canonicalService: "reviews", canonicalRevision: "v2" }),
      otel: { tracesDisabled: false, headers: {} },
    });
  });

  it("locality: flag, else $ISTIO_LOCALITY (region/zone/subzone, trailing parts optional), else none", () => {
    expect(parse(["--config", "a"], { ISTIO_LOCALITY: "eu-west/eu-west-1a" })?.proxyLocality).toEqual({ region: "eu-west", zone: "eu-west-1a" });
    expect(parse(["--config", "a", "--locality", "us"], { ISTIO_LOCALITY: "eu-west/eu-west-1a" })?.proxyLocality).toEqual({ region: "us" });
    expect(parse(["--config", "a"], { ISTIO_LOCALITY: "" })?.proxyLocality).toEqual({});
    expect(usage(["--config", "a", "--locality", "a/b/c/d"])).toBe('--locality: expected region/zone/subzone, got "a/b/c/d"');
    expect(usage(["--config", "a", "--locality", "/zone"])).toBe('--locality: expected region/zone/subzone, got "/zone"');
    expect(() => parse(["--config", "a"], { ISTIO_LOCALITY: "a/b/c/d" })).toThrow('$ISTIO_LOCALITY: expected region/zone/subzone, got "a/b/c/d"');
  });

  it("--mirror-shadow-suffix is a switch (default off, Istio >= 1.28)", () => {
    expect(parse(["--config", "a"])?.mirrorShadowSuffix).toBe(false);
    expect(usage(["--config", "a", "--mirror-shadow-suffix=yes"])).toBe("flag --mirror-shadow-suffix takes no value");
  });

  it("namespace: flag, else $POD_NAMESPACE, else default", () => {
    expect(parse(["--config", "a"], { POD_NAMESPACE: "bookinfo" })?.namespace).toBe("bookinfo");
    expect(parse(["--config", "a", "--namespace", "x"], { POD_NAMESPACE: "bookinfo" })?.namespace).toBe("x");
    expect(parse(["--config", "a"], { POD_NAMESPACE: "" })?.namespace).toBe("default");
  });

  it("--outbound off and IPv6", () => {
    expect(parse(["--config", "a", "--outbound", "off"])?.outbound).toBeNull();
    expect(parse(["--config", "a", "--outbound", "[::1]:15001"])?.outbound).toEqual({ address: "::1", port: 15001 });
  });

  it("workers: default 2 (Istio's sidecar concurrency) capped by the usable CPUs; 0 = one per usable CPU", () => {
    const workers = (argv: string[], cpus: number) => parseRunFlags(["--config", "a", ...argv], { env: {}, cpuCount: () => cpus, reusePortBalances: () => true })?.workers;
    expect(workers([], 64)).toBe(2);
    expect(workers([], 1)).toBe(1);
    expect(workers([], 0)).toBe(1);
    expect(workers(["--workers", "0"], 64)).toBe(64);
    expect(workers(["--workers", "0"], 3)).toBe(3);
    expect(workers(["--workers", "0"], 1000)).toBe(256);
    expect(workers(["--workers", "8"], 2)).toBe(8);
  });

  it("without SO_REUSEPORT balancing (macOS, Windows): 1 worker binding without reusePort, whatever --workers says", () => {
    const b = parseRunFlags(["--config", "a", "--workers", "4"], { env: {}, cpuCount: () => 8, reusePortBalances: () => false });
    expect(b).toMatchObject({ workers: 1, reusePort: false });
  });

  it("drain settings from istio-agent's environment; flags win", () => {
    const env = { TERMINATION_DRAIN_DURATION_SECONDS: "20", EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "true", MINIMUM_DRAIN_DURATION: "2s" };
    expect(parse(["--config", "a"], env)).toMatchObject({ drainTimeoutMs: 20_000, exitOnZeroActiveConnections: true, minimumDrainMs: 2_000 });
    expect(parse(["--config", "a", "--drain-timeout", "1s", "--minimum-drain-duration", "0"], env)).toMatchObject({ drainTimeoutMs: 1_000, minimumDrainMs: 0 });
    for (const t of ["1", "t", "T", "TRUE", "True"]) expect(parse(["--config", "a"], { EXIT_ON_ZERO_ACTIVE_CONNECTIONS: t })?.exitOnZeroActiveConnections).toBe(true);
    for (const f of ["0", "f", "false", "False", ""]) expect(parse(["--config", "a"], { EXIT_ON_ZERO_ACTIVE_CONNECTIONS: f })?.exitOnZeroActiveConnections).toBe(false);
    expect(parse(["--config", "a", "--exit-on-zero-active-connections"], { EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "false" })?.exitOnZeroActiveConnections).toBe(true);
    expect(parse(["--config", "a"], { TERMINATION_DRAIN_DURATION_SECONDS: "0" })?.drainTimeoutMs).toBe(0);
  });

  it.each([
    [{ TERMINATION_DRAIN_DURATION_SECONDS: "5s" }, '$TERMINATION_DRAIN_DURATION_SECONDS: expected whole seconds, got "5s"'],
    [{ TERMINATION_DRAIN_DURATION_SECONDS: "-1" }, '$TERMINATION_DRAIN_DURATION_SECONDS: expected whole seconds, got "-1"'],
    [{ EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "yes" }, '$EXIT_ON_ZERO_ACTIVE_CONNECTIONS: expected true or false, got "yes"'],
    [{ MINIMUM_DRAIN_DURATION: "5" }, '$MINIMUM_DRAIN_DURATION: expected a duration such as 500ms, 5s or 1m, got "5"'],
  ])("bad drain environment %j is a usage error naming the variable", (env, message) => {
    expect(() => parse(["--config", "a"], env)).toThrow(message);
  });

  it("help returns undefined, even next to bad flags", () => {
    expect(parse(["--help"])).toBeUndefined();
    expect(parse(["--bogus", "-h"])).toBeUndefined();
  });

  it.each([
    [[], /--config is required/],
    [["--config"], /flag --config needs a value/],
    [["--config="], /flag --config needs a value/],
    [["--config", "--workers", "2"], /flag --config needs a value/],
    [["--config", "a", "--workers", "abc"], /--workers: expected an integer, got "abc"/],
    [["--config", "a", "--workers", "257"], /--workers: 257 is out of range 0..256/],
    [["--config", "a", "--minimum-drain-duration", "x"], /--minimum-drain-duration: expected a duration/],
    [["--config", "a", "--exit-on-zero-active-connections=true"], /flag --exit-on-zero-active-connections takes no value/],
    [["--config", "a", "--admin-port", "70000"], /--admin-port: 70000 is out of range 0..65535/],
    [["--config", "a", "--health-port", "x"], /--health-port: expected an integer, got "x"/],
    [["--config", "a", "--drain-timeout", "5"], /--drain-timeout: expected a duration/],
    [["--config", "a", "--idle-timeout", "soon"], /--idle-timeout: expected a duration/],
    [["--config", "a", "--max-request-headers-kb", "9000"], /--max-request-headers-kb: 9000 is out of range/],
    [["--config", "a", "--max-headers-count", "-1"], /flag --max-headers-count needs a value/],
    [["--config", "a", "--labels", "app"], /--labels: expected key=value pairs/],
    [["--config", "a", "--outbound", "15001"], /--outbound: expected host:port or off/],
    [["--config", "a", "--log-level", "loud"], /--log-level: expected one of debug, info, warn, error, off/],
    [["--config", "a", "--bogus"], /unknown flag --bogus/],
    [["--config", "a", "-x"], /unknown flag -x/],
    [["--config", "a", "extra"], /unexpected argument "extra"/],
    [["--config", "a", "--no-watch=true"], /flag --no-watch takes no value/],
    [["--config", "a", "--workers", "2", "--workers", "3"], /flag --workers given more than once/],
  ])("%j → usage error %s", (argv, re) => {
    expect(usage(argv)).toMatch(re);
  });
  it("a bad number is reported even when --config is missing too", () => {
    expect(usage(["--workers", "x"])).toMatch(/--workers/);
  });
});

describe("renderHelp", () => {
  it("run help lists every flag with its default", () => {
    const help = renderHelp(runCommandSpec);
    for (const f of runCommandSpec.flags) {
      const line = help.split("\n").find((l) => l.trimStart().startsWith(`--${f.name}`));
      expect(line, f.name).toBeDefined();
      if (f.default !== undefined) expect(line).toContain(`default: ${f.default}`);
    }
    expect(help).toContain("-h, --help");
    expect(help).toMatch(/--config <file\|dir>.*repeatable; required/);
    expect(help).toContain("default: 15000");
    expect(help).toMatch(/--locality <region\/zone\/subzone>.*default: \$ISTIO_LOCALITY, else none/s);
    expect(help).toMatch(/--mirror-shadow-suffix .*default: off \(Istio >= 1\.28\)/s);
    expect(help).toContain("default: 127.0.0.1:15001");
  });

  it("a spec drives the parser: switches, repeatables", () => {
    const spec: CommandSpec = { name: "t", usage: "t", description: "d", flags: [{ name: "a", value: "<x>", repeatable: true, help: "" }, { name: "s", help: "" }] };
    const p = parseFlags(spec, ["--a", "1", "--s", "--a=2"]);
    expect(p.values.get("a")).toEqual(["1", "2"]);
    expect(p.switches.has("s")).toBe(true);
  });
});
