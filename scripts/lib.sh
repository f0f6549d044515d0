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
# run on the same machine started and still uses.
export TRACEMESH_STARTED_PIDS="${TRACEMESH_STARTED_PIDS:-$TRACEMESH_CACHE/run/pids/$$}"
mkdir -p "$TRACEMESH_STARTED_PIDS"

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

ensure_pnpm() {
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
    pnpm -r --workspace-concurrency=1 --reporter=append-only run build >/dev/null
  else
    log "building $* and what they depend on"
    pnpm "${filters[@]}" --workspace-concurrency=1 --reporter=append-only run build >/dev/null
  fi
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
