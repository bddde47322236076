// ovx(8), printed from the command definitions (`ovx man`): every verb
// with its description, synopsis, arguments, flags and examples; the rest
// (exit statuses, environment, files) from the constants ovx uses.
#include <set>
#include <sstream>

#include "cli/docs.h"
#include "loader/dataplane.h"
#include "maps/error.h"
#include "ovx_version.h"

namespace ovx::cli {
namespace {

// Text for a roff line: backslashes escaped, a hyphen that starts an
// option ("--json", "ip -n") made a minus so that it can be searched and
// copied, hyphens within words ("desired-state") left alone.
std::string roff(const std::string &text)
{
	std::string out;
	for (std::size_t i = 0; i < text.size(); i++) {
		const char c = text[i];
		const char before = i ? text[i - 1] : ' ';
		if (c == '\\')
			out += "\\e";
		else if (c == '-' && (before == ' ' || before == '-' || before == '(' ||
				      before == '[' || before == '\'' || before == ','))
			out += "\\-";
		else
			out += c;
	}
	return out;
}

// A line of running text: one starting with . or ' would be a request.
std::string text_line(const std::string &text)
{
	const std::string line = roff(text);
	return (!line.empty() && (line[0] == '.' || line[0] == '\'') ? "\\&" : "") + line + "\n";
}

std::string bold(const std::string &text)
{
	return "\\fB" + roff(text) + "\\fR";
}

std::string italic(const std::string &text)
{
	return "\\fI" + roff(text) + "\\fR";
}

// "-f, --file TEXT"
std::string option_tag(const OptionDoc &o)
{
	std::string tag;
	for (const auto &n : o.names)
		tag += (tag.empty() ? "" : ", ") + bold(n);
	if (o.takes_value && !o.positional)
		tag += " " + italic(o.type);
	return tag;
}

// What the synopsis shows of an option: required ones plain, others in [].
std::string synopsis_item(const OptionDoc &o)
{
	std::string item = o.positional ? italic(o.names[0]) : bold(o.names.back());
	if (o.takes_value && !o.positional)
		item += " " + italic(o.type);
	return o.required ? item : "[" + item + "]";
}

void option_list(std::ostringstream &s, const std::vector<OptionDoc> &options)
{
	for (const auto &o : options) {
		std::string help = o.help;
		if (o.required)
			help += " (required)";
		if (!o.envname.empty())
			help += " (default: $" + o.envname + ")";
		s << ".TP\n" << option_tag(o) << "\n" << text_line(help);
	}
}

void command_section(std::ostringstream &s, const CommandDoc &c)
{
	s << ".SS \"" << roff(c.name()) << "\"\n" << text_line(c.description);
	s << ".PP\n" << bold(c.name());
	for (const auto &o : c.options)
		if (o.names.back() != "--help")
			s << " " << synopsis_item(o);
	for (const auto &p : c.positionals)
		s << " " << synopsis_item(p);
	if (!c.subcommands.empty()) {
		std::string subs;
		for (const auto &sub : c.subcommands)
			subs += (subs.empty() ? "" : "|") + bold(sub);
		s << " {" << subs << "} ...";
	}
	s << "\n";
	option_list(s, c.positionals);
	option_list(s, c.options);
	if (!c.footer.empty()) {
		// Examples keep their lines.
		s << ".PP\n.RS 4\n.nf\n";
		std::istringstream lines(c.footer);
		for (std::string line; std::getline(lines, line);)
			s << text_line(line);
		s << ".fi\n.RE\n";
	}
}

} // namespace

std::string man_page(const std::vector<CommandDoc> &commands)
{
	const CommandDoc &ovx = commands.at(0);
	const std::string pins = Dataplane::instance_dir("");
	std::ostringstream s;
	s << ".\\\" ovx(8), generated from ovx's command definitions by `ovx man`\n"
	  << ".\\\" (ovx " OVX_BUILD_VERSION ", git " OVX_BUILD_GIT "); edits are lost at the next build.\n"
	  << ".TH OVX 8 \"" OVX_BUILD_DATE "\" \"ovx " OVX_BUILD_VERSION "\" \"System Administration\"\n"
	  << ".SH NAME\n"
	  << "ovx \\- multi\\-tenant L2 overlay dataplane on XDP and TC\n"
	  << ".SH SYNOPSIS\n"
	  << ".B ovx\n"
	  << "[\\fIoptions\\fR] \\fIverb\\fR [\\fIverb options\\fR] [\\fIarguments\\fR]\n"
	  << ".SH DESCRIPTION\n"
	  << text_line(ovx.description)
	  << ".PP\n"
	  << "ovx loads XDP and TC eBPF programs that carry tenants' L2 segments over an IP\n"
	  << "underlay (VXLAN, Geneve, NVGRE, STT; IPv4 and IPv6) and keeps their maps equal\n"
	  << "to a desired-state file, described in\n"
	  << ".BR ovx\\-config (5):\n"
	  << "once with\n.BR apply ,\nor continuously with\n.BR agent .\n"
	  << "Each \\fIinstance\\fR, one underlay, pins its programs and maps under\n"
	  << bold(pins) << "\\fIinstance\\fR; the instance is named by\n"
	  << ".BR \\-\\-instance ,\n"
	  << "or else by\n.BR \\-\\-netns ,\nor else is\n.BR default .\n"
	  << ".PP\n"
	  << "The imperative verbs (segment, port, fdb, flood) change an applied instance as\n"
	  << ".BR ip (8)\nand\n.BR bridge (8)\n"
	  << "change the kernel's, and are refused while an agent owns the instance.\n"
	  << "Verbs that change an instance take its writer lock; another ovx that wants it\n"
	  << "exits with status 2, or waits with\n.BR \\-\\-wait .\n"
	  << "Every verb takes\n.B \\-\\-help\nand shows an example.\n"
	  << ".SH OPTIONS\n"
	  << "These come before or after the verb:\n"
	  << ".B ovx \\-\\-json show\n"
	  << "and\n.B ovx show \\-\\-json\n"
	  << "are the same.\n";
	option_list(s, ovx.options);
	s << ".SH COMMANDS\n";
	for (std::size_t i = 1; i < commands.size(); i++)
		command_section(s, commands[i]);

	s << ".SH EXIT STATUS\n"
	  << ".TP\n.B " << kExitOk << "\nSuccess.\n"
	  << ".TP\n.B " << kExitInvalid
	  << "\nBad input: usage, the desired-state file, validation. Nothing was changed.\n"
	  << ".TP\n.B " << kExitSystem
	  << "\nThe system refused: privileges, BPF, netlink, an instance another ovx is\n"
	  << "changing.\n"
	  << ".TP\n.B " << kExitChanges
	  << "\n.B ovx apply \\-\\-dry\\-run\n(or\n.BR \\-\\-diff )\n"
	  << "found that applying the file would change something, as\n.BR diff (1)\n"
	  << "exits 1 when files differ; 0 means nothing would. Nothing was changed.\n";

	s << ".SH ENVIRONMENT\n"
	  << ".TP\n.B OVX_DEBUG\n"
	  << "When set and no\n.B \\-\\-log\\-level\nis given, the level is\n.BR trace :\n"
	  << "libbpf's and libxdp's own messages are logged, their debug output too.\n"
	  << ".TP\n.B OVX_GROUP\n"
	  << "The group that may read instances (default\n.BR ovx );\n"
	  << "its members run the read-only verbs without privileges.\n"
	  << ".TP\n.B OVX_RUN_DIR\n"
	  << "Where writer locks and agent state live instead of\n.IR /run/ovx .\n"
	  << ".TP\n.B OVX_ETCD_PASSWORD\n"
	  << "The etcd password for\n.BR \\-\\-user .\n";
	std::set<std::string> seen;
	for (const auto &c : commands)
		for (const auto &o : c.options)
			if (!o.envname.empty() && seen.insert(o.envname).second)
				s << ".TP\n" << bold(o.envname) << "\n"
				  << text_line("The default of " + o.names.back() +
					       " for the verbs that take it.");

	s << ".SH FILES\n"
	  << ".TP\n.I /etc/ovx/instance.yaml\n"
	  << "The desired state the systemd unit\n.I ovx@instance.service\n"
	  << "gives the agent; see\n.BR ovx\\-config (5).\n"
	  << ".TP\n" << italic(pins) << "\\fIinstance\\fR/\n"
	  << "The instance's pinned programs, maps and links: what keeps it running\n"
	  << "without an ovx process.\n"
	  << ".TP\n.I /run/ovx/instance.lock\n"
	  << "The instance's writer lock.\n"
	  << ".TP\n.I /run/ovx/instance/\n"
	  << "The agent's state, read by\n.BR \"ovx status\" .\n";

	s << ".SH SEE ALSO\n"
	  << ".BR ovx\\-config (5),\n.BR bpftool (8),\n.BR bridge (8),\n.BR ip (8),\n"
	  << ".BR systemctl (1),\n.BR tc (8)\n";
	return s.str();
}

} // namespace ovx::cli
