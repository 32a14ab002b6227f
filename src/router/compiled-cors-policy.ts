// CompiledCorsPolicy: the CORS policy a route runs with, merged from the route's and its virtual
// host's CorsPolicy as Envoy's CORS filter reads them (each field from the most specific policy
// that sets it; filter_enabled / shadow_enabled from the most specific policy only), with the
// allowed-origin matchers compiled. Built once per route per snapshot; read on every request.

import type { CorsPolicy, FractionalPercent } from "../config/model/types.js";
import { compileStringMatcher, type StringPredicate } from "./string-matcher.js";

export class CompiledCorsPolicy {
  /** Envoy's filter_enabled; undefined = always enabled (the field is absent). */
  readonly filterEnabled: FractionalPercent | undefined;
  /** Envoy's shadow_enabled; undefined = never in shadow mode. */
  readonly shadowEnabled: FractionalPercent | undefined;
  readonly allowMethods: string;
  readonly allowHeaders: string;
  readonly exposeHeaders: string;
  readonly maxAge: string;
  readonly allowCredentials: boolean;
  readonly allowPrivateNetworkAccess: boolean;
  /** Envoy's default when no policy sets it: true (a preflight from an origin not allowed goes upstream). */
  readonly forwardNotMatchingPreflights: boolean;
  private readonly origins: readonly StringPredicate[];
  /** Some matcher accepts the literal "*": Envoy then allows every origin. */
  private readonly anyOrigin: boolean;

  /**
   * `policies`: most specific first (the route's, then the virtual host's); undefined entries are
   * skipped. `where` prefixes compile errors (a bad safe_regex).
   */
  private constructor(policies: readonly CorsPolicy[], where: string) {
    const first = policies[0]!;
    this.filterEnabled = first.filterEnabled;
    this.shadowEnabled = first.shadowEnabled;
    const str = (k: "allowMethods" | "allowHeaders" | "exposeHeaders" | "maxAge"): string => {
      for (const p of policies) if (p[k] !== undefined && p[k] !== "") return p[k];
      return "";
    };
    const bool = (k: "allowCredentials" | "allowPrivateNetworkAccess" | "forwardNotMatchingPreflights", dflt: boolean): boolean => {
      for (const p of policies) if (p[k] !== undefined) return p[k];
      return dflt;
    };
    this.allowMethods = str("allowMethods");
    this.allowHeaders = str("allowHeaders");
    this.exposeHeaders = str("exposeHeaders");
    this.maxAge = str("maxAge");
    this.allowCredentials = bool("allowCredentials", false);
    this.allowPrivateNetworkAccess = bool("allowPrivateNetworkAccess", false);
    this.forwardNotMatchingPreflights = bool("forwardNotMatchingPreflights", true);
    const withOrigins = policies.find((p) => p.allowOriginStringMatch.length > 0);
    this.origins = (withOrigins?.allowOriginStringMatch ?? []).map((m, i) =>
      compileStringMatcher(m, `${where}: cors allowOriginStringMatch[${i}]`),
    );
    this.anyOrigin = this.origins.some((m) => m("*"));
  }

  /** The merged policy of a route, or undefined when neither the route nor its virtual host has one. */
  static compile(route: CorsPolicy | undefined, virtualHost: CorsPolicy | undefined, where: string): CompiledCorsPolicy | undefined {
    const policies = [route, virtualHost].filter((p): p is CorsPolicy => p !== undefined);
    return policies.length === 0 ? undefined : new CompiledCorsPolicy(policies, where);
  }

  /** Envoy's isOriginAllowed: a matcher accepting "*" allows any origin. */
  originAllowed(origin: string): boolean {
    if (this.anyOrigin) return true;
    const ms = this.origins;
    for (let i = 0; i < ms.length; i++) if (ms[i]!(origin)) return true;
    return false;
  }
}
