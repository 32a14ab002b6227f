// tcp_proxy through the real CLI (2 workers): a MYSQL-protocol ServiceEntry reached through a
// Sidecar egress TCP port, weighted by a VirtualService tcp route; the server speaks first.

import { connect } from "node:net";
import { createServer, type Server, type AddressInfo } from "node:net";
import { afterEach, expect, it } from "vitest";
import { startCli, tempDir, writeConfig, type CliProcess } from "../helpers/cli-process.js";
import { freePort } from "../helpers/upstreams.js";
import { join } from "node:path";

let cli: CliProcess | undefined;
const servers: Server[] = [];
afterEach(async () => {
  if (cli && cli.child.exitCode === null) {
    cli.kill("SIGKILL");
    await cli.exited;
  }
  cli = undefined;
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

/** A server-first upstream: greets with its name, then echoes. */
async function greeter(name: string): Promise<number> {
  const s = createServer((c) => {
    c.on("error", () => {});
    c.write(`hello from ${name}\n`);
    c.pipe(c);
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  servers.push(s);
  return (s.address() as AddressInfo).port;
}

function talk(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect({ host: "127.0.0.1", port });
    let got = "";
    c.on("data", (d) => {
      got += d.toString();
      if (got.includes("\n") && !got.includes("ping")) c.write("ping");
      if (got.endsWith("ping")) c.end();
    });
    c.on("close", () => resolve(got));
    c.on("error", reject);
  });
}

it("a Sidecar egress TCP port proxies a server-first protocol, weighted by a VirtualService tcp route", async () => {
  const v1 = await greeter("v1");
  const v2 = await greeter("v2");
  const listen = await freePort();
  const admin = await freePort();
  const dir = await tempDir();
  await writeConfig(
    dir,
    "mesh.yaml",
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: mysql, namespace: shop}
spec:
  hosts: [mysql.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: ${listen}, name: tcp-mysql, protocol: MYSQL}]
  endpoints:
  - {address: 127.0.0.1, ports: {tcp-mysql: ${v1}}, labels: {version: v1}}
  - {address: 127.0.0.1, ports: {tcp-mysql: ${v2}}, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: mysql, namespace: shop}
spec:
  host: mysql.shop.svc.cluster.local
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: mysql, namespace: shop}
spec:
  hosts: [mysql.shop.svc.cluster.local]
  tcp:
  - match: [{port: ${listen}}]
    route:
    - {destination: {host: mysql.shop.svc.cluster.local, subset: v2}, weight: 100}
    - {destination: {host: mysql.shop.svc.cluster.local, subset: v1}, weight: 0}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  egress:
  - port: {number: ${listen}, protocol: TCP, name: tcp-mysql}
    hosts: [shop/mysql.shop.svc.cluster.local]
`,
  );
  cli = startCli(["run", "--config", join(dir, "mesh.yaml"), "--namespace", "shop", "--workers", "2", "--admin-port", String(admin), "--health-port", "0", "--outbound", "off", "--no-watch"]);
  await cli.waitReady(admin);
  for (let i = 0; i < 4; i++) expect(await talk(listen)).toBe("hello from v2\nping");
  const dump = (await (await fetch(`http://127.0.0.1:${admin}/config_dump`)).json()) as unknown;
  expect(JSON.stringify(dump)).toContain("envoy.filters.network.tcp_proxy");
}, 30_000);
