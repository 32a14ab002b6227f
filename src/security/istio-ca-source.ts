// IstioCaSource (`--ca-address`): the workload certificate from the Istio CA, as istio-agent's
// secret cache gets it: a fresh key (node:crypto, EC P-256 or RSA 2048) and a CSR carrying the
// SPIFFE URI SAN, signed by CreateCertificate with a 24 h validity; the chain (leaf first, root
// last) becomes `default` and its last element `ROOTCA`. Renewed at half-life with ±1% jitter
// (SECRET_GRACE_PERIOD_RATIO 0.5, its jitter 0.01); a failing renewal is retried with jittered
// exponential back-off while the old certificate keeps serving.

import type { Logger } from "../common/logger.js";
import type { Random } from "../common/random.js";
import type { TimerHandle, Timers } from "../common/timers.js";
import type { ConfigSink, ConfigSource, UpdateResult } from "../config/source/config-source.js";
import { generateKey, privateKeyPem, type KeyType } from "./local-ca.js";
import { workloadSecrets, type WorkloadIdentity } from "./workload-secrets.js";
import { buildCsr, toPem } from "./x509-der.js";
import { CaCallError } from "./istio-ca-client.js";

/** istio-agent's SECRET_TTL default: 24 h. */
export const DEFAULT_SECRET_TTL_SECONDS = 86_400;
/** SECRET_GRACE_PERIOD_RATIO: renew once half the lifetime is gone. */
export const GRACE_PERIOD_RATIO = 0.5;
/** SECRET_GRACE_PERIOD_RATIO_JITTER: ±1% of the grace period. */
export const GRACE_PERIOD_JITTER = 0.01;
/** Longest timer Node runs as asked (2^31-1 ms, ~24.8 days); a longer wait re-arms. */
const MAX_TIMER_MS = 2_147_483_647;

export interface CaSigner {
  createCertificate(csrPem: string, validitySeconds: number): Promise<string[]>;
  close(): void;
}

export interface IstioCaSourceOptions {
  signer: CaSigner;
  /** For logs: the CA's address. */
  address: string;
  spiffeId: string;
  keyType: KeyType;
  timers: Timers;
  random: Random;
  /** Wall clock (ms since the epoch), for validity. */
  now: () => number;
  ttlSeconds?: number;
  /** Back-off between failed attempts: initial, doubled each failure up to max, ±10% jitter. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /**
   * At start, how long transient failures (CA unreachable, token not mounted yet) are retried
   * before the start fails, as istio-agent keeps asking while istiod comes up. Default 0: once.
   */
  startRetryMs?: number;
}

export class IstioCaSource implements ConfigSource {
  readonly name = "istio-ca";
  private sink: ConfigSink | undefined;
  private timer: TimerHandle | undefined;
  private issued = 0;
  private failuresInRow = 0;
  private lastResult: UpdateResult = { accepted: false, errors: [], version: null };
  identity: WorkloadIdentity | undefined;
  /** Failed attempts (CA down, refused, bad answer), for logs and tests. */
  failures = 0;
  /** The delay of the timer armed last (renewal or retry), ms. */
  nextDelayMs: number | undefined;

  constructor(
    private readonly opts: IstioCaSourceOptions,
    private readonly log: Logger,
  ) {}

  /** start()'s pending wake-up between retries (close() releases it). */
  private wake: (() => void) | undefined;

  async start(sink: ConfigSink): Promise<UpdateResult> {
    this.sink = sink;
    let waited = 0;
    for (;;) {
      const r = await this.attempt("start");
      if (r.accepted || !this.lastFailureTransient || this.sink === undefined) return r;
      const delay = this.retryDelay();
      if (waited + delay > (this.opts.startRetryMs ?? 0)) return r;
      this.log.warn(`no workload certificate yet, retrying in ${delay} ms: ${r.errors[0]?.message}`);
      await new Promise<void>((resolve) => this.arm(delay, "start", resolve));
      waited += delay;
    }
  }

  /** Whether the last failed attempt may succeed if retried. */
  private lastFailureTransient = false;

  refresh(_reason: string): Promise<UpdateResult> {
    return Promise.resolve(this.lastResult);
  }

  private async attempt(reason: string): Promise<UpdateResult> {
    const sink = this.sink;
    if (sink === undefined) return this.lastResult;
    const o = this.opts;
    let update;
    let validTo: number;
    try {
      const key = generateKey(o.keyType);
      const csr = toPem(buildCsr(key.privateKey, [o.spiffeId]), "CERTIFICATE REQUEST");
      const chain = await o.signer.createCertificate(csr, o.ttlSeconds ?? DEFAULT_SECRET_TTL_SECONDS);
      const pems = chain.map((c) => (c.endsWith("\n") ? c : c + "\n"));
      const label = `the certificate from ${o.address}`;
      const { secrets, identity } = workloadSecrets({ certificateChain: pems.join(""), privateKey: privateKeyPem(key.privateKey), rootCert: pems[pems.length - 1] as string }, o.now(), { chain: label, key: "the generated key", root: `the root from ${o.address}` });
      if (!identity.uriSans.includes(o.spiffeId)) throw new Error(`${label} is for ${identity.uriSans.join(", ") || "no URI SAN"}, not ${o.spiffeId}`);
      this.identity = identity;
      validTo = identity.validTo.getTime();
      update = { origin: this.name, updates: [{ type: "secret" as const, version: `istio-ca/${++this.issued}`, kind: "state-of-the-world" as const, resources: secrets }] };
    } catch (e) {
      this.failures++;
      this.lastFailureTransient = e instanceof CaCallError && e.transient;
      const message = (e as Error).message;
      if (this.lastResult.accepted) {
        const delay = this.retryDelay();
        this.log.warn(`workload certificate renewal (${reason}) failed, retrying in ${delay} ms; the current certificate keeps serving: ${message}`);
        this.arm(delay, "retry");
        return this.lastResult;
      }
      return { accepted: false, errors: [{ file: `--ca-address ${o.address}`, line: 0, path: "", message, severity: "error" }], version: null };
    }
    const result = await sink.push(update);
    if (!result.accepted) {
      // The snapshot refused it (never for a checked pair, but the old one keeps serving then).
      this.failures++;
      if (this.lastResult.accepted) this.arm(this.retryDelay(), "retry");
      return this.lastResult.accepted ? this.lastResult : result;
    }
    this.lastResult = result;
    this.failuresInRow = 0;
    const now = o.now();
    const delay = this.rotateDelay(now, validTo);
    this.log.info(`workload certificate ${this.identity?.serialNumber} for ${o.spiffeId} from ${o.address} (${reason}), expires ${new Date(validTo).toISOString()}, renewal in ${Math.round(delay / 1000)} s`);
    this.arm(delay, "renewal");
    return result;
  }

  /** istio-agent's rotateTime: the grace period (half the lifetime, ±1%) before expiry. */
  private rotateDelay(now: number, validTo: number): number {
    const lifetime = validTo - now;
    const grace = GRACE_PERIOD_RATIO * lifetime;
    const jitter = grace * (this.opts.random.next() * 2 * GRACE_PERIOD_JITTER - GRACE_PERIOD_JITTER);
    return Math.max(0, Math.round(lifetime - grace + jitter));
  }

  private retryDelay(): number {
    const initial = this.opts.retryInitialMs ?? 1_000;
    const max = this.opts.retryMaxMs ?? 60_000;
    const base = Math.min(max, initial * 2 ** Math.min(this.failuresInRow++, 30));
    return Math.round(base * (0.9 + 0.2 * this.opts.random.next()));
  }

  /** Arms the one timer: a renewal/retry attempt, or (`instead`) just a wake-up for start's retries. */
  private arm(delayMs: number, reason: string, instead?: () => void): void {
    if (this.sink === undefined) return instead?.();
    if (this.timer !== undefined) this.opts.timers.clear(this.timer);
    const ms = Math.min(delayMs, MAX_TIMER_MS);
    this.nextDelayMs = ms;
    const fire = (): void => {
      this.timer = undefined;
      // A capped wait re-arms for the rest instead of renewing early.
      if (ms < delayMs) return this.arm(delayMs - ms, reason, instead);
      if (instead !== undefined) {
        this.wake = undefined;
        return instead();
      }
      void this.attempt(reason);
    };
    if (instead !== undefined) this.wake = instead;
    const h = this.opts.timers.set(fire, ms);
    // Never keep the process alive for a renewal alone.
    (h as { unref?: () => void } | undefined)?.unref?.();
    this.timer = h;
  }

  close(): void {
    if (this.timer !== undefined) this.opts.timers.clear(this.timer);
    this.timer = undefined;
    this.sink = undefined;
    this.opts.signer.close();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
