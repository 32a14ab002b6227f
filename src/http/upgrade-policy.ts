// Which HTTP upgrades (WebSocket, …) a request may make, as Envoy's
// HttpConnectionManagerConfig::createUpgradeFilterChain decides: the route's upgrade_configs
// first (an explicit `enabled: false` refuses, `true` allows even what the connection manager
// does not list), then the connection manager's list. Types compare case-insensitively.

import type { UpgradeConfig } from "../config/model/types.js";

/** A connection manager's upgrade_configs, compiled once per snapshot: lower-case type → allowed. */
export type UpgradePolicy = ReadonlyMap<string, boolean>;

const NONE: UpgradePolicy = new Map();

export function compileUpgradePolicy(configs: readonly UpgradeConfig[] | undefined): UpgradePolicy {
  if (configs === undefined || configs.length === 0) return NONE;
  const m = new Map<string, boolean>();
  for (const c of configs) m.set(c.upgradeType.toLowerCase(), c.enabled !== false);
  return m;
}

/** Whether `upgradeType` (the request's Upgrade header) may go through on this route. */
export function upgradeAllowed(hcm: UpgradePolicy, route: readonly UpgradeConfig[] | undefined, upgradeType: string): boolean {
  const type = upgradeType.toLowerCase();
  if (route !== undefined) {
    for (const r of route) {
      if (r.upgradeType.toLowerCase() !== type) continue;
      if (r.enabled === false) return false;
      return true;
    }
  }
  return hcm.get(type) === true;
}
