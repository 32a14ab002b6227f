// Envoy's upgrade_configs (HttpConnectionManager.UpgradeConfig and RouteAction.UpgradeConfig) →
// the model's UpgradeConfig list: which upgrade types (websocket, …) pass, per connection manager
// and per route.

import type { UpgradeConfig } from "../model/types.js";
import { at, bool, checkFields, list, obj, str, type DecodeState } from "./decode-common.js";

/**
 * upgrade_configs of a connection manager (or of a route, with connect_config): each upgrade type
 * once (Envoy refuses duplicates), `enabled` kept only when written. CONNECT stays in the model
 * for config_dump; Outrigger does not proxy CONNECT (HBONE), so it enables nothing.
 */
export function upgradeConfigs(v: unknown, path: string, st: DecodeState, route: boolean): UpgradeConfig[] | undefined {
  const items = list(v, path, st);
  if (items.length === 0) return undefined;
  const out: UpgradeConfig[] = [];
  const seen = new Set<string>();
  items.forEach((x, i) => {
    const p = at(path, i);
    const u = obj(x, p, st);
    if (u === undefined) return;
    if (route) checkFields(u, p, st, ["upgrade_type", "enabled", "connect_config"]);
    else checkFields(u, p, st, ["upgrade_type", "enabled"], {}, { filters: "per-upgrade filter chains are not supported: the connection manager's filters apply" });
    const type = str(u.upgrade_type, at(p, "upgrade_type"), st);
    if (type === undefined || type === "") {
      if (u.upgrade_type === undefined || type === "") st.error(at(p, "upgrade_type"), "an upgrade type is required");
      return;
    }
    const key = type.toLowerCase();
    if (seen.has(key)) return void st.error(at(p, "upgrade_type"), `upgrade type ${JSON.stringify(type)} is configured more than once`);
    seen.add(key);
    const c: UpgradeConfig = { upgradeType: type };
    const enabled = bool(u.enabled, at(p, "enabled"), st);
    if (enabled !== undefined) c.enabled = enabled;
    if (key === "connect") st.note(at(p, "upgrade_type"), "CONNECT requests are not proxied by Outrigger (HBONE termination is not supported)");
    else if (u.connect_config !== undefined) st.note(at(p, "connect_config"), "connect_config applies to CONNECT upgrades only; ignored");
    out.push(c);
  });
  return out;
}
