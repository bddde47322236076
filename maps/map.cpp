#include "maps/map.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
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

void RawMap::update_batch(const void *keys, const void *values, std::size_t count,
			  std::uint64_t flags)
{
	const auto *k = static_cast<const std::uint8_t *>(keys);
	const auto *v = static_cast<const std::uint8_t *>(values);
	const std::size_t chunk = 65536;
	for (std::size_t done = 0; done < count;) {
		__u32 n = static_cast<__u32>(std::min(chunk, count - done));
		LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = flags);
		if (bpf_map_update_batch(fd_.get(), k + done * key_size_, v + done * value_size_,
					 &n, &opts))
			throw SystemError("map " + name_ + ": batch update failed after " +
						  std::to_string(done + n) + " of " +
						  std::to_string(count) + " entries" +
						  (errno == E2BIG || errno == ENOMEM
							   ? " (map full: " +
								     std::to_string(max_entries_) +
								     " entries)"
							   : std::string()),
					  errno);
		done += n;
	}
}

void RawMap::erase_batch(const void *keys, std::size_t count)
{
	const auto *k = static_cast<const std::uint8_t *>(keys);
	const std::size_t chunk = 65536;
	for (std::size_t done = 0; done < count;) {
		__u32 n = static_cast<__u32>(std::min(chunk, count - done));
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		if (bpf_map_delete_batch(fd_.get(), k + done * key_size_, &n, &opts))
			throw SystemError("map " + name_ + ": batch delete failed after " +
						  std::to_string(done + n) + " of " +
						  std::to_string(count) + " entries",
					  errno);
		done += n;
	}
}

void RawMap::for_each_batch(std::size_t value_stride, const BatchFn &visit) const
{
	// Batches of 4096 keep the syscall count at n/4096 for a million
	// entries; per-CPU values (a copy per CPU) get smaller batches so that
	// a host with many CPUs does not need a buffer of hundreds of MB.
	const std::size_t max_buffer = std::size_t{8} << 20;
	const auto chunk = static_cast<std::uint32_t>(
		std::clamp<std::size_t>(max_buffer / std::max<std::size_t>(value_stride, 1), 64, 4096));
	std::vector<std::uint8_t> keys(std::size_t{chunk} * key_size_),
		values(std::size_t{chunk} * value_stride);
	std::vector<std::uint8_t> in_batch(key_size_), out_batch(key_size_);
	bool first = true;
	for (;;) {
		__u32 count = chunk;
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		int err = bpf_map_lookup_batch(fd_.get(), first ? nullptr : in_batch.data(),
					       out_batch.data(), keys.data(), values.data(),
					       &count, &opts);
		int saved = errno;
		// Maps on a NIC (hardware offload) have no batch operations.
		if (err && first && (saved == kErrNotSupported || saved == EOPNOTSUPP)) {
			for_each_by_key(value_stride, visit);
			return;
		}
		if (err && saved != ENOENT)
			throw SystemError("map " + name_ + ": dump failed", saved);
		if (count)
			visit(keys.data(), values.data(), count);
		if (err)
			return; // ENOENT: that was the last batch
		in_batch = out_batch;
		first = false;
	}
}

void RawMap::dump(std::vector<std::uint8_t> &keys, std::vector<std::uint8_t> &values,
		  std::size_t value_stride) const
{
	keys.clear();
	values.clear();
	for_each_batch(value_stride, [&](const std::uint8_t *k, const std::uint8_t *v,
					 std::size_t n) {
		keys.insert(keys.end(), k, k + n * key_size_);
		values.insert(values.end(), v, v + n * value_stride);
	});
}

bool RawMap::is_array() const
{
	return type_ == BPF_MAP_TYPE_ARRAY || type_ == BPF_MAP_TYPE_PERCPU_ARRAY;
}

std::size_t RawMap::count() const
{
	if (is_array())
		return max_entries_;
	// Keys only would do, but the batch call wants room for values too.
	std::size_t n = 0;
	const std::size_t stride = (type_ == BPF_MAP_TYPE_PERCPU_HASH)
					   ? possible_cpus() * ((value_size_ + 7) & ~7u)
					   : value_size_;
	for_each_batch(stride, [&](const std::uint8_t *, const std::uint8_t *, std::size_t c) {
		n += c;
	});
	return n;
}

void RawMap::for_each_by_key(std::size_t value_stride, const BatchFn &visit) const
{
	std::vector<std::uint8_t> key(key_size_), next(key_size_), value(value_stride);
	const void *prev = nullptr;
	while (bpf_map_get_next_key(fd_.get(), prev, next.data()) == 0) {
		// A key deleted between the two calls is simply not listed.
		if (lookup(next.data(), value.data()))
			visit(next.data(), value.data(), 1);
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

CounterArray::CounterArray(UniqueFd fd, std::string name)
	: raw_(std::move(fd), std::move(name)), mem_(nullptr, Unmap{0})
{
	if (raw_.type() != BPF_MAP_TYPE_ARRAY || raw_.value_size() != sizeof(std::uint64_t))
		throw SystemError("map " + raw_.name() + ": not an array of 64-bit counters", EINVAL);
	const long page = sysconf(_SC_PAGESIZE);
	const std::size_t len =
		(std::size_t{raw_.max_entries()} * sizeof(std::uint64_t) + page - 1) / page * page;
	// A reader's fd (BPF_F_RDONLY) cannot be mapped (the kernel maps
	// only writable fds shared): get() looks the counter up instead, and
	// release() and add() are writers'.
	const int mode = fcntl(raw_.fd(), F_GETFL);
	if (mode >= 0 && (mode & O_ACCMODE) == O_RDONLY)
		return;
	void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, raw_.fd(), 0);
	if (p == MAP_FAILED)
		throw SystemError("map " + raw_.name() + ": cannot map it (made without "
				  "BPF_F_MMAPABLE?)", errno);
	mem_ = std::unique_ptr<void, Unmap>(p, Unmap{len});
}

void CounterArray::Unmap::operator()(void *p) const
{
	munmap(p, len);
}

std::uint64_t *CounterArray::at(std::uint32_t index) const
{
	if (index >= raw_.max_entries())
		throw SystemError("map " + raw_.name() + ": index " + std::to_string(index) +
					  " out of range",
				  ERANGE);
	if (!mem_)
		throw SystemError("map " + raw_.name() + ": opened read-only", EPERM);
	return static_cast<std::uint64_t *>(mem_.get()) + index;
}

std::uint64_t CounterArray::get(std::uint32_t index) const
{
	if (!mem_) {
		std::uint64_t value = 0;
		if (!raw_.lookup(&index, &value))
			throw SystemError("map " + raw_.name() + ": no index " + std::to_string(index),
					  ENOENT);
		return value;
	}
	return std::atomic_ref<std::uint64_t>(*at(index)).load();
}

void CounterArray::release(std::uint32_t index, std::uint64_t n)
{
	std::atomic_ref<std::uint64_t> c(*at(index));
	std::uint64_t cur = c.load();
	while (!c.compare_exchange_weak(cur, cur > n ? cur - n : 0))
		;
}

void CounterArray::add(std::uint32_t index, std::uint64_t n)
{
	std::atomic_ref<std::uint64_t>(*at(index)).fetch_add(n);
}

} // namespace ovx
