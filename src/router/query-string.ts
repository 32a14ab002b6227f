// parseQueryString: the query parameters of a request target the way Envoy's route matcher sees
// them (Http::Utility::QueryParamsMulti::parseQueryString): raw, NOT percent-decoded; a name
// without "=" has value ""; the fragment, if any, is ignored; the first occurrence of a name wins
// for matching (getFirstValue).

/** Parse the query of `path` (everything after the first "?"). Empty map when there is none. */
export function parseQueryString(path: string): Map<string, string> {
  const params = new Map<string, string>();
  const q = path.indexOf("?");
  if (q === -1) return params;
  let end = path.indexOf("#", q + 1);
  if (end === -1) end = path.length;
  let start = q + 1;
  while (start < end) {
    let paramEnd = path.indexOf("&", start);
    if (paramEnd === -1 || paramEnd > end) paramEnd = end;
    const eq = path.indexOf("=", start);
    let name: string;
    let value: string;
    if (eq !== -1 && eq < paramEnd) {
      name = path.slice(start, eq);
      value = path.slice(eq + 1, paramEnd);
    } else {
      name = path.slice(start, paramEnd);
      value = "";
    }
    if (!params.has(name)) params.set(name, value);
    start = paramEnd + 1;
  }
  return params;
}
