#!/usr/bin/env bash
# Debian packages the CI cluster (scripts/cluster.sh) runs on: runc (containerd's runtime), the CNI plugins
# (bridge, host-local, loopback, portmap), iptables and conntrack (kube-proxy), ipset (kube-router's policy sets), nftables (`down` deletes the
# iptables tables the cluster created on a machine that had none), openssl (the cluster's certificates) and gcc's
# static libc (the pause binary). Go-built parts: scripts/tools/5x-*.sh.
source "$(dirname "$0")/../lib.sh"
apt_install runc containernetworking-plugins iptables ipset nftables conntrack openssl gcc libc6-dev
