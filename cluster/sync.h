// Keeps a ClusterView equal to etcd: a full read, then a watch from the
// revision after it; when the watch finds its start compacted away (after
// an outage), a full read again. The view's owner hears of each change.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "cluster/etcd_client.h"
#include "cluster/view.h"

namespace ovx::cluster {

class ClusterSync {
public:
	// Called on the sync's thread after each change (and each resync), with
	// the view locked: copy out what is needed, do not call inspect().
	using OnChange = std::function<void(const ClusterView &)>;

	ClusterSync(Client &client, ViewOptions options, OnChange on_change);
	~ClusterSync();
	ClusterSync(const ClusterSync &) = delete;
	ClusterSync &operator=(const ClusterSync &) = delete;

	struct Stats {
		std::uint64_t resyncs = 0;  // full reads, the first included
		std::uint64_t batches = 0;  // watch responses applied
		std::uint64_t errors = 0;   // failed reads (retried)
		std::int64_t head = 0;      // etcd's revision as last heard (progress included)
		bool connected = false;     // the watch has a stream to a member (as of the last tick)
		std::int64_t connected_changed = 0; // unix time connected last changed
	};
	Stats stats() const;

	template <typename F> auto inspect(F &&f) const
	{
		std::lock_guard lock(mutex_);
		return f(view_);
	}

private:
	void run();
	bool resync();

	Client &client_;
	OnChange on_change_;
	mutable std::mutex mutex_;
	std::condition_variable wake_;
	ClusterView view_;
	std::deque<WatchBatch> pending_; // from the watch's thread
	bool stop_ = false;
	Stats stats_;
	std::unique_ptr<Watch> watch_; // the sync thread's alone
	std::thread thread_;
};

} // namespace ovx::cluster
