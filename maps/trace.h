// Reading ovx_trace, the programs' ring buffer of ovx_trace_event, through
// libbpf's ring_buffer API (epoll on the map, records read in place).
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>

#include "maps/map.h"
#include "maps/ovx_abi.h"

struct ring_buffer;

namespace ovx {

class TraceReader {
public:
	using Handler = std::function<void(const ovx_trace_event &)>;

	TraceReader(const RawMap &ring, Handler on_event);
	~TraceReader();
	TraceReader(const TraceReader &) = delete;
	TraceReader &operator=(const TraceReader &) = delete;

	// Waits up to @timeout_ms and hands every waiting event to the handler;
	// a signal ends the wait early. What the handler throws comes out here.
	void poll(int timeout_ms);
	// Records of another size than ovx_trace_event (another ABI): skipped.
	std::uint64_t skipped() const { return skipped_; }

private:
	static int on_sample(void *ctx, void *data, std::size_t size);

	std::string name_;
	Handler on_event_;
	std::uint64_t skipped_ = 0;
	std::exception_ptr error_;
	struct Free {
		void operator()(ring_buffer *rb) const;
	};
	std::unique_ptr<ring_buffer, Free> rb_;
};

} // namespace ovx
