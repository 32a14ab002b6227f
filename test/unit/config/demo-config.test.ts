import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { loadConfigSources } from "../../../src/config/load/load-sources.js";
import { translate } from "../../../src/config/istio/translate.js";
import { formatConfigError } from "../../../src/config/model/config-error.js";

const demoDir = fileURLToPath(new URL("../../../examples/demo", import.meta.url));
const opts = { namespace: "demo", proxyLabels: { app: "productpage" }, domainSuffix: "cluster.local", defaultOutbound: { address: "127.0.0.1", port: 15001 } };

describe("examples/demo", () => {
  it("translates with zero errors and zero warnings", async () => {
    const { documents, errors } = await loadConfigSources([demoDir]);
    expect(errors).toEqual([]);
    const r = translate(documents, opts);
    expect([...r.errors, ...r.warnings].map(formatConfigError)).toEqual([]);
    if (process.env["DUMP"]) console.log(JSON.stringify(r, null, 1));
  });
});
