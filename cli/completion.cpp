// Bash and zsh completion scripts, printed from the command definitions
// (`ovx completion bash|zsh`). Values come from cheap sources at the time
// of the <TAB>: instance names from the pins directory, network namespaces
// from /run/netns, segment names from `ovx segment show --json` of the
// instance the command line names, interfaces from `ip link`; the values
// of an option that takes one of a fixed set from its definition.
#include <sstream>

#include "cli/docs.h"
#include "loader/dataplane.h"
#include "ovx_version.h"

namespace ovx::cli {
namespace {

std::string join(const std::vector<std::string> &words, const std::string &sep = " ")
{
	std::string out;
	for (const auto &w : words)
		out += (out.empty() ? "" : sep) + w;
	return out;
}

// A value's kind for the bash script: its kind, with the set after
// "values:" ("values:true,false").
std::string bash_kind(const OptionDoc &o)
{
	return o.kind == "values" ? "values:" + join(o.values, ",") : o.kind;
}

// Inside '...' in either shell.
std::string single_quoted(const std::string &text)
{
	std::string out = "'";
	for (char c : text)
		out += c == '\'' ? std::string("'\\''") : std::string(1, c);
	return out + "'";
}

std::string header(const char *shell)
{
	return std::string("# ") + shell +
	       " completion for ovx(8): verbs, flags, instance, namespace, segment and\n"
	       "# interface names. Generated from ovx's command definitions by\n"
	       "# `ovx completion " +
	       shell + "` (ovx " OVX_BUILD_VERSION ", git " OVX_BUILD_GIT
		       "); edits are lost at the next build.\n";
}

// The pins directory, without its trailing slash.
std::string pins_dir()
{
	std::string dir = Dataplane::instance_dir("");
	while (dir.size() > 1 && dir.back() == '/')
		dir.pop_back();
	return dir;
}

// How each shell reads segment names: `ovx segment show --json` prints
// one "name" per segment and no other "name" key.
constexpr const char *kSegmentNames = "segment show --json 2>/dev/null | sed -n "
				      "'s/^ *\"name\": \"\\(.*\\)\",*$/\\1/p'";
constexpr const char *kInterfaceNames =
	"-o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, \"\", $2); print $2 }'";

// ovx's options that every verb takes after it too.
std::vector<OptionDoc> global_options(const std::vector<CommandDoc> &commands)
{
	std::vector<OptionDoc> out;
	for (const auto &o : commands.at(0).options)
		if (o.global)
			out.push_back(o);
	return out;
}

} // namespace

std::string bash_completion(const std::vector<CommandDoc> &commands)
{
	std::ostringstream s;
	s << header("bash") << R"sh(
# What the command PATH ($1, "" for ovx itself) takes: subcommands, flags,
# the flags that take a value, the kind of each value (FLAG=KIND), and the
# kind of its positional argument.
_ovx_spec()
{
	case $1 in
)sh";
	const std::vector<OptionDoc> globals = global_options(commands);
	for (const auto &c : commands) {
		std::vector<std::string> flags, valued, kinds;
		auto options = c.options;
		if (!c.path.empty())
			options.insert(options.end(), globals.begin(), globals.end());
		for (const auto &o : options)
			for (const auto &n : o.names) {
				flags.push_back(n);
				if (o.takes_value)
					valued.push_back(n);
				if (!o.kind.empty())
					kinds.push_back(n + "=" + bash_kind(o));
			}
		const std::string pos = c.positionals.empty() ? "" : bash_kind(c.positionals[0]);
		s << "\t" << single_quoted(join(c.path)) << ")\n"
		  << "\t\tcmds=" << single_quoted(join(c.subcommands)) << "\n"
		  << "\t\tflags=" << single_quoted(join(flags)) << "\n"
		  << "\t\tvalued=" << single_quoted(join(valued)) << "\n"
		  << "\t\tkinds=" << single_quoted(join(kinds)) << "\n"
		  << "\t\tpos=" << single_quoted(pos) << " ;;\n";
	}
	s << R"sh(	*) cmds= flags= valued= kinds= pos= ;;
	esac
}

# Candidates for a value of kind $1 into COMPREPLY, for the word $cur.
_ovx_values()
{
	local names=() d
	case $1 in
	file)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return ;;
	instance)
		for d in )sh"
	  << pins_dir() << R"sh(/*/; do
			[[ -d $d ]] && d=${d%/} && names+=("${d##*/}")
		done ;;
	values:*)
		IFS=, read -ra names <<<"${1#values:}" ;;
	netns)
		for d in /run/netns/*; do
			[[ -e $d ]] && names+=("${d##*/}")
		done ;;
	segment)
		mapfile -t names < <("${COMP_WORDS[0]}" "${globals[@]}" )sh"
	  << kSegmentNames << R"sh() ;;
	interface)
		mapfile -t names < <(ip ${netns:+-n "$netns"} )sh"
	  << kInterfaceNames << R"sh() ;;
	esac
	mapfile -t COMPREPLY < <(compgen -W "${names[*]}" -- "$cur")
}

_ovx()
{
	local cur=${COMP_WORDS[COMP_CWORD]} path= netns= globals=() w i k
	local cmds flags valued kinds pos
	COMPREPLY=()
	_ovx_spec ''
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ " $valued " == *" $w "* ]]; then
			if ((i + 1 == COMP_CWORD)); then
				for k in $kinds; do
					[[ ${k%%=*} == "$w" ]] && _ovx_values "${k#*=}"
				done
				return 0
			fi
			if [[ $w == --netns || $w == --instance ]]; then
				globals+=("$w" "${COMP_WORDS[i + 1]}")
				[[ $w == --netns ]] && netns=${COMP_WORDS[i + 1]}
			fi
			((i++))
		elif [[ $w != -* && " $cmds " == *" $w "* ]]; then
			path=${path:+$path }$w
			_ovx_spec "$path"
		fi
	done
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
	elif [[ -n $cmds ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$cmds" -- "$cur")
	elif [[ -n $pos ]]; then
		_ovx_values "$pos"
	fi
	return 0
}
complete -F _ovx ovx
)sh";
	return s.str();
}

namespace {

// The shell function that completes command @c.
std::string zsh_function(const std::vector<std::string> &path)
{
	std::string f = "_ovx";
	for (const auto &p : path)
		f += "__" + p;
	return f;
}

// _arguments reads [...] and : specially, even inside quotes.
std::string zsh_escape(const std::string &text)
{
	std::string out;
	for (char c : text) {
		if (c == '[' || c == ']' || c == ':' || c == '\\')
			out += '\\';
		out += c;
	}
	return out;
}

std::string zsh_action(const OptionDoc &o)
{
	if (o.kind == "file")
		return "_files";
	if (o.kind == "values")
		return "(" + join(o.values) + ")";
	if (o.kind.empty())
		return " ";
	return "_ovx_" + o.kind;
}

std::string zsh_option_spec(const OptionDoc &o)
{
	const std::string help = "[" + zsh_escape(o.help) + "]";
	// The value's message: its first long name, "--vtep,--dst" -> "vtep".
	std::string message = o.names[0];
	for (const auto &n : o.names)
		if (n.starts_with("--")) {
			message = n;
			break;
		}
	message.erase(0, message.find_first_not_of('-'));
	const std::string value =
		o.takes_value ? ":" + zsh_escape(message) + ":" + zsh_action(o) : "";
	if (o.names.size() == 1)
		return single_quoted(o.names[0] + help + value);
	// Aliases exclude each other: "(-f --file)"{-f,--file}"[...]:file:_files".
	const bool help_flag = o.names.back() == "--help";
	return single_quoted("(" + std::string(help_flag ? "- *" : join(o.names)) + ")") + "{" +
	       join(o.names, ",") + "}" + single_quoted(help + value);
}

} // namespace

std::string zsh_completion(const std::vector<CommandDoc> &commands)
{
	std::ostringstream s;
	s << "#compdef ovx\n" << header("zsh") << R"sh(
_ovx_instance()
{
	local -a names
	names=()sh" << pins_dir()
	  << R"sh(/*(N/:t))
	_wanted instances expl 'ovx instance' compadd -a names
}

_ovx_netns()
{
	local -a names
	names=(/run/netns/*(N:t))
	_wanted netns expl 'network namespace' compadd -a names
}

_ovx_segment()
{
	local -a names
	names=(${(f)"$($_ovx_cmd $_ovx_globals )sh"
	  << kSegmentNames << R"sh()"})
	_wanted segments expl 'segment' compadd -a names
}

_ovx_interface()
{
	local -a names
	names=(${(f)"$(ip ${_ovx_ns:+-n} $_ovx_ns )sh"
	  << kInterfaceNames << R"sh()"})
	_wanted interfaces expl 'interface' compadd -a names
}
)sh";
	const std::vector<OptionDoc> globals = global_options(commands);
	for (const auto &c : commands) {
		const std::string fn = zsh_function(c.path);
		s << "\n" << fn << "()\n{\n";
		if (c.path.empty())
			// What segment and interface names are read with, for the
			// functions above (zsh scopes locals dynamically).
			s << "\tlocal _ovx_cmd=$words[1] _ovx_ns= _ovx_globals=()\n";
		s << "\tlocal curcontext=$curcontext state state_descr line ret=1\n"
		  << "\ttypeset -A opt_args\n";
		if (!c.subcommands.empty()) {
			s << "\tlocal -a cmds=(\n";
			for (std::size_t i = 0; i < c.subcommands.size(); i++)
				s << "\t\t"
				  << single_quoted(c.subcommands[i] + ":" + c.subcommand_help[i])
				  << "\n";
			s << "\t)\n";
		}
		s << "\t_arguments -C";
		for (const auto &o : c.options)
			s << " \\\n\t\t" << zsh_option_spec(o);
		if (!c.path.empty())
			for (const auto &o : globals)
				s << " \\\n\t\t" << zsh_option_spec(o);
		for (const auto &p : c.positionals)
			s << " \\\n\t\t"
			  << single_quoted((p.required ? ":" : "::") + zsh_escape(p.names[0]) + ":" +
					   zsh_action(p));
		if (!c.subcommands.empty())
			s << " \\\n\t\t'1: :->cmd' \\\n\t\t'*:: :->args'";
		s << " && ret=0\n";
		if (!c.subcommands.empty()) {
			if (c.path.empty())
				s << "\t_ovx_ns=${opt_args[--netns]}\n"
				  << "\t[[ -n $_ovx_ns ]] && _ovx_globals+=(--netns $_ovx_ns)\n"
				  << "\t[[ -n ${opt_args[--instance]} ]] && "
				     "_ovx_globals+=(--instance ${opt_args[--instance]})\n";
			s << "\tcase $state in\n"
			  << "\tcmd) _describe -t commands " << single_quoted(c.name() + " verb")
			  << " cmds && ret=0 ;;\n"
			  << "\targs)\n"
			  << "\t\tcurcontext=${curcontext%:*:*}:ovx-" << join(c.path, "-")
			  << (c.path.empty() ? "" : "-") << "$words[1]:\n"
			  << "\t\tcase $words[1] in\n";
			for (const auto &sub : c.subcommands) {
				auto sub_path = c.path;
				sub_path.push_back(sub);
				s << "\t\t" << sub << ") " << zsh_function(sub_path) << " && ret=0 ;;\n";
			}
			s << "\t\tesac ;;\n\tesac\n";
		}
		s << "\treturn ret\n}\n";
	}
	// Autoloaded from $fpath, the file is _ovx's body: define, then run.
	// Sourced (`source <(ovx completion zsh)`), it registers instead.
	s << "\nif [[ $funcstack[1] == _ovx ]]; then\n\t_ovx \"$@\"\nelse\n\tcompdef _ovx "
	     "ovx\nfi\n";
	return s.str();
}

} // namespace ovx::cli
