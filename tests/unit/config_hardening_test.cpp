// The config reader against hostile files: every one is refused quickly,
// with FILE:LINE:COLUMN (or FILE for what is no config file at all), and a
// message of bounded size.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

#include "agent/config.h"
#include "maps/error.h"

namespace ovx {
namespace {

using namespace std::chrono_literals;

const std::string kUnderlay = "underlay: {interface: eth1, address: 10.0.0.1}\n";

std::string error_of(const std::string &text)
{
	try {
		parse_config(text, "h.yaml");
	} catch (const ConfigError &e) {
		return e.what();
	}
	return "(no error)";
}

// The error of load_config(@path), from a child that is killed if it is
// still at work after @limit: a file read for ever must fail the test, not
// hang it.
std::string load_error_within(const std::string &path, std::chrono::seconds limit)
{
	int pipefd[2];
	if (pipe(pipefd) != 0)
		return "pipe failed";
	const pid_t pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		std::string msg = "(no error)";
		try {
			load_config(path);
		} catch (const ConfigError &e) {
			msg = e.what();
		} catch (const std::exception &e) {
			msg = std::string("not a ConfigError: ") + e.what();
		}
		(void)!write(pipefd[1], msg.data(), msg.size());
		_exit(0);
	}
	close(pipefd[1]);
	const auto deadline = std::chrono::steady_clock::now() + limit;
	int status = 0;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (std::chrono::steady_clock::now() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(pipefd[0]);
			return "still reading after " + std::to_string(limit.count()) + " s";
		}
		std::this_thread::sleep_for(10ms);
	}
	std::string out;
	char buf[4096];
	for (ssize_t n; (n = read(pipefd[0], buf, sizeof(buf))) > 0;)
		out.append(buf, static_cast<std::size_t>(n));
	close(pipefd[0]);
	return out;
}

// One segment with @remotes remotes, and @sharing more segments aliasing
// its list.
std::string sharing_remotes(int remotes, int sharing)
{
	std::string text = kUnderlay + "segments:\n  - name: s0\n    tenant: t\n    id: 1\n"
					"    remotes: &r\n";
	for (int i = 0; i < remotes; i++) {
		char line[96];
		std::snprintf(line, sizeof(line), "      - {mac: \"02:00:00:00:%02x:%02x\", vtep: 10.0.1.1}\n",
			      i >> 8, i & 0xff);
		text += line;
	}
	for (int i = 1; i <= sharing; i++)
		text += "  - {name: s" + std::to_string(i) + ", tenant: t, id: " +
			std::to_string(i + 1) + ", remotes: *r}\n";
	return text;
}

// One segment defines 1,000 remotes, 4,000 more alias them: 680 KB of
// YAML made 20 million entries this way.
TEST(ConfigHardeningTest, AliasAmplificationIsRefused)
{
	const std::string text = sharing_remotes(1000, 4000);
	const auto t0 = std::chrono::steady_clock::now();
	const std::string error = error_of(text);
	EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
	// The first alias over the limit: 100,000 nodes are 20 segments' worth.
	EXPECT_EQ(error, "h.yaml:1027:45: aliases expand the document by more than 100000 nodes "
			 "(at most its own size or 100000)");
}

TEST(ConfigHardeningTest, AliasBillionLaughsIsRefused)
{
	std::string text = kUnderlay + "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
	for (int i = 1; i < 10; i++) {
		const std::string prev = "*a" + std::to_string(i - 1);
		text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
		for (int j = 0; j < 10; j++)
			text += prev + (j < 9 ? ", " : "]\n");
	}
	EXPECT_NE(error_of(text).find("h.yaml:6:"), std::string::npos) << error_of(text);
	EXPECT_NE(error_of(text).find(": aliases expand the document"), std::string::npos);
}

TEST(ConfigHardeningTest, AliasIntoItselfIsRefused)
{
	EXPECT_EQ(error_of(kUnderlay + "segments: &s [*s]\n"),
		  "h.yaml:2:15: alias 's' refers to a node that contains it");
}

// A shared flood list stays fine (ConfigTest.AliasesAreTheAnchoredNode),
// and so do a few segments sharing a large list of remotes.
TEST(ConfigHardeningTest, ModestAliasesAreRead)
{
	const Config c = parse_config(sharing_remotes(2000, 9), "h.yaml");
	ASSERT_EQ(c.segments.size(), 10u);
	EXPECT_EQ(c.segments[9].remotes.size(), 2000u);
}

// 100,000 levels took 18 s: libyaml's scanner is quadratic in flow depth.
TEST(ConfigHardeningTest, DeepNestingIsRefusedQuickly)
{
	const std::string text = kUnderlay + "segments: " + std::string(100000, '[') +
				 std::string(100000, ']') + "\n";
	const auto t0 = std::chrono::steady_clock::now();
	EXPECT_EQ(error_of(text), "h.yaml:2:74: YAML nested deeper than 64 levels");
	// The same in a second document, which is only read to be refused.
	EXPECT_EQ(error_of(kUnderlay + "---\n" + std::string(100000, '[')),
		  "h.yaml:3:65: YAML nested deeper than 64 levels");
	EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST(ConfigHardeningTest, BlockNestingIsRefused)
{
	std::string text = kUnderlay + "segments:\n";
	for (int i = 1; i <= 70; i++)
		text += std::string(static_cast<std::size_t>(i), ' ') + "k:\n";
	EXPECT_EQ(error_of(text), "h.yaml:66:65: YAML nested deeper than 64 levels");
}

// "vm1\0b" is "vm1" to the kernel: one interface in two tenants.
TEST(ConfigHardeningTest, NulInAPortNameIsRefused)
{
	const std::string text = kUnderlay + R"(segments:
  - name: a
    tenant: t
    id: 1
    ports: [{interface: vm1, mac: "02:00:00:00:00:01"}]
  - name: b
    tenant: u
    id: 2
    ports: [{interface: "vm1\0b", mac: "02:00:00:00:00:02"}]
)";
	EXPECT_EQ(error_of(text), "h.yaml:10:25: NUL character in 'vm1\\x00b'");
}

TEST(ConfigHardeningTest, NulInTheUnderlayOrAKeyIsRefused)
{
	EXPECT_EQ(error_of("underlay: {interface: \"eth1\\0x\", address: 10.0.0.1}\n"),
		  "h.yaml:1:23: NUL character in 'eth1\\x00x'");
	EXPECT_EQ(error_of(kUnderlay + "\"segments\\0\": []\n"),
		  "h.yaml:2:1: NUL character in 'segments\\x00'");
	// Single-quoted and plain scalars cannot hold one; a raw NUL byte is
	// no YAML at all.
	EXPECT_NE(error_of(kUnderlay + std::string("segments: [a\0b]\n", 16)).find("h.yaml:2:"),
		  std::string::npos);
}

TEST(ConfigHardeningTest, LoopbackAndOtherNonUnicastVtepsAreRefused)
{
	const auto underlay = [](const std::string &addr) {
		return error_of("underlay: {interface: eth1, address: \"" + addr + "\"}\n");
	};
	EXPECT_EQ(underlay("127.0.0.1"), "h.yaml:1:38: underlay.address: '127.0.0.1' is a loopback address");
	EXPECT_EQ(underlay("127.200.0.9"),
		  "h.yaml:1:38: underlay.address: '127.200.0.9' is a loopback address");
	EXPECT_EQ(underlay("::1"), "h.yaml:1:38: underlay.address: '::1' is the loopback address");
	EXPECT_EQ(underlay("::"), "h.yaml:1:38: underlay.address: '::' is not a unicast host address");
	EXPECT_EQ(underlay("::10.0.0.1"),
		  "h.yaml:1:38: underlay.address: '::10.0.0.1' is not a unicast host address");
	EXPECT_EQ(underlay("::ffff:10.0.0.1"), "h.yaml:1:38: underlay.address: '::ffff:10.0.0.1' is "
					       "an IPv4-mapped address; write the IPv4 address");
	EXPECT_EQ(underlay("ff02::1"), "h.yaml:1:38: underlay.address: 'ff02::1' is a multicast address");
	EXPECT_EQ(underlay("0.0.0.0"), "h.yaml:1:38: underlay.address: '0.0.0.0' is not a unicast host address");
	EXPECT_EQ(underlay("224.0.0.1"),
		  "h.yaml:1:38: underlay.address: '224.0.0.1' is not a unicast host address");
	EXPECT_EQ(underlay("255.255.255.255"),
		  "h.yaml:1:38: underlay.address: '255.255.255.255' is not a unicast host address");

	const std::string seg = kUnderlay + "segments: [{name: a, tenant: t, id: 1, ";
	EXPECT_EQ(error_of(seg + "flood: [127.0.0.1]}]\n"),
		  "h.yaml:2:48: segments[0].flood[0]: '127.0.0.1' is a loopback address");
	EXPECT_EQ(error_of(seg + "remotes: [{mac: \"02:00:00:00:00:01\", vtep: 127.0.0.2}]}]\n"),
		  "h.yaml:2:83: segments[0].remotes[0].vtep: '127.0.0.2' is a loopback address");
	// Next to them, ordinary addresses stay fine.
	EXPECT_EQ(underlay("2001:db8::1"), "(no error)");
	EXPECT_EQ(underlay("128.0.0.1"), "(no error)");
}

TEST(ConfigHardeningTest, LongValuesAreCutInMessages)
{
	const std::string huge(200000, 'x');
	const std::string error =
		error_of("underlay: {interface: eth1, address: " + huge + "}\n");
	EXPECT_EQ(error, "h.yaml:1:38: underlay.address: malformed IP address '" +
				 std::string(64, 'x') + "...'");
	// Too long for a key: libyaml's own error, itself short.
	const std::string key = error_of(kUnderlay + huge + ": 1\n");
	EXPECT_LT(key.size(), 200u) << key.substr(0, 300);
	EXPECT_EQ(key.substr(0, 9), "h.yaml:2:");
}

// An unknown key is named in the path as well as in the message.
TEST(ConfigHardeningTest, LongKeysAreCutInThePathToo)
{
	const std::string key(5000, 'k');
	const std::string error = error_of("underlay: {? " + key + "\n  : 1}\n");
	const std::string cut = "'" + std::string(64, 'k') + "...'";
	EXPECT_EQ(error, "h.yaml:1:14: underlay." + cut + ": unknown key " + cut +
				 " (expected one of: interface, address, mode, port, geneve_port, offload)");
}

TEST(ConfigHardeningTest, ControlCharactersAreEscapedInMessages)
{
	EXPECT_EQ(error_of("underlay: {interface: eth1, address: \"\\e[2J\\r\"}\n"),
		  "h.yaml:1:38: underlay.address: malformed IP address '\\x1b[2J\\x0d'");
}

TEST(ConfigHardeningTest, OnlyRegularFilesAreRead)
{
	EXPECT_EQ(load_error_within("/dev/zero", 5s),
		  "/dev/zero: cannot read: not a regular file (a character device)");
	char dir[] = "/tmp/ovx-config-fifo-XXXXXX";
	ASSERT_NE(mkdtemp(dir), nullptr);
	const std::string fifo = std::string(dir) + "/fifo";
	ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
	const std::string error = load_error_within(fifo, 5s);
	unlink(fifo.c_str());
	rmdir(dir);
	EXPECT_EQ(error, fifo + ": cannot read: not a regular file (a FIFO)");
}

TEST(ConfigHardeningTest, HugeFilesAreRefusedBeforeReading)
{
	char path[] = "/tmp/ovx-config-huge-XXXXXX";
	const int fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	// Sparse: no disk is used, and reading it would take seconds and a GiB.
	ASSERT_EQ(ftruncate(fd, (off_t{1} << 30) + 1), 0);
	close(fd);
	const auto t0 = std::chrono::steady_clock::now();
	const std::string error = load_error_within(path, 20s);
	unlink(path);
	EXPECT_EQ(error, std::string(path) + ": too large (at most 1073741824 bytes)");
	EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

} // namespace
} // namespace ovx
