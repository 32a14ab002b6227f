// IstioFileSource: Istio YAML files and folders as a config source. Each refresh reads every path
// (and the --mesh-config file), translates (the in-process istiod) and pushes the result as one
// state-of-the-world update of listeners, route configurations and clusters — written as the Envoy
// resources istiod would send and read back through the decoder the xDS client uses — or the
// read/translation errors (refused by the sink). RequestAuthentication jwksUri keys come from its
// JwksResolver; when they arrive or change, the source re-translates and pushes.

import type { Logger } from "../../common/logger.js";
import { translate, type TranslateOptions } from "../istio/translate.js";
import { throughEnvoyResources } from "../envoy/through-envoy-resources.js";
import { loadConfigSources } from "../load/load-sources.js";
import { loadMeshConfigFile } from "../load/load-mesh-config.js";
import { formatConfigError } from "../model/config-error.js";
import { JwksResolver } from "../../security/jwks/jwks-resolver.js";
import { stateOfTheWorld, type ConfigSink, type ConfigSource, type ConfigUpdate, type UpdateResult } from "./config-source.js";

export class IstioFileSource implements ConfigSource {
  readonly name = "files";
  private sink: ConfigSink | undefined;
  private reads = 0;
  /** Refreshes run one after another, so an older read never lands after a newer one. */
  private chain: Promise<unknown> = Promise.resolve();
  /** RequestAuthentication jwksUri keys: fetched here, inlined by translation; new keys re-translate. */
  private readonly jwks: JwksResolver;

  constructor(
    private readonly paths: string[],
    private readonly options: TranslateOptions,
    private readonly log: Logger,
    /** `--mesh-config`: re-read on every refresh, like the config paths. */
    private readonly meshConfigPath?: string,
  ) {
    this.jwks = new JwksResolver({ log, onChange: () => void this.refresh("jwks").catch(() => {}) });
  }

  start(sink: ConfigSink): Promise<UpdateResult> {
    this.sink = sink;
    return this.refresh("start");
  }

  refresh(_reason: string): Promise<UpdateResult> {
    const run = this.chain.then(async () => {
      const sink = this.sink;
      if (sink === undefined) throw new Error("IstioFileSource.refresh before start");
      return sink.push(await this.read());
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /** Reads and translates every path into one update (errors included, warnings logged). */
  async read(): Promise<ConfigUpdate> {
    const version = `files/${++this.reads}`;
    const loaded = await loadConfigSources(this.paths);
    const mesh = this.meshConfigPath !== undefined ? await loadMeshConfigFile(this.meshConfigPath) : undefined;
    if (mesh !== undefined) loaded.errors.push(...mesh.errors);
    const loadErrors = loaded.errors.filter((e) => e.severity !== "warning");
    for (const w of loaded.errors.filter((e) => e.severity === "warning")) this.log.warn(formatConfigError(w));
    // Translating documents that failed to load would only add knock-on errors.
    if (loadErrors.length > 0) return { origin: this.name, updates: [], errors: loadErrors };
    const opts: TranslateOptions = { jwks: this.jwks, ...this.options };
    const mark = this.jwks.mark();
    const result = translate(loaded.documents, mesh?.doc !== undefined ? { ...opts, meshConfig: mesh.doc } : opts);
    // jwksUris no longer referenced stop being fetched.
    this.jwks.retainSince(mark);
    for (const w of result.warnings) this.log.warn(formatConfigError(w));
    // Through the Envoy resources istiod would send and the one decoder every source uses.
    const through = throughEnvoyResources(result.snapshot, this.name);
    for (const n of through.notes) this.log.warn(`${n.type} ${n.name}: ${n.note.path}: ${n.note.message}`);
    const errors = [...result.errors.filter((e) => e.severity !== "warning"), ...through.errors];
    return { origin: this.name, updates: stateOfTheWorld(version, through.resources), errors };
  }

  close(): void {
    this.sink = undefined;
    this.jwks.close();
  }
}
