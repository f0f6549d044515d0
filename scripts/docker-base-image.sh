#!/usr/bin/env bash
# Builds the local base images the Docker tests use instead of the official ones (no container
# registry is reachable from the build machines; the Debian mirror and npm are):
#   tracemesh/node-base:<node>-local   runtime: distroless-style (this machine's node binary, the
#                                      shared libraries it links, CA certificates, /etc/passwd with
#                                      user 10001 "node"); no shell, no package manager
#   tracemesh/node-build:<node>-local  build stage: Debian bookworm minbase + node + npm
#   tracemesh/redis:local              Debian bookworm minbase + Debian's redis-server
# Pass them to deploy/docker/Dockerfile with --build-arg NODE_IMAGE=… --build-arg BUILD_IMAGE=….
# Idempotent: an image is rebuilt only when missing or made by another version of this script or of
# node; the debootstrap root is kept as a tarball in the cache so `docker system prune` is cheap.
# Usage: scripts/docker-base-image.sh [--print]   (--print: only print the image names)
source "$(dirname "$0")/lib.sh"

# The images carry the node the scripts run on (Node 24 from the cache when the machine's is older).
ensure_node
NODE_BIN="$(command -v node)" || die "node not found on PATH"
NODE_BIN="$(readlink -f "$NODE_BIN")"
NODE_VERSION="$("$NODE_BIN" --version)"
NODE_VERSION="${NODE_VERSION#v}"
NODE_BASE_IMAGE="tracemesh/node-base:${NODE_VERSION}-local"
NODE_BUILD_IMAGE="tracemesh/node-build:${NODE_VERSION}-local"
REDIS_IMAGE="tracemesh/redis:local"

if [ "${1:-}" = "--print" ]; then
  printf 'NODE_IMAGE=%s\nBUILD_IMAGE=%s\nREDIS_IMAGE=%s\n' "$NODE_BASE_IMAGE" "$NODE_BUILD_IMAGE" "$REDIS_IMAGE"
  exit 0
fi

is_root || die "building base images needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
docker info >/dev/null 2>&1 || die "the Docker engine is not running: bash scripts/tools/40-docker.sh"

CACHE="$TRACEMESH_CACHE/docker"
ROOTFS_TAR="$CACHE/bookworm-minbase-rootfs.tar"
mkdir -p "$CACHE"
# A change to this script rebuilds the images (the recipe is stored as an image label).
RECIPE="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"
LABELS=(
  --change "LABEL org.tracemesh.recipe=$RECIPE"
  --change "LABEL org.opencontainers.image.source=local"
  --change "LABEL org.opencontainers.image.base.name=debian:bookworm"
)

image_current() {
  [ "$(docker image inspect -f '{{index .Config.Labels "org.tracemesh.recipe"}}' "$1" 2>/dev/null)" = "$RECIPE" ]
}

if image_current "$NODE_BASE_IMAGE" && image_current "$NODE_BUILD_IMAGE" && image_current "$REDIS_IMAGE"; then
  log "base images up to date: $NODE_BASE_IMAGE $NODE_BUILD_IMAGE $REDIS_IMAGE"
  exit 0
fi

WORK="$(mktemp -d "$CACHE/work.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# The Debian mirror this machine's apt uses (deb822 "URIs:" or a sources.list "deb" line).
debian_mirror() {
  local uri
  uri="$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  if [ -z "$uri" ]; then
    uri="$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)"
  fi
  [ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list(.d)"
  printf '%s' "$uri"
}

# A fresh copy of the bookworm minbase root (debootstrapped once, then reused from the tarball).
fresh_root() {
  local dir="$1"
  if [ ! -s "$ROOTFS_TAR" ]; then
    local mirror start=$SECONDS
    mirror="$(debian_mirror)"
    log "debootstrap bookworm minbase (once; cached in $ROOTFS_TAR)"
    debootstrap --variant=minbase --include=ca-certificates bookworm "$WORK/debootstrap" "$mirror" \
      >"$CACHE/debootstrap.log" 2>&1 || die "debootstrap failed; see $CACHE/debootstrap.log"
    tar -C "$WORK/debootstrap" -cf "$ROOTFS_TAR.tmp" . && mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
    rm -rf "$WORK/debootstrap"
    log "debootstrap done ($((SECONDS - start)) s)"
  fi
  mkdir -p "$dir"
  tar -C "$dir" -xf "$ROOTFS_TAR"
}

# Removes what no container needs at run time.
strip_root() {
  local root="$1"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
    "$root"/usr/share/lintian "$root"/var/log/* "$root"/tmp/* "$root"/root/.cache
}

import_root() {
  local root="$1" image="$2"
  shift 2
  tar -C "$root" --numeric-owner -cf - . | docker import "${LABELS[@]}" "$@" - "$image" >/dev/null
  log "imported $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.1f MB", $1 / 1e6}'))"
}

# --- runtime: node + exactly the libraries it links, from the Debian root ---------------------------
build_node_base() {
  local debian="$WORK/node-debian" root="$WORK/node-base" lib real
  fresh_root "$debian"
  install -D -m 0755 "$NODE_BIN" "$debian/usr/local/bin/node"
  mkdir -p "$root"/usr/local/bin "$root"/usr/lib/x86_64-linux-gnu "$root"/usr/lib64 "$root"/etc/ssl/certs \
    "$root"/tmp "$root"/home/node "$root"/usr/lib
  ln -s usr/lib "$root/lib"
  ln -s usr/lib64 "$root/lib64"
  cp -a "$debian/usr/local/bin/node" "$root/usr/local/bin/node"
  # Resolved inside the Debian root, so the libraries are bookworm's, not whatever the host has.
  for lib in $(chroot "$debian" ldd /usr/local/bin/node | grep -o '/[^ ]*'); do
    real="$(chroot "$debian" readlink -f "$lib")"
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$debian$real" "$root$lib"
  done
  cp -L "$debian/etc/ssl/certs/ca-certificates.crt" "$root/etc/ssl/certs/ca-certificates.crt"
  cp -L "$debian/etc/os-release" "$root/etc/os-release"
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:10001:10001:node:/home/node:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnode:x:10001:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
  chmod 1777 "$root/tmp"
  chown 10001:10001 "$root/home/node"
  chroot "$root" /usr/local/bin/node -e 'process.exit(0)' || die "node does not run in the runtime root"
  import_root "$root" "$NODE_BASE_IMAGE" \
    --change "ENV PATH=/usr/local/bin:/usr/bin:/bin" \
    --change "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" \
    --change "USER 10001" \
    --change 'CMD ["node"]'
  rm -rf "$debian" "$root"
}

# --- build stage: Debian root + node + npm (+ this machine's CA bundle, so npm reaches the registry
# through the machine's egress exactly as it does on the host) ---------------------------------------
build_node_build() {
  local root="$WORK/node-build" npm_dir
  fresh_root "$root"
  # The npm on PATH: the cache's node comes without one and runs the machine's.
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  [ -f "$npm_dir/bin/npm-cli.js" ] || die "npm not found on PATH (looked in $npm_dir)"
  install -D -m 0755 "$NODE_BIN" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$(readlink -f "$npm_dir")" "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  strip_root "$root"
  chroot "$root" /usr/local/bin/npm --version >/dev/null || die "npm does not run in the build root"
  import_root "$root" "$NODE_BUILD_IMAGE" \
    --change "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" \
    --change 'CMD ["node"]'
  rm -rf "$root"
}

# --- Redis: Debian root + Debian's redis-server ------------------------------------------------------
build_redis() {
  local root="$WORK/redis"
  fresh_root "$root"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  # No service may start inside the chroot.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod 0755 "$root/usr/sbin/policy-rc.d"
  chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server' \
    >"$CACHE/redis-apt.log" 2>&1 || die "installing redis-server in the chroot failed; see $CACHE/redis-apt.log"
  rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf"
  mkdir -p "$root/data"
  chroot "$root" chown redis:redis /data
  strip_root "$root"
  import_root "$root" "$REDIS_IMAGE" \
    --change "USER redis" \
    --change "WORKDIR /data" \
    --change "EXPOSE 6379" \
    --change 'CMD ["redis-server", "--protected-mode", "no", "--dir", "/data"]'
  rm -rf "$root"
}

start=$SECONDS
image_current "$NODE_BASE_IMAGE" || build_node_base
image_current "$NODE_BUILD_IMAGE" || build_node_build
image_current "$REDIS_IMAGE" || build_redis
log "base images ready in $((SECONDS - start)) s: $NODE_BASE_IMAGE $NODE_BUILD_IMAGE $REDIS_IMAGE"
