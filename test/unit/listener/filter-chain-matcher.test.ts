import { describe, expect, it } from "vitest";
import type { FilterChain, FilterChainMatch } from "../../../src/config/model/types.js";
import type { ConnectionInfo } from "../../../src/listener/connection-info.js";
import { FilterChainMatcher } from "../../../src/listener/filter-chain-matcher.js";

function chain(name: string, filterChainMatch: FilterChainMatch): FilterChain {
  return { name, filterChainMatch, filters: [] };
}

function conn(over: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return {
    remoteIp: "10.1.2.3",
    remotePort: 40000,
    directRemoteIp: over.remoteIp ?? "10.1.2.3",
    localIp: "10.0.0.5",
    localPort: 8080,
    serverName: "",
    transportProtocol: "raw_buffer",
    applicationProtocols: [],
    ...over,
  };
}

function pick(chains: FilterChain[], c: ConnectionInfo, def?: FilterChain): string | undefined {
  return new FilterChainMatcher(chains, def).select(c)?.name;
}

describe("FilterChainMatcher (Envoy's selection order)", () => {
  it("one chain without criteria takes every connection", () => {
    expect(pick([chain("all", {})], conn())).toBe("all");
  });

  it("destination port: an exact port beats a chain without one; another port never matches", () => {
    const chains = [chain("any", {}), chain("p8080", { destinationPort: 8080 }), chain("p9090", { destinationPort: 9090 })];
    expect(pick(chains, conn({ localPort: 8080 }))).toBe("p8080");
    expect(pick(chains, conn({ localPort: 7000 }))).toBe("any");
    expect(pick([chain("p9090", { destinationPort: 9090 })], conn({ localPort: 8080 }))).toBeUndefined();
  });

  it("destination IP: the longest matching prefix wins; IPv4-mapped IPv6 addresses match IPv4 ranges", () => {
    const chains = [
      chain("wide", { prefixRanges: [{ addressPrefix: "10.0.0.0", prefixLen: 8 }] }),
      chain("narrow", { prefixRanges: [{ addressPrefix: "10.0.0.0", prefixLen: 24 }] }),
      chain("none", {}),
    ];
    expect(pick(chains, conn({ localIp: "10.0.0.5" }))).toBe("narrow");
    expect(pick(chains, conn({ localIp: "10.9.0.5" }))).toBe("wide");
    expect(pick(chains, conn({ localIp: "192.168.1.1" }))).toBe("none");
    expect(pick(chains, conn({ localIp: "::ffff:10.0.0.7" }))).toBe("narrow");
    expect(pick([chain("v6", { prefixRanges: [{ addressPrefix: "fd00::", prefixLen: 8 }] })], conn({ localIp: "fd12::1" }))).toBe("v6");
  });

  it("server names: exact beats the longest wildcard suffix, which beats a shorter one and no names", () => {
    const chains = [
      chain("exact", { serverNames: ["api.example.com"] }),
      chain("wild", { serverNames: ["*.example.com"] }),
      chain("wilder", { serverNames: ["*.com"] }),
      chain("none", {}),
    ];
    expect(pick(chains, conn({ serverName: "api.example.com" }))).toBe("exact");
    expect(pick(chains, conn({ serverName: "www.example.com" }))).toBe("wild");
    expect(pick(chains, conn({ serverName: "other.com" }))).toBe("wilder");
    expect(pick(chains, conn({ serverName: "" }))).toBe("none");
    expect(pick(chains, conn({ serverName: "API.Example.COM" }))).toBe("exact");
  });

  it("transport protocol and application protocols (istiod's plaintext HTTP chain)", () => {
    const chains = [
      chain("http", { transportProtocol: "raw_buffer", applicationProtocols: ["http/1.1", "h2c"] }),
      chain("tcp", { transportProtocol: "raw_buffer" }),
      chain("tls", { transportProtocol: "tls" }),
    ];
    expect(pick(chains, conn({ applicationProtocols: ["http/1.1"] }))).toBe("http");
    expect(pick(chains, conn({ applicationProtocols: [] }))).toBe("tcp");
    expect(pick(chains, conn({ transportProtocol: "tls" }))).toBe("tls");
  });

  it("direct source IP, source type, source IP and source port, in that order", () => {
    const chains = [
      chain("local", { sourceType: "SAME_IP_OR_LOOPBACK" }),
      chain("external", { sourceType: "EXTERNAL" }),
    ];
    expect(pick(chains, conn({ remoteIp: "127.0.0.1", directRemoteIp: "127.0.0.1" }))).toBe("local");
    expect(pick(chains, conn({ remoteIp: "10.0.0.5", directRemoteIp: "10.0.0.5", localIp: "10.0.0.5" }))).toBe("local");
    expect(pick(chains, conn())).toBe("external");
    const bySource = [chain("net", { sourcePrefixRanges: [{ addressPrefix: "10.1.0.0", prefixLen: 16 }] }), chain("port", { sourcePorts: [40000] })];
    // Source IP is looked at before source port: the prefix match wins.
    expect(pick(bySource, conn())).toBe("net");
    expect(pick(bySource, conn({ remoteIp: "172.16.0.1", directRemoteIp: "172.16.0.1" }))).toBe("port");
    expect(pick(bySource, conn({ remoteIp: "172.16.0.1", directRemoteIp: "172.16.0.1", remotePort: 1 }))).toBeUndefined();
  });

  it("never backtracks: the most specific branch failing later falls to the default chain, not a looser chain", () => {
    const chains = [chain("port-and-sni", { destinationPort: 8080, serverNames: ["a.example.com"] }), chain("loose", {})];
    const def = chain("default", {});
    expect(pick(chains, conn({ serverName: "b.example.com" }), def)).toBe("default");
    expect(pick(chains, conn({ serverName: "b.example.com" }))).toBeUndefined();
    expect(pick(chains, conn({ serverName: "a.example.com" }), def)).toBe("port-and-sni");
  });

  it("refuses an invalid CIDR with the chain and field in the message", () => {
    expect(() => new FilterChainMatcher([chain("bad", { prefixRanges: [{ addressPrefix: "10.0.0.300", prefixLen: 8 }] })])).toThrow(/filter chain bad: filterChainMatch.prefixRanges: invalid CIDR address/);
    expect(() => new FilterChainMatcher([chain("bad", { sourcePrefixRanges: [{ addressPrefix: "10.0.0.0", prefixLen: 33 }] })])).toThrow(/sourcePrefixRanges: invalid CIDR prefix length 33/);
  });
});
