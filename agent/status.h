// `ovx status`: is the instance whole? Programs, hooks, map fill, ABI, agent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/daemon.h"

namespace ovx {

struct HookStatus {
	std::string hook;      // "xdp", "tc ingress"
	std::string interface;
	std::string program;
	bool attached = false; // ovx's current program runs there
	std::string mode;      // XDP: native, generic, offload
	bool shared = false;   // XDP: in libxdp's dispatcher, beside other programs
};

struct MapStatus {
	std::string name;
	std::optional<std::size_t> entries; // hash maps; active ids of ovx_segments
	std::uint32_t max_entries = 0;
};

struct ProgramStatus {
	std::string name;
	std::uint32_t id = 0;
};

struct StatusView {
	std::string instance;
	std::string pin_dir;
	bool pinned = false;
	std::uint32_t abi_pinned = 0; // 0 when nothing is pinned
	std::uint32_t abi_binary = 0;
	std::vector<ProgramStatus> programs;
	std::vector<HookStatus> hooks;
	std::vector<MapStatus> maps;
	std::optional<AgentState> agent;

	// Pinned, current ABI, and every hook runs ovx's program.
	bool healthy() const;
};

StatusView status(const std::string &instance);

} // namespace ovx
