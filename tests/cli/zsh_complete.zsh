#!/usr/bin/zsh -f
# zsh_complete.zsh FPATH_DIR LINE...: what zsh's completion offers at the
# end of each command line, as "LINE<TAB>CANDIDATE" lines. A real
# interactive zsh (zpty) with compinit and the _ovx of FPATH_DIR; compadd
# is wrapped to print what the completion functions add.
zmodload zsh/zpty || exit 1
fpath_dir=$1
shift
zpty shell zsh -f -i
zpty -w shell "PS1= RPS1= PROMPT_EOL_MARK=; fpath=($fpath_dir \$fpath); autoload -U compinit; compinit -u -D"
# The markers are written with escapes, so that the terminal's echo of
# these lines does not contain them.
zpty -w shell 'compadd() {
	if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
	local -a hits
	builtin compadd -A hits "$@"
	local h
	for h in $hits; do print -r -- $'"'"'\x3cM\x3e'"'"'"$h"; done
}'
# No menus, no lists (a long one would ask "do you wish to see all?").
zpty -w shell "zstyle ':completion:*' menu no; unsetopt autolist"
zpty -w shell 'done_() { print -- "\x3cEND\x3e"; zle send-break }; zle -N done_; bindkey "^X" done_'
for cmdline; do
	zpty -w -n shell $'\x15'"$cmdline"$'\t\x18'
	while zpty -r shell line; do
		line=${line//[$'\r\n']/}
		[[ $line == *'<END>'* ]] && break
		[[ $line == *'<M>'* ]] && print -r -- "$cmdline"$'\t'"${line#*<M>}"
	done
done
zpty -d shell
