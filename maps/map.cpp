#include "maps/map.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cerrno>

#include "maps/error.h"

namespace ovx {

RawMap::RawMap(UniqueFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name))
{
	bpf_map_info info{};
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd_.get(), &info, &len))
		throw SystemError("map " + name_ + ": cannot read its info", errno);
	max_entries_ = info.max_entries;
	key_size_ = info.key_size;
	value_size_ = info.value_size;
	type_ = info.type;
}

bool RawMap::lookup(const void *key, void *value) const
{
	if (bpf_map_lookup_elem(fd_.get(), key, value) == 0)
		return true;
	if (errno == ENOENT)
		return false;
	throw SystemError("map " + name_ + ": lookup failed", errno);
}

void RawMap::update(const void *key, const void *value, std::uint64_t flags)
{
	if (bpf_map_update_elem(fd_.get(), key, value, flags))
		throw SystemError("map " + name_ + ": update failed" +
					  (errno == E2BIG ? " (map full: " +
								    std::to_string(max_entries_) +
								    " entries)"
							  : std::string()),
				  errno);
}

bool RawMap::erase(const void *key)
{
	if (bpf_map_delete_elem(fd_.get(), key) == 0)
		return true;
	if (errno == ENOENT)
		return false;
	throw SystemError("map " + name_ + ": delete failed", errno);
}

void RawMap::dump(std::vector<std::uint8_t> &keys, std::vector<std::uint8_t> &values,
		  std::size_t value_stride) const
{
	keys.clear();
	values.clear();

	// Batches of 4096 keep the syscall count at n/4096 for a million entries.
	const std::uint32_t chunk = 4096;
	std::vector<std::uint8_t> in_batch(key_size_), out_batch(key_size_);
	bool first = true;
	for (;;) {
		const std::size_t kofs = keys.size(), vofs = values.size();
		keys.resize(kofs + std::size_t{chunk} * key_size_);
		values.resize(vofs + std::size_t{chunk} * value_stride);
		__u32 count = chunk;
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		int err = bpf_map_lookup_batch(fd_.get(), first ? nullptr : in_batch.data(),
					       out_batch.data(), &keys[kofs], &values[vofs],
					       &count, &opts);
		int saved = errno;
		keys.resize(kofs + std::size_t{count} * key_size_);
		values.resize(vofs + std::size_t{count} * value_stride);
		if (err && saved == ENOENT)
			return; // that was the last batch
		// Maps on a NIC (hardware offload) have no batch operations.
		if (err && first && (saved == kErrNotSupported || saved == EOPNOTSUPP)) {
			dump_by_key(keys, values, value_stride);
			return;
		}
		if (err)
			throw SystemError("map " + name_ + ": dump failed", saved);
		in_batch = out_batch;
		first = false;
	}
}

void RawMap::dump_by_key(std::vector<std::uint8_t> &keys, std::vector<std::uint8_t> &values,
			 std::size_t value_stride) const
{
	keys.clear();
	values.clear();
	std::vector<std::uint8_t> key(key_size_), next(key_size_), value(value_stride);
	const void *prev = nullptr;
	while (bpf_map_get_next_key(fd_.get(), prev, next.data()) == 0) {
		// A key deleted between the two calls is simply not listed.
		if (lookup(next.data(), value.data())) {
			keys.insert(keys.end(), next.begin(), next.end());
			values.insert(values.end(), value.begin(), value.end());
		}
		key = next;
		prev = key.data();
	}
	if (errno != ENOENT)
		throw SystemError("map " + name_ + ": dump failed", errno);
}

void check_map_sizes(const std::string &name, std::uint32_t key_have,
		     std::uint32_t value_have, std::size_t key_want, std::size_t value_want)
{
	if (key_have != key_want || value_have != value_want)
		throw SystemError("map " + name + ": layout mismatch (key " +
				  std::to_string(key_have) + "/" + std::to_string(key_want) +
				  " bytes, value " + std::to_string(value_have) + "/" +
				  std::to_string(value_want) +
				  " bytes): pinned by another ovx version; run 'ovx down' and "
				  "apply again");
}

std::size_t possible_cpus()
{
	int n = libbpf_num_possible_cpus();
	if (n <= 0)
		throw SystemError("cannot count possible CPUs", -n);
	return static_cast<std::size_t>(n);
}

} // namespace ovx
