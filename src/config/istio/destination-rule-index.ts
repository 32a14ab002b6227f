// Finds the DestinationRule that applies to a service host for this proxy, as istiod does:
// visible through exportTo, proxy namespace first, then the service's, then the root namespace;
// an exact host beats the most specific wildcard.

import { isExportedTo } from "./export-to.js";
import { hostCoveredBy } from "./host-name.js";
import type { ParsedDestinationRule } from "./parsed-config.js";
import { ROOT_NAMESPACE } from "./sidecar.js";
import { labelsMatch } from "./workload-selector.js";

export class DestinationRuleIndex {
  private readonly visible: ParsedDestinationRule[];

  constructor(rules: ParsedDestinationRule[], private readonly proxyNamespace: string, proxyLabels: Record<string, string>, private readonly rootNamespace: string = ROOT_NAMESPACE) {
    this.visible = rules.filter((dr) => {
      if (dr.host === "") return false;
      if (dr.workloadSelector) return dr.ref.namespace === proxyNamespace && labelsMatch(dr.workloadSelector, proxyLabels);
      return isExportedTo(dr.exportTo, dr.ref.namespace, proxyNamespace);
    });
  }

  lookup(host: string, serviceNamespace: string): ParsedDestinationRule | undefined {
    for (const ns of [this.proxyNamespace, serviceNamespace, this.rootNamespace]) {
      const inNs = this.visible.filter((dr) => dr.ref.namespace === ns && hostCoveredBy(host, dr.host));
      if (inNs.length === 0) continue;
      const exact = inNs.find((dr) => dr.host === host);
      if (exact) return exact;
      return [...inNs].sort((a, b) => b.host.length - a.host.length)[0];
    }
    // Other namespaces' exported rules, if any, still apply (istiod falls back to any exported DR).
    const rest = this.visible.filter((dr) => hostCoveredBy(host, dr.host));
    return rest.find((dr) => dr.host === host) ?? [...rest].sort((a, b) => b.host.length - a.host.length)[0];
  }
}
