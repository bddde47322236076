// `ovx upgrade`: new programs over the pinned maps, and the migration of
// maps pinned with an older ABI layout.
#pragma once

#include <optional>
#include <string>

#include "loader/dataplane.h"

namespace ovx {

// Swaps this binary's programs in for the instance's; the maps keep their
// contents. Pins of an older ABI are carried over to the current layout
// when @migrate is set (and refused with a message saying so otherwise);
// pins of a newer ABI are refused. nullopt when nothing is pinned.
std::optional<ProgramSwap> upgrade_instance(const std::string &instance, bool migrate);

} // namespace ovx
