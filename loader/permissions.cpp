#include "loader/permissions.h"

#include <grp.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "maps/error.h"

namespace ovx {

std::string reader_group_name()
{
	const char *name = std::getenv("OVX_GROUP");
	return name && *name ? name : "ovx";
}

std::optional<gid_t> reader_group()
{
	struct group gr {}, *found = nullptr;
	std::vector<char> buf(16384);
	if (getgrnam_r(reader_group_name().c_str(), &gr, buf.data(), buf.size(), &found) || !found)
		return std::nullopt;
	return found->gr_gid;
}

void share_with_readers(const std::string &path, mode_t mode)
{
	const auto gid = reader_group();
	if (!gid)
		return;
	// Another user's path (root's apply before the agent ran as its own
	// user) was shared by whoever made it.
	struct stat st {};
	if (!::stat(path.c_str(), &st) &&
	    ((st.st_gid == *gid && (st.st_mode & 07777) == mode) ||
	     (st.st_uid != geteuid() && geteuid() != 0)))
		return;
	if (::chown(path.c_str(), static_cast<uid_t>(-1), *gid))
		throw SystemError("cannot give " + path + " to group " + reader_group_name(), errno);
	if (::chmod(path.c_str(), mode))
		throw SystemError("cannot set the mode of " + path, errno);
}

namespace {

bool effective(int cap)
{
	__user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
	__user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
	if (syscall(SYS_capget, &header, data))
		throw SystemError("cannot read this process's capabilities", errno);
	return (data[cap / 32].effective >> (cap % 32)) & 1;
}

} // namespace

void require_write_capabilities(const std::string &verb)
{
	std::string missing;
	if (!effective(CAP_BPF) && !effective(CAP_SYS_ADMIN))
		missing = "CAP_BPF";
	if (!effective(CAP_NET_ADMIN))
		missing += std::string(missing.empty() ? "" : " and ") + "CAP_NET_ADMIN";
	if (!missing.empty())
		throw SystemError(verb + " changes the dataplane: it needs root or " + missing +
				  " (reading needs only group " + reader_group_name() +
				  ": show, stats, status, export, metrics serve)");
}

bool can_read_programs()
{
	return effective(CAP_SYS_ADMIN);
}

std::string access_refused(const std::string &path, int err)
{
	const std::string msg = "cannot open " + path + ": " + std::strerror(err) + " (";
	if (geteuid() == 0)
		return msg + "refused to root: a security module?)";
	// The BPF filesystem's root is root's alone unless the group was let
	// through it (the package's tmpfiles.d/ovx.conf).
	const std::string bpffs = "/sys/fs/bpf";
	if (path.starts_with(bpffs + "/") && ::access(bpffs.c_str(), X_OK) && errno == EACCES)
		return msg + "this user may not search " + bpffs + ": add the user to group " +
		       reader_group_name() + ", and let the group search " + bpffs +
		       " (the package's tmpfiles.d/ovx.conf does); see docs/OPERATIONS.md, "
		       "Privileges)";
	return msg + "reading an instance needs membership of group " + reader_group_name() +
	       ": add the user to it (usermod -aG " + reader_group_name() +
	       " USER, then log in again); changing it needs root or CAP_BPF and CAP_NET_ADMIN)";
}

} // namespace ovx
