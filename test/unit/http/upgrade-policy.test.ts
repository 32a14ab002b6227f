import { describe, expect, it } from "vitest";
import { compileUpgradePolicy, upgradeAllowed } from "../../../src/http/upgrade-policy.js";

describe("upgrade_configs (Envoy's createUpgradeFilterChain)", () => {
  const istio = compileUpgradePolicy([{ upgradeType: "websocket" }]);
  const none = compileUpgradePolicy(undefined);

  it("the connection manager's list, case-insensitively", () => {
    expect(upgradeAllowed(istio, undefined, "websocket")).toBe(true);
    expect(upgradeAllowed(istio, undefined, "WebSocket")).toBe(true);
    expect(upgradeAllowed(istio, undefined, "h2c")).toBe(false);
    expect(upgradeAllowed(none, undefined, "websocket")).toBe(false);
  });

  it("a connection manager entry with enabled: false does not allow its type", () => {
    expect(upgradeAllowed(compileUpgradePolicy([{ upgradeType: "websocket", enabled: false }]), undefined, "websocket")).toBe(false);
  });

  it("the route decides first: off wins over the connection manager, on allows what it does not list", () => {
    expect(upgradeAllowed(istio, [{ upgradeType: "WEBSOCKET", enabled: false }], "websocket")).toBe(false);
    expect(upgradeAllowed(none, [{ upgradeType: "websocket" }], "websocket")).toBe(true);
    expect(upgradeAllowed(none, [{ upgradeType: "websocket", enabled: true }], "WebSocket")).toBe(true);
    expect(upgradeAllowed(compileUpgradePolicy([{ upgradeType: "websocket", enabled: false }]), [{ upgradeType: "websocket", enabled: true }], "websocket")).toBe(true);
  });

  it("a route entry for another type leaves the connection manager's answer", () => {
    expect(upgradeAllowed(istio, [{ upgradeType: "custom", enabled: false }], "websocket")).toBe(true);
    expect(upgradeAllowed(istio, [{ upgradeType: "custom" }], "other")).toBe(false);
  });
});
