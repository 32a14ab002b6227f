// The reference material beside the checkout (`../shared`: Istio samples, real config dumps), as
// CI lays it out next to its clone — never an absolute path of one machine.

import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** `<checkout>/../shared/<parts…>`. */
export function sharedPath(...parts: string[]): string {
  return join(repoRoot, "..", "shared", ...parts);
}
