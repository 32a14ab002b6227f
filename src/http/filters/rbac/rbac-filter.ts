// RbacFilter (envoy.filters.http.rbac): Istio AuthorizationPolicy on inbound HTTP. The config is
// compiled once per snapshot (per connection manager) into an RbacEngine; per request the filter
// fills one reusable RbacInput and runs the shadow rules (counted, never enforced) then the
// enforced rules. A denial is Envoy's local reply: 403 `RBAC: access denied`, response code
// details `rbac_access_denied_matched_policy[<policy>|none]`.

import { HTTP_RBAC_FILTER, type HttpFilterConfig } from "../../../config/model/types.js";
import type { RbacConfig } from "../../../config/model/rbac.js";
import type { Counter, StatsStore } from "../../../observability/stats/stats-store.js";
import { FilterStatus, type FilterCallbacks, type HttpFilter, type HttpFilterFactory, type HttpFilterScope } from "../http-filter.js";
import { RbacEngine, RbacInput } from "./rbac-engine.js";

export const RBAC_DENIED_BODY = "RBAC: access denied";

/** Envoy's response code details for a denial (rbac_filter.cc). */
export function rbacDeniedDetails(policy: string | undefined): string {
  return `rbac_access_denied_matched_policy[${policy ?? "none"}]`;
}

/** `http.<prefix>.rbac.{allowed,denied,shadow_allowed,shadow_denied,logged,not_logged}` (Envoy's RBAC filter stats). */
export class RbacStats {
  readonly allowed: Counter;
  readonly denied: Counter;
  readonly shadowAllowed: Counter;
  readonly shadowDenied: Counter;
  /** LOG action (Istio AUDIT): a policy matched / none did. */
  readonly logged: Counter;
  readonly notLogged: Counter;

  constructor(store: StatsStore, prefix: string, shadowPrefix = "") {
    this.allowed = store.counter(`${prefix}rbac.allowed`);
    this.denied = store.counter(`${prefix}rbac.denied`);
    this.shadowAllowed = store.counter(`${prefix}rbac.${shadowPrefix}shadow_allowed`);
    this.shadowDenied = store.counter(`${prefix}rbac.${shadowPrefix}shadow_denied`);
    this.logged = store.counter(`${prefix}rbac.logged`);
    this.notLogged = store.counter(`${prefix}rbac.not_logged`);
  }
}

/** One compiled RBAC config: enforced engine, shadow engine, their stats. */
export class CompiledRbac {
  readonly engine: RbacEngine | undefined;
  readonly shadow: RbacEngine | undefined;

  /** Envoy's dynamic metadata keys of the shadow result (`<shadow_rules_stat_prefix>shadow_effective_policy_id`, `…shadow_engine_result`). */
  private readonly shadowPolicyKey: string;
  private readonly shadowResultKey: string;

  constructor(
    config: RbacConfig,
    readonly stats: RbacStats,
    where: string,
  ) {
    this.engine = config.rules === undefined ? undefined : new RbacEngine(config.rules, where);
    this.shadow = config.shadowRules === undefined ? undefined : new RbacEngine(config.shadowRules, `${where} shadow`);
    this.shadowPolicyKey = `${config.shadowRulesStatPrefix ?? ""}shadow_effective_policy_id`;
    this.shadowResultKey = `${config.shadowRulesStatPrefix ?? ""}shadow_engine_result`;
  }

  /**
   * Runs shadow then enforced rules; returns the denying policy details, or undefined to allow.
   * With `metadata` (the stream's dynamic metadata of this filter), the shadow result is written
   * there as Envoy does — istiod's CUSTOM (ext_authz) policies are selected through it.
   */
  check(input: RbacInput, metadata?: () => Record<string, string>): string | undefined {
    const shadow = this.shadow;
    if (shadow !== undefined) {
      const r = shadow.evaluate(input);
      if (r.allowed) this.stats.shadowAllowed.inc();
      else this.stats.shadowDenied.inc();
      if (metadata !== undefined) {
        const m = metadata();
        if (r.policy !== undefined) m[this.shadowPolicyKey] = r.policy;
        m[this.shadowResultKey] = r.allowed ? "allowed" : "denied";
      }
    }
    const engine = this.engine;
    if (engine === undefined) return undefined;
    const r = engine.evaluate(input);
    if (engine.action === "LOG") {
      // An audit, never a decision: Envoy counts logged / not_logged.
      if (r.policy !== undefined) this.stats.logged.inc();
      else this.stats.notLogged.inc();
      return undefined;
    }
    if (r.allowed) {
      this.stats.allowed.inc();
      return undefined;
    }
    this.stats.denied.inc();
    return rbacDeniedDetails(r.policy);
  }
}

class RbacFilter implements HttpFilter {
  constructor(
    private readonly cb: FilterCallbacks,
    private readonly rbac: CompiledRbac,
    private readonly input: RbacInput,
  ) {}

  decodeHeaders(): FilterStatus {
    const cb = this.cb;
    const input = this.input.resetRequest(cb.connection, cb.requestHeaders, cb.connection.remoteIp, cb.streamInfo.requestAuth);
    const denied = this.rbac.check(input, () => {
      const all = (cb.streamInfo.dynamicMetadata ??= {});
      return (all[HTTP_RBAC_FILTER] ??= {});
    });
    input.clear();
    if (denied === undefined) return FilterStatus.Continue;
    cb.sendResponse(403, RBAC_DENIED_BODY, denied);
    return FilterStatus.StopIteration;
  }
}

function rbacFactory(compiled: CompiledRbac): HttpFilterFactory {
  // One input per compiled config: requests on a worker are decided one at a time, synchronously.
  const input = new RbacInput();
  return {
    name: HTTP_RBAC_FILTER,
    create: (cb) => new RbacFilter(cb, compiled, input),
  };
}

/** The registry entry: `configure` compiles each connection manager's RBAC config. */
export const rbacFilterFactory: HttpFilterFactory = {
  name: HTTP_RBAC_FILTER,
  create() {
    // Without a config Envoy's RBAC filter enforces nothing.
    return undefined;
  },
  configure(config: HttpFilterConfig, scope: HttpFilterScope): HttpFilterFactory {
    const c = (config.typedConfig ?? {}) as RbacConfig;
    const stats = new RbacStats(scope.stats, `http.${scope.statPrefix}.`, c.shadowRulesStatPrefix ?? "");
    return rbacFactory(new CompiledRbac(c, stats, `${HTTP_RBAC_FILTER}`));
  },
};
