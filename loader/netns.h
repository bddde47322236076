// Entering a named network namespace, like `ip -n NAME`.
#pragma once

#include <string>

namespace ovx {

// Moves the calling thread into /run/netns/@name. Bind-mounted namespaces
// only, as iproute2 creates them; bpffs pins stay visible (same mount ns).
void enter_netns(const std::string &name);

} // namespace ovx
