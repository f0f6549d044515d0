#!/usr/bin/env bash
# Fluent Bit, the real binary: the local demo ships every process's log through it, and the CI cluster's
# DaemonSet runs it (scripts/ci-fluent-bit-image.sh puts it in an image). No registry serves a Fluent Bit binary
# or image here, so the pinned release is built from source once and cached by this script's hash:
# $TRACEMESH_BIN/fluent-bit points at it. Users on kind/minikube/EKS keep the official image.
#
# The source: ../shared/mirror/fluent-bit-$VERSION-src.tar.xz beside the checkout when it exists (a copy of the
# upstream tag, checked against its SHA256SUMS), else the upstream tag's tarball. Either way the unpacked tree
# must hash to SOURCE_TREE_SHA256: the sha256 of `sha256sum` over every file (and of the symlinks' targets), sorted by path — independent of
# the compression, and leaving out the one file the mirror lacks (SQLite's amalgamation, which this build does
# not use: it links Debian's libsqlite3).
source "$(dirname "$0")/../lib.sh"
VERSION="5.1.1"
MIRROR_TARBALL_SHA256="92a7f875aa9164736c896543ec63d98be54b98a20732f156c9d8e53f63d332d4"
SOURCE_TREE_SHA256="c06e08bc1b914f32561a0b43b1cf452da700a2a873150189d8f824a73d8d3428"
UPSTREAM_URL="https://github.com/fluent/fluent-bit/archive/refs/tags/v$VERSION.tar.gz"
MISSING_FROM_MIRROR="lib/sqlite-amalgamation-3510100/sqlite3.c"

# Only the plugins the project uses (FLB_MINIMAL turns every plugin off): tail with its offset database,
# the kubernetes, parser and multiline filters, cloudwatch_logs and stdout, the HTTP server for the probes,
# the storage backlog (filesystem buffers survive a restart) and the emitter (the multiline filter's).
CMAKE_FLAGS=(
  -DFLB_MINIMAL=On -DFLB_RELEASE=On -DFLB_DEBUG=Off
  -DFLB_IN_TAIL=On -DFLB_IN_STORAGE_BACKLOG=On -DFLB_IN_EMITTER=On -DFLB_IN_FLUENTBIT_METRICS=On
  -DFLB_FILTER_KUBERNETES=On -DFLB_FILTER_PARSER=On -DFLB_FILTER_MULTILINE=On
  -DFLB_OUT_CLOUDWATCH_LOGS=On -DFLB_OUT_STDOUT=On
  -DFLB_HTTP_SERVER=On
  -DFLB_PREFER_SYSTEM_LIB_SQLITE=On
  -DFLB_WASM=Off -DFLB_LUAJIT=Off -DFLB_KAFKA=Off -DFLB_ZIG=Off -DFLB_EXAMPLES=Off -DFLB_SHARED_LIB=Off
  -DFLB_PROXY_GO=Off -DFLB_CUSTOM_CALYPTIA=Off -DFLB_BACKTRACE=Off
)

# Rebuilt when the source or the build flags change (not for an edit of this script's comments).
key="$VERSION-$(printf '%s\n' "$SOURCE_TREE_SHA256" "${CMAKE_FLAGS[@]}" | sha256sum | cut -c1-12)"
out="$TRACEMESH_CACHE/fluent-bit/$key"
binary="$out/fluent-bit"
if stamp_ok fluent-bit "$key" && [ -x "$binary" ]; then
  ln -sfn "$binary" "$TRACEMESH_BIN/fluent-bit"
  exit 0
fi

# One build at a time per cache: a second run waits, then finds the binary.
mkdir -p "$TRACEMESH_CACHE/fluent-bit"
exec 9>"$TRACEMESH_CACHE/fluent-bit/.lock"
flock 9
if stamp_ok fluent-bit "$key" && [ -x "$binary" ]; then
  ln -sfn "$binary" "$TRACEMESH_BIN/fluent-bit"
  exit 0
fi

apt_install cmake make gcc g++ flex bison pkg-config libyaml-dev libssl-dev libsqlite3-dev openssl

# ../shared/mirror beside the checkout (CI clones into /work/<x>/ with /work/shared next to it); a git worktree
# elsewhere finds it beside its main checkout.
find_mirror() {
  local dir common
  for dir in "$ROOT/../shared/mirror" "$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)/../../shared/mirror"; do
    [ -f "$dir/fluent-bit-$VERSION-src.tar.xz" ] && { (cd "$dir" && pwd); return 0; }
  done
  return 1
}

# Every regular file's sha256 and every symlink's target, sorted by path, hashed once more.
source_tree_sha256() {
  (cd "$1" && {
    find . -type f ! -path "./$MISSING_FROM_MIRROR" -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    find . -type l -printf '%p -> %l\n' | LC_ALL=C sort
  } | sha256sum | cut -d' ' -f1)
}

work="$(mktemp -d "$TRACEMESH_CACHE/fluent-bit/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
started=$SECONDS
if mirror="$(find_mirror)"; then
  tarball="$mirror/fluent-bit-$VERSION-src.tar.xz"
  log "Fluent Bit $VERSION: source from $tarball"
  [ "$(sha256sum "$tarball" | cut -d' ' -f1)" = "$MIRROR_TARBALL_SHA256" ] || die "$tarball: sha256 is not the pinned $MIRROR_TARBALL_SHA256"
  tar -xJf "$tarball" -C "$work"
else
  log "Fluent Bit $VERSION: no ../shared/mirror; downloading $UPSTREAM_URL"
  command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
  curl -fsSL --retry 3 -o "$work/src.tar.gz" "$UPSTREAM_URL" || die "cannot download $UPSTREAM_URL"
  tar -xzf "$work/src.tar.gz" -C "$work"
fi
src="$work/fluent-bit-$VERSION"
[ -d "$src" ] || die "the source tarball has no fluent-bit-$VERSION/ folder"
tree="$(source_tree_sha256 "$src")"
[ "$tree" = "$SOURCE_TREE_SHA256" ] || die "Fluent Bit $VERSION source tree hashes to $tree, not the pinned $SOURCE_TREE_SHA256"

log "building Fluent Bit $VERSION (one-off: ~2 min on 2 idle cores; cached in $out)"
mkdir -p "$src/build"
(cd "$src/build" && cmake .. "${CMAKE_FLAGS[@]}" >"$work/cmake.log" 2>&1) || { tail -40 "$work/cmake.log" >&2; die "Fluent Bit cmake failed"; }
(cd "$src/build" && make -j2 fluent-bit-bin >"$work/make.log" 2>&1) || { tail -60 "$work/make.log" >&2; die "Fluent Bit build failed"; }
rm -rf "$out" && mkdir -p "$out"
# Stripped: 30 MB of symbols would go into the CI image too.
strip -o "$binary" "$src/build/bin/fluent-bit"
cp "$src/conf/parsers.conf" "$out/parsers.conf"
"$binary" --version >/dev/null || die "the built fluent-bit does not run: $binary"
ln -sfn "$binary" "$TRACEMESH_BIN/fluent-bit"
stamp_set fluent-bit "$key"
find "$TRACEMESH_CACHE/fluent-bit" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
log "Fluent Bit built in $((SECONDS - started)) s: $("$binary" --version | head -n 1) ($(du -h "$binary" | cut -f1))"
