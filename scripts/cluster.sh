#!/usr/bin/env bash
# A real one-node Kubernetes cluster for CI, run directly on this machine as root (kind cannot run on the build
# machines: its privileged node containers fail). Components are built from upstream sources by
# scripts/tools/5x-*.sh (cached under $TRACEMESH_CACHE/cluster/bin); runc and the CNI plugins come from Debian.
#
#   scripts/cluster.sh up            start (or restart after a crash); prints the kubeconfig path as its last line
#   scripts/cluster.sh down          stop everything and leave the machine as it was found
#   scripts/cluster.sh status        what runs, and the node and pods
#   scripts/cluster.sh import IMG…   load Docker images into the node's containerd (like `kind load`)
#   scripts/cluster.sh import-for DIR  load every image the kustomization DIR uses (skaffold's ci profile, each deploy)
#   scripts/cluster.sh env           print KUBECONFIG=… and the containerd socket for other scripts
#
# What it runs: etcd (loopback), kube-apiserver (RBAC + Node authorization, ServiceAccount tokens, PodSecurity
# admission), kube-controller-manager, kube-scheduler, containerd (its own root, state and socket), kubelet
# (cgroupfs, cgroup v1 allowed), kube-proxy (iptables), kube-router's network policy controller (firewall only, so
# NetworkPolicies are enforced), CoreDNS as a pod, and static local PersistentVolumes behind a default StorageClass.
# Every packet stays on loopback, on the bridge this script creates ($BRIDGE, $NODE_CIDR) and on the pod addresses
# inside it. Every port is chosen free at start. Every wait is bounded.
source "$(dirname "$0")/lib.sh"

BIN="$TRACEMESH_CACHE/cluster/bin"
CLUSTER_NAME="tracemesh-ci"
NODE_NAME="tracemesh-ci"
BRIDGE="tmci0"
# One /24 for the node and its pods (bridge address = node IP = pods' gateway), one for Service IPs.
NODE_CIDR="10.213.0.0/24"
NODE_IP="10.213.0.1"
SERVICE_CIDR="10.213.1.0/24"
DNS_IP="10.213.1.10"
STATE="/var/lib/tracemesh-ci"   # certificates, etcd data, containerd root, kubelet root, volumes
RUN="/run/tracemesh-ci"         # sockets, pids, the record of what the machine looked like before `up`
KUBECONFIG_PATH="$STATE/kubeconfig"
CONTAINERD_SOCK="$RUN/containerd/containerd.sock"
PAUSE_IMAGE="tracemesh.local/pause:v1.37.2"
COREDNS_IMAGE="tracemesh.local/coredns:v1.15.0"
# Sysctls kubelet and kube-proxy may change (kubelet's setupKernelTunables; br_netfilter for Service traffic on
# the bridge); recorded at `up`, restored at `down`.
SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables
  net.bridge.bridge-nf-call-ip6tables net.ipv4.conf.all.route_localnet)
# Host paths the components write although told to use $STATE (hard-coded in kubelet, containerd or CNI).
HOST_PATHS=(/var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /run/netns /var/run/netns
  /etc/cni /opt/cni /run/containerd /var/lib/containerd /opt/containerd /var/run/nri /run/nri /etc/kubernetes)
STARTED_COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy kube-router)

kubectl_ci() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }
ctr_ci() { "$BIN/ctr" --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }
crictl_ci() { "$BIN/crictl" --runtime-endpoint "unix://$CONTAINERD_SOCK" --image-endpoint "unix://$CONTAINERD_SOCK" --timeout 20s "$@"; }

# wait_for SECONDS WHAT CMD…: polls CMD every 0.5 s; dies with WHAT when it never succeeds.
wait_for() {
  local seconds="$1" what="$2" i
  shift 2
  for ((i = 0; i < seconds * 2; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "timed out after ${seconds}s waiting for $what"
}

free_port() {
  python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$1"
}

need_binaries() {
  local b
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl containerd \
    containerd-shim-runc-v2 ctr crictl coredns pause kube-router; do
    [ -x "$BIN/$b" ] || die "missing $BIN/$b: run scripts/install-tools.sh (scripts/tools/5x-*.sh build it)"
  done
  command -v runc >/dev/null || die "runc missing: bash scripts/tools/10-cluster-packages.sh"
  command -v ipset >/dev/null || die "ipset missing (kube-router calls it): bash scripts/tools/10-cluster-packages.sh"
  [ -x /usr/lib/cni/bridge ] || die "CNI plugins missing: bash scripts/tools/10-cluster-packages.sh"
}

# ---------------------------------------------------------------------------------------------------------------
# The machine before `up`, so `down` can put it back.

record_machine() {
  mkdir -p "$RUN/before"
  local s p
  : >"$RUN/before/sysctl"
  for s in "${SYSCTLS[@]}"; do
    [ -e "/proc/sys/${s//.//}" ] && printf '%s=%s\n' "$s" "$(sysctl -n "$s")" >>"$RUN/before/sysctl"
  done
  : >"$RUN/before/paths"
  for p in "${HOST_PATHS[@]}"; do [ -e "$p" ] && echo "$p" >>"$RUN/before/paths"; done
  iptables_tables >"$RUN/before/iptables-tables"
  iptables_chains >"$RUN/before/iptables-chains"
  ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 >"$RUN/before/links"
  ipset list -n | sort >"$RUN/before/ipsets"
}

# "FAMILY TABLE" for every iptables table the kernel has, IPv4 and IPv6 (nft families ip/ip6). On a machine
# that never used one, a table does not exist until something (kube-proxy, kubelet) touches it.
iptables_tables() {
  iptables-save 2>/dev/null | sed -n 's/^\*\(.*\)/ip \1/p'
  ip6tables-save 2>/dev/null | sed -n 's/^\*\(.*\)/ip6 \1/p'
}

# "TABLE CHAIN" for every chain of every table, IPv4 and IPv6 (prefixed 4/6).
iptables_chains() {
  local fam cmd table
  for fam in 4 6; do
    cmd=iptables
    [ "$fam" = 6 ] && cmd=ip6tables
    for table in filter nat mangle raw; do
      "$cmd" -t "$table" -S 2>/dev/null | awk -v f="$fam" -v t="$table" '$1 == "-N" {print f, t, $2}'
    done
  done
}

# ---------------------------------------------------------------------------------------------------------------
# Certificates (openssl), one CA for everything.

make_certs() {
  local pki="$STATE/pki"
  mkdir -p "$pki" && chmod 700 "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$CLUSTER_NAME-ca" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  # cert NAME SUBJECT [SANS]
  cert() {
    local ext="$pki/$1.ext"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >"$ext"
    if [ -n "${3:-}" ]; then
      printf 'extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$3" >>"$ext"
    else
      printf 'extendedKeyUsage=clientAuth\n' >>"$ext"
    fi
    openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
      -extfile "$ext" -out "$pki/$1.crt" 2>/dev/null
    rm -f "$pki/$1.csr" "$ext"
  }
  cert apiserver "/CN=kube-apiserver" \
    "IP:$NODE_IP,IP:127.0.0.1,IP:${SERVICE_CIDR%.0/24}.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost"
  cert kubelet-serving "/CN=system:node:$NODE_NAME/O=system:nodes" "IP:$NODE_IP,DNS:$NODE_NAME"
  cert admin "/CN=$CLUSTER_NAME-admin/O=system:masters"
  cert apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client/O=system:masters"
  cert controller-manager "/CN=system:kube-controller-manager"
  cert scheduler "/CN=system:kube-scheduler"
  cert kubelet "/CN=system:node:$NODE_NAME/O=system:nodes"
  cert kube-proxy "/CN=system:kube-proxy"
  cert kube-router "/CN=tracemesh-ci:kube-router"
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
}

# kubeconfig FILE USER CONTEXT
write_kubeconfig() {
  local pki="$STATE/pki"
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: $CLUSTER_NAME
    cluster:
      server: https://$NODE_IP:$APISERVER_PORT
      certificate-authority: $pki/ca.crt
users:
  - name: $2
    user:
      client-certificate: $pki/$2.crt
      client-key: $pki/$2.key
contexts:
  - name: $3
    context: { cluster: $CLUSTER_NAME, user: $2 }
current-context: $3
EOF
  chmod 600 "$1"
}

# ---------------------------------------------------------------------------------------------------------------
# Processes: started with setsid (their own process group), pid in $RUN/pids, log in $STATE/logs.

start_component() {
  local name="$1"
  shift
  setsid "$@" >>"$STATE/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/pids/$name.pid"
}

component_alive() { [ -f "$RUN/pids/$1.pid" ] && kill -0 "$(cat "$RUN/pids/$1.pid")" 2>/dev/null; }

# wait_component SECONDS NAME WHAT CMD…: like wait_for, and fails at once (with the log) when NAME exits.
wait_component() {
  local seconds="$1" name="$2" what="$3" i
  shift 3
  for ((i = 0; i < seconds * 2; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    component_alive "$name" || die "$name exited while waiting for $what; last lines of $STATE/logs/$name.log:
$(tail -n 25 "$STATE/logs/$name.log")"
    sleep 0.5
  done
  die "timed out after ${seconds}s waiting for $what; last lines of $STATE/logs/$name.log:
$(tail -n 25 "$STATE/logs/$name.log")"
}

stop_pid() {
  local pid="$1" name="$2" i
  kill -0 "$pid" 2>/dev/null || return 0
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}

stop_component() {
  local f="$RUN/pids/$1.pid"
  [ -f "$f" ] || return 0
  stop_pid "$(cat "$f")" "$1"
  rm -f "$f"
}

# Pids of containerd shims started for our containerd (their command line names our socket), and every process
# inside our pods (their cgroup is under kubepods).
leftover_pids() {
  local d pid
  for d in /proc/[0-9]*; do
    pid="${d#/proc/}"
    if { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null | grep -qF -- "$RUN/containerd/"; then echo "$pid"; continue; fi
    grep -q ':/kubepods' "$d/cgroup" 2>/dev/null && echo "$pid"
  done
  return 0
}

# ---------------------------------------------------------------------------------------------------------------
# up

cmd_up() {
  is_root || die "the CI cluster runs as root (kubelet, containerd, iptables)"
  need_binaries
  if [ -d "$RUN" ] || [ -d "$STATE" ]; then
    log "found a previous cluster's state: cleaning it up first"
    cmd_down
  fi
  check_address_range
  mkdir -p "$STATE/logs" "$RUN/pids"
  record_machine
  # The ci overlay's Collector writes the spans it exports here (uid 10001, its DaemonSet's user).
  mkdir -p "$STATE/export" && chown 10001:10001 "$STATE/export"
  local started=$SECONDS

  # The bridge: node IP, apiserver address, pods' gateway. Nothing else is touched.
  ip link add "$BRIDGE" type bridge
  echo "$BRIDGE" >"$RUN/bridge"
  ip addr add "$NODE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # Service IPs not (yet) translated by kube-proxy stay on the bridge instead of following the default route out.
  ip route add "$SERVICE_CIDR" dev "$BRIDGE"
  # Docker sets FORWARD's policy to DROP: accept the bridge's traffic, in a chain of ours, appended — so the rules
  # kube-proxy puts first (e.g. REJECT for a Service without endpoints) still apply.
  iptables -N TRACEMESH-CI-FORWARD
  iptables -A TRACEMESH-CI-FORWARD -i "$BRIDGE" -j ACCEPT
  iptables -A TRACEMESH-CI-FORWARD -o "$BRIDGE" -j ACCEPT
  iptables -A FORWARD -j TRACEMESH-CI-FORWARD
  sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1

  make_certs
  ETCD_PORT="$(free_port 127.0.0.1)"
  ETCD_PEER_PORT="$(free_port 127.0.0.1)"
  APISERVER_PORT="$(free_port "$NODE_IP")"
  echo "$APISERVER_PORT" >"$RUN/apiserver-port"
  write_kubeconfig "$KUBECONFIG_PATH" admin "$CLUSTER_NAME"
  write_kubeconfig "$STATE/controller-manager.kubeconfig" controller-manager default
  write_kubeconfig "$STATE/scheduler.kubeconfig" scheduler default
  write_kubeconfig "$STATE/kubelet.kubeconfig" kubelet default
  write_kubeconfig "$STATE/kube-proxy.kubeconfig" kube-proxy default
  write_kubeconfig "$STATE/kube-router.kubeconfig" kube-router default
  local pki="$STATE/pki"

  log "starting etcd"
  start_component etcd "$BIN/etcd" --name "$NODE_NAME" --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "$NODE_NAME=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "" --log-level warn
  wait_component 60 etcd "etcd health" curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

  log "starting kube-apiserver on $NODE_IP:$APISERVER_PORT"
  start_component kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port "$APISERVER_PORT" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --service-account-issuer "https://kubernetes.default.svc.cluster.local" \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --profiling=false --v 1
  # The controller-manager exits when started before RBAC bootstrap is done: wait for an authenticated /readyz.
  wait_component 180 kube-apiserver "an authenticated /readyz" \
    curl -fsS --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "https://$NODE_IP:$APISERVER_PORT/readyz"

  log "starting kube-controller-manager and kube-scheduler"
  start_component kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig "$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$(free_port 127.0.0.1)" --leader-elect=false \
    --root-ca-file "$pki/ca.crt" --service-account-private-key-file "$pki/sa.key" \
    --use-service-account-credentials=true --service-cluster-ip-range "$SERVICE_CIDR" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" --v 1
  start_component kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig "$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig "$STATE/scheduler.kubeconfig" --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$(free_port 127.0.0.1)" --leader-elect=false --v 1

  start_containerd
  load_system_images
  start_kubelet
  start_kube_proxy

  wait_component 120 kubelet "node $NODE_NAME Ready" \
    kubectl_ci wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s
  install_addons
  start_kube_router
  log "cluster $CLUSTER_NAME is up in $((SECONDS - started)) s (context $CLUSTER_NAME)"
  echo "$KUBECONFIG_PATH"
}

# Refuses to start when the chosen ranges are already routed on this machine.
check_address_range() {
  if ip -o link show "$BRIDGE" >/dev/null 2>&1; then die "interface $BRIDGE exists already"; fi
  local net
  for net in "$NODE_CIDR" "$SERVICE_CIDR"; do
    if [ -n "$(ip -4 route show to match "${net%/*}" | grep -v '^default')" ] || [ -n "$(ip -4 route show root "$net")" ]; then
      die "address range $net is already in use on this machine (ip route); change NODE_CIDR/SERVICE_CIDR in $0"
    fi
  done
}

start_containerd() {
  mkdir -p "$STATE/containerd" "$RUN/containerd" "$STATE/cni/net.d" "$STATE/cni/ipam"
  # CNI: the bridge plugin on our bridge (its address is the pods' gateway), portmap for the Collector's hostPorts.
  cat >"$STATE/cni/net.d/10-tracemesh-ci.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "tracemesh-ci",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{ "subnet": "$NODE_CIDR", "rangeStart": "${NODE_CIDR%.0/24}.10", "rangeEnd": "${NODE_CIDR%.0/24}.250", "gateway": "$NODE_IP" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
  cat >"$STATE/containerd/config.toml" <<EOF
version = 3
root = "$STATE/containerd/root"
state = "$RUN/containerd/state"
temp = "$STATE/containerd/tmp"
# NRI would open a socket under /var/run/nri; the cluster does not use it.
disabled_plugins = ["io.containerd.nri.v1.nri"]

[grpc]
  address = "$CONTAINERD_SOCK"

[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"

[plugins.'io.containerd.internal.v1.opt']
  path = "$STATE/containerd/opt"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$PAUSE_IMAGE"

[plugins.'io.containerd.cri.v1.runtime']
  # These machines' processes lack CAP_SYS_RESOURCE: without this every sandbox fails on oom_score_adj.
  restrict_oom_score_adj = true
  enable_selinux = false
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$STATE/cni/net.d"

[plugins.'io.containerd.grpc.v1.cri']
  # exec / logs / port-forward streams: loopback only, a free port
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
EOF
  log "starting containerd"
  # The shim is found on PATH.
  PATH="$BIN:$PATH" start_component containerd "$BIN/containerd" --config "$STATE/containerd/config.toml"
  wait_component 60 containerd "the containerd socket" ctr_ci version
}

# The pod sandbox image and CoreDNS: one static binary each, wrapped into an image here (no registry).
load_system_images() {
  make_image "$PAUSE_IMAGE" "$BIN/pause" /pause 65535
  make_image "$COREDNS_IMAGE" "$BIN/coredns" /coredns 0
}

# make_image REF BINARY PATH_IN_IMAGE UID: a one-layer image (docker save format) imported into containerd.
make_image() {
  local tar="$STATE/images/$(echo "$1" | tr '/:' '__').tar"
  mkdir -p "$STATE/images"
  python3 - "$1" "$2" "$3" "$4" "$tar" <<'PY'
import hashlib, io, json, sys, tarfile
ref, binary, path, uid, out = sys.argv[1:6]
layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
    info = t.gettarinfo(binary, arcname=path.lstrip("/"))
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    info.mode = 0o755
    with open(binary, "rb") as f:
        t.addfile(info, f)
layer_bytes = layer.getvalue()
diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
config = json.dumps({
    "architecture": "amd64", "os": "linux",
    "config": {"Entrypoint": [path], "User": uid, "Labels": {"org.opencontainers.image.source": "local"}},
    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    "history": [{"created_by": "scripts/cluster.sh make_image"}],
}, sort_keys=True).encode()
config_name = hashlib.sha256(config).hexdigest() + ".json"
with tarfile.open(out, "w") as t:
    def add(name, data):
        i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
    add("layer.tar", layer_bytes)
    add(config_name, config)
    add("manifest.json", json.dumps([{"Config": config_name, "RepoTags": [ref], "Layers": ["layer.tar"]}]).encode())
PY
  ctr_ci images import --no-unpack=false "$tar" >/dev/null
}

start_kubelet() {
  local pki="$STATE/pki"
  mkdir -p "$STATE/kubelet" "$STATE/log/pods"
  # Pods with dnsPolicy Default (CoreDNS) get this: no upstream resolver (the cluster never leaves the machine).
  echo "options ndots:1" >"$STATE/resolv.conf"
  cat >"$STATE/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroups here are v1 (hybrid); 1.35+ refuse v1 unless told.
failCgroupV1: false
cgroupDriver: cgroupfs
address: $NODE_IP
port: $(free_port "$NODE_IP")
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $(free_port 127.0.0.1)
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $pki/ca.crt }
authorization: { mode: Webhook }
clusterDomain: cluster.local
clusterDNS: [$DNS_IP]
resolvConf: $STATE/resolv.conf
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
podLogsDir: $STATE/log/pods
failSwapOn: false
protectKernelDefaults: false
rotateCertificates: false
serverTLSBootstrap: false
# A build machine's disk is shared: evict only when it is nearly full.
evictionHard: { memory.available: 100Mi, nodefs.available: 3%, imagefs.available: 3%, nodefs.inodesFree: 3% }
imageGCHighThresholdPercent: 97
imageGCLowThresholdPercent: 95
maxPods: 50
# CI only, to keep the test fast: the kubelet rewrites ConfigMap volumes (the flags ConfigMap that
# tracemesh fault --context switches) when it syncs a pod, every 10 s here. Users' kind and minikube keep the
# kubelet default of 1 min (deploy/k8s/README.md, "Faults on Kubernetes").
syncFrequency: 10s
EOF
  log "starting kubelet"
  start_component kubelet "$BIN/kubelet" --config "$STATE/kubelet-config.yaml" \
    --kubeconfig "$STATE/kubelet.kubeconfig" --root-dir "$STATE/kubelet" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v 1
}

start_kube_proxy() {
  cat >"$STATE/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: { kubeconfig: $STATE/kube-proxy.kubeconfig }
hostnameOverride: $NODE_NAME
clusterCIDR: $NODE_CIDR
healthzBindAddress: 127.0.0.1:$(free_port 127.0.0.1)
metricsBindAddress: 127.0.0.1:$(free_port 127.0.0.1)
# NodePorts only on the bridge address, and not on localhost (that would set route_localnet).
nodePortAddresses: [$NODE_IP/32]
iptables: { localhostNodePorts: false }
# Leave the host's conntrack settings alone.
conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
EOF
  log "starting kube-proxy"
  start_component kube-proxy "$BIN/kube-proxy" --config "$STATE/kube-proxy-config.yaml" --v 1
}

# kube-router's network policy controller, firewall only, as a host process beside kube-proxy (as k3s embeds it in its
# agent): it watches pods, namespaces and NetworkPolicies and programs iptables chains (KUBE-ROUTER-*, KUBE-POD-FW-*,
# KUBE-NWPLCY-*) and ipsets, which `down` removes. Pods get no policy until it has synced, so `up` waits for its
# health check, which answers only once the controller has reported in.
start_kube_router() {
  local port
  port="$(free_port 127.0.0.1)"
  log "starting kube-router (network policies)"
  start_component kube-router "$BIN/kube-router" --kubeconfig "$STATE/kube-router.kubeconfig" \
    --run-firewall=true --run-router=false --run-service-proxy=false \
    --hostname-override "$NODE_NAME" --service-cluster-ip-range "$SERVICE_CIDR" \
    --health-addr 127.0.0.1 --health-port "$port" --metrics-port 0 --v 1
  wait_component 60 kube-router "kube-router's health check" curl -fsS "http://127.0.0.1:$port/healthz"
}

install_addons() {
  log "installing CoreDNS, kube-router's RBAC and the local StorageClass"
  kubectl_ci apply -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: tracemesh-ci:kube-router }
rules:
  - apiGroups: [""]
    resources: [namespaces, pods, services, nodes]
    verbs: [get, list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
  - apiGroups: [networking.k8s.io]
    resources: [networkpolicies]
    verbs: [list, watch]
  - apiGroups: ["", events.k8s.io]
    resources: [events]
    verbs: [create, patch, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: tracemesh-ci:kube-router }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: tracemesh-ci:kube-router }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: tracemesh-ci:kube-router }]
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: coredns, namespace: kube-system }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: system:coredns }
rules:
  - apiGroups: [""]
    resources: [endpoints, services, pods, namespaces]
    verbs: [list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: system:coredns }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:coredns }
subjects: [{ kind: ServiceAccount, name: coredns, namespace: kube-system }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: coredns, namespace: kube-system }
data:
  # No forward plugin: the cluster never leaves this machine, only cluster names resolve.
  Corefile: |
    .:53 {
        errors
        health :8080
        ready :8181
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
        }
        cache 30
        loop
        loadbalance
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: coredns, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  replicas: 1
  selector: { matchLabels: { k8s-app: kube-dns } }
  template:
    metadata: { labels: { k8s-app: kube-dns } }
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      dnsPolicy: Default
      containers:
        - name: coredns
          image: $COREDNS_IMAGE
          imagePullPolicy: Never
          args: ["-conf", "/etc/coredns/Corefile"]
          ports:
            - { name: dns, containerPort: 53, protocol: UDP }
            - { name: dns-tcp, containerPort: 53, protocol: TCP }
          readinessProbe: { httpGet: { path: /ready, port: 8181 }, periodSeconds: 2 }
          livenessProbe: { httpGet: { path: /health, port: 8080 }, periodSeconds: 10 }
          resources:
            requests: { cpu: 50m, memory: 40Mi }
            limits: { memory: 128Mi }
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: { drop: [ALL], add: [NET_BIND_SERVICE] }
          volumeMounts: [{ name: config, mountPath: /etc/coredns, readOnly: true }]
      volumes: [{ name: config, configMap: { name: coredns } }]
---
apiVersion: v1
kind: Service
metadata: { name: kube-dns, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  selector: { k8s-app: kube-dns }
  clusterIP: $DNS_IP
  ports:
    - { name: dns, port: 53, protocol: UDP, targetPort: 53 }
    - { name: dns-tcp, port: 53, protocol: TCP, targetPort: 53 }
---
# Static local PersistentVolumes behind a default StorageClass: no provisioner to run (a local-path provisioner
# needs a helper image no registry can give us here); local volumes honour fsGroup, hostPath ones do not.
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local
  annotations: { storageclass.kubernetes.io/is-default-class: "true" }
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain
EOF
  local i
  for i in 0 1 2; do
    mkdir -p "$STATE/volumes/pv$i"
    kubectl_ci apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: { name: local-pv$i }
spec:
  capacity: { storage: 2Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: local
  local: { path: $STATE/volumes/pv$i }
  nodeAffinity:
    required:
      nodeSelectorTerms:
        - matchExpressions: [{ key: kubernetes.io/hostname, operator: In, values: [$NODE_NAME] }]
EOF
  done
  wait_component 120 kubelet "CoreDNS rollout" kubectl_ci -n kube-system rollout status deploy/coredns --timeout=2s
  # CoreDNS answers through its Service IP (kube-proxy's rules) from the host.
  wait_component 60 kube-proxy "CoreDNS answering kubernetes.default.svc.cluster.local at $DNS_IP" dns_answers
}

dns_answers() {
  python3 - "$DNS_IP" <<'PY'
import socket, struct, sys
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
for part in b"kubernetes.default.svc.cluster.local".split(b"."):
    q += bytes([len(part)]) + part
q += b"\x00" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.sendto(q, (sys.argv[1], 53))
r = s.recv(512)
flags, answers = struct.unpack(">H", r[2:4])[0], struct.unpack(">H", r[6:8])[0]
sys.exit(0 if (flags & 0xF) == 0 and answers > 0 else 1)
PY
}

# ---------------------------------------------------------------------------------------------------------------
# down: safe to run at any time, also after a crash or a half-done `up`.

cmd_down() {
  local pid name
  if [ ! -d "$RUN" ] && [ ! -d "$STATE" ] && ! ip -o link show "$BRIDGE" >/dev/null 2>&1; then return 0; fi
  is_root || die "down needs root"
  # kubelet first (it would restart pods), then the pods themselves through the CRI, then the rest.
  stop_component kubelet
  if component_alive containerd; then
    crictl_ci rmp --all --force >/dev/null 2>&1 || true
  fi
  for name in kube-router kube-proxy kube-scheduler kube-controller-manager kube-apiserver containerd etcd; do
    stop_component "$name"
  done
  for pid in $(leftover_pids); do stop_pid "$pid" "leftover pod process"; done
  unmount_under "$STATE" "$RUN" /var/lib/kubelet /run/netns /var/run/netns
  remove_iptables_chains
  remove_new_ipsets
  remove_new_tables
  if [ -f "$RUN/bridge" ] || ip -o link show "$BRIDGE" >/dev/null 2>&1; then
    ip link del "$BRIDGE" 2>/dev/null || true
  fi
  remove_cgroups
  restore_sysctls
  restore_paths
  rm -rf "$STATE" "$RUN"
  log "cluster $CLUSTER_NAME is down"
}

unmount_under() {
  local prefix target
  for prefix in "$@"; do
    # deepest first
    findmnt -rn -o TARGET | awk -v p="$prefix" 'index($0, p) == 1' | sort -r | while read -r target; do
      umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || true
    done
  done
}

# Removes the chains kubelet, kube-proxy, the CNI plugins and `up` created (KUBE-*, CNI-*, TRACEMESH-CI-*): first the rules that jump to
# them from chains that existed before, then the chains.
remove_iptables_chains() {
  local before="$RUN/before/iptables-chains" fam table chain cmd rule
  [ -f "$before" ] || before=/dev/null
  iptables_chains | grep -vxF -f "$before" | awk '$3 ~ /^(KUBE-|CNI-|TRACEMESH-CI-)/' >"$RUN/new-chains" || true
  [ -s "$RUN/new-chains" ] || return 0
  while read -r fam table chain; do
    cmd=iptables
    [ "$fam" = 6 ] && cmd=ip6tables
    # every rule anywhere in this table that jumps to a new chain
    { "$cmd" -t "$table" -S | grep -E -- "-j $chain( |\$)" || true; } | while read -r rule; do
      eval "$cmd -t $table ${rule/-A /-D }" 2>/dev/null || true
    done
  done <"$RUN/new-chains"
  while read -r fam table chain; do
    cmd=iptables
    [ "$fam" = 6 ] && cmd=ip6tables
    "$cmd" -t "$table" -F "$chain" 2>/dev/null || true
  done <"$RUN/new-chains"
  while read -r fam table chain; do
    cmd=iptables
    [ "$fam" = 6 ] && cmd=ip6tables
    "$cmd" -t "$table" -X "$chain" 2>/dev/null || true
  done <"$RUN/new-chains"
}

# The tables kube-proxy and kubelet brought into being (e.g. mangle on a fresh machine), once their chains are gone:
# iptables (nf_tables backend) can flush a table but not delete its built-in chains, so nft deletes the table —
# only a table that did not exist before `up` and holds no rule any more.
remove_new_tables() {
  local before="$RUN/before/iptables-tables" family table cmd
  [ -f "$before" ] || return 0
  iptables_tables | grep -vxF -f "$before" | while read -r family table; do
    cmd=iptables
    [ "$family" = ip6 ] && cmd=ip6tables
    if "$cmd" -t "$table" -S | grep -q -- '^-A '; then
      log "leaving the $family $table table: it holds rules that are not the cluster's"
      continue
    fi
    nft delete table "$family" "$table" || log "could not delete the $family $table table"
  done
}

# The ipsets kube-router made (its rules that used them are gone by now: remove_iptables_chains runs first).
remove_new_ipsets() {
  local before="$RUN/before/ipsets" set
  [ -f "$before" ] && command -v ipset >/dev/null || return 0
  # Twice: a list:set must go before the sets it lists.
  ipset list -n | sort | comm -13 "$before" - | while read -r set; do ipset destroy "$set" 2>/dev/null || true; done
  ipset list -n | sort | comm -13 "$before" - | while read -r set; do
    ipset destroy "$set" 2>/dev/null || log "could not destroy ipset $set"
  done
}

# kubelet's cgroups (cgroupfs driver): kubepods under every hierarchy, deepest first.
remove_cgroups() {
  local d
  for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [ -d "$d" ] || continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

restore_sysctls() {
  local line
  [ -f "$RUN/before/sysctl" ] || return 0
  while read -r line; do
    [ "$(sysctl -n "${line%%=*}")" = "${line#*=}" ] || sysctl -qw "$line" || true
  done <"$RUN/before/sysctl"
}

# Host paths that did not exist before `up` are removed (only after their mounts are gone).
restore_paths() {
  local p
  [ -f "$RUN/before/paths" ] || return 0
  for p in "${HOST_PATHS[@]}"; do
    grep -qxF "$p" "$RUN/before/paths" && continue
    [ -e "$p" ] || continue
    unmount_under "$p"
    rm -rf "$p"
  done
}

# ---------------------------------------------------------------------------------------------------------------

cmd_status() {
  local name
  for name in "${STARTED_COMPONENTS[@]}"; do
    if component_alive "$name"; then echo "$name: running (pid $(cat "$RUN/pids/$name.pid"))"; else echo "$name: not running"; fi
  done
  [ -f "$KUBECONFIG_PATH" ] || { echo "no kubeconfig: the cluster is down"; return 0; }
  kubectl_ci get nodes -o wide --request-timeout=5s || true
  kubectl_ci get pods -A -o wide --request-timeout=5s || true
}

# Loads Docker images into the node's containerd (what `kind load docker-image` does for kind). An image the node
# already has (same image id) is only re-tagged, so loading on every deploy costs nothing for what did not change.
cmd_import() {
  [ -S "$CONTAINERD_SOCK" ] || die "the cluster is not up (no $CONTAINERD_SOCK)"
  local image id ref tag known
  known="$(ctr_ci images ls -q 2>/dev/null)"
  for image in "$@"; do
    [[ "$image" == *:* ]] || image="$image:latest"
    id="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null)" || die "no Docker image $image to load into the node"
    id="${id#sha256:}"
    ref="$(containerd_name "${image%:*}")"
    tag="${image##*:}"
    if ! grep -qxF "$ref:$id" <<<"$known"; then
      log "importing $image into the node's containerd"
      docker save "$image" | ctr_ci images import - >/dev/null 2>&1 || die "import of $image failed"
      # skaffold deploys an image it did not push as NAME:<image id>: give it that name too.
      ctr_ci images tag --force "$ref:$tag" "$ref:$id" >/dev/null
    elif [ "$tag" != "$id" ]; then
      ctr_ci images tag --force "$ref:$id" "$ref:$tag" >/dev/null
    fi
  done
}

# tracemesh/api → docker.io/tracemesh/api, redis → docker.io/library/redis (how containerd names them).
containerd_name() {
  case "$1" in
    */*/*) echo "$1" ;;
    */*) if [[ "${1%%/*}" == *.* || "${1%%/*}" == *:* ]]; then echo "$1"; else echo "docker.io/$1"; fi ;;
    *) echo "docker.io/library/$1" ;;
  esac
}

# Loads every image the kustomization DIR deploys: skaffold's ci profile runs it before each deploy (the `kind load`
# step), so the node has the images whether they were just built, found in skaffold's cache, built by another
# checkout, or the cluster was re-created. The profile tags what it builds NAME:latest (tagPolicy sha256), so an
# image with a local NAME:latest is loaded as that; any other (tracemesh/redis:local) by the tag the manifests name.
cmd_import_for() {
  local dir="${1:?usage: import-for KUSTOMIZATION_DIR}" image wanted=()
  for image in $("$BIN/kubectl" kustomize "$dir" | sed -n 's/^[ -]*image: *//p' | tr -d '"' | sort -u); do
    if docker image inspect "${image%:*}:latest" >/dev/null 2>&1; then wanted+=("${image%:*}:latest"); else wanted+=("$image"); fi
  done
  [ ${#wanted[@]} -gt 0 ] || die "no images in $dir"
  cmd_import "${wanted[@]}"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  import) shift; cmd_import "$@" ;;
  import-for) shift; cmd_import_for "$@" ;;
  env) printf 'KUBECONFIG=%s\nCONTAINERD_ADDRESS=%s\n' "$KUBECONFIG_PATH" "$CONTAINERD_SOCK" ;;
  *) die "usage: $0 up | down | status | import IMAGE… | import-for DIR | env" ;;
esac
