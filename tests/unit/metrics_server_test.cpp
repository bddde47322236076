// The exporter's HTTP side against clients that are not Prometheus: slow
// ones, ones that send bodies or huge headers. Serves an instance that does
// not exist (ovx_up 0): no BPF needed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>

#include "agent/metrics.h"
#include "maps/error.h"
#include "maps/unique_fd.h"

namespace ovx {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A port nobody listens on right now.
int free_port()
{
	const UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	sockaddr_in sa{};
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sa);
	if (bind(fd.get(), reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) != 0 ||
	    getsockname(fd.get(), reinterpret_cast<sockaddr *>(&sa), &len) != 0)
		return 0;
	return ntohs(sa.sin_port);
}

// A server on a loopback port, serving until the test ends.
class ServerTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		server_ = std::make_unique<MetricsServer>(collector_, ListenAddr{"127.0.0.1", free_port()});
		serving_ = std::thread([this] { server_->run(); });
	}
	void TearDown() override
	{
		server_->stop();
		serving_.join();
	}

	UniqueFd connect_raw() const
	{
		UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
		sockaddr_in sa{};
		sa.sin_family = AF_INET;
		sa.sin_port = htons(static_cast<std::uint16_t>(server_->port()));
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		EXPECT_EQ(connect(fd.get(), reinterpret_cast<sockaddr *>(&sa), sizeof(sa)), 0);
		return fd;
	}

	// What the server sends until it closes or @limit passes.
	static std::string read_for(int fd, std::chrono::milliseconds limit)
	{
		std::string out;
		const auto end = Clock::now() + limit;
		for (;;) {
			const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
			pollfd p{fd, POLLIN, 0};
			if (left <= 0ms || poll(&p, 1, static_cast<int>(left.count())) <= 0)
				return out;
			char buf[4096];
			const ssize_t n = recv(fd, buf, sizeof(buf), 0);
			if (n <= 0)
				return out + "<closed>";
			out.append(buf, static_cast<std::size_t>(n));
		}
	}

	static void send_text(int fd, const std::string &text)
	{
		ASSERT_EQ(send(fd, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
	}

	MetricsCollector collector_{"ovx-test-no-such-instance", 0ms};
	std::unique_ptr<MetricsServer> server_;
	std::thread serving_;
};

TEST_F(ServerTest, ScrapeWorks)
{
	httplib::Client client("127.0.0.1", server_->port());
	const auto res = client.Get("/metrics");
	ASSERT_TRUE(res);
	EXPECT_EQ(res->status, 200);
	EXPECT_NE(res->body.find("ovx_up 0"), std::string::npos) << res->body;
}

// 8 slow clients (the thread pool) blocked every scrape.
TEST_F(ServerTest, FiftySlowClientsDoNotBlockAScrape)
{
	std::vector<UniqueFd> slow;
	for (int i = 0; i < 50; i++) {
		slow.push_back(connect_raw());
		send_text(slow.back().get(), "GET /metrics HTTP/1.1\r\nHost: x\r\n");
	}
	std::this_thread::sleep_for(200ms); // all of them taken in
	httplib::Client client("127.0.0.1", server_->port());
	client.set_connection_timeout(5);
	client.set_read_timeout(5);
	const auto t0 = Clock::now();
	const auto res = client.Get("/metrics");
	const auto took = Clock::now() - t0;
	ASSERT_TRUE(res) << httplib::to_string(res.error());
	EXPECT_EQ(res->status, 200);
	// Queued slow clients get 0.5 s from their accept; the rest is
	// headroom for a loaded machine (and ASan). It took over 30 s.
	EXPECT_LT(took, 2s);
}

// A client trickling its request head keeps no thread for ever.
TEST_F(ServerTest, TricklingClientIsCut)
{
	const UniqueFd fd = connect_raw();
	const std::string head = "GET /metrics HTTP/1.1\r\nX-Slow: " + std::string(100, 'a');
	const auto t0 = Clock::now();
	std::string got;
	for (std::size_t i = 0; i < head.size() && Clock::now() - t0 < 12s; i++) {
		if (send(fd.get(), &head[i], 1, MSG_NOSIGNAL) != 1)
			break;
		got = read_for(fd.get(), 300ms);
		if (!got.empty())
			break;
	}
	EXPECT_FALSE(got.empty()) << "still connected after " << (Clock::now() - t0) / 1s << " s";
	EXPECT_LT(Clock::now() - t0, 8s);
}

// A 500 MB POST was read whole into memory.
TEST_F(ServerTest, RequestBodiesAreRefusedUnread)
{
	const UniqueFd post = connect_raw();
	send_text(post.get(), "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 500000000\r\n\r\n");
	EXPECT_EQ(read_for(post.get(), 2000ms).substr(0, 12), "HTTP/1.1 413");

	const UniqueFd get = connect_raw();
	send_text(get.get(), "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
	EXPECT_EQ(read_for(get.get(), 2000ms).substr(0, 12), "HTTP/1.1 413");

	const UniqueFd chunked = connect_raw();
	send_text(chunked.get(),
		  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n");
	EXPECT_EQ(read_for(chunked.get(), 2000ms).substr(0, 12), "HTTP/1.1 413");
}

TEST_F(ServerTest, HugeHeadersAreRefused)
{
	const UniqueFd fd = connect_raw();
	std::string head = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
	for (int i = 0; i < 64; i++)
		head += "X-" + std::to_string(i) + ": " + std::string(1000, 'a') + "\r\n";
	head += "\r\n";
	send(fd.get(), head.data(), head.size(), MSG_NOSIGNAL);
	const std::string got = read_for(fd.get(), 2000ms);
	EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos) << got.substr(0, 200);
	EXPECT_NE(got.find("<closed>"), std::string::npos);
}

TEST(ListenTest, LoopbackUnlessToldOtherwise)
{
	EXPECT_EQ(parse_listen("9587").host, "127.0.0.1");
	EXPECT_EQ(parse_listen(":9587").host, "127.0.0.1");
	EXPECT_EQ(parse_listen(":9587").port, 9587);
	EXPECT_TRUE(parse_listen("127.0.0.5:1").loopback());
	EXPECT_TRUE(parse_listen("[::1]:9587").loopback());
	EXPECT_FALSE(parse_listen("0.0.0.0:9587").loopback());
	EXPECT_FALSE(parse_listen("[::]:9587").loopback());
	EXPECT_FALSE(parse_listen("192.0.2.1:9587").loopback());
	// Names would be resolved (and might not be what they seem).
	EXPECT_THROW(parse_listen("localhost:9587"), ConfigError);
	EXPECT_THROW(parse_listen("[0.0.0.0]:9587"), ConfigError);
	EXPECT_THROW(parse_listen("*:9587"), ConfigError);
}

} // namespace
} // namespace ovx
