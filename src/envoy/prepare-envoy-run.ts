// From Envoy's bootstrap to what `runProxy` needs: the Outrigger start-up settings and a
// supervisor fed by the bootstrap's static resources and, with dynamic_resources, its xDS client.
// Shared by `outrigger-envoy` and `outrigger run --bootstrap`.

import type { Bootstrap } from "../bootstrap/bootstrap.js";
import type { Logger } from "../common/logger.js";
import type { DecodeContext, Json } from "../config/envoy/decoded.js";
import { decodeResource } from "../config/envoy/decode-resource.js";
import { anyToJson } from "../config/envoy/proto-json.js";
import type { ConfigSource } from "../config/source/config-source.js";
import type { Supervisor } from "../supervisor/supervisor-api.js";
import type { XdsSourceOptions } from "../xds/xds-options.js";
import { BootstrapSource } from "./bootstrap-source.js";
import { interpretBootstrap, type DecodeFn, type EnvoyBootstrap } from "./envoy-bootstrap.js";
import type { EnvoyOptions } from "./envoy-flags.js";
import { outriggerBootstrap, type OutriggerSettings } from "./outrigger-bootstrap.js";
import { readBootstrap } from "./read-bootstrap.js";

export interface PrepareEnvoyRunOptions {
  configPath?: string | undefined;
  configYaml?: string | undefined;
  allowUnknownStaticFields: boolean;
  flags: Pick<EnvoyOptions, "serviceCluster" | "serviceNode" | "serviceZone">;
  cwd: string;
  settings: Omit<OutriggerSettings, "admin">;
  /** Overrides the bootstrap's admin address (`run --bootstrap --admin-port`). */
  adminPort?: number | undefined;
  /** Injected in tests; default decode-resource.ts. */
  decode?: DecodeFn;
  /** Injected in tests; default the xDS client of src/xds/xds-source.ts. */
  createXdsSource?: (opts: XdsSourceOptions) => ConfigSource;
  normalize?: (typeName: string, json: Json, opts: { allowUnknownFields: boolean }) => Json;
}

export interface PreparedEnvoyRun {
  envoy: EnvoyBootstrap;
  bootstrap: Bootstrap;
  /** `created` receives the supervisor before its first config (the xDS client's first update) is applied. */
  startSupervisor(bootstrap: Bootstrap, log: Logger, created?: (s: Supervisor) => void): Promise<Supervisor>;
}

/** Reads and checks the bootstrap; throws BootstrapError with Envoy-like messages. */
export async function prepareEnvoyRun(o: PrepareEnvoyRunOptions): Promise<PreparedEnvoyRun> {
  const json = await readBootstrap({ configPath: o.configPath, configYaml: o.configYaml, allowUnknownStaticFields: o.allowUnknownStaticFields, cwd: o.cwd, ...(o.normalize !== undefined ? { normalize: o.normalize } : {}) });
  const decode: DecodeFn = o.decode ?? (<T extends Parameters<DecodeFn>[0]>(type: T, j: Json, ctx: DecodeContext) => decodeResource(type, j, ctx));
  const envoy = interpretBootstrap(json, { flags: o.flags, cwd: o.cwd, decode });
  const admin = envoy.admin !== undefined ? { address: envoy.admin.address, port: o.adminPort ?? envoy.admin.port } : o.adminPort !== undefined ? { address: "127.0.0.1", port: o.adminPort } : undefined;
  const bootstrap = outriggerBootstrap(envoy.node, { ...o.settings, admin });
  return {
    envoy,
    bootstrap,
    async startSupervisor(b, log, created) {
      for (const n of envoy.notes) log.warn(`bootstrap: ${n}`);
      let xds: ConfigSource | undefined;
      if (envoy.xds !== undefined) {
        const create = o.createXdsSource ?? (await import("../xds/xds-source.js")).createXdsSource;
        const xdsDecode = (ctx: DecodeContext): XdsSourceOptions["codec"]["decode"] => (type, j) => decode(type, j, ctx);
        xds = create({ ...envoy.xds, codec: { anyToJson, decode: xdsDecode({ origin: "xds", cwd: o.cwd }) }, log: log.child("xds") });
      }
      const { createSupervisor } = await import("../supervisor/supervisor.js");
      // The Bootstrap has no identity (--certs/--ca-address): secrets come over SDS (the xDS client).
      const s = createSupervisor(b, log, { source: new BootstrapSource(envoy.staticUpdate, xds) });
      created?.(s);
      await s.start();
      return s;
    },
  };
}
