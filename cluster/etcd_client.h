// A small client for etcd's v3 API (gRPC): KV, Txn, Lease, Watch, and the
// health calls. gRPC stays inside etcd_client.cpp; callers see plain types.
//
// Endpoints fail over: a call that finds its endpoint unavailable (down, or
// a member without a leader) moves to the next one and is retried there,
// until every endpoint was tried within the call's deadline. Errors throw
// EtcdError, naming the endpoint and the key.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "maps/error.h"

namespace ovx::cluster {

// etcd refused or could not be reached. A control-plane failure: exit 2.
class EtcdError : public SystemError {
public:
	EtcdError(const std::string &what, int grpc_code, std::string endpoint, std::string key);
	int grpc_code() const { return code_; }
	// etcd answered no to this identity (RBAC, a wrong password): the
	// same call will be refused again.
	bool refused() const;
	const std::string &endpoint() const { return endpoint_; }
	const std::string &key() const { return key_; }

private:
	int code_;
	std::string endpoint_;
	std::string key_;
};

struct TlsFiles {
	std::string ca;   // PEM: the CA that signed the members' certificates
	std::string cert; // PEM: this client's certificate (empty: none)
	std::string key;  // PEM: its private key
};

struct ClientOptions {
	// host:port, or http://host:port / https://host:port (https needs tls).
	std::vector<std::string> endpoints;
	std::optional<TlsFiles> tls;
	// RBAC: both empty = no authentication.
	std::string user;
	std::string password;
	// Per call, failover included.
	std::chrono::milliseconds timeout{5000};
};

struct KeyValue {
	std::string key;
	std::string value;
	std::int64_t create_revision = 0;
	std::int64_t mod_revision = 0;
	std::int64_t version = 0;
	std::int64_t lease = 0;
};

struct RangeResult {
	std::vector<KeyValue> kvs;
	std::int64_t revision = 0; // the store's revision the read saw
	bool more = false;         // a limit cut it short
};

struct RangeOptions {
	bool prefix = false;
	std::int64_t revision = 0; // 0 = latest
	std::int64_t limit = 0;    // 0 = all
	bool keys_only = false;
};

// One condition of a transaction, on one key. A key that does not exist has
// create_revision, mod_revision and version 0, so "create_revision == 0" is
// "absent".
struct Compare {
	enum class Target { version, create_revision, mod_revision, value };
	enum class Result { equal, greater, less, not_equal };
	std::string key;
	Target target = Target::mod_revision;
	Result result = Result::equal;
	std::int64_t number = 0; // version or revision
	std::string value;       // Target::value
	bool prefix = false;     // every key under @key must satisfy it
};

struct TxnOp {
	enum class Kind { put, del, get };
	Kind kind = Kind::put;
	std::string key;
	std::string value;
	std::int64_t lease = 0;
	bool prefix = false; // del, get
};

struct Txn {
	std::vector<Compare> compares;
	std::vector<TxnOp> success;
	std::vector<TxnOp> failure;
};

struct TxnResult {
	bool succeeded = false;
	std::int64_t revision = 0;
	// What each get of the branch that ran found, in order.
	std::vector<std::vector<KeyValue>> gets;
};

struct Lease {
	std::int64_t id = 0;
	std::int64_t ttl = 0; // seconds the server granted
};

struct EndpointStatus {
	std::string endpoint;
	bool healthy = false;
	std::string error; // why not
	std::uint64_t member_id = 0;
	std::uint64_t leader = 0;
	std::int64_t revision = 0;
	std::int64_t raft_term = 0;
	std::int64_t db_size = 0;
	std::string version;
};

struct Member {
	std::uint64_t id = 0;
	std::string name;
	std::vector<std::string> peer_urls;
	std::vector<std::string> client_urls;
};

struct WatchEvent {
	enum class Kind { put, del };
	Kind kind = Kind::put;
	KeyValue kv; // del: key and mod_revision only
};

// One response of a watch stream.
struct WatchBatch {
	std::vector<WatchEvent> events;
	std::int64_t revision = 0; // the store's revision when it was sent
	bool progress = false;     // no events: everything up to revision was sent
	// The start revision was compacted away: the history between it and
	// compact_revision is lost. The watch has ended; the caller reads the
	// whole prefix again (a resync) and watches from that read's revision+1.
	std::int64_t compact_revision = 0;
};

class Client;

// A background keepalive stream for one lease: it refreshes the lease every
// third of its TTL, failing over between endpoints like every call. When the
// server answers that the lease is gone (TTL 0), on_lost is called once and
// the keepalive stops. Stops on destruction (the lease itself stays: revoke
// it to drop the keys at once).
class KeepAlive {
public:
	KeepAlive(Client &client, std::int64_t lease, std::function<void()> on_lost = {});
	~KeepAlive();
	KeepAlive(const KeepAlive &) = delete;
	KeepAlive &operator=(const KeepAlive &) = delete;

	// The TTL of the last refresh, in seconds (0: not refreshed yet or lost).
	std::int64_t ttl() const;
	bool lost() const;

	struct State;

private:
	std::shared_ptr<State> state_;
};

// A watch on one key or prefix, delivered on a background thread, in
// revision order. A broken stream (endpoint down) is resumed on the next
// endpoint from the revision after the last one delivered, so nothing is
// lost or repeated. Stops on destruction; the handler is not called after
// the destructor returns.
class Watch {
public:
	struct Options {
		bool prefix = true;
		std::int64_t start_revision = 0; // 0 = from now
		bool progress_notify = false;    // periodic empty batches from the server
	};
	using Handler = std::function<void(const WatchBatch &)>;

	Watch(Client &client, std::string key, Options options, Handler handler);
	~Watch();
	Watch(const Watch &) = delete;
	Watch &operator=(const Watch &) = delete;

	// Asks the server for a progress batch now (the revision everything up
	// to has been delivered).
	void request_progress();
	// False once the watch has ended: compacted, or canceled by the server.
	bool running() const;
	// True while a stream to a member is open (false while etcd is out of
	// reach and the watch keeps trying).
	bool connected() const;

	struct State;

private:
	std::shared_ptr<State> state_;
};

class Client {
public:
	explicit Client(ClientOptions options);
	~Client();
	Client(const Client &) = delete;
	Client &operator=(const Client &) = delete;

	RangeResult range(const std::string &key, const RangeOptions &options = {});
	std::optional<KeyValue> get(const std::string &key);
	// Returns the revision of the write.
	std::int64_t put(const std::string &key, const std::string &value, std::int64_t lease = 0);
	// Returns how many keys went.
	std::int64_t del(const std::string &key, bool prefix = false);
	TxnResult txn(const Txn &txn);
	// Writes @value only when @key does not exist.
	bool create(const std::string &key, const std::string &value, std::int64_t lease = 0);
	// Writes @value only when @key was last written at @mod_revision.
	bool compare_and_swap(const std::string &key, std::int64_t mod_revision,
			      const std::string &value, std::int64_t lease = 0);
	// Throws EtcdError (refused()) unless this identity may write @key;
	// writes nothing.
	void check_write(const std::string &key);
	// Compacts the history up to @revision (physical: waits until done).
	void compact(std::int64_t revision);

	Lease grant(std::int64_t ttl_sec);
	void revoke(std::int64_t lease);
	// Seconds left; -1 when the lease does not exist (expired or revoked).
	std::int64_t time_to_live(std::int64_t lease);

	// RBAC administration (the root user, with auth still off, or root).
	// A role's permission covers @key, or every key under it with @prefix.
	enum class Permission { read, write, readwrite };
	void user_add(const std::string &user, const std::string &password);
	void role_add(const std::string &role);
	void role_grant(const std::string &role, const std::string &key, bool prefix,
			Permission permission);
	void user_grant_role(const std::string &user, const std::string &role);
	void auth_enable();

	// Each endpoint asked on its own: a member that is down shows as unhealthy.
	std::vector<EndpointStatus> status();
	std::vector<Member> members();

	// The endpoint calls go to now.
	std::string current_endpoint() const;
	const ClientOptions &options() const { return options_; }
	// How many times calls moved to another endpoint.
	std::uint64_t failovers() const;

	struct Impl;

private:
	friend class KeepAlive;
	friend class Watch;
	ClientOptions options_;
	std::unique_ptr<Impl> impl_;
};

} // namespace ovx::cluster
