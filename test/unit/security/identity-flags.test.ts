import { describe, expect, it } from "vitest";
import { parseFlags } from "../../../src/bootstrap/flag-parser.js";
import { runCommandSpec, translateOptionsFrom, translationFromFlags } from "../../../src/bootstrap/parse-run-flags.js";
import { renderHelp } from "../../../src/bootstrap/flag-parser.js";

const settings = (args: string[], env: Record<string, string> = {}) => translationFromFlags(parseFlags(runCommandSpec, ["--config", "x.yaml", ...args]), env);

describe("identity flags", () => {
  it("without --certs / --ca-address: no identity, trust domain cluster.local", () => {
    const s = settings([]);
    expect(s.identity).toEqual({ trustDomain: "cluster.local" });
    // Translation's own default (cluster.local, no identity) applies.
    expect(translateOptionsFrom(s).security).toBeUndefined();
    expect(translateOptionsFrom(settings(["--trust-domain", "example.org"])).security).toEqual({ trustDomain: "example.org", hasIdentity: false });
  });

  it("--certs: a file identity reaching translation as hasIdentity with the trust domain", () => {
    const s = settings(["--certs", "/etc/certs", "--trust-domain", "example.org"]);
    expect(s.identity).toEqual({ trustDomain: "example.org", source: { kind: "certs", dir: "/etc/certs" } });
    expect(translateOptionsFrom(s).security).toEqual({ trustDomain: "example.org", hasIdentity: true });
  });

  it("--ca-address: defaults as istio-agent's (token path, ClusterID Kubernetes, $SERVICE_ACCOUNT else default)", () => {
    expect(settings(["--ca-address", "istiod.istio-system.svc:15012"]).identity).toEqual({
      trustDomain: "cluster.local",
      serviceAccount: "default",
      source: { kind: "ca", address: "istiod.istio-system.svc:15012", tokenFile: "./var/run/secrets/tokens/istio-token", clusterId: "Kubernetes", keyType: "ec" },
    });
    const s = settings(["--ca-address", "127.0.0.1:15012", "--ca-root", "root.pem", "--ca-token-file", "t", "--workload-key", "rsa"], { SERVICE_ACCOUNT: "reviews", CLUSTER_ID: "east" });
    expect(s.identity).toEqual({
      trustDomain: "cluster.local",
      serviceAccount: "reviews",
      source: { kind: "ca", address: "127.0.0.1:15012", rootFile: "root.pem", tokenFile: "t", clusterId: "east", keyType: "rsa" },
    });
    expect(settings(["--ca-address", "[::1]:15012", "--cluster-id", "west", "--service-account", "sa1"], { CLUSTER_ID: "east" }).identity).toMatchObject({ serviceAccount: "sa1", source: { clusterId: "west" } });
  });

  it("misuse is a usage error with the reason", () => {
    const cases: Array<[string[], RegExp]> = [
      [["--certs", "d", "--ca-address", "h:1"], /--certs and --ca-address are mutually exclusive/],
      [["--ca-root", "r.pem"], /--ca-root needs --ca-address/],
      [["--cluster-id", "c"], /--cluster-id needs --ca-address/],
      [["--workload-key", "rsa"], /--workload-key needs --ca-address/],
      [["--ca-address", "istiod"], /--ca-address: expected host:port/],
      [["--ca-address", "h:1", "--workload-key", "dsa"], /--workload-key: expected ec or rsa/],
      [["--trust-domain", "Bad_Domain"], /--trust-domain: "Bad_Domain" is not a valid trust domain/],
      [["--service-account", "Not/Valid"], /--service-account: "Not\/Valid" is not a valid service account name/],
    ];
    for (const [args, re] of cases) expect(() => settings(args), args.join(" ")).toThrow(re);
  });

  it("outrigger run --help lists them", () => {
    const help = renderHelp(runCommandSpec);
    for (const f of ["--certs", "--trust-domain", "--service-account", "--ca-address", "--ca-root", "--ca-token-file", "--cluster-id", "--workload-key"]) expect(help).toContain(f);
  });
});
