// The desired-state file of an agent, watched for changes.
#pragma once

#include <filesystem>
#include <string>

#include "maps/unique_fd.h"

namespace ovx {

// An inotify fd that reports changes of @file's directory. Editors replace
// files (write a temporary, rename it over): watching the directory for the
// name sees that, where a watch on the file would lose it.
UniqueFd watch_file(const std::filesystem::path &file);

// Reads every pending event of @inotify_fd; true when one names @name.
bool file_event(int inotify_fd, const std::string &name);

} // namespace ovx
