// The command definitions as data, for completion and the man page.
#include <algorithm>
#include <sstream>

#include "cli/docs.h"

namespace ovx::cli {
namespace {

bool contains(const std::vector<std::string> &names, const std::string &name)
{
	return std::find(names.begin(), names.end(), name) != names.end();
}

// Which values a shell can offer for an option. By name, since CLI11 keeps
// no more than "TEXT" about them: the same name means the same thing in
// every verb, except under `ovx cluster`, whose segments live in etcd and
// not in a running instance.
std::string value_kind(const std::vector<std::string> &path, const OptionDoc &o)
{
	static const std::vector<std::string> files = {"-f",	 "--file", "--cluster", "--cacert",
						       "--cert", "--key",  "OBJECT"};
	const bool cluster = !path.empty() && path[0] == "cluster";
	if (!o.values.empty())
		return "values";
	if (contains(o.names, "--instance"))
		return "instance";
	if (contains(o.names, "--netns"))
		return "netns";
	if (std::any_of(o.names.begin(), o.names.end(),
			[](const std::string &n) { return contains(files, n); }))
		return "file";
	if (contains(o.names, "--interface") || contains(o.names, "interface"))
		return "interface";
	// `segment del|show NAME` name an existing segment; `segment add` a new one.
	const bool existing_segment = path.size() == 2 && path[0] == "segment" &&
				      path[1] != "add" && contains(o.names, "name");
	if (!cluster && (contains(o.names, "--segment") || existing_segment))
		return "segment";
	return "";
}

OptionDoc option_doc(const std::vector<std::string> &path, const CLI::Option &opt)
{
	OptionDoc o;
	o.positional = opt.get_positional() && !opt.nonpositional();
	if (o.positional)
		o.names.push_back(opt.get_name(true));
	for (const auto &s : opt.get_snames())
		o.names.push_back("-" + s);
	for (const auto &l : opt.get_lnames())
		o.names.push_back("--" + l);
	o.takes_value = opt.get_expected_max() != 0;
	o.required = opt.get_required();
	if (o.takes_value) {
		// Without the validators' notes ("FLOAT:FLOAT in [0 - 86400]").
		const std::string type = opt.get_type_name();
		o.type = type.substr(0, type.find(':'));
		// IsMember's set, "TEXT:{vxlan,nvgre,stt,geneve}": the parser
		// refuses anything else, so these are all a shell can offer.
		const auto set = type.find(":{");
		if (set != std::string::npos && type.back() == '}') {
			std::istringstream values(type.substr(set + 2, type.size() - set - 3));
			for (std::string v; std::getline(values, v, ',');)
				o.values.push_back(v);
		}
	}
	o.help = opt.get_description();
	o.envname = opt.get_envname();
	o.kind = value_kind(path, o);
	return o;
}

void walk(const CLI::App &app, std::vector<std::string> path, const std::string &inherited_footer,
	  std::vector<CommandDoc> &out)
{
	CommandDoc c;
	c.path = path;
	c.description = app.get_description();
	// CLI11 copies a parent's footer into each subcommand it makes.
	if (app.get_footer() != inherited_footer)
		c.footer = app.get_footer();
	for (const CLI::Option *opt : app.get_options()) {
		if (opt->get_group().empty())
			continue;
		OptionDoc o = option_doc(path, *opt);
		// The verbs hand an option they lack up to ovx (CLI11's
		// fallthrough), so ovx's own work after the verb too.
		o.global = path.empty() && app.get_fallthrough() && !o.positional &&
			   !contains(o.names, "--help") && !contains(o.names, "--version");
		(o.positional ? c.positionals : c.options).push_back(std::move(o));
	}
	const auto subs = app.get_subcommands([](const CLI::App *sub) { return !sub->get_group().empty(); });
	for (const CLI::App *sub : subs) {
		c.subcommands.push_back(sub->get_name());
		c.subcommand_help.push_back(sub->get_description());
	}
	out.push_back(std::move(c));
	for (const CLI::App *sub : subs) {
		auto sub_path = path;
		sub_path.push_back(sub->get_name());
		walk(*sub, sub_path, app.get_footer(), out);
	}
}

} // namespace

std::string CommandDoc::name() const
{
	std::string n = "ovx";
	for (const auto &p : path)
		n += " " + p;
	return n;
}

std::vector<CommandDoc> describe(const CLI::App &app)
{
	std::vector<CommandDoc> out;
	walk(app, {}, "", out);
	return out;
}

} // namespace ovx::cli
