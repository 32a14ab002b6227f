// applyHeaderMutations: route/virtual-host/weighted-cluster header add/remove lists applied the
// way Envoy's HeaderParser::evaluateHeaders does: removals first, then every overwrite, then
// every append. Values are literal (Envoy %VAR% substitution is not supported; Istio sends
// literals).

import type { HeaderValueOption } from "../config/model/types.js";
import type { HeaderList } from "./header-list.js";

/**
 * Pseudo-headers and `host` are never touched: Envoy rejects such config
 * (":-prefixed or host headers may not be modified/removed"), so skipping them here only guards
 * against config that slipped past validation.
 */
function isModifiable(lowerName: string): boolean {
  return lowerName !== "" && lowerName.charCodeAt(0) !== 58 /* ":" */ && lowerName !== "host";
}

/**
 * Mutate `headers` in place.
 * - `remove`: every header with that name (case-insensitive) is removed.
 * - `add` OVERWRITE_IF_EXISTS_OR_ADD (Istio `set`): replace all values with this one.
 * - `add` APPEND_IF_EXISTS_OR_ADD (Istio `add`): add another line.
 * Overwrites are applied before appends regardless of list order, and an empty value is skipped
 * (Envoy's keep_empty_value defaults to false). Added names are lower-case, as Envoy emits them.
 */
export function applyHeaderMutations(
  headers: HeaderList,
  add: readonly HeaderValueOption[],
  remove: readonly string[],
): void {
  for (let i = 0; i < remove.length; i++) {
    const name = remove[i]!.toLowerCase();
    if (isModifiable(name)) headers.remove(name);
  }
  if (add.length === 0) return;
  for (let i = 0; i < add.length; i++) {
    const o = add[i]!;
    if (o.appendAction !== "OVERWRITE_IF_EXISTS_OR_ADD" || o.value === "") continue;
    const name = o.key.toLowerCase();
    if (isModifiable(name)) headers.set(name, o.value);
  }
  for (let i = 0; i < add.length; i++) {
    const o = add[i]!;
    if (o.appendAction !== "APPEND_IF_EXISTS_OR_ADD" || o.value === "") continue;
    const name = o.key.toLowerCase();
    if (isModifiable(name)) headers.add(name, o.value);
  }
}
