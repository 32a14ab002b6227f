import { renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/common/logger.js";
import type { ConfigSink, ConfigUpdate, UpdateResult } from "../../../src/config/source/config-source.js";
import { CertsDirSource } from "../../../src/security/certs-dir-source.js";
import { issueLeaf, makeRootCa, pkiDir, writeIstioCerts, type Ca, type Leaf } from "../../helpers/pki.js";

/** A sink that accepts everything and lets a test await the next push. */
class RecordingSink implements ConfigSink {
  readonly updates: ConfigUpdate[] = [];
  private waiters: Array<(u: ConfigUpdate) => void> = [];
  push(u: ConfigUpdate): Promise<UpdateResult> {
    this.updates.push(u);
    for (const w of this.waiters.splice(0)) w(u);
    return Promise.resolve({ accepted: true, errors: [], version: u.updates[0]?.version ?? null });
  }
  next(): Promise<ConfigUpdate> {
    return new Promise((res) => this.waiters.push(res));
  }
}

function chainOf(u: ConfigUpdate | undefined): string | undefined {
  const s = u?.updates[0];
  if (s?.type !== "secret" || s.kind !== "state-of-the-world") return undefined;
  return s.resources["default"]?.tlsCertificate?.certificateChain;
}

const lines: string[] = [];
const log = createLogger("info", "test", (l) => lines.push(l));
const sources: CertsDirSource[] = [];
afterEach(() => {
  for (const s of sources.splice(0)) s.close();
  lines.length = 0;
});

function setup(): { ca: Ca; dir: string; leaf: Leaf } {
  const base = pkiDir();
  const ca = makeRootCa(base);
  const leaf = issueLeaf(ca, { spiffe: "spiffe://cluster.local/ns/shop/sa/reviews" });
  const dir = join(base, "certs");
  writeIstioCerts(dir, leaf, ca);
  return { ca, dir, leaf };
}

function source(dir: string, opts: ConstructorParameters<typeof CertsDirSource>[2] = {}): CertsDirSource {
  const s = new CertsDirSource(dir, log, { debounceMs: 20, ...opts });
  sources.push(s);
  return s;
}

describe("CertsDirSource", () => {
  it("pushes default (chain + key) and ROOTCA (root-cert.pem) as one state-of-the-world secret update", async () => {
    const { dir, ca, leaf } = setup();
    const sink = new RecordingSink();
    const s = source(dir, { watch: false });
    const r = await s.start(sink);
    expect(r.accepted).toBe(true);
    const u = sink.updates[0]?.updates[0];
    expect(u?.type).toBe("secret");
    if (u?.type !== "secret" || u.kind !== "state-of-the-world") throw new Error("not a secret SotW");
    expect(Object.keys(u.resources).sort()).toEqual(["ROOTCA", "default"]);
    expect(u.resources["default"]?.tlsCertificate).toEqual({ certificateChain: leaf.chainPem, privateKey: leaf.keyPem });
    expect(u.resources["ROOTCA"]?.validationContext).toEqual({ trustedCa: ca.rootPem });
    expect(s.identity?.uriSans).toEqual(["spiffe://cluster.local/ns/shop/sa/reviews"]);
    expect(s.identity?.serialNumber.toLowerCase()).toBe(leaf.serial);
  });

  it("the first load failing is refused with the reason: missing folder, key of another certificate, garbled PEM", async () => {
    const missing = await source("/nonexistent/certs", { watch: false }).start(new RecordingSink());
    expect(missing.accepted).toBe(false);
    expect(missing.errors[0]?.message).toMatch(/nonexistent\/certs.*ENOENT/);

    const { dir, ca } = setup();
    const other = issueLeaf(ca, { spiffe: "spiffe://cluster.local/ns/shop/sa/other" });
    writeFileSync(join(dir, "key.pem"), other.keyPem);
    const mismatch = await source(dir, { watch: false }).start(new RecordingSink());
    expect(mismatch.errors[0]?.message).toMatch(/key\.pem does not match the certificate in .*cert-chain\.pem/);

    writeFileSync(join(dir, "cert-chain.pem"), "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
    const garbled = await source(dir, { watch: false }).start(new RecordingSink());
    expect(garbled.errors[0]?.message).toMatch(/unreadable certificate/);

    writeFileSync(join(dir, "cert-chain.pem"), "");
    const empty = await source(dir, { watch: false }).start(new RecordingSink());
    expect(empty.errors[0]?.message).toMatch(/cert-chain\.pem: no PEM certificate found/);
  });

  it("refuses an expired or not-yet-valid certificate (the clock is injected)", async () => {
    const { dir } = setup();
    const later = await source(dir, { watch: false, now: () => Date.now() + 3 * 86_400_000 }).start(new RecordingSink());
    expect(later.errors[0]?.message).toMatch(/expired at/);
    const earlier = await source(dir, { watch: false, now: () => Date.now() - 86_400_000 }).start(new RecordingSink());
    expect(earlier.errors[0]?.message).toMatch(/is not valid before/);
  });

  it("reloads files rewritten in place; a mismatched pair mid-rotation keeps the old pair until the key arrives", async () => {
    const { dir, ca, leaf } = setup();
    const sink = new RecordingSink();
    const s = source(dir);
    await s.start(sink);
    const next = issueLeaf(ca, { spiffe: "spiffe://cluster.local/ns/shop/sa/reviews" });
    // Step 1: the chain only. The pair does not match: refused, counted, logged, nothing pushed.
    writeFileSync(join(dir, "cert-chain.pem"), next.chainPem);
    await s.refresh("test");
    expect(s.rejected).toBeGreaterThanOrEqual(1);
    expect(sink.updates).toHaveLength(1);
    expect(lines.some((l) => l.includes("the previous certificate keeps serving") && l.includes("does not match"))).toBe(true);
    // Step 2: the key. The watcher reloads the new pair.
    const pushed = sink.next();
    writeFileSync(join(dir, "key.pem"), next.keyPem);
    expect(chainOf(await pushed)).toBe(next.chainPem);
    expect(s.identity?.serialNumber.toLowerCase()).toBe(next.serial);
    expect(chainOf(sink.updates[0])).toBe(leaf.chainPem);
  });

  it("reloads on Kubernetes' atomic ..data symlink swap", async () => {
    const base = pkiDir();
    const ca = makeRootCa(base);
    const first = issueLeaf(ca, { spiffe: "spiffe://cluster.local/ns/shop/sa/a" });
    const dir = join(base, "mounted");
    // The Secret-volume layout: ..TIMESTAMP/ with the files, ..data -> ..TIMESTAMP, files -> ..data/file.
    writeIstioCerts(join(dir, "..2026_11_30_20_00_00.000000001"), first, ca);
    symlinkSync("..2026_11_30_20_00_00.000000001", join(dir, "..data"));
    for (const f of ["cert-chain.pem", "key.pem", "root-cert.pem"]) symlinkSync(join("..data", f), join(dir, f));
    const sink = new RecordingSink();
    const s = source(dir);
    expect((await s.start(sink)).accepted).toBe(true);
    expect(chainOf(sink.updates[0])).toBe(first.chainPem);

    const second = issueLeaf(ca, { spiffe: "spiffe://cluster.local/ns/shop/sa/a" });
    writeIstioCerts(join(dir, "..2026_11_30_21_00_00.000000002"), second, ca);
    const pushed = sink.next();
    symlinkSync("..2026_11_30_21_00_00.000000002", join(dir, "..data_tmp"));
    renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
    expect(chainOf(await pushed)).toBe(second.chainPem);
    await s.refresh("after the swap"); // queued after the watcher's load: its counters are final
    expect(s.reloads).toBe(2);
  });

  it("an identical re-read pushes nothing", async () => {
    const { dir } = setup();
    const sink = new RecordingSink();
    const s = source(dir, { watch: false });
    await s.start(sink);
    const again = await s.refresh("SIGHUP");
    expect(again.accepted).toBe(true);
    expect(sink.updates).toHaveLength(1);
  });
});
