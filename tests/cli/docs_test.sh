#!/usr/bin/env bash
# Completion and man pages cover the CLI that was built. The verbs and
# flags come from `ovx --help`, walked verb by verb (not from the code that
# generates the files), and each must be in ovx(8) (a section per verb, a
# tagged paragraph per flag) and offered at <TAB> by the bash and the zsh
# script, and so must the values of an option that takes one of a fixed
# set (which the parser must know as one). Both scripts parse (bash -n, zsh -n) and complete `ovx fd<TAB>`
# to fdb; bash completes -f to files; both man
# pages format without a warning; ovx-config(5) describes every key the
# config reader (agent/config.cpp) accepts.
#   OVX: the binary (default build/ovx); OVX_BUILD: its build tree (default build)
set -euo pipefail
source "$(dirname "$0")/check_lib.sh"
build=${OVX_BUILD:-$(dirname "$OVX")}
bash_script=$build/completion/ovx.bash
zsh_script=$build/completion/_ovx
man8=$build/man/ovx.8
man5=$build/man/ovx-config.5

for tool in zsh groff man; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed" >&2; exit 1; }
done
for f in "$OVX" "$bash_script" "$zsh_script" "$man8" "$man5"; do
	[[ -s $f ]] || { echo "FAIL: $f missing: build the ovx_docs target" >&2; exit 1; }
done

# The first word of each entry of a --help section ("Options:", ...).
help_section() {
	awk -v want="$1:" '$0 == want { on = 1; next } /^$/ || /^[^ ]/ { on = 0 }
		on && /^  [^ ]/ { print $1 }'
}

# Every verb path ("" for ovx itself, "fdb add"), and by "ovx PATH" its
# subcommands and flags.
declare -A subs flags
declare -A choices=()
paths=("")
for ((i = 0; i < ${#paths[@]}; i++)); do
	p=${paths[i]}
	# shellcheck disable=SC2086 # the path is words
	help=$("$OVX" $p --help)
	subs[ovx $p]=$(help_section Subcommands <<<"$help" | xargs)
	flags[ovx $p]=$(help_section Options <<<"$help" | tr ',' '\n' | xargs)
	# Options that take one of a fixed set: CLI11 shows IsMember's set as
	# "--encap TEXT:{vxlan,nvgre,stt,geneve}".
	while read -r names type _; do
		[[ $type == *:\{*\} ]] || continue
		set_values=${type#*:\{}
		choices["$p|${names%%,*}"]=${set_values%\}}
	done < <(awk '/^Options:$/ { on = 1; next } /^$/ || /^[^ ]/ { on = 0 } on && /^  -/' <<<"$help")
	for s in ${subs[ovx $p]}; do
		paths+=("${p:+$p }$s")
	done
done
((${#paths[@]} > 30)) || fail "only ${#paths[@]} verbs found in ovx --help"

# --- ovx(8) ------------------------------------------------------------------
# The section of one verb ("" is ovx's OPTIONS), roff escapes undone.
man_section() {
	local start
	if [[ -z $1 ]]; then start='.SH OPTIONS'; else start=".SS \"ovx $1\""; fi
	awk -v start="$start" '$0 == start { on = 1; next } /^\.S[SH] / { on = 0 } on' "$man8" |
		sed -e 's/\\-/-/g' -e 's/\\f[BIR]//g'
}
for p in "${paths[@]}"; do
	section=$(man_section "$p")
	[[ -n $section ]] || { fail "ovx.8 has no section for 'ovx $p'"; continue; }
	# The tag of each .TP paragraph: "-f, --file TEXT" -> -f --file
	tags=" $(awk 'tag { print; tag = 0 } /^\.TP$/ { tag = 1 }' <<<"$section" |
		tr ',' ' ' | xargs) "
	for f in ${flags[ovx $p]}; do
		[[ $tags == *" $f "* ]] || fail "ovx.8: 'ovx $p' does not describe $f"
	done
done
warnings=$(groff -man -Tutf8 -ww "$man8" 2>&1 >/dev/null; groff -man -Tutf8 -ww "$man5" 2>&1 >/dev/null)
[[ -z $warnings ]] || fail "groff warns: $warnings"
for page in "$man8" "$man5"; do
	MANWIDTH=80 man -l "$page" >/dev/null 2>&1 || fail "man -l $page fails"
done

# --- bash --------------------------------------------------------------------
bash -n "$bash_script" || fail "bash -n $bash_script"
# COMPREPLY for a command line, one per line; the last word is the one
# being completed. The function is the one `complete -p ovx` names.
complete_bash() {
	bash -c 'source "$1" && shift
		fn=$(complete -p ovx | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
		COMP_WORDS=("$@") COMP_CWORD=$(($# - 1)) COMP_LINE="$*" COMP_POINT=${#COMP_LINE}
		"$fn" ovx "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$bash_script" "$@"
}
got=$(complete_bash ovx fd | xargs)
[[ $got == fdb ]] || fail "bash: 'ovx fd<TAB>' gives '$got', not 'fdb'"
got=$(complete_bash ovx apply -f /etc/host | xargs)
[[ " $got " == *" /etc/hostname "* ]] || fail "bash: 'ovx apply -f /etc/host<TAB>' gives '$got'"
for p in "${paths[@]}"; do
	# shellcheck disable=SC2086
	offered=" $(complete_bash ovx $p - | xargs) "
	for f in ${flags[ovx $p]}; do
		[[ $offered == *" $f "* ]] || fail "bash: 'ovx ${p:+$p }-<TAB>' does not offer $f"
	done
	[[ -n ${subs[ovx $p]} ]] || continue
	# shellcheck disable=SC2086
	offered=" $(complete_bash ovx $p '' | xargs) "
	for s in ${subs[ovx $p]}; do
		[[ $offered == *" $s "* ]] || fail "bash: 'ovx ${p:+$p }<TAB>' does not offer $s"
	done
done

# --- value sets ---------------------------------------------------------------
# Options whose values are a fixed set are declared as one (the parser
# refuses other values), and both scripts offer the set at <TAB>.
for want in "segment add|--encap" "segment add|--learning" "cluster segment add|--encap" \
	"cluster segment add|--learning" "|--log-level" "|--log-format"; do
	[[ -n ${choices[$want]:-} ]] || fail "'ovx ${want%|*} ${want#*|}' is not declared as a set of values (CLI::IsMember)"
done
((${#choices[@]} >= 6)) || fail "only ${#choices[@]} options with a set of values found"
for c in "${!choices[@]}"; do
	p=${c%|*} f=${c#*|}
	want=$(tr ',' '\n' <<<"${choices[$c]}" | sort | xargs)
	# shellcheck disable=SC2086
	got=$(complete_bash ovx $p "$f" '' | sort | xargs)
	[[ $got == "$want" ]] || fail "bash: 'ovx $p $f <TAB>' gives '$got', not '$want'"
done

# --- zsh ---------------------------------------------------------------------
zsh -n "$zsh_script" || fail "zsh -n $zsh_script"
head -1 "$zsh_script" | grep -qx '#compdef ovx' || fail "zsh: $zsh_script lacks '#compdef ovx'"
# A real interactive zsh completes each line (tests/cli/zsh_complete.zsh).
lines=("ovx fd")
for p in "${paths[@]}"; do
	lines+=("ovx ${p:+$p }-")
	[[ -z ${subs[ovx $p]} ]] || lines+=("ovx ${p:+$p }")
done
for c in "${!choices[@]}"; do
	lines+=("ovx ${c%|*} ${c#*|} ")
done
zsh_got=$(timeout 300 zsh -f "$root/tests/cli/zsh_complete.zsh" "$(dirname "$zsh_script")" "${lines[@]}") ||
	fail "zsh: the completion session failed"
offers() { grep -Fxq "$1"$'\t'"$2" <<<"$zsh_got"; }
got=$(grep -F $'ovx fd\t' <<<"$zsh_got" | cut -f2 | xargs || true)
[[ $got == fdb ]] || fail "zsh: 'ovx fd<TAB>' gives '$got', not 'fdb'"
for p in "${paths[@]}"; do
	for f in ${flags[ovx $p]}; do
		offers "ovx ${p:+$p }-" "$f" || fail "zsh: 'ovx ${p:+$p }-<TAB>' does not offer $f"
	done
	for s in ${subs[ovx $p]}; do
		offers "ovx ${p:+$p }" "$s" || fail "zsh: 'ovx ${p:+$p }<TAB>' does not offer $s"
	done
done

for c in "${!choices[@]}"; do
	for v in ${choices[$c]//,/ }; do
		offers "ovx ${c%|*} ${c#*|} " "$v" || fail "zsh: 'ovx ${c%|*} ${c#*|} <TAB>' does not offer $v"
	done
done

# --- ovx-config(5) -----------------------------------------------------------
# The keys: each list that config.cpp passes to fields(value, {...}).
keys=$(tr '\n' ' ' <"$root/agent/config.cpp" | grep -oE 'fields\([a-z_]+(\[i\])?, *\{[^}]*\}' |
	grep -oE '"[a-z_]+"' | tr -d '"' | sort -u || true)
[[ $(wc -w <<<"$keys") -ge 15 ]] || fail "found only these config keys: $keys"
for k in $keys; do
	grep -qx "\.B $k" "$man5" || fail "ovx-config.5 does not describe the key '$k'"
done

checks_done "${#paths[@]} verbs and their flags in ovx.8, ovx.bash and _ovx, ${#choices[@]} value sets; $(wc -w <<<"$keys") keys in ovx-config.5"
