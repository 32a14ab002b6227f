// Test PKI made with the openssl CLI (not our own TLS code): a root CA, optionally an
// intermediate, and workload certificates with SPIFFE URI SANs, written in Istio's file-mounted
// layout (cert-chain.pem with the root at the end as istio-agent writes it, key.pem, root-cert.pem).

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Ca {
  dir: string;
  certFile: string;
  keyFile: string;
  certPem: string;
  /** The root's PEM (== certPem for a root; the root above it for an intermediate). */
  rootPem: string;
  /** PEM of the intermediates between a leaf and the root (empty for a root CA). */
  chainPem: string;
}

export interface Leaf {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
  /** Leaf + intermediates + root (Istio's cert-chain.pem). */
  chainPem: string;
  serial: string;
}

let counter = 0;

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A fresh temporary directory for a test's PKI. */
export function pkiDir(prefix = "outrigger-pki-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A self-signed root CA (EC P-256 unless `rsa`). */
export function makeRootCa(dir: string, name = "Test Root CA", opts: { rsa?: boolean } = {}): Ca {
  const base = `ca${++counter}`;
  const certFile = join(dir, `${base}.pem`);
  const keyFile = join(dir, `${base}-key.pem`);
  openssl(
    ["req", "-x509", "-new", "-nodes", ...keyArgs(opts.rsa), "-keyout", keyFile, "-out", certFile, "-days", "3650", "-subj", `/O=cluster.local/CN=${name}`,
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    dir,
  );
  const certPem = readFileSync(certFile, "utf8");
  return { dir, certFile, keyFile, certPem, rootPem: certPem, chainPem: "" };
}

/** An intermediate CA signed by `parent` (Istio's plug-in CA shape). */
export function makeIntermediateCa(parent: Ca, name = "Test Intermediate CA"): Ca {
  const dir = parent.dir;
  const base = `ica${++counter}`;
  const keyFile = join(dir, `${base}-key.pem`);
  const csr = join(dir, `${base}.csr`);
  const certFile = join(dir, `${base}.pem`);
  const ext = join(dir, `${base}.ext`);
  writeFileSync(ext, "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n");
  openssl(["req", "-new", "-nodes", ...keyArgs(false), "-keyout", keyFile, "-out", csr, "-subj", `/O=cluster.local/CN=${name}`], dir);
  openssl(["x509", "-req", "-in", csr, "-CA", parent.certFile, "-CAkey", parent.keyFile, "-CAcreateserial", "-out", certFile, "-days", "3650", "-extfile", ext], dir);
  const certPem = readFileSync(certFile, "utf8");
  return { dir, certFile, keyFile, certPem, rootPem: parent.rootPem, chainPem: certPem + parent.chainPem };
}

export interface LeafOptions {
  /** URI SAN, e.g. `spiffe://cluster.local/ns/default/sa/sleep`. */
  spiffe?: string;
  dns?: string[];
  /** Subject CN; default none (Istio workload certificates have an empty subject). */
  cn?: string;
  /** Validity in days (default 1). */
  days?: number;
  rsa?: boolean;
  /** Write the files under this name inside the CA's directory. */
  name?: string;
}

/** A leaf certificate signed by `ca`, usable as client and server (Istio workload certificates are both). */
export function issueLeaf(ca: Ca, o: LeafOptions = {}): Leaf {
  const dir = ca.dir;
  const base = o.name ?? `leaf${++counter}`;
  const keyFile = join(dir, `${base}-key.pem`);
  const csr = join(dir, `${base}.csr`);
  const certFile = join(dir, `${base}.pem`);
  const ext = join(dir, `${base}.ext`);
  const sans = [...(o.spiffe !== undefined ? [`URI:${o.spiffe}`] : []), ...(o.dns ?? []).map((d) => `DNS:${d}`)];
  writeFileSync(
    ext,
    ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment", "extendedKeyUsage=serverAuth,clientAuth", ...(sans.length > 0 ? [`subjectAltName=critical,${sans.join(",")}`] : [])].join("\n") + "\n",
  );
  openssl(["req", "-new", "-nodes", ...keyArgs(o.rsa), "-keyout", keyFile, "-out", csr, "-subj", o.cn !== undefined ? `/CN=${o.cn}` : "/"], dir);
  const days = o.days ?? 1;
  if (days < 1) throw new Error("issueLeaf: days must be at least 1 (openssl 3.0 cannot backdate; make expired certificates another way)");
  openssl(["x509", "-req", "-in", csr, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-CAcreateserial", "-out", certFile, "-days", String(days), "-extfile", ext], dir);
  const certPem = readFileSync(certFile, "utf8");
  const keyPem = readFileSync(keyFile, "utf8");
  const serial = execFileSync("openssl", ["x509", "-in", certFile, "-noout", "-serial"], { encoding: "utf8" }).trim().replace(/^serial=/, "").toLowerCase();
  return { certFile, keyFile, certPem, keyPem, chainPem: certPem + ca.chainPem + ca.rootPem, serial };
}

/** Writes Istio's file-mounted layout into `dir` (created): cert-chain.pem, key.pem, root-cert.pem. */
export function writeIstioCerts(dir: string, leaf: Leaf, ca: Ca): { dir: string; certChain: string; key: string; root: string } {
  mkdirSync(dir, { recursive: true });
  const certChain = join(dir, "cert-chain.pem");
  const key = join(dir, "key.pem");
  const root = join(dir, "root-cert.pem");
  writeFileSync(certChain, leaf.chainPem);
  writeFileSync(key, leaf.keyPem);
  writeFileSync(root, ca.rootPem);
  return { dir, certChain, key, root };
}

function keyArgs(rsa: boolean | undefined): string[] {
  return rsa === true ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
}
