#!/usr/bin/env bash
# kubeconform (strict schema validation) plus its schemas, offline: the PyPI package kubernetes-validate
# ships the Kubernetes JSON schemas (strict: unknown fields rejected); one version's folder is copied into the
# cache, read through -schema-location "$TRACEMESH_CACHE/k8s-schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json".
source "$(dirname "$0")/../lib.sh"
KUBECONFORM_VERSION="v0.8.0"
KUBERNETES_VALIDATE_VERSION="1.37.0"
K8S_SCHEMA_VERSION="1.32.0"   # matches the kubectl 1.32 on the machines (the oldest cluster we target)
key="$KUBECONFORM_VERSION/$KUBERNETES_VALIDATE_VERSION/$K8S_SCHEMA_VERSION"
if stamp_ok kubeconform "$key" && [ -x "$TRACEMESH_BIN/kubeconform" ] && [ -f "$TRACEMESH_CACHE/k8s-schemas/deployment-apps-v1.json" ]; then exit 0; fi
go_env
log "building kubeconform $KUBECONFORM_VERSION"
GOBIN="$TRACEMESH_BIN" go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"

log "fetching Kubernetes $K8S_SCHEMA_VERSION JSON schemas (PyPI kubernetes-validate $KUBERNETES_VALIDATE_VERSION)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
python3 -m zipfile -e "$tmp"/kubernetes_validate-*.whl "$tmp/whl"
# The wheel holds kubernetes-json-schema/v<version>-local-strict/<kind>-<group>-<version>.json, each with an
# https `$id` and `$ref`s to "/api/_definitions.json"; kubeconform would resolve those over the network, so the
# copy drops `$id` and makes the refs relative to the file (offline, same content otherwise).
src="$(find "$tmp/whl" -type d -name "v$K8S_SCHEMA_VERSION-local-strict" | head -1)"
[ -n "$src" ] || die "kubernetes-validate $KUBERNETES_VALIDATE_VERSION has no v$K8S_SCHEMA_VERSION-local-strict schemas"
rm -rf "$TRACEMESH_CACHE/k8s-schemas" && mkdir -p "$TRACEMESH_CACHE/k8s-schemas"
python3 - "$src" "$TRACEMESH_CACHE/k8s-schemas" <<'PY'
import glob, json, os, sys
src, dst = sys.argv[1], sys.argv[2]
for path in glob.glob(os.path.join(src, "*.json")):
    with open(path) as f:
        schema = json.load(f)
    schema.pop("$id", None)
    text = json.dumps(schema).replace('"/api/_definitions.json#', '"_definitions.json#')
    with open(os.path.join(dst, os.path.basename(path)), "w") as f:
        f.write(text)
PY
stamp_set kubeconform "$key"
