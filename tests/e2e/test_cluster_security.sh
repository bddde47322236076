#!/usr/bin/env bash
# Cluster mode with TLS client certificates (a CA and certificates made here
# with openssl) and etcd's RBAC set up by scripts/etcd-rbac.sh: each host's
# identity (its certificate's CN, or a user and password) may write only
# under /ovx/v1/nodes/<its node>/, only the administrator's writes segments.
# Clients without a certificate of the CA, a host writing a segment, a wrong
# password, an agent claiming another node's name: refused, exit 2, the key
# and the reason named. Agents work with that least privilege. Then bad data
# in etcd (a value that does not parse, ids out of range, a binding for an
# unknown segment, a key outside the layout): every agent ignores it, names
# the key in its log, counts it (`cluster status --json`, Prometheus), and
# nothing else changes.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"

e2e_init test_cluster_security "cluster mode: TLS client certificates, etcd RBAC, bad data"
e2e_build_topology "ovx ovx ovx" "blue:5001 red:5002@h1,h2"
A1=$(topo_host_addr h1) A2=$(topo_host_addr h2) A3=$(topo_host_addr h3)
BLUE=$(topo_tenant_segment blue) RED=$(topo_tenant_segment red)

e2e_step "a CA, certificates for etcd, root, the administrator and each host"
PKI=$TOPO_DIR/pki
mkdir -p "$PKI"
ossl() { openssl "$@" >>"$PKI/openssl.log" 2>&1 || e2e_fail "openssl $1: $(tail -3 "$PKI/openssl.log")"; }
# ca NAME: a self-signed CA.
ca() {
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj "/CN=$1" -keyout "$PKI/$1.key" -out "$PKI/$1.crt"
}
# cert NAME CA EXT: NAME.crt (CN=NAME) signed by CA, with extensions EXT.
cert() {
	ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" \
		-keyout "$PKI/$1.key" -out "$PKI/$1.csr"
	printf '%s\n' "$3" >"$PKI/$1.ext"
	ossl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.crt" -CAkey "$PKI/$2.key" -CAcreateserial \
		-days 1 -extfile "$PKI/$1.ext" -out "$PKI/$1.crt"
}
ca ca
cert server ca "subjectAltName=IP:$CLUSTER_ETCD_ADDR
extendedKeyUsage=serverAuth,clientAuth"
for who in root ovx-admin h1 h2 h3; do cert "$who" ca "extendedKeyUsage=clientAuth"; done
ca stranger-ca
cert stranger stranger-ca "extendedKeyUsage=clientAuth"
# etcd.sh's own calls (health, etcdctl_run) identify as root.
cp "$PKI/root.crt" "$PKI/client.crt" && cp "$PKI/root.key" "$PKI/client.key"
e2e_ok "CA, server (IP:$CLUSTER_ETCD_ADDR), root, ovx-admin, h1, h2, h3; a stranger's CA"

e2e_step "etcd with TLS and client certificates; RBAC by scripts/etcd-rbac.sh"
ETCD_TLS_DIR=$PKI
etcd_start "$TOPO_UNDERLAY_NS" "$CLUSTER_ETCD_ADDR" 1 || e2e_fail "etcd did not start"
[[ $ETCD_ENDPOINTS == https://* ]] || e2e_fail "etcd endpoints are not https: $ETCD_ENDPOINTS"
ip netns exec "$ETCD_NS" env ETCDCTL_ENDPOINTS="$ETCD_ENDPOINTS" ETCDCTL_CACERT="$PKI/ca.crt" \
	ETCDCTL_CERT="$PKI/root.crt" ETCDCTL_KEY="$PKI/root.key" \
	"$OVX_REPO_ROOT/scripts/etcd-rbac.sh" --password-dir "$PKI" h1 h2 h3 >"$TOPO_DIR/rbac.log" 2>&1 ||
	e2e_fail "etcd-rbac.sh: $(cat "$TOPO_DIR/rbac.log")"
e2e_info "$(cat "$TOPO_DIR/rbac.log")"
# ctl WHO ARGS...: etcdctl with WHO's certificate.
ctl() {
	local who=$1
	shift
	ip netns exec "$ETCD_NS" etcdctl --endpoints "$ETCD_ENDPOINTS" --cacert "$PKI/ca.crt" \
		--cert "$PKI/$who.crt" --key "$PKI/$who.key" "$@"
}
out=$(ctl h1 put /ovx/v1/segments/probe x 2>&1) && e2e_fail "auth is not on: h1 wrote a segment key"
grep -q "permission denied" <<<"$out" || e2e_fail "h1's etcdctl put: $out"

# as WHO CMD...: CMD with WHO's certificate for `ovx cluster` (cluster_ovx).
as() {
	local who=$1
	shift
	OVX_ETCD_CACERT=$PKI/ca.crt OVX_ETCD_CERT=$PKI/$who.crt OVX_ETCD_KEY=$PKI/$who.key "$@"
}
# refused WHAT CMD...: CMD must exit 2 with a message on stderr; it is in $ERR.
refused() {
	local what=$1 rc
	shift
	ERR=$("$@" 2>&1 >/dev/null)
	rc=$?
	((rc == 2)) || e2e_fail "$what: exit $rc, want 2: $ERR"
	[[ $(wc -l <<<"$ERR") == 1 && $ERR == "ovx: "* ]] || e2e_fail "$what: not one line of ovx's: $ERR"
	e2e_info "$what: exit 2: $ERR"
}
# nocert CMD...: `ovx cluster` trusting the CA but showing no certificate.
nocert() { OVX_ETCD_CACERT=$PKI/ca.crt cluster_ovx "$@"; }
# as_user USER PASSWORD ARGS...: `ovx cluster ARGS` as USER (its certificate too).
as_user() {
	local user=$1 pw=$2
	shift 2
	OVX_ETCD_PASSWORD=$pw as "$user" cluster_ovx "$@" --user "$user"
}
segments() { as ovx-admin cluster_ovx segment show --json | /usr/bin/python3 -c '
import json, sys
print(" ".join(sorted(s["name"] for s in json.load(sys.stdin)["segments"])))'; }

cluster_write_segments "$TOPO_DIR/cluster.yaml"
as ovx-admin cluster_ovx apply -f "$TOPO_DIR/cluster.yaml" >/dev/null || e2e_fail "cluster apply as ovx-admin"
[[ $(segments) == "$BLUE $RED" ]] || e2e_fail "segments: $(segments)"
e2e_ok "ovx-admin applied the segments: $(segments)"

e2e_step "refused: no certificate of the CA, a host writing segments, a wrong password"
refused "no client certificate" nocert segment show
grep -q "TLS: .*certificate" <<<"$ERR" || e2e_fail "no TLS reason given: $ERR"
refused "a certificate of another CA" as stranger cluster_ovx segment show
grep -q "TLS: .*certificate" <<<"$ERR" || e2e_fail "no TLS reason given: $ERR"
refused "h1 adds a segment" as h1 cluster_ovx segment add evil --tenant x --vni 666
grep -q "permission denied" <<<"$ERR" && grep -q "/ovx/v1/segments/evil" <<<"$ERR" ||
	e2e_fail "the refusal does not say permission denied for /ovx/v1/segments/evil: $ERR"
pw2=$(cat "$PKI/h2.password")
refused "user h2 removes a segment" as_user h2 "$pw2" segment del "$RED"
grep -q "permission denied" <<<"$ERR" && grep -q "user 'h2'" <<<"$ERR" ||
	e2e_fail "the refusal does not name user h2 and the permission: $ERR"
refused "user h2 with a wrong password" as_user h2 guess segment show
[[ $(segments) == "$BLUE $RED" ]] || e2e_fail "segments changed by refused calls: $(segments)"
e2e_ok "5 refusals, exit 2 each; the segments are as they were"

e2e_step "agents with least privilege: h1 by its certificate, h2 by user and password"
cluster_agent_start h1 "$(CLUSTER_TLS="{ca: $PKI/ca.crt, cert: $PKI/h1.crt, key: $PKI/h1.key}" cluster_host_file h1 5)" ||
	e2e_fail "agent on h1: $(tail -5 "$(ovx_agent_log h1)")"
f2=$(CLUSTER_TLS="{ca: $PKI/ca.crt, cert: $PKI/h2.crt, key: $PKI/h2.key}" CLUSTER_USER=h2 \
	CLUSTER_PASSWORD_FILE=$PKI/h2.password cluster_host_file h2 5)
cluster_agent_start h2 "$f2" || e2e_fail "agent on h2: $(tail -5 "$(ovx_agent_log h2)")"
cluster_wait "h1's blue floods to h2" cluster_flood_is h1 "$BLUE" "$A2"
cluster_wait "h2's red floods to h1" cluster_flood_is h2 "$RED" "$A1"
e2e_expect_ping b1 "$(topo_vm_ip b2)" 3
e2e_expect_ping r2 "$(topo_vm_ip r1)" 3
st=$("$OVX" --netns "$(topo_host_ns h1)" cluster status --json) || e2e_fail "cluster status on h1: $st"
/usr/bin/python3 - "$st" <<'PY' || e2e_fail "cluster status on h1: $st"
import json, sys
s = json.loads(sys.argv[1])
assert s["healthy"] and s["etcd"][0]["healthy"] and s["lease_ttl_left"] > 0, s
PY
e2e_ok "both agents publish and follow the cluster; h1's status healthy with its own certificate"

e2e_step "an agent claiming another node's name (h3's certificate, node h2) is refused"
spoof=$TOPO_DIR/spoof-h3.yaml
CLUSTER_NODE=h2 CLUSTER_TLS="{ca: $PKI/ca.crt, cert: $PKI/h3.crt, key: $PKI/h3.key}" \
	cluster_host_file h3 5 >/dev/null
mv "$TOPO_DIR/cluster-h3.yaml" "$spoof"
cluster_agent_start h3 "$spoof" && e2e_fail "the agent claiming node h2 synced: $(tail -5 "$(ovx_agent_log h3)")"
ovx_agent_stop h3
rc=$?
((rc == 2)) || e2e_fail "the agent claiming node h2: exit $rc, want 2: $(tail -5 "$(ovx_agent_log h3)")"
msg=$(grep -E "error" "$(ovx_agent_log h3)" | tail -1)
grep -q "permission denied" <<<"$msg" && grep -q "/ovx/v1/nodes/h2/" <<<"$msg" ||
	e2e_fail "the agent's message does not say permission denied on h2's keys: $msg"
e2e_info "$msg"
ovx_xdp_attached h3 && e2e_fail "the refused agent loaded a dataplane on h3"
cluster_flood_is h1 "$BLUE" "$A2" || e2e_fail "h1's blue flood list changed: $(cluster_flood h1 "$BLUE")"
n=$(as ovx-admin cluster_ovx nodes --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["nodes"]))')
((n == 2)) || e2e_fail "nodes: $n, want 2 (h1, h2)"
cluster_agent_start h3 "$(CLUSTER_TLS="{ca: $PKI/ca.crt, cert: $PKI/h3.crt, key: $PKI/h3.key}" cluster_host_file h3 5)" ||
	e2e_fail "agent on h3: $(tail -5 "$(ovx_agent_log h3)")"
cluster_wait "h1's blue floods to h2 and h3" cluster_flood_is h1 "$BLUE" "$A2 $A3"
e2e_expect_ping b3 "$(topo_vm_ip b1)" 3
e2e_ok "exit 2 before writing to etcd or loading a dataplane; h3 as itself joins"

e2e_step "bad data in etcd: ignored, logged with the key, counted; nothing else changes"
declare -A before
for h in h1 h2 h3; do before[$h]=$(cluster_maps "$h"); done
BAD_VALUE=/ovx/v1/nodes/h9/vtep
BAD_ID=/ovx/v1/segments/huge
BAD_SEQ=/ovx/v1/nodes/h1/bindings/$BLUE/02:00:00:00:99:02
ORPHAN=/ovx/v1/nodes/h1/bindings/nosuch/02:00:00:00:99:01
OUTSIDE=/ovx/v1/junk/x
etcdctl_run put "$BAD_VALUE" 'not json' >/dev/null || e2e_fail "put $BAD_VALUE"
etcdctl_run put "$BAD_ID" '{"name":"huge","tenant":"t","encap":"vxlan","id":99999999}' >/dev/null ||
	e2e_fail "put $BAD_ID"
etcdctl_run put "$OUTSIDE" 1 >/dev/null || e2e_fail "put $OUTSIDE"
# A host may write garbage under its own prefix: its peers ignore it too.
h1ctl() { ctl h1 "$@"; }
h1ctl put "$BAD_SEQ" '{"seq": 5000000000}' >/dev/null || e2e_fail "h1: put $BAD_SEQ"
h1ctl put "$ORPHAN" '{"seq": 0}' >/dev/null || e2e_fail "h1: put $ORPHAN"
head=$(etcdctl_run endpoint status -w json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])')
caught_up() { (($(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["revision"])' \
	"/run/ovx/$(ovx_instance "$1")/cluster.json") >= head)); }
for h in h1 h2 h3; do cluster_wait "$h at revision $head" caught_up "$h"; done
for h in h1 h2 h3; do
	st=$("$OVX" --netns "$(topo_host_ns "$h")" cluster status --json) || e2e_fail "cluster status on $h: $st"
	/usr/bin/python3 - "$st" "$BAD_VALUE" "$BAD_ID" "$BAD_SEQ" "$OUTSIDE" "$ORPHAN" <<'PY' ||
import json, sys
s = json.loads(sys.argv[1])
a = s["agent"]
bad, orphan = sys.argv[2:6], sys.argv[6]
assert sorted(a["bad_keys"]) == sorted(bad), a["bad_keys"]
assert a["orphan_bindings"] == [orphan], a["orphan_bindings"]
assert a["view"]["bad"] >= 4, a["view"]
assert s["ignored_keys"] == 5 and s["healthy"], s
PY
		e2e_fail "cluster status on $h does not count the bad keys: $st"
	for k in "$BAD_VALUE" "$BAD_ID" "$BAD_SEQ" "$OUTSIDE" "$ORPHAN"; do
		grep -qF "$k" "$(ovx_agent_log "$h")" || e2e_fail "$h's log does not name $k"
	done
	[[ $(cluster_maps "$h") == "${before[$h]}" ]] || e2e_fail "$h's maps changed with the bad data"
done
grep -F "$BAD_ID" "$(ovx_agent_log h2)" | tail -1 | sed 's/^/    /'
cluster_scrape h2 9588 "$TOPO_DIR/metrics.txt" || e2e_fail "no metrics from h2"
grep '^ovx_cluster_\(bad_records\|ignored\)' "$TOPO_DIR/metrics.txt" | sed 's/^/    /'
/usr/bin/python3 - "$TOPO_DIR/metrics.txt" <<'PY' || e2e_fail "metrics do not count the bad keys"
import re, sys
m = dict(re.findall(r'^(ovx_cluster_\S+) (\S+)$', open(sys.argv[1]).read(), re.M))
assert float(m["ovx_cluster_bad_records_total"]) >= 4, m
assert float(m['ovx_cluster_ignored_keys{reason="invalid"}']) == 4, m
assert float(m['ovx_cluster_ignored_keys{reason="unknown_segment"}']) == 1, m
PY
promtool check metrics <"$TOPO_DIR/metrics.txt" || e2e_fail "promtool rejects the exposition"
e2e_expect_ping b1 "$(topo_vm_ip b3)" 3
e2e_expect_ping r1 "$(topo_vm_ip r2)" 3
for k in "$BAD_VALUE" "$BAD_ID" "$OUTSIDE"; do etcdctl_run del "$k" >/dev/null; done
h1ctl del "$BAD_SEQ" >/dev/null && h1ctl del "$ORPHAN" >/dev/null || e2e_fail "h1 cannot delete its own keys"
clean() {
	"$OVX" --netns "$(topo_host_ns "$1")" cluster status --json | /usr/bin/python3 -c '
import json, sys; sys.exit(0 if json.load(sys.stdin)["ignored_keys"] == 0 else 1)'
}
for h in h1 h2 h3; do cluster_wait "$h forgets the bad keys" clean "$h"; done
e2e_ok "5 bad keys ignored by every agent, named in the logs, counted; maps unchanged; removed, forgotten"

e2e_pass
