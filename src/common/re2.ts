// re2js, loaded on first use: most configs have no regex, and every worker would otherwise pay its
// ~2.5 MiB of memory for nothing. RE2 semantics (linear time, no backtracking) everywhere.

import { createRequire } from "node:module";
import type { RE2JS } from "re2js";

let re2: typeof RE2JS | undefined;

export function re2js(): typeof RE2JS {
  re2 ??= (createRequire(import.meta.url)("re2js") as { RE2JS: typeof RE2JS }).RE2JS;
  return re2;
}
