#include "maps/trace.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "maps/error.h"

namespace ovx {

void TraceReader::Free::operator()(ring_buffer *rb) const
{
	ring_buffer__free(rb);
}

TraceReader::TraceReader(const RawMap &ring, Handler on_event)
	: name_(ring.name()), on_event_(std::move(on_event))
{
	ring_buffer *rb = ring_buffer__new(ring.fd(), &TraceReader::on_sample, this, nullptr);
	if (!rb)
		throw SystemError("map " + name_ + ": cannot open the ring buffer", errno);
	rb_.reset(rb);
}

TraceReader::~TraceReader() = default;

int TraceReader::on_sample(void *ctx, void *data, std::size_t size)
{
	auto *self = static_cast<TraceReader *>(ctx);
	if (size != sizeof(ovx_trace_event)) {
		self->skipped_++;
		return 0;
	}
	// The record sits in the shared ring, 8-byte aligned: copy it out
	// rather than hand a reference the producer may reuse.
	ovx_trace_event ev;
	std::memcpy(&ev, data, sizeof(ev));
	// No exception may unwind through libbpf's C frames: keep it for poll().
	try {
		self->on_event_(ev);
	} catch (...) {
		self->error_ = std::current_exception();
		return -ECANCELED;
	}
	return 0;
}

void TraceReader::poll(int timeout_ms)
{
	int n = ring_buffer__poll(rb_.get(), timeout_ms);
	if (error_)
		std::rethrow_exception(std::exchange(error_, nullptr));
	if (n < 0 && n != -EINTR)
		throw SystemError("map " + name_ + ": reading the ring buffer failed", -n);
}

} // namespace ovx
