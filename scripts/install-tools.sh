#!/usr/bin/env bash
# Installs the external tools the tests need (redis-server, the Collector, helm, skaffold, Docker
# and the local base images) by running scripts/tools/*.sh: every one, or only those named as arguments
# (a tool's name is its script's without the number: `install-tools.sh redis collector`). Each one is
# idempotent and caches its result outside the repo, so only a fresh machine pays for the builds.
#
# Lanes keep a cold run short: Go builds are CPU-bound while downloads and image builds mostly wait on
# the network and the disk, so the two lanes run side by side. Debian packages come first, alone,
# because apt holds one lock.
source "$(dirname "$0")/lib.sh"

LOGS="$TRACEMESH_CACHE/run/tool-logs"
mkdir -p "$LOGS"

run_tool() {
  local tool="$1" name start
  name="$(basename "$tool" .sh)"
  start=$SECONDS
  if bash "$tool" >"$LOGS/$name.log" 2>&1; then
    log "tool $name ready ($((SECONDS - start)) s)"
  else
    log "tool $name FAILED after $((SECONDS - start)) s; its output:"
    sed 's/^/    /' "$LOGS/$name.log" >&2
    return 1
  fi
}

lane() {
  local tool
  for tool in "$@"; do run_tool "$tool" || return 1; done
}

wanted=("$@")
for name in "${wanted[@]}"; do
  compgen -G "$ROOT/scripts/tools/[0-9]*-$name.sh" >/dev/null || die "no tool script scripts/tools/NN-$name.sh"
done

apt_first=() go_builds=() others=()
for tool in "$ROOT"/scripts/tools/*.sh; do
  name="$(basename "$tool" .sh)"
  if [ ${#wanted[@]} -gt 0 ] && [[ " ${wanted[*]} " != *" ${name#*-} "* ]]; then continue; fi
  case "$(basename "$tool")" in
    10-*) apt_first+=("$tool") ;;
    *) if grep -q '^go_env' "$tool"; then go_builds+=("$tool"); else others+=("$tool"); fi ;;
  esac
done

lane ${apt_first[@]+"${apt_first[@]}"}
lane ${go_builds[@]+"${go_builds[@]}"} &
go_lane=$!
lane ${others[@]+"${others[@]}"} &
other_lane=$!
status=0
wait "$go_lane" || status=1
wait "$other_lane" || status=1
[ "$status" -eq 0 ] || die "some tools could not be installed (see above)"
