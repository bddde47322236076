// monitor: the instance's control-plane events as they happen.
#include "agent/monitor.h"
#include "cli/cli.h"
#include "maps/error.h"

namespace ovx::cli {

void add_monitor_verbs(CLI::App &app, Commands &out)
{
	auto o = std::make_shared<MonitorOptions>();
	auto kinds = std::make_shared<std::vector<std::string>>();
	auto *mon = app.add_subcommand(
		"monitor", "Stream control-plane events: MACs learned, moved, aged out; drift "
			   "repaired; applies; ovx down; agent start, reload, stop");
	mon->add_option("kinds", *kinds,
			"Only these events: learn move age-out flush drift apply down agent-start "
			"agent-reload agent-stop, or the groups fdb and agent (default: all)");
	mon->add_option("--segment", o->segment, "Only events of this segment (FDB events)");
	mon->add_option("--interval", o->interval_sec,
			"Seconds between the reads of the FDB behind learn, move, age-out and "
			"flush (default 1; longer while a read costs more than 1/20 of it); a MAC "
			"learned and gone within one is not seen");
	mon->footer("Example: ovx --netns host1 monitor --json fdb drift\n"
		    "One line per event (--json: one object per line); ends on SIGINT, SIGTERM, "
		    "or when its output is closed ('ovx monitor | head -3').");
	out.push_back({mon, [o, kinds] { o->kinds = expand_kinds(*kinds); },
		       [o](const Globals &g, const std::string &instance) {
			       MonitorOptions opts = *o;
			       opts.instance = instance;
			       opts.json = g.json;
			       if (int rc = run_monitor(opts))
				       throw ExitStatus{rc};
		       }});
}

} // namespace ovx::cli
