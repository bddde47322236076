// etcd members of the tests' own: processes on 127.0.0.1 with free ports and
// a temporary data directory, killed by PID and removed whatever happens
// (the destructor; PR_SET_PDEATHSIG if the test process itself dies).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "agent/config.h"
#include "cluster/etcd_client.h"

namespace ovx::test {

// Segment @name of tenant acme, VXLAN VNI @id.
Segment segment(const std::string &name, std::uint64_t id);

// A CA, a server certificate for 127.0.0.1 and client certificates, made
// with openssl in @dir.
struct Certs {
	std::string dir;
	std::string ca, ca_key;
	std::string server_cert, server_key;
	std::string client_cert, client_key;

	// Another client certificate from the same CA, with CN @name.
	cluster::TlsFiles client(const std::string &name) const;
	// A CA that nobody here trusts, with a client certificate of its own.
	cluster::TlsFiles stranger() const;
};
Certs make_certs(const std::string &dir);

class EtcdCluster {
public:
	struct Options {
		int members = 1;
		bool tls = false; // clients: https with client certificates
	};
	explicit EtcdCluster(Options options);
	~EtcdCluster();
	EtcdCluster(const EtcdCluster &) = delete;
	EtcdCluster &operator=(const EtcdCluster &) = delete;

	// Client URLs, one per member, in member order.
	std::vector<std::string> endpoints() const;
	cluster::ClientOptions client_options() const;
	const Certs &certs() const { return certs_; }
	const std::string &dir() const { return dir_; }

	// SIGKILL, and waits for it.
	void kill(int member);
	// SIGSTOP: the member's connections stay open and silent.
	void pause(int member);
	// The member that leads now, waiting for one to be elected.
	int leader();

private:
	struct Member {
		std::string name;
		int client_port = 0;
		int peer_port = 0;
		pid_t pid = -1;
	};
	void start(Member &m, const std::string &initial_cluster);
	void wait_healthy();
	void stop_all() noexcept;
	std::string log_tail(const Member &m) const;

	Options options_;
	std::string dir_;
	Certs certs_;
	std::vector<Member> members_;
};

} // namespace ovx::test
