// CertsDirSource (`--certs DIR`): Istio's file-mounted certificates (cert-chain.pem, key.pem,
// root-cert.pem, as istio-agent reads them from /etc/certs) as a config source pushing only the
// `default` and `ROOTCA` secrets. The folder is watched: files rewritten one by one and the
// Kubernetes Secret-volume swap (a new `..2026_…` folder, then an atomic rename of the `..data`
// symlink the files point through) both reload. A pair that does not check out (key from another
// rotation, garbled PEM, expired or not yet valid) is refused and logged; the old pair keeps
// serving until a good pair is on disk. Only the first load failing stops the start.

import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../common/logger.js";
import type { ConfigSink, ConfigSource, ConfigUpdate, UpdateResult } from "../config/source/config-source.js";
import { workloadSecrets, WorkloadSecretError, type WorkloadIdentity } from "./workload-secrets.js";

/** Istio's file names (pilot-agent's FileMountedCerts / the istio.default Secret). */
export const CERT_CHAIN_FILE = "cert-chain.pem";
export const KEY_FILE = "key.pem";
export const ROOT_CERT_FILE = "root-cert.pem";

export interface CertsDirOptions {
  /** Wall clock for validity checks (ms since the epoch). */
  now?: () => number;
  /** Coalesces a burst of file events (the three files, the symlink swap), ms. */
  debounceMs?: number;
  /** Watch the folder (default true). */
  watch?: boolean;
}

export class CertsDirSource implements ConfigSource {
  readonly name = "certs";
  private sink: ConfigSink | undefined;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private loads = 0;
  /** The text of the pair serving now; an identical read pushes nothing. */
  private serving: string | undefined;
  private lastResult: UpdateResult = { accepted: false, errors: [], version: null };
  /** Reads refused (bad pair on disk), for logs and tests. */
  rejected = 0;
  /** Pairs accepted and pushed (the first load included). */
  reloads = 0;
  identity: WorkloadIdentity | undefined;
  private readonly now: () => number;

  constructor(
    readonly dir: string,
    private readonly log: Logger,
    private readonly opts: CertsDirOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  async start(sink: ConfigSink): Promise<UpdateResult> {
    this.sink = sink;
    const first = await this.refresh("start");
    if (first.accepted && this.opts.watch !== false) this.startWatching();
    return first;
  }

  refresh(reason: string): Promise<UpdateResult> {
    const run = this.chain.then(() => this.load(reason));
    this.chain = run.catch(() => {});
    return run;
  }

  private async load(reason: string): Promise<UpdateResult> {
    const sink = this.sink;
    if (sink === undefined) return this.lastResult;
    const which = { chain: join(this.dir, CERT_CHAIN_FILE), key: join(this.dir, KEY_FILE), root: join(this.dir, ROOT_CERT_FILE) };
    let update: ConfigUpdate;
    let text: string;
    try {
      const [certificateChain, privateKey, rootCert] = await Promise.all([which.chain, which.key, which.root].map((p) => readFile(p, "utf8"))) as [string, string, string];
      text = certificateChain + "\0" + privateKey + "\0" + rootCert;
      if (text === this.serving) return this.lastResult;
      const { secrets, identity } = workloadSecrets({ certificateChain, privateKey, rootCert }, this.now(), which);
      this.identity = identity;
      update = { origin: this.name, updates: [{ type: "secret", version: `certs/${++this.loads}`, kind: "state-of-the-world", resources: secrets }] };
    } catch (e) {
      const message = e instanceof WorkloadSecretError ? e.message : `--certs ${this.dir}: ${(e as Error).message}`;
      if (this.serving !== undefined) {
        this.rejected++;
        this.log.warn(`certificates in ${this.dir} not loaded (${reason}), the previous certificate keeps serving: ${message}`);
        return this.lastResult;
      }
      this.lastResult = { accepted: false, errors: [{ file: this.dir, line: 0, path: "", message, severity: "error" }], version: null };
      return this.lastResult;
    }
    const result = await sink.push(update);
    this.lastResult = result;
    if (result.accepted) {
      this.serving = text;
      this.reloads++;
      const id = this.identity;
      this.log.info(`workload certificate loaded from ${this.dir} (${reason}): ${id?.uriSans.join(", ") || "no URI SAN"}, serial ${id?.serialNumber}, expires ${id?.validTo.toISOString()}`);
    }
    return result;
  }

  private startWatching(): void {
    // The folder, not the files: the `..data` swap replaces what the file names resolve to.
    this.watcher = watch(this.dir, { persistent: false }, () => this.schedule());
    this.watcher.on("error", (e) => this.log.warn(`watching ${this.dir}: ${e.message}`));
  }

  private schedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh("file change");
    }, this.opts.debounceMs ?? 100);
    this.timer.unref();
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.sink = undefined;
  }
}
