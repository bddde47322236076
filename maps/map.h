// Typed access to one BPF map through its fd: the only place in the control
// plane that issues map syscalls. Errors name the map and throw SystemError.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "maps/unique_fd.h"

namespace ovx {

// Keys and values are plain ABI structs: compare and order them by bytes.
struct BytesLess {
	template <typename T> bool operator()(const T &a, const T &b) const
	{
		return std::memcmp(&a, &b, sizeof(T)) < 0;
	}
};

template <typename T> bool same_bytes(const T &a, const T &b)
{
	return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// Untyped core, so that the syscall code exists once.
class RawMap {
public:
	RawMap(UniqueFd fd, std::string name);

	const std::string &name() const { return name_; }
	int fd() const { return fd_.get(); }
	std::uint32_t max_entries() const { return max_entries_; }
	std::uint32_t key_size() const { return key_size_; }
	std::uint32_t value_size() const { return value_size_; }
	std::uint32_t type() const { return type_; }
	bool is_array() const;

	bool lookup(const void *key, void *value) const;
	void update(const void *key, const void *value, std::uint64_t flags);
	bool erase(const void *key);
	// @count packed keys and values in BPF_MAP_UPDATE_BATCH / DELETE_BATCH
	// calls: one syscall per 64K entries instead of one per entry.
	void update_batch(const void *keys, const void *values, std::size_t count,
			  std::uint64_t flags);
	void erase_batch(const void *keys, std::size_t count);
	// Every key/value pair, batched where the kernel allows it.
	void dump(std::vector<std::uint8_t> &keys, std::vector<std::uint8_t> &values,
		  std::size_t value_stride) const;
	// The same, one batch of at most 4096 pairs at a time, so that a reader
	// of a million entries never holds more than one batch.
	using BatchFn = std::function<void(const std::uint8_t *keys, const std::uint8_t *values,
					   std::size_t n)>;
	void for_each_batch(std::size_t value_stride, const BatchFn &visit) const;
	// Entries present (hash maps; an array's are all present).
	std::size_t count() const;

private:
	// One key at a time, for maps without batch operations.
	void for_each_by_key(std::size_t value_stride, const BatchFn &visit) const;

	// The kernel's ENOTSUPP, which it returns to user space for operations
	// a map type (or device) lacks; not in the libc headers.
	static constexpr int kErrNotSupported = 524;

	UniqueFd fd_;
	std::string name_;
	std::uint32_t max_entries_ = 0;
	std::uint32_t key_size_ = 0;
	std::uint32_t value_size_ = 0;
	std::uint32_t type_ = 0;
};

template <typename K, typename V> class Map {
public:
	Map(UniqueFd fd, std::string name) : raw_(std::move(fd), std::move(name))
	{
		check_sizes(sizeof(K), sizeof(V));
	}

	const std::string &name() const { return raw_.name(); }
	int fd() const { return raw_.fd(); }
	std::uint32_t max_entries() const { return raw_.max_entries(); }

	std::optional<V> lookup(const K &key) const
	{
		V value{};
		if (!raw_.lookup(&key, &value))
			return std::nullopt;
		return value;
	}
	void update(const K &key, const V &value, std::uint64_t flags = 0)
	{
		raw_.update(&key, &value, flags);
	}
	bool erase(const K &key) { return raw_.erase(&key); }
	void update_batch(const std::vector<K> &keys, const std::vector<V> &values,
			  std::uint64_t flags = 0)
	{
		raw_.update_batch(keys.data(), values.data(), keys.size(), flags);
	}
	void erase_batch(const std::vector<K> &keys) { raw_.erase_batch(keys.data(), keys.size()); }
	std::size_t count() const { return raw_.count(); }
	bool is_array() const { return raw_.is_array(); }

	// Streams every pair to @visit(const K &, const V &), batch by batch.
	template <typename F> void for_each(F &&visit) const
	{
		raw_.for_each_batch(sizeof(V), [&](const std::uint8_t *keys,
						   const std::uint8_t *values, std::size_t n) {
			for (std::size_t i = 0; i < n; i++) {
				K k;
				V v;
				std::memcpy(&k, keys + i * sizeof(K), sizeof(K));
				std::memcpy(&v, values + i * sizeof(V), sizeof(V));
				visit(k, v);
			}
		});
	}

	std::vector<std::pair<K, V>> dump() const
	{
		std::vector<std::uint8_t> keys, values;
		raw_.dump(keys, values, sizeof(V));
		std::vector<std::pair<K, V>> out(keys.size() / sizeof(K));
		for (std::size_t i = 0; i < out.size(); i++) {
			std::memcpy(&out[i].first, &keys[i * sizeof(K)], sizeof(K));
			std::memcpy(&out[i].second, &values[i * sizeof(V)], sizeof(V));
		}
		return out;
	}

private:
	void check_sizes(std::size_t key, std::size_t value) const;
	RawMap raw_;
};

// An ARRAY of 64-bit counters made with BPF_F_MMAPABLE, which the programs
// change with atomic adds: mapped into this process, so that the control
// plane changes them with atomic operations too (a map update would write
// over the programs' adds in between).
class CounterArray {
public:
	CounterArray(UniqueFd fd, std::string name);

	const std::string &name() const { return raw_.name(); }
	int fd() const { return raw_.fd(); }
	std::uint32_t max_entries() const { return raw_.max_entries(); }
	std::uint64_t get(std::uint32_t index) const;
	// Takes @n off counter @index, stopping at zero.
	void release(std::uint32_t index, std::uint64_t n);
	// Adds @n (a migration counting what older programs did not).
	void add(std::uint32_t index, std::uint64_t n);

private:
	std::uint64_t *at(std::uint32_t index) const;

	struct Unmap {
		std::size_t len;
		void operator()(void *p) const;
	};
	RawMap raw_;
	std::unique_ptr<void, Unmap> mem_;
};

// Per-CPU hash or array: one value per possible CPU, summed by the
// caller's rule (maps/stats.h).
template <typename K, typename V> class PerCpuMap {
public:
	PerCpuMap(UniqueFd fd, std::string name);

	const std::string &name() const { return raw_.name(); }
	int fd() const { return raw_.fd(); }
	std::uint32_t max_entries() const { return raw_.max_entries(); }
	std::size_t count() const { return raw_.count(); }
	// Empty when the key is absent.
	std::vector<V> lookup(const K &key) const;
	// Every entry, one value per CPU each, in batches (one syscall per 4096
	// entries, not one per entry): @visit(key, per-CPU values).
	void for_each(const std::function<void(const K &, const std::vector<V> &)> &visit) const;
	// Every CPU's value set to zero (creates the entry of a hash).
	void clear(const K &key);
	// One value per possible CPU, as lookup() returns them.
	void update(const K &key, const std::vector<V> &per_cpu);
	bool erase(const K &key) { return raw_.erase(&key); }

private:
	RawMap raw_;
	std::size_t ncpus_;
	std::size_t stride_;
};

template <typename V> using PerCpuArray = PerCpuMap<std::uint32_t, V>;

void check_map_sizes(const std::string &name, std::uint32_t key_have,
		     std::uint32_t value_have, std::size_t key_want, std::size_t value_want);

template <typename K, typename V>
void Map<K, V>::check_sizes(std::size_t key, std::size_t value) const
{
	check_map_sizes(raw_.name(), raw_.key_size(), raw_.value_size(), key, value);
}

std::size_t possible_cpus();

template <typename K, typename V>
PerCpuMap<K, V>::PerCpuMap(UniqueFd fd, std::string name)
	: raw_(std::move(fd), std::move(name)), ncpus_(possible_cpus()),
	  stride_((sizeof(V) + 7) & ~std::size_t{7})
{
	check_map_sizes(raw_.name(), raw_.key_size(), raw_.value_size(), sizeof(K), sizeof(V));
}

template <typename K, typename V> std::vector<V> PerCpuMap<K, V>::lookup(const K &key) const
{
	std::vector<std::uint8_t> buf(ncpus_ * stride_);
	std::vector<V> out(ncpus_);
	if (!raw_.lookup(&key, buf.data()))
		return {};
	for (std::size_t cpu = 0; cpu < ncpus_; cpu++)
		std::memcpy(&out[cpu], &buf[cpu * stride_], sizeof(V));
	return out;
}

template <typename K, typename V>
void PerCpuMap<K, V>::for_each(
	const std::function<void(const K &, const std::vector<V> &)> &visit) const
{
	std::vector<V> values(ncpus_);
	raw_.for_each_batch(ncpus_ * stride_, [&](const std::uint8_t *keys, const std::uint8_t *vals,
					std::size_t count) {
		for (std::size_t i = 0; i < count; i++) {
			K key;
			std::memcpy(&key, keys + i * sizeof(K), sizeof(K));
			const std::uint8_t *v = vals + i * ncpus_ * stride_;
			for (std::size_t cpu = 0; cpu < ncpus_; cpu++)
				std::memcpy(&values[cpu], v + cpu * stride_, sizeof(V));
			visit(key, values);
		}
	});
}

template <typename K, typename V> void PerCpuMap<K, V>::clear(const K &key)
{
	std::vector<std::uint8_t> zero(ncpus_ * stride_);
	raw_.update(&key, zero.data(), 0);
}

template <typename K, typename V>
void PerCpuMap<K, V>::update(const K &key, const std::vector<V> &per_cpu)
{
	std::vector<std::uint8_t> buf(ncpus_ * stride_);
	for (std::size_t cpu = 0; cpu < ncpus_ && cpu < per_cpu.size(); cpu++)
		std::memcpy(&buf[cpu * stride_], &per_cpu[cpu], sizeof(V));
	raw_.update(&key, buf.data(), 0);
}

} // namespace ovx
