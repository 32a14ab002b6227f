// outrigger-iptables for real: each suite builds its own pair of network namespaces (a "pod" and a
// "peer" joined by a veth pair), runs the script inside the pod as an init container would, and
// proves with real sockets what is captured (outbound → 15001, inbound → 15006) and what is not
// (the proxy's uid/gid 1337, excluded ports and CIDRs, 15090/15021/15020, localhost), then that a
// second run changes nothing and --cleanup gives back the original iptables-save output.
//
// Needs root, iproute2 (ip netns), iptables (nft and legacy), util-linux (setpriv), socat (a
// transparent listener for TPROXY: Node cannot set IP_TRANSPARENT) and coreutils' timeout. A
// missing prerequisite FAILS the suite with a message naming it; OUTRIGGER_E2E_NETNS=0 skips it.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bash, inNs, must, optedOut, requirePrerequisites as require, script, sh, Topology } from "../helpers/netns.js";

if (optedOut) console.warn("iptables e2e skipped: OUTRIGGER_E2E_NETNS=0 (they need root, iproute2, iptables, util-linux, socat)");
const requirePrerequisites = (): void => require("iptables e2e");

const count = (text: string, line: string): number => text.split("\n").filter((l) => l === line).length;

/** Rules a pod might already have; --cleanup must leave them exactly as they were. */
async function seedUserRules(t: Topology, bin: "iptables" | "iptables-legacy" = "iptables"): Promise<void> {
  await must("ip", ["netns", "exec", t.pod, bin, "-t", "nat", "-A", "OUTPUT", "-d", "192.0.2.1/32", "-j", "RETURN"]);
  await must("ip", ["netns", "exec", t.pod, bin, "-t", "mangle", "-A", "PREROUTING", "-d", "192.0.2.2/32", "-j", "RETURN"]);
  await must("ip", ["netns", "exec", t.pod, bin, "-t", "filter", "-A", "INPUT", "-p", "tcp", "--dport", "7", "-j", "ACCEPT"]);
  if (bin === "iptables") await must("ip", ["netns", "exec", t.pod, "ip6tables", "-t", "nat", "-A", "OUTPUT", "-d", "2001:db8::1/128", "-j", "RETURN"]);
}

const POD_SERVERS: Array<[number, string]> = [
  [15001, "outbound"],
  [15006, "inbound"],
  [8080, "app"],
  [15090, "stats"],
  [15021, "health"],
  [15020, "status"],
];
const PEER_SERVERS: Array<[number, string]> = [
  [80, "peer"],
  [9999, "peer"],
];

describe.skipIf(optedOut)("outrigger-iptables in a network namespace: REDIRECT", () => {
  const t = new Topology("r");
  let before4 = "";
  let before6 = "";
  let installed4 = "";
  let installed6 = "";

  beforeAll(async () => {
    requirePrerequisites();
    await t.create();
    await t.serve(t.pod, POD_SERVERS);
    await t.serve(t.peer, PEER_SERVERS);
    await seedUserRules(t);
    before4 = await t.save(t.pod);
    before6 = await t.save(t.pod, "ip6tables-save");
    const r = await t.iptables(t.pod, ["-x", "10.98.0.1/32,fd98::1/128", "-o", "9999"]);
    expect(r.stderr).toContain("capture rules installed (REDIRECT, IPv6 on)");
    expect(r.code).toBe(0);
    installed4 = await t.save(t.pod);
    installed6 = await t.save(t.pod, "ip6tables-save");
  });
  afterAll(() => t.destroy());

  it("the app's outbound connection to 10.99.0.1:80 lands on 15001, original destination kept by conntrack", async () => {
    expect(await t.dial(t.pod, "10.99.0.1", 80)).toBe("outbound 127.0.0.1:15001 from 10.77.1.2");
    const conntrack = await inNs(t.pod, ["cat", "/proc/net/nf_conntrack"]);
    if (conntrack.code === 0) {
      expect(conntrack.stdout).toMatch(/src=10\.77\.1\.2 dst=10\.99\.0\.1 sport=\d+ dport=80 .*src=127\.0\.0\.1 dst=10\.77\.1\.2 sport=15001/);
    }
  });

  it("the proxy's own traffic (uid 1337, or gid 1337) is not captured: no loop", async () => {
    expect(await t.dial(t.pod, "10.99.0.1", 80, 1337)).toBe("peer 10.99.0.1:80 from 10.77.1.2");
    expect(await t.dial(t.pod, "10.99.0.1", 80, 1001, 1337)).toBe("peer 10.99.0.1:80 from 10.77.1.2");
  });

  it("excluded outbound ports (-o) and CIDRs (-x) bypass the proxy", async () => {
    expect(await t.dial(t.pod, "10.99.0.1", 9999)).toBe("peer 10.99.0.1:9999 from 10.77.1.2");
    expect(await t.dial(t.pod, "10.98.0.1", 80)).toBe("peer 10.98.0.1:80 from 10.77.1.2");
  });

  it("inbound from another namespace to the pod's IP:8080 lands on 15006; 15090, 15021, 15020 are not captured", async () => {
    expect(await t.dial(t.peer, t.podIp, 8080)).toBe("inbound 10.77.1.2:15006 from 10.77.1.1");
    expect(await t.dial(t.peer, t.podIp, 15090)).toBe("stats 10.77.1.2:15090 from 10.77.1.1");
    expect(await t.dial(t.peer, t.podIp, 15021)).toBe("health 10.77.1.2:15021 from 10.77.1.1");
    expect(await t.dial(t.peer, t.podIp, 15020)).toBe("status 10.77.1.2:15020 from 10.77.1.1");
  });

  it("loopback: localhost and the app's own pod IP are left alone; the proxy calling the pod IP goes through inbound", async () => {
    expect(await t.dial(t.pod, "127.0.0.1", 8080)).toBe("app 127.0.0.1:8080 from 127.0.0.1");
    expect(await t.dial(t.pod, t.podIp, 8080)).toBe("app 10.77.1.2:8080 from 10.77.1.2");
    // appN -> proxy (outbound) -> proxy calls the pod IP as 1337 -> ISTIO_IN_REDIRECT -> proxy (inbound)
    expect(await t.dial(t.pod, t.podIp, 8080, 1337)).toBe("inbound 127.0.0.1:15006 from 10.77.1.2");
  });

  it("IPv6: outbound to [fd99::1]:80 lands on 15001, inbound to [pod]:8080 on 15006, ::6 is on lo", async () => {
    expect(await t.dial(t.pod, "fd99::1", 80)).toBe("outbound ::1:15001 from fd77:1::2");
    expect(await t.dial(t.pod, "fd99::1", 80, 1337)).toBe("peer fd99::1:80 from fd77:1::2");
    expect(await t.dial(t.pod, "fd98::1", 80)).toBe("peer fd98::1:80 from fd77:1::2");
    expect(await t.dial(t.peer, t.podIp6, 8080)).toBe("inbound fd77:1::2:15006 from fd77:1::1");
    expect(await must("ip", ["-n", t.pod, "-6", "addr", "show", "dev", "lo"])).toContain("inet6 ::6/128");
  });

  it("running it again leaves one copy of everything", async () => {
    const again = await t.iptables(t.pod, ["-x", "10.98.0.1/32,fd98::1/128", "-o", "9999"]);
    expect(again.code).toBe(0);
    const save4 = await t.save(t.pod);
    expect(save4).toBe(installed4);
    expect(await t.save(t.pod, "ip6tables-save")).toBe(installed6);
    expect(count(save4, "-A OUTPUT -j ISTIO_OUTPUT")).toBe(1);
    expect(count(save4, "-A PREROUTING -p tcp -j ISTIO_INBOUND")).toBe(1);
    expect(count(save4, "-A ISTIO_OUTPUT -j ISTIO_REDIRECT")).toBe(1);
    expect(await t.dial(t.pod, "10.99.0.1", 80)).toBe("outbound 127.0.0.1:15001 from 10.77.1.2");
  });

  it("--cleanup gives back the original iptables-save output exactly, and traffic flows uncaptured", async () => {
    const r = await t.iptables(t.pod, ["--cleanup", "-x", "10.98.0.1/32,fd98::1/128", "-o", "9999"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("removed the capture rules");
    expect(await t.save(t.pod)).toBe(before4);
    expect(await t.save(t.pod, "ip6tables-save")).toBe(before6);
    expect(await t.dial(t.pod, "10.99.0.1", 80)).toBe("peer 10.99.0.1:80 from 10.77.1.2");
    expect(await t.dial(t.peer, t.podIp, 8080)).toBe("app 10.77.1.2:8080 from 10.77.1.1");
    // a second cleanup is a no-op
    expect((await t.iptables(t.pod, ["--cleanup"])).code).toBe(0);
    expect(await t.save(t.pod)).toBe(before4);
  });

  it("--cleanup after a run with other flags still removes every jump into the ISTIO_* chains", async () => {
    expect((await t.iptables(t.pod, ["-b", "8080", "-q", "80"])).code).toBe(0);
    expect((await t.iptables(t.pod, ["--cleanup"])).code).toBe(0);
    expect(await t.save(t.pod)).toBe(before4);
  });
});

describe.skipIf(optedOut)("outrigger-iptables in a network namespace: TPROXY", () => {
  const t = new Topology("t");
  let before4 = "";

  beforeAll(async () => {
    requirePrerequisites();
    await t.create();
    await t.serve(t.pod, POD_SERVERS.filter(([p]) => p !== 15006));
    await t.serveTransparent(t.pod, 15006, "tproxy");
    await t.serve(t.peer, PEER_SERVERS);
    await seedUserRules(t);
    before4 = await t.save(t.pod);
    const r = await t.iptables(t.pod, ["-m", "TPROXY", "--ipv6", "false"]);
    expect(r.stderr).toContain("capture rules installed (TPROXY, IPv6 off)");
    expect(r.code).toBe(0);
  });
  afterAll(() => t.destroy());

  it("installs ISTIO_DIVERT/ISTIO_TPROXY in mangle with mark 1337 and the fwmark 1337 → table 133 local route", async () => {
    const mangle = await must("ip", ["netns", "exec", t.pod, "iptables-save", "-t", "mangle"]);
    expect(mangle).toContain("-A ISTIO_DIVERT -j MARK --set-xmark 0x539/0xffffffff");
    expect(mangle).toMatch(/-A ISTIO_TPROXY ! -d 127\.0\.0\.1\/32 -p tcp -j TPROXY --on-port 15006 --on-ip 0\.0\.0\.0 --tproxy-mark 0x539\/0xffffffff/);
    expect(await must("ip", ["-n", t.pod, "rule", "show"])).toMatch(/from all fwmark 0x539 lookup 133/);
    expect(await must("ip", ["-n", t.pod, "route", "show", "table", "133"])).toContain("local default dev lo");
  });

  it("inbound to the pod's IP:8080 is delivered to the transparent listener on 15006 with the original destination as its local address", async () => {
    expect(await t.dial(t.peer, t.podIp, 8080)).toBe("tproxy 10.77.1.2 port 8080 from 10.77.1.1");
    expect(await t.dial(t.peer, t.podIp, 15021)).toBe("health 10.77.1.2:15021 from 10.77.1.1");
  });

  it("outbound is still REDIRECTed to 15001 and the proxy's own traffic bypasses it", async () => {
    expect(await t.dial(t.pod, "10.99.0.1", 80)).toBe("outbound 127.0.0.1:15001 from 10.77.1.2");
    expect(await t.dial(t.pod, "10.99.0.1", 80, 1337)).toBe("peer 10.99.0.1:80 from 10.77.1.2");
  });

  it("re-running keeps one copy of the rules and of the ip rule; --cleanup removes both", async () => {
    const installed = await t.save(t.pod);
    expect((await t.iptables(t.pod, ["-m", "TPROXY", "--ipv6", "false"])).code).toBe(0);
    expect(await t.save(t.pod)).toBe(installed);
    const rules = await must("ip", ["-n", t.pod, "rule", "show"]);
    expect(rules.split("\n").filter((l) => l.includes("fwmark 0x539 lookup 133"))).toHaveLength(1);
    expect((await t.iptables(t.pod, ["--cleanup", "-m", "TPROXY", "--ipv6", "false"])).code).toBe(0);
    expect(await t.save(t.pod)).toBe(before4);
    expect(await must("ip", ["-n", t.pod, "rule", "show"])).not.toContain("lookup 133");
    expect(await must("ip", ["-n", t.pod, "route", "show", "table", "133"])).toBe("");
  });
});

describe.skipIf(optedOut)("outrigger-iptables in a network namespace: backends and permissions", () => {
  const t = new Topology("b");

  beforeAll(async () => {
    requirePrerequisites();
    await t.create();
    await t.serve(t.pod, POD_SERVERS);
    await t.serve(t.peer, PEER_SERVERS);
  });
  afterAll(() => t.destroy());

  it("without NET_ADMIN (uid 65534) it exits 3 saying so, and changes nothing", async () => {
    const before = await t.save(t.pod);
    const r = await inNs(t.pod, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bash, script, "--ipv6", "false"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("not permitted: outrigger-iptables needs the NET_ADMIN capability");
    expect(await t.save(t.pod)).toBe(before);
  });

  it("picks iptables-legacy when legacy already holds the namespace's rules (as istio-iptables does), and cleans up there", async () => {
    await seedUserRules(t, "iptables-legacy");
    const before = await t.save(t.pod, "iptables-legacy-save");
    const r = await t.iptables(t.pod, ["--ipv6", "false"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("using iptables v");
    expect(r.stderr).toContain("(legacy)");
    expect(await t.save(t.pod, "iptables-legacy-save")).toContain("-A OUTPUT -j ISTIO_OUTPUT");
    expect(await t.save(t.pod, "iptables-nft-save")).not.toContain("ISTIO");
    expect(await t.dial(t.pod, "10.99.0.1", 80)).toBe("outbound 127.0.0.1:15001 from 10.77.1.2");
    expect((await t.iptables(t.pod, ["--cleanup", "--ipv6", "false"])).code).toBe(0);
    expect(await t.save(t.pod, "iptables-legacy-save")).toBe(before);
  });

  it("-c: traffic through an excluded interface is not captured, in or out", async () => {
    await seedUserRules(t); // nft tables exist before, as cleanup does not delete tables
    const before = await t.save(t.pod);
    expect((await t.iptables(t.pod, ["--ipv6", "false", "--iptables-backend", "nft", "-c", t.podIf])).code).toBe(0);
    expect(await t.dial(t.pod, "10.99.0.1", 80)).toBe("peer 10.99.0.1:80 from 10.77.1.2");
    expect(await t.dial(t.peer, t.podIp, 8080)).toBe("app 10.77.1.2:8080 from 10.77.1.1");
    // loopback is not excluded: the proxy calling the pod IP still reaches the inbound port
    expect(await t.dial(t.pod, t.podIp, 8080, 1337)).toBe("inbound 127.0.0.1:15006 from 10.77.1.2");
    expect((await t.iptables(t.pod, ["--cleanup", "--ipv6", "false", "--iptables-backend", "nft", "-c", t.podIf])).code).toBe(0);
    expect(await t.save(t.pod)).toBe(before);
  });

  it("--iptables-backend nft overrides the detection", async () => {
    const r = await t.iptables(t.pod, ["--ipv6", "false", "--iptables-backend", "nft"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("(nf_tables)");
    expect(await t.save(t.pod, "iptables-nft-save")).toContain("-A OUTPUT -j ISTIO_OUTPUT");
    expect(await t.save(t.pod, "iptables-legacy-save")).not.toContain("ISTIO");
    expect(await t.dial(t.pod, "10.99.0.1", 80)).toBe("outbound 127.0.0.1:15001 from 10.77.1.2");
    expect((await t.iptables(t.pod, ["--cleanup", "--ipv6", "false", "--iptables-backend", "nft"])).code).toBe(0);
    expect(await t.save(t.pod, "iptables-nft-save")).not.toContain("ISTIO");
  });
});

describe.skipIf(optedOut)("outrigger-iptables in a network namespace without IPv6", () => {
  const ns = `oi-v6off-${process.pid.toString(36)}`;
  beforeAll(async () => {
    requirePrerequisites();
    await must("ip", ["netns", "add", ns]);
    await must("ip", ["netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
  });
  afterAll(() => sh("ip", ["netns", "del", ns]));

  it("--ipv6 auto installs the IPv4 rules and skips IPv6 cleanly", async () => {
    const r = await inNs(ns, [bash, script]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("capture rules installed (REDIRECT, IPv6 off)");
    expect(r.stderr).not.toContain("ip6tables");
    expect(await must("ip", ["netns", "exec", ns, "iptables-save"])).toContain("-A OUTPUT -j ISTIO_OUTPUT");
    expect(await must("ip", ["netns", "exec", ns, "ip6tables-save"])).not.toContain("ISTIO");
  });
});
