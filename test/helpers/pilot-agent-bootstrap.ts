// pilot-agent's rendered bootstrap (istio/istio pkg/bootstrap/testdata/default_golden.json, see
// test/fixtures/istio-dumps/README.md) with every fixed port rewritten to a test's free ones: tests
// never bind 15000/15020/15021/15090.

import { readFile } from "node:fs/promises";

export type BootstrapJson = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface BootstrapPorts {
  admin: number;
  /** The static 15021 listener (/healthz/ready → the agent). */
  health: number;
  /** The static 15090 listener (/stats/prometheus → admin). */
  stats: number;
  /** The `agent` cluster's port (pilot-agent's 15020). */
  agent: number;
}

export async function pilotAgentBootstrap(ports: BootstrapPorts): Promise<BootstrapJson> {
  const json = JSON.parse(await readFile(new URL("../fixtures/istio-dumps/bootstrap-default-golden.json", import.meta.url), "utf8")) as BootstrapJson;
  json.admin.address.socket_address.port_value = ports.admin;
  for (const l of json.static_resources.listeners) {
    l.address.socket_address.address = "127.0.0.1";
    l.address.socket_address.port_value = l.name === "0.0.0.0_15021" ? ports.health : ports.stats;
  }
  for (const c of json.static_resources.clusters) {
    const sa = c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
    if (c.name === "agent") sa.port_value = ports.agent;
    if (c.name === "prometheus_stats") sa.port_value = ports.admin;
  }
  return json;
}
