#include "cluster/sync.h"

#include <ctime>

#include "cluster/layout.h"
#include "cluster/log.h"

namespace ovx::cluster {

using namespace std::chrono_literals;

namespace {

// How often the view's timers run (duplicates, freezes) when etcd is quiet,
// and the pause before a failed full read is tried again.
constexpr auto kTick = 1s;

} // namespace

ClusterSync::ClusterSync(Client &client, ViewOptions options, OnChange on_change)
	: client_(client), on_change_(std::move(on_change)), view_(std::move(options))
{
	thread_ = std::thread([this] { run(); });
}

ClusterSync::~ClusterSync()
{
	{
		std::lock_guard lock(mutex_);
		stop_ = true;
	}
	wake_.notify_all();
	thread_.join();
}

ClusterSync::Stats ClusterSync::stats() const
{
	std::lock_guard lock(mutex_);
	return stats_;
}

// A full read, and a watch from the revision after it. False when etcd
// could not be read.
bool ClusterSync::resync()
{
	// The old watch has ended or is ended here, on this thread, which its
	// handler never blocks.
	watch_.reset();
	RangeResult r;
	try {
		r = client_.range(std::string(kRoot), {.prefix = true});
	} catch (const EtcdError &e) {
		log().warn("cluster: full read failed: {}", e.what());
		std::lock_guard lock(mutex_);
		stats_.errors++;
		return false;
	}
	{
		std::lock_guard lock(mutex_);
		pending_.clear();
		view_.resync(r.kvs, r.revision, std::chrono::steady_clock::now());
		stats_.resyncs++;
		stats_.head = std::max(stats_.head, r.revision);
		if (on_change_)
			on_change_(view_);
	}
	watch_ = std::make_unique<Watch>(
		client_, std::string(kRoot),
		Watch::Options{.prefix = true, .start_revision = r.revision + 1, .progress_notify = true},
		[this](const WatchBatch &b) {
			{
				std::lock_guard lock(mutex_);
				pending_.push_back(b);
			}
			wake_.notify_all();
		});
	return true;
}

void ClusterSync::run()
{
	bool need_resync = true;
	std::unique_lock lock(mutex_);
	while (!stop_) {
		if (need_resync) {
			lock.unlock();
			need_resync = !resync();
			lock.lock();
			if (need_resync) {
				wake_.wait_for(lock, kTick, [&] { return stop_; });
				continue;
			}
		}
		wake_.wait_for(lock, kTick, [&] { return stop_ || !pending_.empty(); });
		const auto now = std::chrono::steady_clock::now();
		bool changed = false;
		while (!pending_.empty()) {
			const WatchBatch b = std::move(pending_.front());
			pending_.pop_front();
			if (b.compact_revision) {
				log().warn("cluster: watch start compacted (etcd at {}): full resync",
					   b.compact_revision);
				need_resync = true;
				break;
			}
			view_.apply(b, now);
			stats_.batches++;
			stats_.head = std::max(stats_.head, b.revision);
			changed = changed || !b.events.empty();
		}
		view_.tick(now);
		// The owner hears of it as of a change: its report says whether
		// this node follows etcd now.
		if (const bool up = watch_ && watch_->connected(); up != stats_.connected) {
			stats_.connected = up;
			stats_.connected_changed = std::time(nullptr);
			changed = true;
		}
		if (changed && on_change_)
			on_change_(view_);
	}
	lock.unlock();
	watch_.reset();
}

} // namespace ovx::cluster
