// Least privilege: who may read an instance, and who may change it.
//
// Readers are the members of one group (ovx, or $OVX_GROUP): the instance's
// map pins, its pin directories and the agent's run-time files are given to
// it with group read (and search) permission and no access for others, when
// the group exists; program pins stay the owner's (a program fd could be
// test-run, and the XDP program learns into the FDB). Writers need
// capabilities, whatever their uid.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace ovx {

inline constexpr mode_t kSharedDirMode = 0750;
inline constexpr mode_t kSharedFileMode = 0640;

// "ovx", or $OVX_GROUP (tests use a group of their own).
std::string reader_group_name();
// Its gid; nullopt when the system has no such group.
std::optional<gid_t> reader_group();

// Gives @path to the reader group with @mode when the group exists;
// another user's path is left as its owner shared it. Throws SystemError
// when the kernel refuses.
void share_with_readers(const std::string &path, mode_t mode);

// What the verbs that change the dataplane need in the effective set:
// CAP_BPF (or CAP_SYS_ADMIN, which the kernel takes for it) and
// CAP_NET_ADMIN. Throws SystemError naming @verb and what is missing.
void require_write_capabilities(const std::string &verb);

// Whether this process may look BPF programs and links up by id (the
// kernel wants CAP_SYS_ADMIN), which telling ovx's XDP program among a
// dispatcher's takes; a reader without it opens the pins read-only
// (Dataplane::open).
bool can_read_programs();

// The message for a pin (or run-time file) the kernel refused to open with
// EACCES or EPERM: which path, and what would let this user in.
std::string access_refused(const std::string &path, int err);

} // namespace ovx
