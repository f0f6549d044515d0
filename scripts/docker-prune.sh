#!/usr/bin/env bash
# Removes what the project's Docker builds leave in dockerd, so that repeated test runs do not fill the disk
# (every run builds the ten images again: the classic builder keeps each build stage as an untagged image, a
# build cut off mid-step keeps its container, and skaffold adds a tag per build):
#   - stopped containers of our images, created before SINCE;
#   - skaffold's per-build tags (tracemesh/<name>:<digest or commit>); :latest, :test and the local bases stay;
#   - untagged images of ours (build stages, replaced tags) created before SINCE: a run keeps its own build
#     stages, the next run's build cache.
# Only what carries the org.tracemesh.recipe label (every image of ours has it, from its base) is touched.
#   bash scripts/docker-prune.sh [SINCE]   SINCE: a Unix time (default: now); scripts/test.sh passes its start
source "$(dirname "$0")/lib.sh"
since="${1:-$(date +%s)}"
[[ "$since" =~ ^[0-9]+$ ]] || die "SINCE is a Unix time in seconds, not \"$since\""
command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1 || { log "docker-prune: no Docker engine answers; nothing to do"; exit 0; }

ours=(--filter label=org.tracemesh.recipe)
before="$(df -B1M --output=avail "$(docker info --format '{{.DockerRootDir}}')" | tail -n 1 | tr -d ' ')"
timeout 120 docker container prune --force "${ours[@]}" --filter "until=$since" >/dev/null
# A tag skaffold added: a 64-hex digest (tagPolicy sha256) or a 7–12-hex commit (the default gitCommit).
mapfile -t build_tags < <(docker images "${ours[@]}" --format '{{.Repository}}:{{.Tag}}' |
  grep -E '^tracemesh/[a-z0-9-]+:([0-9a-f]{7,12}|[0-9a-f]{64})$' || true)
# An image that still has another tag (:latest) only loses this one; one without goes, unless a container uses it.
for tag in ${build_tags[@]+"${build_tags[@]}"}; do timeout 60 docker image rm "$tag" >/dev/null 2>&1 || true; done
timeout 300 docker image prune --force "${ours[@]}" --filter "until=$since" >/dev/null
after="$(df -B1M --output=avail "$(docker info --format '{{.DockerRootDir}}')" | tail -n 1 | tr -d ' ')"
log "docker-prune: ${#build_tags[@]} build tags removed, untagged images and stopped containers from before $(date -u -d "@$since" +%H:%M:%SZ) pruned; $(((after - before) / 1024)) GiB freed, $((after / 1024)) GiB free"
