// outrigger-iptables without privileges: --dry-run output against istio-iptables' rule sets (the
// goldens below are copied from the reference, /work/shared/reference/istio-sidecar-facts.md §1.4
// and §1.5, and istio's tools/istio-iptables/pkg/capture/testdata/*.golden — not from our output),
// what each flag changes, usage errors, and the missing-tool / not-permitted errors via stub binaries.

import { spawnSync } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../helpers/cli-process.js";

const script = join(repoRoot, "init-container/outrigger-iptables");
const bash = spawnSync("bash", ["-c", "command -v bash"], { encoding: "utf8" }).stdout.trim();

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(bash, [script, ...args], {
    encoding: "utf8",
    // No inherited ENABLE_INBOUND_IPV6 / backend overrides: each test states what it wants.
    env: { PATH: process.env.PATH, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The IPv4 iptables-restore text of a dry run (comment lines dropped), as lines. */
function dryRun(args: string[]): string[] {
  const r = run(["--dry-run", "--ipv6", "false", ...args]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

// §1.4: the full rule set for the injector's default call, IPv4, REDIRECT.
const ISTIO_DEFAULT_REDIRECT = `* nat
-N ISTIO_INBOUND
-N ISTIO_REDIRECT
-N ISTIO_IN_REDIRECT
-N ISTIO_OUTPUT
-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN
-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001
-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006
-A PREROUTING -p tcp -j ISTIO_INBOUND
-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN
-A ISTIO_INBOUND -p tcp --dport 15021 -j RETURN
-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN
-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT
-A OUTPUT -j ISTIO_OUTPUT
-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN
-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --gid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
-A ISTIO_OUTPUT -j ISTIO_REDIRECT
COMMIT`.split("\n");

// §1.5 / istio golden inbound-ports-wildcard-tproxy.golden (mangle), with the injector's three
// -d exclusions where §1.5 shows "(-A ISTIO_INBOUND -p tcp --dport <excluded> -j RETURN …)", and
// the nat table "same as REDIRECT for outbound" (inbound moves to mangle).
const ISTIO_TPROXY = `* mangle
-N ISTIO_DIVERT
-N ISTIO_TPROXY
-N ISTIO_INBOUND
-A ISTIO_DIVERT -j MARK --set-mark 1337
-A ISTIO_DIVERT -j ACCEPT
-A ISTIO_TPROXY ! -d 127.0.0.1/32 -p tcp -j TPROXY --tproxy-mark 1337/0xffffffff --on-port 15006
-A PREROUTING -p tcp -j ISTIO_INBOUND
-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN
-A ISTIO_INBOUND -p tcp --dport 15021 -j RETURN
-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN
-A ISTIO_INBOUND -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT
-A ISTIO_INBOUND -p tcp -j ISTIO_TPROXY
-A PREROUTING -p tcp -m mark --mark 1337 -j CONNMARK --save-mark
-A OUTPUT -p tcp -o lo -m mark --mark 1337 -j RETURN
-A OUTPUT ! -d 127.0.0.1/32 -p tcp -o lo -m owner --uid-owner 1337 -j MARK --set-mark 1338
-A OUTPUT ! -d 127.0.0.1/32 -p tcp -o lo -m owner --gid-owner 1337 -j MARK --set-mark 1338
-A OUTPUT -p tcp -m connmark --mark 1337 -j CONNMARK --restore-mark
-I ISTIO_INBOUND 1 -p tcp -m mark --mark 1337 -j RETURN
-I ISTIO_INBOUND 2 -p tcp -s 127.0.0.6/32 -i lo -j RETURN
-I ISTIO_INBOUND 3 -p tcp -i lo -m mark ! --mark 1338 -j RETURN
COMMIT
* nat
-N ISTIO_INBOUND
-N ISTIO_REDIRECT
-N ISTIO_IN_REDIRECT
-N ISTIO_OUTPUT
-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN
-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001
-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006
-A OUTPUT -j ISTIO_OUTPUT
-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN
-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --gid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
-A ISTIO_OUTPUT -j ISTIO_REDIRECT
COMMIT`.split("\n");

/** `base` with `line` replaced by `by` (the line must exist exactly once). */
function replaced(base: string[], line: string, ...by: string[]): string[] {
  const at = base.indexOf(line);
  expect(at, `golden has ${line}`).toBeGreaterThanOrEqual(0);
  expect(base.lastIndexOf(line)).toBe(at);
  return [...base.slice(0, at), ...by, ...base.slice(at + 1)];
}
const after = (base: string[], line: string, ...added: string[]): string[] => replaced(base, line, line, ...added);
const before = (base: string[], line: string, ...added: string[]): string[] => replaced(base, line, ...added, line);
const without = (base: string[], ...lines: string[]): string[] => lines.reduce((b, l) => replaced(b, l), base);

describe("--dry-run, REDIRECT (istio-iptables' rule set)", () => {
  it("default flags print exactly the rule set istio-iptables installs for the injector's call", () => {
    expect(dryRun([])).toEqual(ISTIO_DEFAULT_REDIRECT);
  });

  it("the injector's literal command line gives the same rules (its -d ports are not duplicated)", () => {
    const injector = ["-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020"];
    expect(dryRun(injector)).toEqual(ISTIO_DEFAULT_REDIRECT);
    // long names and --flag=value spellings are accepted too
    expect(dryRun(["--envoy-port=15001", "--inbound-capture-port", "15006", "--istio-inbound-interception-mode=REDIRECT"])).toEqual(
      ISTIO_DEFAULT_REDIRECT,
    );
  });

  it("-p changes only the outbound REDIRECT target", () => {
    expect(dryRun(["-p", "16001"])).toEqual(
      replaced(ISTIO_DEFAULT_REDIRECT, "-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001", "-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 16001"),
    );
  });

  it("-z changes only the inbound REDIRECT target", () => {
    expect(dryRun(["-z", "16006"])).toEqual(
      replaced(ISTIO_DEFAULT_REDIRECT, "-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006", "-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 16006"),
    );
  });

  it("-u sets the uid and (by default) the gid; -g sets the gid alone; lists repeat the triplet per id", () => {
    const swap = (lines: string[], from: RegExp, to: string): string[] => lines.map((l) => l.replace(from, to));
    expect(dryRun(["-u", "1000"])).toEqual(swap(ISTIO_DEFAULT_REDIRECT, /(uid|gid)-owner 1337/, "$1-owner 1000"));
    expect(dryRun(["-g", "2000"])).toEqual(swap(ISTIO_DEFAULT_REDIRECT, /gid-owner 1337/, "gid-owner 2000"));
    const uids = dryRun(["-u", "3,4", "-g", "1337"]);
    expect(uids.filter((l) => l.includes("uid-owner"))).toEqual([
      "-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --uid-owner 3 -j ISTIO_IN_REDIRECT",
      "-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 3 -j RETURN",
      "-A ISTIO_OUTPUT -m owner --uid-owner 3 -j RETURN",
      "-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --uid-owner 4 -j ISTIO_IN_REDIRECT",
      "-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 4 -j RETURN",
      "-A ISTIO_OUTPUT -m owner --uid-owner 4 -j RETURN",
    ]);
  });

  it("-b '' captures no inbound traffic; -b PORTS captures only those ports (istio golden inbound-ports-include)", () => {
    const inbound = [
      "-A PREROUTING -p tcp -j ISTIO_INBOUND",
      "-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN",
      "-A ISTIO_INBOUND -p tcp --dport 15021 -j RETURN",
      "-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN",
      "-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT",
    ];
    expect(dryRun(["-b", ""])).toEqual(without(ISTIO_DEFAULT_REDIRECT, ...inbound));
    const only = without(ISTIO_DEFAULT_REDIRECT, ...inbound.slice(1));
    expect(dryRun(["-b", "32000,31000"])).toEqual(
      after(
        only,
        "-A PREROUTING -p tcp -j ISTIO_INBOUND",
        "-A ISTIO_INBOUND -p tcp --dport 32000 -j ISTIO_IN_REDIRECT",
        "-A ISTIO_INBOUND -p tcp --dport 31000 -j ISTIO_IN_REDIRECT",
      ),
    );
  });

  it("-d adds the user's inbound exclusions after Istio's three, which are always there", () => {
    expect(dryRun(["-d", "8081,15020,22"])).toEqual(
      after(
        ISTIO_DEFAULT_REDIRECT,
        "-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN",
        "-A ISTIO_INBOUND -p tcp --dport 8081 -j RETURN",
        "-A ISTIO_INBOUND -p tcp --dport 22 -j RETURN",
      ),
    );
  });

  it("-i '' captures no outbound traffic; -i CIDRS captures only those (istio golden ip-range)", () => {
    expect(dryRun(["-i", ""])).toEqual(without(ISTIO_DEFAULT_REDIRECT, "-A ISTIO_OUTPUT -j ISTIO_REDIRECT"));
    expect(dryRun(["-i", "9.9.0.0/16,10.0.0.0/8"])).toEqual(
      replaced(
        ISTIO_DEFAULT_REDIRECT,
        "-A ISTIO_OUTPUT -j ISTIO_REDIRECT",
        "-A ISTIO_OUTPUT -d 9.9.0.0/16 -j ISTIO_REDIRECT",
        "-A ISTIO_OUTPUT -d 10.0.0.0/8 -j ISTIO_REDIRECT",
      ),
    );
  });

  it("-i with a loopback CIDR drops the 'app to itself over lo' RETURNs (istio golden loopback-outbound-iprange)", () => {
    expect(dryRun(["-i", "127.1.2.3/32"])).toEqual(
      replaced(
        without(
          ISTIO_DEFAULT_REDIRECT,
          "-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN",
          "-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN",
        ),
        "-A ISTIO_OUTPUT -j ISTIO_REDIRECT",
        "-A ISTIO_OUTPUT -d 127.1.2.3/32 -j ISTIO_REDIRECT",
      ),
    );
  });

  it("-x adds RETURNs right after the localhost RETURN", () => {
    expect(dryRun(["-x", "1.1.0.0/16, 10.96.0.0/12"])).toEqual(
      after(ISTIO_DEFAULT_REDIRECT, "-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN", "-A ISTIO_OUTPUT -d 1.1.0.0/16 -j RETURN", "-A ISTIO_OUTPUT -d 10.96.0.0/12 -j RETURN"),
    );
  });

  it("-q captures listed outbound ports before the CIDR rules (istio golden outbound-ports-include)", () => {
    expect(dryRun(["-q", "32000,31000"])).toEqual(
      before(
        ISTIO_DEFAULT_REDIRECT,
        "-A ISTIO_OUTPUT -j ISTIO_REDIRECT",
        "-A ISTIO_OUTPUT -p tcp --dport 32000 -j ISTIO_REDIRECT",
        "-A ISTIO_OUTPUT -p tcp --dport 31000 -j ISTIO_REDIRECT",
      ),
    );
  });

  it("-o returns TCP and UDP to those ports first thing in ISTIO_OUTPUT", () => {
    expect(dryRun(["-o", "9999"])).toEqual(
      after(ISTIO_DEFAULT_REDIRECT, "-A OUTPUT -j ISTIO_OUTPUT", "-A ISTIO_OUTPUT -p tcp --dport 9999 -j RETURN", "-A ISTIO_OUTPUT -p udp --dport 9999 -j RETURN"),
    );
  });

  it("-c short-circuits the interfaces in PREROUTING and OUTPUT before anything else (istio golden basic-exclude-nic)", () => {
    expect(dryRun(["-c", "not-istio-nic"])).toEqual(
      before(
        ISTIO_DEFAULT_REDIRECT,
        "-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN",
        "-A PREROUTING -i not-istio-nic -j RETURN",
        "-A OUTPUT -o not-istio-nic -j RETURN",
      ),
    );
  });

  it("-k treats the interfaces' inbound traffic as outbound (istio golden kube-virt-interfaces)", () => {
    expect(dryRun(["-k", "eth1,eth2"])).toEqual(
      after(
        before(ISTIO_DEFAULT_REDIRECT, "-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN", "-I PREROUTING 1 -i eth1 -j RETURN", "-I PREROUTING 1 -i eth2 -j RETURN"),
        "-A ISTIO_OUTPUT -j ISTIO_REDIRECT",
        "-I PREROUTING 1 -i eth1 -j ISTIO_REDIRECT",
        "-I PREROUTING 1 -i eth2 -j ISTIO_REDIRECT",
      ),
    );
    expect(dryRun(["-k", "eth1", "-i", "10.0.0.0/8"])).toEqual(
      replaced(
        before(ISTIO_DEFAULT_REDIRECT, "-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN", "-I PREROUTING 1 -i eth1 -j RETURN"),
        "-A ISTIO_OUTPUT -j ISTIO_REDIRECT",
        "-I PREROUTING 1 -i eth1 -d 10.0.0.0/8 -j ISTIO_REDIRECT",
        "-A ISTIO_OUTPUT -d 10.0.0.0/8 -j ISTIO_REDIRECT",
      ),
    );
  });

  it("ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR replaces 127.0.0.1/32 where istio-iptables uses it", () => {
    const r = run(["--dry-run", "--ipv6", "false"], { ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR: "127.0.0.0/8" });
    const lines = r.stdout.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    expect(lines).toEqual(ISTIO_DEFAULT_REDIRECT.map((l) => l.replace("127.0.0.1/32", "127.0.0.0/8")));
  });
});

describe("--dry-run, TPROXY", () => {
  it("-m TPROXY moves inbound capture to mangle with ISTIO_DIVERT/ISTIO_TPROXY, mark 1337, and prints the table-133 routing", () => {
    expect(dryRun(["-m", "TPROXY"])).toEqual(ISTIO_TPROXY);
    const r = run(["--dry-run", "--ipv6", "false", "-m", "TPROXY"]);
    expect(r.stdout.split("\n").filter((l) => l.startsWith("# ip "))).toEqual([
      "# ip -4 rule add fwmark 1337 lookup 133",
      "# ip -4 route replace local 0.0.0.0/0 dev lo table 133",
    ]);
  });

  it("-t and -r change the mark and the routing table; 1338 (the proxy's outbound mark) stays", () => {
    const lines = dryRun(["-m", "TPROXY", "-t", "7", "-r", "70"]);
    expect(lines).toEqual(ISTIO_TPROXY.map((l) => l.replaceAll("1337/0x", "7/0x").replace(/--mark 1337\b/, "--mark 7").replace(/--set-mark 1337$/, "--set-mark 7")));
    const r = run(["--dry-run", "--ipv6", "false", "-m", "TPROXY", "-t", "7", "-r", "70"]);
    expect(r.stdout).toContain("# ip -4 rule add fwmark 7 lookup 70\n");
  });

  it("-c in TPROXY mode also short-circuits the mangle table (istio golden tproxy)", () => {
    const lines = dryRun(["-m", "TPROXY", "-c", "not-istio-nic"]);
    expect(lines.slice(0, 6)).toEqual(["* mangle", "-N ISTIO_DIVERT", "-N ISTIO_TPROXY", "-N ISTIO_INBOUND", "-A PREROUTING -i not-istio-nic -j RETURN", "-A OUTPUT -o not-istio-nic -j RETURN"]);
    const nat = lines.slice(lines.indexOf("* nat"));
    expect(nat.slice(5, 7)).toEqual(["-A PREROUTING -i not-istio-nic -j RETURN", "-A OUTPUT -o not-istio-nic -j RETURN"]);
  });
});

describe("--dry-run, IPv6", () => {
  function sections(args: string[]): { v4: string[]; v6: string[]; ip: string[] } {
    const r = run(["--dry-run", "--ipv6", "true", ...args]);
    expect(r.status).toBe(0);
    const lines = r.stdout.split("\n").filter((l) => l !== "");
    const v6At = lines.indexOf("# IPv6: ip6tables-restore --noflush");
    expect(lines[0]).toBe("# IPv4: iptables-restore --noflush");
    expect(v6At).toBeGreaterThan(0);
    return {
      v4: lines.slice(1, v6At),
      v6: lines.slice(v6At + 1).filter((l) => !l.startsWith("#")),
      ip: lines.filter((l) => l.startsWith("# ip ")),
    };
  }

  it("ip6tables gets the same rules with ::6/128 and ::1/128 (istio golden ipv6-*), and ::6 is added on lo", () => {
    const { v4, v6, ip } = sections([]);
    expect(v4).toEqual(ISTIO_DEFAULT_REDIRECT);
    expect(v6).toEqual(ISTIO_DEFAULT_REDIRECT.map((l) => l.replace("127.0.0.6/32", "::6/128").replace("127.0.0.1/32", "::1/128")));
    expect(ip).toEqual(["# ip -6 addr replace ::6/128 dev lo"]);
  });

  it("CIDRs go to the family they belong to", () => {
    const { v4, v6 } = sections(["-i", "10.0.0.0/8,fd00::/8", "-x", "10.1.0.0/16,fd00:1::/32"]);
    expect(v4.filter((l) => l.includes("-d 10.") || l.includes("-d fd"))).toEqual(["-A ISTIO_OUTPUT -d 10.1.0.0/16 -j RETURN", "-A ISTIO_OUTPUT -d 10.0.0.0/8 -j ISTIO_REDIRECT"]);
    expect(v6.filter((l) => l.includes("-d 10.") || l.includes("-d fd"))).toEqual(["-A ISTIO_OUTPUT -d fd00:1::/32 -j RETURN", "-A ISTIO_OUTPUT -d fd00::/8 -j ISTIO_REDIRECT"]);
  });

  it("TPROXY over IPv6 uses ::1/128, ::6/128 and the IPv6 policy route (istio golden tproxy)", () => {
    const { v6, ip } = sections(["-m", "TPROXY"]);
    expect(v6).toContain("-A ISTIO_TPROXY ! -d ::1/128 -p tcp -j TPROXY --tproxy-mark 1337/0xffffffff --on-port 15006");
    expect(v6).toContain("-I ISTIO_INBOUND 2 -p tcp -s ::6/128 -i lo -j RETURN");
    expect(ip).toEqual([
      "# ip -6 addr replace ::6/128 dev lo",
      "# ip -4 rule add fwmark 1337 lookup 133",
      "# ip -4 route replace local 0.0.0.0/0 dev lo table 133",
      "# ip -6 rule add fwmark 1337 lookup 133",
      "# ip -6 route replace local ::/0 dev lo table 133",
    ]);
  });

  it("--ipv6 false prints no IPv6 section; ENABLE_INBOUND_IPV6 sets the default", () => {
    expect(run(["--dry-run", "--ipv6", "false"]).stdout).not.toContain("IPv6");
    expect(run(["--dry-run"], { ENABLE_INBOUND_IPV6: "true" }).stdout).toContain("# IPv6: ip6tables-restore --noflush");
    expect(run(["--dry-run"], { ENABLE_INBOUND_IPV6: "false" }).stdout).not.toContain("IPv6");
  });
});

describe("usage errors exit 2 and name the problem", () => {
  const cases: Array<[string[], string]> = [
    [["-p", "0"], '-p: "0" is not a port'],
    [["-p", "70000"], '-p: "70000" is not a port'],
    [["-z", "abc"], '-z: "abc" is not a port'],
    [["-m", "TPROXYY"], '-m: "TPROXYY" is not REDIRECT or TPROXY'],
    [["-u", "istio-proxy"], '-u: "istio-proxy" is not a numeric id'],
    [["-u", ""], "-u: needs at least one id"],
    [["-g", "-1"], '-g: "-1" is not a numeric id'],
    [["-b", "80,http"], '-b: "http" is not a port'],
    [["-d", "99999"], '-d: "99999" is not a port'],
    [["-i", "10.0.0.0"], '-i: "10.0.0.0" is not a CIDR'],
    [["-i", "10.0.0.300/8"], '-i: "10.0.0.300/8" is not a CIDR'],
    [["-x", "*"], "-x: '*' is not allowed"],
    [["-x", "fd00::/129"], '-x: "fd00::/129" is not a CIDR'],
    [["-q", "x"], '-q: "x" is not a port'],
    [["-o", "1-2"], '-o: "1-2" is not a port'],
    [["-c", "eth0/1"], '-c: "eth0/1" is not an interface name'],
    [["-k", "waytoolonginterfacename"], '-k: "waytoolonginterfacename" is not an interface name'],
    [["-t", "0"], '-t: "0" is not a packet mark'],
    [["-r", "x"], '-r: "x" is not a routing table id'],
    [["--ipv6", "yes"], '--ipv6: "yes" is not auto, true or false'],
    [["--iptables-backend", "ebpf"], '--iptables-backend: "ebpf" is not auto, nft or legacy'],
    [["--frobnicate"], "unknown flag: --frobnicate"],
    [["-p"], "flag -p needs a value"],
    [["--cleanup", "--dry-run"], "--cleanup and --dry-run cannot be combined"],
  ];
  it.each(cases)("%j", (args, message) => {
    const r = run(args.includes("--dry-run") ? args : ["--dry-run", ...args]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain("Run 'outrigger-iptables --help' for usage.");
  });

  it("a bad ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR is a usage error", () => {
    const r = run(["--dry-run"], { ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR: "10.0.0.1/32" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("is not an IPv4 loopback CIDR");
  });
});

it("--help lists the flags, their defaults and the exit codes", () => {
  const r = run(["--help"]);
  expect(r.status).toBe(0);
  for (const s of ["-p, --envoy-port", "(default 15001)", "-z, --inbound-capture-port", "(default 15006)", "(default 1337)", "--dry-run", "--cleanup", "--iptables-backend", "15090,15021,15020"]) {
    expect(r.stdout).toContain(s);
  }
  expect(r.stdout).toContain("Exit codes: 0 done; 1 iptables/ip failed; 2 usage error; 3 not permitted (needs NET_ADMIN / root);\n4 a required tool");
});

describe("errors from the environment (stub binaries, no root needed)", () => {
  let dir: string;
  let emptyDir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "outrigger-iptables-stub-"));
    emptyDir = await mkdtemp(join(tmpdir(), "outrigger-iptables-empty-"));
    // An iptables-nft that answers like the real one does without CAP_NET_ADMIN.
    const denied = `#!${bash}\nif [ "$1" = --version ]; then echo "iptables v1.8.9 (nf_tables)"; exit 0; fi\necho "iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)" >&2\nexit 4\n`;
    for (const name of ["iptables-nft", "iptables-nft-save", "iptables-nft-restore"]) {
      await writeFile(join(dir, name), denied);
      await chmod(join(dir, name), 0o755);
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(emptyDir, { recursive: true, force: true });
  });

  it("--dry-run needs no iptables binary at all", () => {
    const r = run(["--dry-run", "--ipv6", "false"], { PATH: emptyDir });
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual(ISTIO_DEFAULT_REDIRECT);
  });

  it("no iptables in PATH: exit 4, naming the package", () => {
    const r = run(["--ipv6", "false"], { PATH: emptyDir });
    expect(r.status).toBe(4);
    expect(r.stderr).toContain("outrigger-iptables: error: iptables not found in PATH (install the iptables package");
  });

  it("a forced backend that is not installed: exit 4", () => {
    const r = run(["--ipv6", "false", "--iptables-backend", "legacy"], { PATH: emptyDir });
    expect(r.status).toBe(4);
    expect(r.stderr).toContain("iptables-legacy not found in PATH");
  });

  it("not permitted: exit 3 with 'needs the NET_ADMIN capability'", () => {
    const r = run(["--ipv6", "false"], { PATH: dir });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain("not permitted: outrigger-iptables needs the NET_ADMIN capability (run as root");
  });

  it("--ipv6 true without ip6tables: exit 4; --ipv6 auto would skip IPv6 instead", () => {
    const r = run(["--ipv6", "true"], { PATH: dir });
    expect(r.status).toBe(4);
    expect(r.stderr).toContain("ip6tables-nft not found in PATH (needed by --ipv6 true)");
  });

  it("iptables-restore failing: exit 1 with its message", async () => {
    const failing = await mkdtemp(join(tmpdir(), "outrigger-iptables-failing-"));
    try {
      // save/list work, the restore is refused (as when a kernel lacks the REDIRECT target)
      const stub = `#!${bash}\ncase "\${0##*/}" in\n  *-restore) while read -r _; do :; done; echo "iptables-restore v1.8.9 (nf_tables): line 6 failed: No chain/target/match by that name" >&2; exit 1 ;;\n  *-save) echo "# empty" ;;\n  *) [ "$1" = --version ] && echo "iptables v1.8.9 (nf_tables)"; exit 0 ;;\nesac\n`;
      for (const name of ["iptables-nft", "iptables-nft-save", "iptables-nft-restore"]) {
        await writeFile(join(failing, name), stub);
        await chmod(join(failing, name), 0o755);
      }
      const r = run(["--ipv6", "false"], { PATH: failing });
      expect(r.stderr).toContain("outrigger-iptables: error: iptables-nft-restore failed: iptables-restore v1.8.9 (nf_tables): line 6 failed: No chain/target/match by that name");
      expect(r.status).toBe(1);
    } finally {
      await rm(failing, { recursive: true, force: true });
    }
  });

  it("TPROXY needs ip (iproute2): exit 4", () => {
    const r = run(["--ipv6", "false", "-m", "TPROXY"], { PATH: dir });
    expect(r.status).toBe(4);
    expect(r.stderr).toContain("ip not found in PATH (install iproute2): needed for TPROXY routing");
  });
});
