// Path normalisation before routing (Istio sets normalize_path: true): dot segments are resolved
// per RFC 3986 §5.2.4 so `/public/../admin` cannot slip past a route meant for `/admin`.

/**
 * Returns the normalised origin-form target (path + query), or undefined when the path is
 * invalid (does not start with "/"). Fast path: targets without "/." come back unchanged.
 */
export function normalizeTarget(target: string): string | undefined {
  if (target.charCodeAt(0) !== 47 /* / */) return undefined;
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  if (!path.includes("/.") && !/%2e/i.test(path)) return target;
  // Percent-encoded dots are dot segments too (Envoy's normaliser decodes unreserved characters).
  const decoded = path.replace(/%2e/gi, ".");
  const out: string[] = [];
  const segs = decoded.split("/");
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i]!;
    if (s === ".") {
      if (i === segs.length - 1) out.push("");
      continue;
    }
    if (s === "..") {
      out.pop();
      if (i === segs.length - 1) out.push("");
      continue;
    }
    out.push(s);
  }
  const normalized = "/" + out.join("/");
  return q === -1 ? normalized : normalized + target.slice(q);
}
