#!/usr/bin/env bash
# A Docker engine for the image tests: Debian's docker.io, with dockerd started in the background
# (no systemd on the build machines) and its log kept under the cache. Then the local base images
# (no container registry is reachable, so they are made here: scripts/docker-base-image.sh).
source "$(dirname "$0")/../lib.sh"

command -v dockerd >/dev/null 2>&1 || apt_install docker.io
command -v docker >/dev/null 2>&1 || apt_install docker.io

# Bounded wait: true once the daemon answers.
docker_up() {
  local i
  for ((i = 0; i < $1; i++)); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  return 1
}

if ! docker info >/dev/null 2>&1; then
  is_root || die "dockerd is not running and starting it needs root: sudo dockerd &"
  mkdir -p "$TRACEMESH_CACHE/docker"
  daemon_log="$TRACEMESH_CACHE/docker/dockerd.log"
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    log "starting dockerd (log: $daemon_log)"
    # setsid: the daemon outlives this install script; the test run that started it stops it at
    # its end (stop_started_daemons in lib.sh reads this pid file).
    setsid dockerd >>"$daemon_log" 2>&1 </dev/null &
    mkdir -p "$TRACEMESH_STARTED_PIDS"
    echo $! >"$TRACEMESH_STARTED_PIDS/dockerd.pid"
  fi
  docker_up 60 || die "dockerd did not answer within 60 s; last lines of $daemon_log:
$(tail -n 30 "$daemon_log" 2>/dev/null)"
fi
log "docker engine $(docker version --format '{{.Server.Version}}' 2>/dev/null) is up"

bash "$ROOT/scripts/docker-base-image.sh"
