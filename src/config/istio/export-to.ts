// exportTo visibility: which namespaces see a VirtualService, DestinationRule or ServiceEntry.
// `*` (default) everyone, `.` own namespace, `~` nobody, else listed namespaces.

export function isExportedTo(exportTo: readonly string[], ownerNamespace: string, proxyNamespace: string): boolean {
  if (exportTo.length === 0) return true;
  for (const e of exportTo) {
    if (e === "*") return true;
    if (e === "~") continue;
    if (e === "." && ownerNamespace === proxyNamespace) return true;
    if (e === proxyNamespace) return true;
  }
  return false;
}
