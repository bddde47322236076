# shellcheck shell=bash
# Shared by tests/privilege/*.sh (sourced after tests/e2e/lib.sh): a group
# and users of the test's own, made unique by the run id and removed
# whatever happens, and the BPF filesystem's root let through to that group
# as the package's tmpfiles.d does for group ovx (restored afterwards).

PRIV_GROUP="" PRIV_USERS=() PRIV_BPFFS_WAS=""

_priv_cleanup() {
	local u rc=0
	for u in "${PRIV_USERS[@]}"; do
		userdel "$u" 2>/dev/null
		! getent passwd "$u" >/dev/null || { echo "FAIL: user $u left behind" >&2; rc=1; }
	done
	if [[ -n $PRIV_GROUP ]]; then
		groupdel "$PRIV_GROUP" 2>/dev/null
		! getent group "$PRIV_GROUP" >/dev/null || { echo "FAIL: group $PRIV_GROUP left behind" >&2; rc=1; }
	fi
	if [[ -n $PRIV_BPFFS_WAS ]]; then
		chgrp "${PRIV_BPFFS_WAS#* }" /sys/fs/bpf && chmod "${PRIV_BPFFS_WAS%% *}" /sys/fs/bpf || rc=1
	fi
	[[ -z ${PRIV_RUN_DIR:-} ]] || rm -rf -- "$PRIV_RUN_DIR"
	return $rc
}

# priv_setup: group ovxg<run id> (exported as OVX_GROUP for every ovx this
# test starts), a run directory of its own (OVX_RUN_DIR), /sys/fs/bpf
# searchable by the group.
priv_setup() {
	topo_add_cleanup_hook _priv_cleanup
	PRIV_GROUP="ovxg$TOPO_ID"
	groupadd "$PRIV_GROUP" || e2e_fail "groupadd $PRIV_GROUP"
	export OVX_GROUP=$PRIV_GROUP
	PRIV_RUN_DIR=$(mktemp -d "/tmp/${TOPO_PREFIX}-run.XXXXXX")
	rmdir "$PRIV_RUN_DIR" # ovx makes it, shared with the group
	export OVX_RUN_DIR=$PRIV_RUN_DIR
	PRIV_BPFFS_WAS=$(stat -c '%a %g' /sys/fs/bpf)
	chgrp "$PRIV_GROUP" /sys/fs/bpf && chmod g+x /sys/fs/bpf || e2e_fail "cannot let $PRIV_GROUP through /sys/fs/bpf"
}

# priv_user VAR NAME [GROUP]: a user NAME<run id> without a home or a
# shell, in GROUP if given; its name in VAR (not through $(...): the
# cleanup list must be this shell's).
priv_user() {
	local u="$2$TOPO_ID"
	PRIV_USERS+=("$u")
	useradd -M -N -g nogroup -s /usr/sbin/nologin ${3:+-G "$3"} "$u" || e2e_fail "useradd $u"
	printf -v "$1" '%s' "$u"
}

# priv_as USER HOST ARGS...: ovx ARGS as USER, with no capabilities, inside
# HOST's namespace (entering one needs CAP_SYS_ADMIN, which a reader lacks:
# nsenter enters it as root, then setpriv drops to the user); stdout in
# $PRIV_OUT, stderr in $PRIV_ERR, status in $PRIV_RC.
priv_as() {
	local user=$1 ns
	ns=$(topo_host_ns "$2")
	shift 2
	PRIV_RC=0
	PRIV_OUT=$(timeout 30 nsenter --net="/run/netns/$ns" \
		setpriv --reuid="$user" --regid=nogroup --init-groups --inh-caps=-all -- \
		"$OVX" --instance "$ns" "$@" 2>"$TOPO_DIR/priv.err") || PRIV_RC=$?
	PRIV_ERR=$(cat "$TOPO_DIR/priv.err")
}
