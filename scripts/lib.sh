# Shared shell helpers for scripts/*.sh. Source it; it defines functions and exports the cache paths.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Tools built or downloaded by the project live here, outside the repo, and survive between runs.
export TRACEMESH_CACHE="${TRACEMESH_CACHE:-$HOME/.cache/tracemesh}"
export TRACEMESH_BIN="$TRACEMESH_CACHE/bin"
mkdir -p "$TRACEMESH_BIN"
case ":$PATH:" in *":$TRACEMESH_BIN:"*) ;; *) export PATH="$TRACEMESH_BIN:$PATH" ;; esac

# The pnpm version is package.json's "packageManager" (pnpm@X.Y.Z); nothing else names it.
PNPM_VERSION="$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' "$ROOT/package.json")"
[ -n "$PNPM_VERSION" ] || { echo "package.json has no \"packageManager\": \"pnpm@…\"" >&2; exit 1; }

# Daemons a tool script starts for this run (dockerd) write their pid here; the run stops them at exit.
# One folder per top-level run (the scripts it runs inherit it), so a run never stops a daemon that another
# run on the same machine started and still uses. Made by the script that starts a daemon, not here: every
# script sources this file, and most start none.
export TRACEMESH_STARTED_PIDS="${TRACEMESH_STARTED_PIDS:-$TRACEMESH_CACHE/run/pids/$$}"

# Stops every daemon a tool script started during this run (bounded: SIGTERM, then SIGKILL after 20 s).
stop_started_daemons() {
  local f pid i
  for f in "$TRACEMESH_STARTED_PIDS"/*.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    rm -f "$f"
    kill -0 "$pid" 2>/dev/null || continue
    log "stopping $(basename "$f" .pid) (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rmdir "$TRACEMESH_STARTED_PIDS" 2>/dev/null || true
}

log() { printf '\033[1;34m[tracemesh]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[tracemesh]\033[0m %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = "0" ]; }

# apt_install PKG...: installs missing Debian packages when root, else says how and fails.
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! is_root; then die "missing Debian packages: ${missing[*]} — run: sudo apt-get install -y ${missing[*]}"; fi
  log "installing Debian packages: ${missing[*]}"
  if [ ! -f /tmp/.tracemesh-apt-updated ]; then
    apt-get update -qq && touch /tmp/.tracemesh-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Go builds use the module proxy configured on the machine; the checksum database is not reachable.
go_env() {
  export GOSUMDB=off GOFLAGS=-mod=mod GOTOOLCHAIN=local
  export GOPATH="${GOPATH:-$HOME/go}"
}

# stamp_ok NAME KEY: true when NAME was last built for KEY (e.g. a manifest hash).
stamp_ok() { [ -f "$TRACEMESH_CACHE/stamps/$1" ] && [ "$(cat "$TRACEMESH_CACHE/stamps/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$TRACEMESH_CACHE/stamps"; printf '%s' "$2" >"$TRACEMESH_CACHE/stamps/$1"; }

# The Collector a builder manifest describes (this checkout's deploy/collector/builder.yaml unless
# TRACEMESH_COLLECTOR_MANIFEST names another): its cache key, and the binary scripts/tools/20-collector.sh
# built for it (@tracemesh/devkit's findCollector computes the same path).
collector_manifest() { printf '%s' "${TRACEMESH_COLLECTOR_MANIFEST:-$ROOT/deploy/collector/builder.yaml}"; }
collector_manifest_hash() { sha256sum "$(collector_manifest)" | cut -c1-16; }
collector_binary() { printf '%s' "$TRACEMESH_CACHE/collector/$(collector_manifest_hash)/otelcol-tracemesh"; }

# The Node the project runs on is the images' (deploy/docker/Dockerfile, ARG NODE_IMAGE=node:<tag>): its major, and
# its exact version when the tag names one (node:24.1.0-…); nothing else names it.
node_wanted() {
  local tag
  tag="$(sed -n 's/^ARG NODE_IMAGE=node:\([^ ]*\).*/\1/p' "$ROOT/deploy/docker/Dockerfile")"
  [[ "$tag" =~ ^([0-9]+)(\.[0-9]+)?(\.[0-9]+)?([^0-9.]|$) ]] ||
    die "deploy/docker/Dockerfile: ARG NODE_IMAGE=node:<major>… expected, found \"node:$tag\""
  NODE_MAJOR="${BASH_REMATCH[1]}"
  NODE_EXACT=""
  if [ -n "${BASH_REMATCH[3]}" ]; then NODE_EXACT="${BASH_REMATCH[1]}${BASH_REMATCH[2]}${BASH_REMATCH[3]}"; fi
}

# The first `node` on PATH that is not ours (the cache's bin/ left out): the machine's Node, or nothing.
machine_node() {
  local p=":$PATH:"
  p="${p//:$TRACEMESH_BIN:/:}"
  p="${p#:}"
  PATH="${p%:}" command -v node || true
}

# ensure_node: when the machine's node is older than the images' major (or missing), the official binary of that
# Node (the npm registry's node-linux-<arch> package) is installed once under $TRACEMESH_CACHE/node/<version>/ and
# linked as $TRACEMESH_BIN/node, which PATH puts first, so every script, pnpm and tsc below runs on it. It says so
# in one line when it installs, and nothing after. Exports TRACEMESH_MACHINE_NODE (the machine's node, for
# benchmarks that compare runtimes). Nested scripts of one run find it done.
ensure_node() {
  [ "${TRACEMESH_NODE_READY:-}" = "$TRACEMESH_BIN" ] && return 0
  local machine machine_version="" link="$TRACEMESH_BIN/node"
  machine="$(machine_node)"
  export TRACEMESH_MACHINE_NODE="$machine"
  node_wanted
  [ -z "$machine" ] || machine_version="$("$machine" -p process.versions.node 2>/dev/null || true)"
  if [ -n "$machine_version" ] && [ "${machine_version%%.*}" -ge "$NODE_MAJOR" ]; then
    # The machine's is new enough: a link left from before must not shadow it.
    if [ -L "$link" ] && [[ "$(readlink "$link")" == "$TRACEMESH_CACHE/node/"* ]]; then rm -f "$link"; fi
    export TRACEMESH_NODE_READY="$TRACEMESH_BIN"
    return 0
  fi

  local version=""
  if [ -f "$TRACEMESH_CACHE/stamps/node" ]; then version="$(cat "$TRACEMESH_CACHE/stamps/node")"; fi
  # The cached one serves while it is the wanted version (or of the wanted major, when the image names none).
  if [ -n "$version" ] && [ -x "$TRACEMESH_CACHE/node/$version/bin/node" ] &&
    { [ "$version" = "$NODE_EXACT" ] || { [ -z "$NODE_EXACT" ] && [ "${version%%.*}" = "$NODE_MAJOR" ]; }; }; then
    ln -sfn "$TRACEMESH_CACHE/node/$version/bin/node" "$link"
    export TRACEMESH_NODE_READY="$TRACEMESH_BIN"
    return 0
  fi

  command -v npm >/dev/null 2>&1 || die "Node $NODE_MAJOR is needed and npm (which fetches it) is missing: install Node ≥ 20 with npm"
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) die "no official Node binary for $(uname -m) on npm: install Node $NODE_MAJOR yourself" ;;
  esac
  version="$NODE_EXACT"
  if [ -z "$version" ]; then
    # The newest release of the major that the registry serves (releases only: x.y.z).
    version="$(npm view "node-linux-$arch" versions --json --loglevel=error | grep -o "\"$NODE_MAJOR\.[0-9]*\.[0-9]*\"" |
      tr -d '"' | sort -V | tail -n 1)" || true
    [ -n "$version" ] || die "npm serves no node-linux-$arch@$NODE_MAJOR.x"
  fi
  local dir="$TRACEMESH_CACHE/node/$version" tmp out
  mkdir -p "$TRACEMESH_CACHE/node"
  tmp="$(mktemp -d "$TRACEMESH_CACHE/node/.fetch.XXXXXX")"
  # No trap (the calling script owns EXIT): every way out below removes $tmp.
  if ! out="$(cd "$tmp" && npm pack "node-linux-$arch@$version" --loglevel=error 2>&1)"; then
    rm -rf "$tmp"
    die "npm pack node-linux-$arch@$version failed: $out"
  fi
  mkdir "$tmp/node"
  if ! tar -xzf "$tmp/node-linux-$arch-$version.tgz" -C "$tmp/node" --strip-components=1 ||
    [ "$("$tmp/node/bin/node" --version 2>/dev/null)" != "v$version" ]; then
    rm -rf "$tmp"
    die "node-linux-$arch@$version does not run here ($(uname -m), $(ldd --version 2>/dev/null | head -n 1))"
  fi
  # The package ships node alone: the machine's npm (and npx) go on running, now on this node.
  if ! out="$(PATH="$tmp/node/bin:$PATH" npm --version 2>&1)"; then
    rm -rf "$tmp"
    die "the machine's npm ($(command -v npm)) does not run on Node $version: $out"
  fi
  # A run beside this one may have installed it meanwhile: keep that one (its processes may be running it).
  if [ "$("$dir/bin/node" --version 2>/dev/null)" != "v$version" ]; then
    rm -rf "$dir"
    mv -T "$tmp/node" "$dir"
  fi
  rm -rf "$tmp"
  ln -sfn "$dir/bin/node" "$link"
  stamp_set node "$version"
  # Older versions are ~170 MB each: keep only this one.
  find "$TRACEMESH_CACHE/node" -mindepth 1 -maxdepth 1 -type d ! -name "$version" ! -name '.fetch.*' -exec rm -rf {} +
  export TRACEMESH_NODE_READY="$TRACEMESH_BIN"
  local had="no Node on this machine"
  [ -z "$machine_version" ] || had="Node v$machine_version on this machine"
  log "$had; using Node v$version from the project's cache"
}

ensure_pnpm() {
  ensure_node
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version)" = "$PNPM_VERSION" ]; then return 0; fi
  # Installed into the cache (no global npm prefix needed, no root needed).
  if [ ! -x "$TRACEMESH_CACHE/pnpm/bin/pnpm" ] || [ "$("$TRACEMESH_CACHE/pnpm/bin/pnpm" --version)" != "$PNPM_VERSION" ]; then
    log "bootstrapping pnpm $PNPM_VERSION"
    npm install --silent --no-audit --no-fund --prefix "$TRACEMESH_CACHE/pnpm" -g "pnpm@$PNPM_VERSION" >/dev/null
  fi
  ln -sf "$TRACEMESH_CACHE/pnpm/bin/pnpm" "$TRACEMESH_BIN/pnpm"
}

# Installs workspace dependencies and builds (each package's build cleans its dist/ first): every
# package, or with arguments only those package folders and what they depend on
# (e.g. `bootstrap_workspace packages/runtime` builds proto, trace-model, devkit and runtime).
bootstrap_workspace() {
  ensure_pnpm
  cd "$ROOT"
  log "installing dependencies"
  pnpm install --frozen-lockfile --reporter=silent
  local filters=() dir
  for dir in "$@"; do filters+=(--filter "{./$dir}..."); done
  if [ ${#filters[@]} -eq 0 ]; then
    log "building every package"
    quiet_unless_failing pnpm -r --workspace-concurrency=1 --reporter=append-only run build
  else
    log "building $* and what they depend on"
    quiet_unless_failing pnpm "${filters[@]}" --workspace-concurrency=1 --reporter=append-only run build
  fi
}

# quiet_unless_failing CMD...: runs CMD with its output kept aside; prints it only when CMD fails (tsc reports
# its errors on stdout, so sending stdout to /dev/null made a failed build end the run without a word).
quiet_unless_failing() {
  local out status=0
  out="$(mktemp)"
  "$@" >"$out" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$out" >&2
    rm -f "$out"
    die "failed (exit $status): $*"
  fi
  rm -f "$out"
}

# go_wrapper_build DIR OUT LDFLAGS PKG...: builds main packages PKG... into folder OUT through a wrapper module in
# DIR (in the cache) whose go.mod is the text in $WRAPPER_GOMOD (module line added here; requires, replaces).
# One `go build` for several packages of one module graph shares the compile work; -p 2 fits two cores.
go_wrapper_build() {
  local dir="$1" out="$2" ldflags="$3" p
  shift 3
  rm -rf "$dir" && mkdir -p "$dir" "$out"
  { printf 'module tracemesh.local/%s\n\n' "$(basename "$dir")"; printf '%s\n' "$WRAPPER_GOMOD"; } >"$dir/go.mod"
  { printf '//go:build tools\n\npackage tools\n\n'; for p in "$@"; do printf 'import _ "%s"\n' "$p"; done; } >"$dir/tools.go"
  (cd "$dir" && go mod tidy && CGO_ENABLED=0 go build -p 2 -trimpath -ldflags "$ldflags" -o "$out/" "$@")
}

# pip_tool NAME VERSION REQUIREMENT COMMAND PROBE...: installs a PyPI tool into a virtualenv in the cache
# ($TRACEMESH_CACHE/NAME/VERSION) once, checks that `COMMAND PROBE...` runs, and links COMMAND into
# $TRACEMESH_BIN.
pip_tool() {
  local name="$1" version="$2" requirement="$3" command="$4"
  shift 4
  local venv="$TRACEMESH_CACHE/$name/$version"
  if stamp_ok "$name" "$version" && [ -x "$venv/bin/$command" ]; then
    ln -sfn "$venv/bin/$command" "$TRACEMESH_BIN/$command"
    return 0
  fi
  command -v python3 >/dev/null 2>&1 || apt_install python3
  python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
  log "installing $requirement into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$requirement"
  "$venv/bin/$command" "$@" >/dev/null || die "$command does not run"
  ln -sfn "$venv/bin/$command" "$TRACEMESH_BIN/$command"
  stamp_set "$name" "$version"
}
