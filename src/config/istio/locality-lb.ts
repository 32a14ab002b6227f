// Locality-aware load balancing as istiod's loadbalancer.go applies it to one cluster's endpoints
// for one proxy: `distribute` weights, or (only with outlier detection) failover priorities by
// locality match, `failover` from/to regions and `failoverPriority` labels.

import type { Locality, LocalityLbEndpoints } from "../model/types.js";
import type { LoadBalancerSettings } from "./istio-traffic-policy.js";

export type LocalityLbSetting = NonNullable<LoadBalancerSettings["localityLbSetting"]>;

/** The mesh default (meshConfig.localityLbSetting): enabled, no failover rules, no distribute. */
const MESH_DEFAULT: LocalityLbSetting = { enabled: true };

/** istiod GetLocalityLbSetting: the DR's setting unless it disables locality LB, else the mesh default. */
export function effectiveLocalityLbSetting(dr: LocalityLbSetting | undefined): LocalityLbSetting | undefined {
  if (dr) return dr.enabled === false ? undefined : dr;
  return MESH_DEFAULT;
}

export interface LocalityLbInput {
  proxyLocality: Locality;
  proxyLabels: Record<string, string>;
  setting: LocalityLbSetting | undefined;
  /** Failover needs outlier detection: without it Envoy never drops to a lower priority. */
  outlierDetection: boolean;
  /** istiod applies failoverPriority to EDS clusters only (a TODO for STRICT_DNS). */
  failoverPriorityApplies: boolean;
}

/** istiod applyLocalityLoadBalancer's locality_weighted_lb_config condition. */
export function usesLocalityWeightedLb(setting: LocalityLbSetting | undefined, outlierDetection: boolean): boolean {
  if (!setting) return false;
  if ((setting.distribute?.length ?? 0) > 0) return true;
  return outlierDetection && ((setting.failover?.length ?? 0) > 0 || (setting.failoverPriority?.length ?? 0) > 0);
}

/** Returns the endpoints with priorities / weights set (new objects; the input is not changed). */
export function applyLocalityLb(groups: LocalityLbEndpoints[], input: LocalityLbInput): LocalityLbEndpoints[] {
  const { setting } = input;
  let out = groups.map((g) => ({ ...g, lbEndpoints: [...g.lbEndpoints] }));
  if (!setting) return out;
  if ((setting.distribute?.length ?? 0) > 0) {
    applyLocalityWeights(input.proxyLocality, out, setting.distribute ?? []);
  } else if (input.outlierDetection) {
    const fp = setting.failoverPriority ?? [];
    if (fp.length > 0) {
      if (input.failoverPriorityApplies) out = applyFailoverPriorities(out, augmentLabels(input.proxyLabels, input.proxyLocality), fp);
      if ((setting.failover?.length ?? 0) > 0) applyLocalityFailover(input.proxyLocality, out, setting.failover ?? []);
    } else {
      applyLocalityFailover(input.proxyLocality, out, setting.failover ?? []);
    }
  }
  return out;
}

function split(rule: string): [string, string, string] {
  const [r = "", z = "", s = ""] = rule.split("/");
  return [r, z, s];
}

/** istiod util.LocalityMatch: `*` or an absent zone/subzone in the rule matches anything. */
export function localityMatch(l: Locality, rule: string): boolean {
  const [r, z, s] = split(rule);
  const region = r === "*" || (l.region ?? "") === r;
  const zone = z === "*" || z === "" || (l.zone ?? "") === z;
  const subZone = s === "*" || s === "" || (l.subZone ?? "") === s;
  return region && zone && subZone;
}

/** istiod util.LbPriority: 0 same subzone, 1 same zone, 2 same region, 3 elsewhere. */
export function lbPriority(proxy: Locality, ep: Locality): number {
  if ((proxy.region ?? "") !== (ep.region ?? "")) return 3;
  if ((proxy.zone ?? "") !== (ep.zone ?? "")) return 2;
  if ((proxy.subZone ?? "") !== (ep.subZone ?? "")) return 1;
  return 0;
}

function applyLocalityWeights(proxy: Locality, groups: LocalityLbEndpoints[], distribute: NonNullable<LocalityLbSetting["distribute"]>): void {
  const rule = distribute.find((d) => localityMatch(proxy, d.from));
  if (!rule) return;
  const misMatched = new Set(groups.map((_, i) => i));
  // istiod walks `to` in Go map order (random); declared order here, so the result is stable.
  for (const [loc, weight] of Object.entries(rule.to)) {
    const dest = new Map<number, number>();
    let total = 0;
    groups.forEach((g, i) => {
      if (!misMatched.has(i) || !localityMatch(g.locality, loc)) return;
      misMatched.delete(i);
      const w = g.loadBalancingWeight ?? 1;
      dest.set(i, w);
      total += w;
    });
    // A wildcard `to` matching several localities shares its weight in proportion to theirs.
    for (const [i, w] of dest) {
      const share = (w * weight) / total;
      if (share > 0) (groups[i] as LocalityLbEndpoints).loadBalancingWeight = Math.ceil(share);
    }
  }
  // Localities the rule does not name get no traffic (istiod empties them).
  for (const i of misMatched) (groups[i] as LocalityLbEndpoints).lbEndpoints = [];
}

function applyLocalityFailover(proxy: Locality, groups: LocalityLbEndpoints[], failover: NonNullable<LocalityLbSetting["failover"]>): void {
  const raw = groups.map((g) => {
    let p = lbPriority(proxy, g.locality);
    if (p === 3) {
      const f = failover.find((x) => x.from === (proxy.region ?? ""));
      // Another region than the one failover names comes last.
      if (f && (g.locality.region ?? "") !== f.to) p = 4;
    }
    // Keeps failoverPriority's order: at most 5 locality levels fit under each of its priorities.
    return g.priority * 5 + p;
  });
  compact(groups, raw);
}

/** Priorities 0..N without gaps, order kept (Envoy requires contiguous priorities). */
function compact(groups: LocalityLbEndpoints[], raw: number[]): void {
  const sorted = [...new Set(raw)].sort((a, b) => a - b);
  groups.forEach((g, i) => (g.priority = sorted.indexOf(raw[i] as number)));
}

/** The topology labels istiod adds to endpoints and proxies (AugmentLabels) from their locality. */
export function augmentLabels(labels: Record<string, string>, l: Locality): Record<string, string> {
  const out = { ...labels };
  if (l.region) out["topology.kubernetes.io/region"] = l.region;
  if (l.zone) out["topology.kubernetes.io/zone"] = l.zone;
  if (l.subZone) out["topology.istio.io/subzone"] = l.subZone;
  return out;
}

function applyFailoverPriorities(groups: LocalityLbEndpoints[], proxyLabels: Record<string, string>, failoverPriority: string[]): LocalityLbEndpoints[] {
  if (Object.keys(proxyLabels).length === 0 || groups.length === 0) return groups;
  const labels: string[] = [];
  const overrides = new Map<string, string>();
  for (const entry of failoverPriority) {
    const parts = entry.split("=");
    labels.push(parts[0] as string);
    if (parts.length === 2) overrides.set(parts[0] as string, parts[1] as string);
  }
  const lowest = failoverPriority.length;
  const out: LocalityLbEndpoints[] = [];
  for (const g of groups) {
    const byPriority = new Map<number, LocalityLbEndpoints["lbEndpoints"]>();
    for (const ep of g.lbEndpoints) {
      const epLabels = augmentLabels(ep.labels, g.locality);
      let p = 0;
      for (let j = 0; j < labels.length; j++) {
        const label = labels[j] as string;
        const want = overrides.get(label) ?? proxyLabels[label] ?? "";
        if (want !== (epLabels[label] ?? "")) {
          p = lowest - j;
          break;
        }
      }
      const list = byPriority.get(p) ?? [];
      list.push(ep);
      byPriority.set(p, list);
    }
    for (const p of [...byPriority.keys()].sort((a, b) => a - b)) {
      const eps = byPriority.get(p) ?? [];
      out.push({ locality: { ...g.locality }, priority: p, loadBalancingWeight: eps.reduce((s, e) => s + e.weight, 0), lbEndpoints: eps });
    }
  }
  compact(out, out.map((g) => g.priority));
  return out;
}
