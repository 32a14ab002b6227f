#!/usr/bin/env bash
# Makes the local Debian base image (no registry needed): `debootstrap --variant=minbase` into
# build/containers/rootfs, trimmed of docs, man pages and apt lists, imported with `podman import`
# as localhost/outrigger-base:bookworm. Skips what already exists (image, or the rootfs tarball).
#   scripts/containers/base-image.sh [SUITE] [MIRROR]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
SUITE="${1:-bookworm}"
MIRROR="${2:-${OUTRIGGER_DEBIAN_MIRROR:-http://deb.debian.org/debian}}"
IMAGE="localhost/outrigger-base:$SUITE"
if podman image exists "$IMAGE"; then echo "[containers] $IMAGE exists"; exit 0; fi
command -v debootstrap >/dev/null || { echo "[containers] debootstrap is missing: apt-get install debootstrap (.ci/run installs it)" >&2; exit 1; }
TARBALL="$OUTRIGGER_CONTAINERS_DIR/base-$SUITE.tar"
if [ ! -s "$TARBALL" ]; then
  ROOTFS="$OUTRIGGER_CONTAINERS_DIR/rootfs-$SUITE"
  rm -rf "$ROOTFS"
  echo "[containers] debootstrap --variant=minbase $SUITE from $MIRROR"
  timeout 900 debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" >"$OUTRIGGER_CONTAINERS_DIR/debootstrap.log" 2>&1 \
    || { tail -20 "$OUTRIGGER_CONTAINERS_DIR/debootstrap.log" >&2; echo "[containers] debootstrap failed (log: $OUTRIGGER_CONTAINERS_DIR/debootstrap.log)" >&2; exit 1; }
  # What an image never needs: the package caches and lists, docs, man pages, locales but C.
  rm -rf "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* \
    "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/var/log/* \
    "$ROOTFS"/usr/share/locale/* "$ROOTFS"/var/cache/debconf/*-old "$ROOTFS"/tmp/*
  # As Debian's official images: apt never keeps downloaded packages nor docs.
  printf 'APT::Install-Recommends "false";\nAPT::Keep-Downloaded-Packages "false";\n' >"$ROOTFS/etc/apt/apt.conf.d/90outrigger"
  printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\n' >"$ROOTFS/etc/dpkg/dpkg.cfg.d/90outrigger-nodoc"
  tar --numeric-owner -C "$ROOTFS" -cf "$TARBALL.part" .
  mv "$TARBALL.part" "$TARBALL"
  rm -rf "$ROOTFS"
fi
podman import --change 'CMD ["/bin/bash"]' "$TARBALL" "$IMAGE" >/dev/null
echo "[containers] imported $IMAGE ($(podman image inspect --format '{{.Size}}' "$IMAGE") bytes)"
