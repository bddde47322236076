// The undo log of one change to an instance: every step records how to take
// itself back; unless the change commits, the steps are undone newest first.
#pragma once

#include <functional>
#include <utility>
#include <vector>

namespace ovx {

class Journal {
public:
	Journal() = default;
	Journal(const Journal &) = delete;
	Journal &operator=(const Journal &) = delete;
	~Journal()
	{
		if (committed_)
			return;
		for (auto it = undo_.rbegin(); it != undo_.rend(); ++it)
			try {
				(*it)();
			} catch (...) {
				// Best effort: keep undoing the rest.
			}
	}
	void record(std::function<void()> undo) { undo_.push_back(std::move(undo)); }
	void commit() { committed_ = true; }

private:
	std::vector<std::function<void()>> undo_;
	bool committed_ = false;
};

} // namespace ovx
