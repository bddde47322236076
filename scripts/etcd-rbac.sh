#!/usr/bin/env bash
# etcd-rbac.sh - etcd's users and roles for an ovx cluster, then `auth
# enable` (docs/OPERATIONS.md, "Cluster mode"; tests/e2e/test_cluster_security.sh
# runs it as it is).
#
#   scripts/etcd-rbac.sh [--admin NAME] [--password-dir DIR] NODE...
#
# etcdctl reaches etcd through its own environment: ETCDCTL_ENDPOINTS,
# ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY (and ETCDCTL_USER once auth is
# on and no certificate says who you are). Before `auth enable` any client
# the members trust may run it; afterwards only root (a certificate with
# CN=root, or the root user's password) may, e.g. to add a node.
#
# Who is who: etcd takes a client certificate's CN as the user name, so each
# host's certificate says CN=<node> and the administrator's CN=<admin>. Users
# have no password unless --password-dir is given: then each user gets a
# random one in DIR/<user>.password (mode 0600), for an agent's
# `user`/`password_file` or the CLI's --user with OVX_ETCD_PASSWORD.
#
# Roles:
#   root            etcd's own: users, roles, compaction, defragmentation
#   ovx-admin       read /ovx/v1/*, write /ovx/v1/segments/*  (ovx cluster apply|segment)
#   ovx-node-<node> read /ovx/v1/*, write /ovx/v1/nodes/<node>/*  (that node's agent)
#
# A host then cannot publish another host's VTEP or MACs, nor change a
# segment: etcd answers "permission denied" and ovx exits 2 naming the key.
# Idempotent: what exists already is left as it is.
set -euo pipefail

admin=ovx-admin
password_dir=""
while (($#)); do
	case $1 in
	--admin) admin=$2; shift 2 ;;
	--password-dir) password_dir=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	--*) echo "etcd-rbac.sh: unknown option $1" >&2; exit 1 ;;
	*) break ;;
	esac
done
(($#)) || { echo "etcd-rbac.sh: name at least one node (see --help)" >&2; exit 1; }
for n in "$admin" "$@"; do
	[[ $n =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || { echo "etcd-rbac.sh: '$n' is not a node name" >&2; exit 1; }
done

# user NAME ROLE: NAME with ROLE, created when missing.
user() {
	if ! etcdctl user get "$1" >/dev/null 2>&1; then
		if [[ -n $password_dir ]]; then
			local pw
			pw=$(openssl rand -hex 16)
			(umask 077 && printf '%s\n' "$pw" >"$password_dir/$1.password")
			etcdctl user add "$1" --new-user-password "$pw" >/dev/null
		else
			etcdctl user add "$1" --no-password >/dev/null
		fi
	fi
	etcdctl user grant-role "$1" "$2" >/dev/null
}

# role NAME WRITABLE_PREFIX: NAME reads the cluster and writes one prefix.
role() {
	etcdctl role get "$1" >/dev/null 2>&1 || etcdctl role add "$1" >/dev/null
	etcdctl role grant-permission "$1" read /ovx/v1/ --prefix >/dev/null
	etcdctl role grant-permission "$1" readwrite "$2" --prefix >/dev/null
}

user root root
role ovx-admin /ovx/v1/segments/
user "$admin" ovx-admin
for node in "$@"; do
	role "ovx-node-$node" "/ovx/v1/nodes/$node/"
	user "$node" "ovx-node-$node"
done
etcdctl auth enable >/dev/null
echo "etcd RBAC: root, $admin (segments), $# node(s): $*; auth enabled"
