#include "tests/cluster/etcd_harness.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace ovx::test {
namespace fs = std::filesystem;

namespace {

void run(const std::string &cmd)
{
	if (std::system(cmd.c_str()) != 0)
		throw std::runtime_error("failed: " + cmd);
}

// Ports the kernel hands out now; all held open until every one is picked,
// so that no two are the same.
std::vector<int> free_ports(std::size_t n)
{
	std::vector<int> fds, ports;
	for (std::size_t i = 0; i < n; i++) {
		const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t len = sizeof(a);
		if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0 ||
		    ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0)
			throw std::runtime_error("no free port");
		fds.push_back(fd);
		ports.push_back(ntohs(a.sin_port));
	}
	for (const int fd : fds)
		::close(fd);
	return ports;
}

void make_cert(const std::string &dir, const std::string &name, const std::string &cn,
	       const std::string &ca, const std::string &ext)
{
	const std::string base = dir + "/" + name;
	std::ofstream(base + ".ext") << ext << '\n';
	run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
	    base + ".key -out " + base + ".csr -subj /CN=" + cn + " 2>/dev/null");
	run("openssl x509 -req -in " + base + ".csr -CA " + dir + "/" + ca + ".crt -CAkey " + dir +
	    "/" + ca + ".key -CAcreateserial -days 1 -out " + base + ".crt -extfile " + base +
	    ".ext 2>/dev/null");
}

void make_ca(const std::string &dir, const std::string &name)
{
	run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
	    dir + "/" + name + ".key -out " + dir + "/" + name + ".crt -days 1 -subj /CN=" + name +
	    " 2>/dev/null");
}

constexpr const char *kClientExt = "extendedKeyUsage=clientAuth";

} // namespace

Segment segment(const std::string &name, std::uint64_t id)
{
	Segment s;
	s.name = name;
	s.tenant = "acme";
	s.id = id;
	return s;
}

Certs make_certs(const std::string &dir)
{
	make_ca(dir, "ca");
	make_cert(dir, "server", "etcd", "ca",
		  "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth");
	make_cert(dir, "client", "ovx-admin", "ca", kClientExt);
	make_ca(dir, "stranger-ca");
	make_cert(dir, "stranger", "ovx-admin", "stranger-ca", kClientExt);
	return {dir,
		dir + "/ca.crt",
		dir + "/ca.key",
		dir + "/server.crt",
		dir + "/server.key",
		dir + "/client.crt",
		dir + "/client.key"};
}

cluster::TlsFiles Certs::client(const std::string &name) const
{
	if (!fs::exists(dir + "/" + name + ".crt"))
		make_cert(dir, name, name, "ca", kClientExt);
	return {ca, dir + "/" + name + ".crt", dir + "/" + name + ".key"};
}

cluster::TlsFiles Certs::stranger() const
{
	return {ca, dir + "/stranger.crt", dir + "/stranger.key"};
}

EtcdCluster::EtcdCluster(Options options) : options_(options)
{
	char tmpl[] = "/tmp/ovx-etcd-test.XXXXXX";
	if (!::mkdtemp(tmpl))
		throw std::runtime_error("mkdtemp failed");
	dir_ = tmpl;
	try {
		if (options_.tls)
			certs_ = make_certs(dir_);
		const std::vector<int> ports = free_ports(2 * options_.members);
		std::string initial;
		for (int i = 0; i < options_.members; i++) {
			Member m{"m" + std::to_string(i), ports[2 * i], ports[2 * i + 1], -1};
			initial += (i ? "," : "") + m.name +
				   "=http://127.0.0.1:" + std::to_string(m.peer_port);
			members_.push_back(m);
		}
		for (Member &m : members_)
			start(m, initial);
		wait_healthy();
	} catch (...) {
		stop_all();
		throw;
	}
}

EtcdCluster::~EtcdCluster()
{
	stop_all();
}

void EtcdCluster::stop_all() noexcept
{
	for (Member &m : members_)
		if (m.pid > 0) {
			::kill(m.pid, SIGKILL);
			::waitpid(m.pid, nullptr, 0);
			m.pid = -1;
		}
	std::error_code ec;
	if (!dir_.empty())
		fs::remove_all(dir_, ec);
	dir_.clear();
}

void EtcdCluster::start(Member &m, const std::string &initial_cluster)
{
	const std::string scheme = options_.tls ? "https" : "http";
	const std::string client_url = scheme + "://127.0.0.1:" + std::to_string(m.client_port);
	const std::string peer_url = "http://127.0.0.1:" + std::to_string(m.peer_port);
	std::vector<std::string> args = {
		"/usr/bin/etcd",
		"--name", m.name,
		"--data-dir", dir_ + "/" + m.name,
		"--listen-client-urls", client_url,
		"--advertise-client-urls", client_url,
		"--listen-peer-urls", peer_url,
		"--initial-advertise-peer-urls", peer_url,
		"--initial-cluster", initial_cluster,
		"--initial-cluster-state", "new",
		"--initial-cluster-token", fs::path(dir_).filename().string(),
		// Fast elections: a killed leader is replaced within a second.
		"--heartbeat-interval", "50",
		"--election-timeout", "500",
		"--experimental-watch-progress-notify-interval", "1s",
		"--logger", "zap",
		"--log-outputs", dir_ + "/" + m.name + ".log",
	};
	if (options_.tls) {
		for (const std::string a :
		     {"--cert-file", certs_.server_cert.c_str(), "--key-file", certs_.server_key.c_str(),
		      "--trusted-ca-file", certs_.ca.c_str(), "--client-cert-auth"})
			args.push_back(a);
	}
	std::vector<char *> argv;
	for (auto &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	const pid_t parent = ::getpid();
	const pid_t pid = ::fork();
	if (pid < 0)
		throw std::runtime_error("fork failed");
	if (pid == 0) {
		// Dies with the test, even when the test is killed.
		::prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (::getppid() != parent)
			::_exit(127);
		const int null = ::open("/dev/null", O_RDWR);
		::dup2(null, 0);
		::dup2(null, 1);
		::dup2(null, 2);
		::execv(argv[0], argv.data());
		::_exit(127);
	}
	m.pid = pid;
}

// The directory goes with the cluster; what went wrong goes in the message.
std::string EtcdCluster::log_tail(const Member &m) const
{
	std::ifstream in(dir_ + "/" + m.name + ".log");
	const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

std::vector<std::string> EtcdCluster::endpoints() const
{
	std::vector<std::string> out;
	for (const Member &m : members_)
		out.push_back((options_.tls ? "https://127.0.0.1:" : "127.0.0.1:") +
			      std::to_string(m.client_port));
	return out;
}

cluster::ClientOptions EtcdCluster::client_options() const
{
	cluster::ClientOptions o;
	o.endpoints = endpoints();
	if (options_.tls)
		o.tls = cluster::TlsFiles{certs_.ca, certs_.client_cert, certs_.client_key};
	return o;
}

void EtcdCluster::kill(int member)
{
	Member &m = members_.at(member);
	if (m.pid > 0) {
		::kill(m.pid, SIGKILL);
		::waitpid(m.pid, nullptr, 0);
		m.pid = -1;
	}
}

void EtcdCluster::pause(int member)
{
	::kill(members_.at(member).pid, SIGSTOP);
}

void EtcdCluster::wait_healthy()
{
	cluster::ClientOptions o = client_options();
	o.timeout = std::chrono::milliseconds(1000);
	cluster::Client client(o);
	const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
	for (;;) {
		for (const Member &m : members_) {
			int status = 0;
			if (m.pid > 0 && ::waitpid(m.pid, &status, WNOHANG) == m.pid)
				throw std::runtime_error("etcd " + m.name + " exited: " + log_tail(m));
		}
		bool all = true;
		for (const auto &s : client.status())
			all = all && s.healthy;
		if (all)
			return;
		if (std::chrono::steady_clock::now() > until)
			throw std::runtime_error("etcd did not become healthy in 30 s: " +
						 log_tail(members_.front()));
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
}

int EtcdCluster::leader()
{
	cluster::ClientOptions o = client_options();
	o.timeout = std::chrono::milliseconds(1000);
	cluster::Client client(o);
	const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
	while (std::chrono::steady_clock::now() < until) {
		const auto st = client.status();
		for (std::size_t i = 0; i < st.size(); i++)
			if (st[i].healthy && st[i].member_id == st[i].leader && members_[i].pid > 0)
				return static_cast<int>(i);
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
	throw std::runtime_error("no etcd leader within 10 s");
}

} // namespace ovx::test
