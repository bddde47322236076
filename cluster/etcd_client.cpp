// etcd's v3 API over gRPC, with failover between endpoints.
#include "cluster/etcd_client.h"

#include <grpc/support/log.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "cluster/log.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace ovx::cluster {

namespace pb = etcdserverpb;
using Clock = std::chrono::steady_clock;

EtcdError::EtcdError(const std::string &what, int grpc_code, std::string endpoint, std::string key)
	: SystemError(what), code_(grpc_code), endpoint_(std::move(endpoint)), key_(std::move(key))
{
}

bool EtcdError::refused() const
{
	return code_ == grpc::StatusCode::PERMISSION_DENIED ||
	       code_ == grpc::StatusCode::UNAUTHENTICATED || code_ == grpc::StatusCode::INVALID_ARGUMENT;
}

namespace {

// gRPC's own log goes to stderr unless told otherwise: a refused TLS
// handshake alone prints dozens of lines a second. It goes to the cluster
// log at debug level instead, and the last TLS failure (OpenSSL's reason) is
// kept, to say why a call could not reach a member.
struct TlsFailure {
	std::mutex mutex;
	std::string reason;
	Clock::time_point at{};
};
TlsFailure &tls_failure()
{
	static TlsFailure f;
	return f;
}

void grpc_log(gpr_log_func_args *a)
{
	const std::string_view message = a->message ? a->message : "";
	log().debug("grpc {}:{}: {}", a->file ? a->file : "", a->line, message);
	const auto openssl = message.find("SSL routines");
	if (openssl == std::string_view::npos)
		return;
	TlsFailure &f = tls_failure();
	std::lock_guard lock(f.mutex);
	f.reason = message.substr(message.rfind("error:", openssl) == std::string_view::npos
					  ? openssl
					  : message.rfind("error:", openssl));
	f.at = Clock::now();
}

// A short pause before a round over the endpoints starts again: a member
// that just lost its leader needs an election timeout to find a new one.
constexpr auto kRetryPause = std::chrono::milliseconds(100);

std::string read_pem(const std::string &path, const char *what)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		throw ConfigError(std::string(what) + " " + path + ": cannot read");
	std::ostringstream text;
	text << in.rdbuf();
	return text.str();
}

// "https://h:p" -> "h:p". A scheme that disagrees with the TLS settings is a
// mistake better caught here than as a handshake timeout.
std::string target_of(const std::string &endpoint, bool tls)
{
	const auto scheme = endpoint.find("://");
	if (scheme == std::string::npos)
		return endpoint;
	const std::string name = endpoint.substr(0, scheme);
	if ((name == "https") != tls || (name != "https" && name != "http"))
		throw ConfigError("etcd endpoint " + endpoint + ": " +
				  (tls ? "TLS is configured, use https:// or no scheme"
				       : "https:// needs the TLS files (CA, certificate, key)"));
	return endpoint.substr(scheme + 3);
}

// The end of the range that holds every key starting with @key.
std::string prefix_end(const std::string &key)
{
	std::string end = key;
	while (!end.empty()) {
		if (static_cast<unsigned char>(end.back()) < 0xff) {
			end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
			return end;
		}
		end.pop_back();
	}
	return std::string(1, '\0'); // every key
}

KeyValue from_pb(const mvccpb::KeyValue &kv)
{
	return {kv.key(), kv.value(), kv.create_revision(), kv.mod_revision(), kv.version(),
		kv.lease()};
}

std::vector<KeyValue> from_pb(const google::protobuf::RepeatedPtrField<mvccpb::KeyValue> &kvs)
{
	std::vector<KeyValue> out;
	out.reserve(static_cast<std::size_t>(kvs.size()));
	for (const auto &kv : kvs)
		out.push_back(from_pb(kv));
	return out;
}

// Worth another endpoint: this one is down, has no leader, or did not answer
// in its share of the time.
bool retryable(const grpc::Status &s)
{
	return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
	       s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

// gRPC takes deadlines on the system clock only.
void set_deadline(grpc::ClientContext &ctx, Clock::time_point deadline)
{
	if (deadline != Clock::time_point::max())
		ctx.set_deadline(std::chrono::system_clock::now() +
				 std::chrono::duration_cast<std::chrono::system_clock::duration>(
					 deadline - Clock::now()));
}

bool token_expired(const grpc::Status &s)
{
	return s.error_code() == grpc::StatusCode::UNAUTHENTICATED &&
	       s.error_message().find("invalid auth token") != std::string::npos;
}

pb::RequestOp op_to_pb(const TxnOp &op)
{
	pb::RequestOp out;
	switch (op.kind) {
	case TxnOp::Kind::put: {
		auto *put = out.mutable_request_put();
		put->set_key(op.key);
		put->set_value(op.value);
		put->set_lease(op.lease);
		break;
	}
	case TxnOp::Kind::del: {
		auto *del = out.mutable_request_delete_range();
		del->set_key(op.key);
		if (op.prefix)
			del->set_range_end(prefix_end(op.key));
		break;
	}
	case TxnOp::Kind::get: {
		auto *get = out.mutable_request_range();
		get->set_key(op.key);
		if (op.prefix)
			get->set_range_end(prefix_end(op.key));
		break;
	}
	}
	return out;
}

pb::Compare compare_to_pb(const Compare &c)
{
	pb::Compare out;
	out.set_key(c.key);
	if (c.prefix)
		out.set_range_end(prefix_end(c.key));
	switch (c.result) {
	case Compare::Result::equal:
		out.set_result(pb::Compare::EQUAL);
		break;
	case Compare::Result::greater:
		out.set_result(pb::Compare::GREATER);
		break;
	case Compare::Result::less:
		out.set_result(pb::Compare::LESS);
		break;
	case Compare::Result::not_equal:
		out.set_result(pb::Compare::NOT_EQUAL);
		break;
	}
	switch (c.target) {
	case Compare::Target::version:
		out.set_target(pb::Compare::VERSION);
		out.set_version(c.number);
		break;
	case Compare::Target::create_revision:
		out.set_target(pb::Compare::CREATE);
		out.set_create_revision(c.number);
		break;
	case Compare::Target::mod_revision:
		out.set_target(pb::Compare::MOD);
		out.set_mod_revision(c.number);
		break;
	case Compare::Target::value:
		out.set_target(pb::Compare::VALUE);
		out.set_value(c.value);
		break;
	}
	return out;
}

} // namespace

// One endpoint's channel and stubs, with the auth token it was given.
struct Conn {
	std::string endpoint;
	std::shared_ptr<grpc::Channel> channel;
	std::unique_ptr<pb::KV::Stub> kv;
	std::unique_ptr<pb::Lease::Stub> lease;
	std::unique_ptr<pb::Watch::Stub> watch;
	std::unique_ptr<pb::Cluster::Stub> cluster;
	std::unique_ptr<pb::Maintenance::Stub> maintenance;
	std::unique_ptr<pb::Auth::Stub> auth;
	std::mutex token_mutex;
	std::string token;
};

struct Client::Impl {
	explicit Impl(const ClientOptions &o);

	std::shared_ptr<Conn> connect(const std::string &endpoint) const;
	std::shared_ptr<Conn> current();
	// @quiet: said at debug level (a stream retrying through an outage).
	void fail_over(const std::shared_ptr<Conn> &failed, bool quiet = false);
	// The token for @conn, authenticating first when there is none yet.
	grpc::Status prepare(Conn &conn, grpc::ClientContext &ctx, Clock::time_point deadline);

	// Runs @rpc(conn, ctx) until it succeeds, fails for good, or the
	// deadline passes; each endpoint gets a share of the time.
	template <typename Rpc>
	void call(const char *what, const std::string &key, Rpc &&rpc);

	[[noreturn]] void fail(const char *what, const std::string &key, const std::string &endpoint,
			       const grpc::Status &s) const
	{
		// A refusal says who was refused: the fix is that identity's
		// roles (or the file naming it), not the network.
		std::string who;
		if (s.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
		    s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
		    s.error_code() == grpc::StatusCode::UNAUTHENTICATED)
			who = !options.user.empty()
				      ? " for user '" + options.user + "'"
				  : options.tls && !options.tls->cert.empty()
					  ? " for the user named by the CN of " + options.tls->cert
					  : " for a client without identity";
		// gRPC says "unavailable" of a member that refused the handshake:
		// OpenSSL's reason, when it failed within this call, says more.
		std::string tls;
		if (options.tls && retryable(s)) {
			TlsFailure &f = tls_failure();
			std::lock_guard lock(f.mutex);
			if (!f.reason.empty() && Clock::now() - f.at < options.timeout)
				tls = "; TLS: " + f.reason;
		}
		throw EtcdError("etcd " + endpoint + ": " + what + (key.empty() ? "" : " " + key) +
					": " + s.error_message() + who + tls + " (gRPC code " +
					std::to_string(static_cast<int>(s.error_code())) + ")",
				s.error_code(), endpoint, key);
	}

	const ClientOptions &options;
	std::shared_ptr<grpc::ChannelCredentials> credentials;
	std::vector<std::string> targets;
	mutable std::mutex mutex;
	std::size_t index = 0;
	std::shared_ptr<Conn> conn;
	std::uint64_t failovers = 0;
};

Client::Impl::Impl(const ClientOptions &o) : options(o)
{
	if (o.endpoints.empty())
		throw ConfigError("etcd: no endpoints given");
	if (o.user.empty() != o.password.empty())
		throw ConfigError("etcd: a user needs a password and a password a user");
	static std::once_flag grpc_log_once;
	std::call_once(grpc_log_once, [] { gpr_set_log_function(grpc_log); });
	if (o.tls) {
		grpc::SslCredentialsOptions ssl;
		ssl.pem_root_certs = read_pem(o.tls->ca, "etcd CA");
		if (!o.tls->cert.empty()) {
			ssl.pem_cert_chain = read_pem(o.tls->cert, "etcd client certificate");
			ssl.pem_private_key = read_pem(o.tls->key, "etcd client key");
		}
		credentials = grpc::SslCredentials(ssl);
	} else {
		credentials = grpc::InsecureChannelCredentials();
	}
	for (const auto &e : o.endpoints)
		targets.push_back(target_of(e, o.tls.has_value()));
}

std::shared_ptr<Conn> Client::Impl::connect(const std::string &endpoint) const
{
	grpc::ChannelArguments args;
	// A full resync of a large cluster is one large response.
	args.SetMaxReceiveMessageSize(-1);
	// Pings find a member that stopped answering under a long-lived watch;
	// etcd refuses pings more often than every 5 s.
	args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
	args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 3000);
	args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
	// Reconnect soon after a restart of the member rather than after
	// gRPC's default back-off of up to two minutes.
	args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
	auto c = std::make_shared<Conn>();
	c->endpoint = endpoint;
	c->channel = grpc::CreateCustomChannel(endpoint, credentials, args);
	c->kv = pb::KV::NewStub(c->channel);
	c->lease = pb::Lease::NewStub(c->channel);
	c->watch = pb::Watch::NewStub(c->channel);
	c->cluster = pb::Cluster::NewStub(c->channel);
	c->maintenance = pb::Maintenance::NewStub(c->channel);
	c->auth = pb::Auth::NewStub(c->channel);
	return c;
}

std::shared_ptr<Conn> Client::Impl::current()
{
	std::lock_guard lock(mutex);
	if (!conn)
		conn = connect(targets[index]);
	return conn;
}

void Client::Impl::fail_over(const std::shared_ptr<Conn> &failed, bool quiet)
{
	std::lock_guard lock(mutex);
	// Several threads may see the same endpoint fail: move on once.
	if (conn != failed)
		return;
	index = (index + 1) % targets.size();
	conn.reset();
	failovers++;
	if (targets.size() > 1)
		log().log(quiet ? spdlog::level::debug : spdlog::level::warn,
			  "etcd {}: unavailable, moving to {}", failed->endpoint, targets[index]);
}

grpc::Status Client::Impl::prepare(Conn &c, grpc::ClientContext &ctx, Clock::time_point deadline)
{
	set_deadline(ctx, deadline);
	if (options.user.empty())
		return grpc::Status::OK;
	std::lock_guard lock(c.token_mutex);
	if (c.token.empty()) {
		grpc::ClientContext auth_ctx;
		// A stream has no deadline; its authentication has.
		set_deadline(auth_ctx, std::min(deadline, Clock::now() + options.timeout));
		pb::AuthenticateRequest req;
		req.set_name(options.user);
		req.set_password(options.password);
		pb::AuthenticateResponse resp;
		const grpc::Status s = c.auth->Authenticate(&auth_ctx, req, &resp);
		if (!s.ok())
			return s;
		c.token = resp.token();
	}
	ctx.AddMetadata("token", c.token);
	return grpc::Status::OK;
}

template <typename Rpc> void Client::Impl::call(const char *what, const std::string &key, Rpc &&rpc)
{
	const auto start = Clock::now();
	const auto deadline = start + options.timeout;
	// A request that reached a member just as its leader died is dropped
	// by raft and never answered: a share of the time, not all of it.
	const auto share = std::max<Clock::duration>(options.timeout / (2 * targets.size()),
						     std::chrono::seconds(1));
	std::size_t tried = 0;
	bool reauthenticated = false;
	for (;;) {
		const std::shared_ptr<Conn> c = current();
		grpc::ClientContext ctx;
		// A member without a leader answers at once instead of waiting.
		ctx.AddMetadata("hasleader", "true");
		grpc::Status s = prepare(*c, ctx, std::min(deadline, Clock::now() + share));
		if (s.ok())
			s = rpc(*c, ctx);
		if (s.ok())
			return;
		if (token_expired(s) && !reauthenticated) {
			std::lock_guard lock(c->token_mutex);
			c->token.clear();
			reauthenticated = true;
			continue;
		}
		if (!retryable(s) || Clock::now() >= deadline)
			fail(what, key, c->endpoint, s);
		fail_over(c);
		if (++tried % targets.size() == 0)
			std::this_thread::sleep_for(std::min<Clock::duration>(kRetryPause,
									    deadline - Clock::now()));
	}
}

Client::Client(ClientOptions options) : options_(std::move(options))
{
	impl_ = std::make_unique<Impl>(options_);
}

Client::~Client() = default;

RangeResult Client::range(const std::string &key, const RangeOptions &options)
{
	pb::RangeRequest req;
	req.set_key(key);
	if (options.prefix)
		req.set_range_end(prefix_end(key));
	req.set_revision(options.revision);
	req.set_limit(options.limit);
	req.set_keys_only(options.keys_only);
	pb::RangeResponse resp;
	impl_->call("range", key, [&](Conn &c, grpc::ClientContext &ctx) {
		return c.kv->Range(&ctx, req, &resp);
	});
	return {from_pb(resp.kvs()), resp.header().revision(), resp.more()};
}

std::optional<KeyValue> Client::get(const std::string &key)
{
	RangeResult r = range(key);
	if (r.kvs.empty())
		return std::nullopt;
	return std::move(r.kvs.front());
}

std::int64_t Client::put(const std::string &key, const std::string &value, std::int64_t lease)
{
	pb::PutRequest req;
	req.set_key(key);
	req.set_value(value);
	req.set_lease(lease);
	pb::PutResponse resp;
	impl_->call("put", key, [&](Conn &c, grpc::ClientContext &ctx) {
		return c.kv->Put(&ctx, req, &resp);
	});
	return resp.header().revision();
}

std::int64_t Client::del(const std::string &key, bool prefix)
{
	pb::DeleteRangeRequest req;
	req.set_key(key);
	if (prefix)
		req.set_range_end(prefix_end(key));
	pb::DeleteRangeResponse resp;
	impl_->call("delete", key, [&](Conn &c, grpc::ClientContext &ctx) {
		return c.kv->DeleteRange(&ctx, req, &resp);
	});
	return resp.deleted();
}

TxnResult Client::txn(const Txn &txn)
{
	pb::TxnRequest req;
	for (const auto &c : txn.compares)
		*req.add_compare() = compare_to_pb(c);
	for (const auto &op : txn.success)
		*req.add_success() = op_to_pb(op);
	for (const auto &op : txn.failure)
		*req.add_failure() = op_to_pb(op);
	// The key errors name: the first written (what a refusal is about),
	// else the first compared.
	std::string key = !txn.success.empty()	? txn.success.front().key
			  : !txn.compares.empty() ? txn.compares.front().key
						  : std::string();
	pb::TxnResponse resp;
	impl_->call("txn", key, [&](Conn &c, grpc::ClientContext &ctx) {
		return c.kv->Txn(&ctx, req, &resp);
	});
	TxnResult out{resp.succeeded(), resp.header().revision(), {}};
	for (const auto &r : resp.responses())
		if (r.has_response_range())
			out.gets.push_back(from_pb(r.response_range().kvs()));
	return out;
}

bool Client::create(const std::string &key, const std::string &value, std::int64_t lease)
{
	Txn t;
	t.compares.push_back({key, Compare::Target::create_revision, Compare::Result::equal, 0, {}});
	t.success.push_back({TxnOp::Kind::put, key, value, lease, false});
	return txn(t).succeeded;
}

void Client::check_write(const std::string &key)
{
	// etcd checks the permissions of both branches of a transaction,
	// whichever runs: a write behind a condition that never holds (a
	// version below zero) is checked and never made.
	Txn t;
	t.compares.push_back({key, Compare::Target::version, Compare::Result::less, 0, {}});
	t.success.push_back({TxnOp::Kind::put, key, {}, 0, false});
	txn(t);
}

bool Client::compare_and_swap(const std::string &key, std::int64_t mod_revision,
			      const std::string &value, std::int64_t lease)
{
	Txn t;
	t.compares.push_back(
		{key, Compare::Target::mod_revision, Compare::Result::equal, mod_revision, {}});
	t.success.push_back({TxnOp::Kind::put, key, value, lease, false});
	return txn(t).succeeded;
}

void Client::compact(std::int64_t revision)
{
	pb::CompactionRequest req;
	req.set_revision(revision);
	req.set_physical(true);
	pb::CompactionResponse resp;
	impl_->call("compact", "", [&](Conn &c, grpc::ClientContext &ctx) {
		return c.kv->Compact(&ctx, req, &resp);
	});
}

Lease Client::grant(std::int64_t ttl_sec)
{
	pb::LeaseGrantRequest req;
	req.set_ttl(ttl_sec);
	pb::LeaseGrantResponse resp;
	impl_->call("lease grant", "", [&](Conn &c, grpc::ClientContext &ctx) {
		return c.lease->LeaseGrant(&ctx, req, &resp);
	});
	if (!resp.error().empty())
		throw EtcdError("etcd " + current_endpoint() + ": lease grant: " + resp.error(), 0,
				current_endpoint(), "");
	return {resp.id(), resp.ttl()};
}

void Client::revoke(std::int64_t lease)
{
	pb::LeaseRevokeRequest req;
	req.set_id(lease);
	pb::LeaseRevokeResponse resp;
	impl_->call("lease revoke", "", [&](Conn &c, grpc::ClientContext &ctx) {
		return c.lease->LeaseRevoke(&ctx, req, &resp);
	});
}

std::int64_t Client::time_to_live(std::int64_t lease)
{
	pb::LeaseTimeToLiveRequest req;
	req.set_id(lease);
	pb::LeaseTimeToLiveResponse resp;
	impl_->call("lease time-to-live", "", [&](Conn &c, grpc::ClientContext &ctx) {
		return c.lease->LeaseTimeToLive(&ctx, req, &resp);
	});
	return resp.ttl();
}

void Client::user_add(const std::string &user, const std::string &password)
{
	pb::AuthUserAddRequest req;
	req.set_name(user);
	req.set_password(password);
	pb::AuthUserAddResponse resp;
	impl_->call("user add", user, [&](Conn &c, grpc::ClientContext &ctx) {
		return c.auth->UserAdd(&ctx, req, &resp);
	});
}

void Client::role_add(const std::string &role)
{
	pb::AuthRoleAddRequest req;
	req.set_name(role);
	pb::AuthRoleAddResponse resp;
	impl_->call("role add", role, [&](Conn &c, grpc::ClientContext &ctx) {
		return c.auth->RoleAdd(&ctx, req, &resp);
	});
}

void Client::role_grant(const std::string &role, const std::string &key, bool prefix,
			Permission permission)
{
	pb::AuthRoleGrantPermissionRequest req;
	req.set_name(role);
	auto *perm = req.mutable_perm();
	perm->set_key(key);
	if (prefix)
		perm->set_range_end(prefix_end(key));
	perm->set_permtype(permission == Permission::read    ? authpb::Permission::READ
			   : permission == Permission::write ? authpb::Permission::WRITE
							     : authpb::Permission::READWRITE);
	pb::AuthRoleGrantPermissionResponse resp;
	impl_->call("role grant", key, [&](Conn &c, grpc::ClientContext &ctx) {
		return c.auth->RoleGrantPermission(&ctx, req, &resp);
	});
}

void Client::user_grant_role(const std::string &user, const std::string &role)
{
	pb::AuthUserGrantRoleRequest req;
	req.set_user(user);
	req.set_role(role);
	pb::AuthUserGrantRoleResponse resp;
	impl_->call("user grant", user, [&](Conn &c, grpc::ClientContext &ctx) {
		return c.auth->UserGrantRole(&ctx, req, &resp);
	});
}

void Client::auth_enable()
{
	pb::AuthEnableRequest req;
	pb::AuthEnableResponse resp;
	impl_->call("auth enable", "", [&](Conn &c, grpc::ClientContext &ctx) {
		return c.auth->AuthEnable(&ctx, req, &resp);
	});
}

std::vector<EndpointStatus> Client::status()
{
	std::vector<EndpointStatus> out;
	const auto share = std::min<Clock::duration>(options_.timeout, std::chrono::seconds(2));
	for (const auto &target : impl_->targets) {
		EndpointStatus st;
		st.endpoint = target;
		const std::shared_ptr<Conn> c = impl_->connect(target);
		grpc::ClientContext ctx;
		grpc::Status s = impl_->prepare(*c, ctx, Clock::now() + share);
		pb::StatusResponse resp;
		if (s.ok())
			s = c->maintenance->Status(&ctx, pb::StatusRequest(), &resp);
		st.healthy = s.ok() && resp.leader() != 0;
		if (!s.ok())
			st.error = s.error_message();
		else if (resp.leader() == 0)
			st.error = "no leader";
		st.member_id = resp.header().member_id();
		st.leader = resp.leader();
		st.revision = resp.header().revision();
		st.raft_term = static_cast<std::int64_t>(resp.raftterm());
		st.db_size = resp.dbsize();
		st.version = resp.version();
		out.push_back(std::move(st));
	}
	return out;
}

std::vector<Member> Client::members()
{
	pb::MemberListResponse resp;
	impl_->call("member list", "", [&](Conn &c, grpc::ClientContext &ctx) {
		return c.cluster->MemberList(&ctx, pb::MemberListRequest(), &resp);
	});
	std::vector<Member> out;
	for (const auto &m : resp.members())
		out.push_back({m.id(),
			       m.name(),
			       {m.peerurls().begin(), m.peerurls().end()},
			       {m.clienturls().begin(), m.clienturls().end()}});
	return out;
}

std::string Client::current_endpoint() const
{
	std::lock_guard lock(impl_->mutex);
	return impl_->targets[impl_->index];
}

std::uint64_t Client::failovers() const
{
	std::lock_guard lock(impl_->mutex);
	return impl_->failovers;
}

// --- streams ---------------------------------------------------------------

// What a background stream shares with its owner: the stop flag, the
// context to cancel, and a wake-up for its pauses.
struct StreamControl {
	std::mutex mutex;
	std::condition_variable wake;
	bool stop = false;
	grpc::ClientContext *ctx = nullptr; // the stream's, while one is open
	// Sessions that failed in a row (the stream's thread alone): an outage
	// is logged at its start and its end, and retried less and less often.
	std::size_t failures = 0;
	Clock::time_point down_since{};

	// The session's stream answered: an outage, if any, is over.
	void answered(const std::string &endpoint, std::string_view what)
	{
		if (failures)
			log().info("etcd {}: {} back after {:.1f} s and {} attempt(s)", endpoint, what,
				   std::chrono::duration<double>(Clock::now() - down_since).count(),
				   failures);
		failures = 0;
	}
	// The level of a session's message that it ended: only the first
	// failure of a row is a warning.
	spdlog::level::level_enum level() const
	{
		return failures ? spdlog::level::debug : spdlog::level::warn;
	}

	// Sleeps @d unless stopped first; false when stopped.
	bool pause(std::chrono::milliseconds d)
	{
		std::unique_lock lock(mutex);
		return !wake.wait_for(lock, d, [&] { return stop; });
	}
	bool stopping()
	{
		std::lock_guard lock(mutex);
		return stop;
	}
	// Publishes the stream's context so that a stop can cancel it; false
	// when already stopped.
	bool open(grpc::ClientContext *c)
	{
		std::lock_guard lock(mutex);
		ctx = c;
		return !stop;
	}
	void close()
	{
		std::lock_guard lock(mutex);
		ctx = nullptr;
	}
	void request_stop()
	{
		std::lock_guard lock(mutex);
		stop = true;
		if (ctx)
			ctx->TryCancel();
		wake.notify_all();
	}
};

// Runs @session(conn, ctx) on one endpoint after another until it says it
// is done (true) or the stream is stopped. A session that ends otherwise
// (false: the stream broke) moves the client to the next endpoint.
template <typename Session>
void stream_loop(Client::Impl &impl, StreamControl &control, bool require_leader,
		 Session &&session)
{
	while (!control.stopping()) {
		const std::shared_ptr<Conn> c = impl.current();
		grpc::ClientContext ctx;
		if (require_leader)
			ctx.AddMetadata("hasleader", "true");
		const grpc::Status s = impl.prepare(*c, ctx, Clock::time_point::max());
		if (!s.ok())
			log().log(control.level(), "etcd {}: authentication: {}", c->endpoint,
				  s.error_message());
		const bool opened = s.ok() && control.open(&ctx);
		const bool done = opened && session(*c, ctx);
		control.close();
		if (done || control.stopping())
			return;
		if (!control.failures++)
			control.down_since = Clock::now();
		impl.fail_over(c, control.failures > 1);
		// Every endpoint tried, and tried again: each round waits twice
		// as long as the last, up to 16 times the first pause.
		const std::size_t rounds = (control.failures - 1) / impl.targets.size();
		control.pause(kRetryPause * (1 << std::min<std::size_t>(rounds, 4)));
	}
}

struct KeepAlive::State {
	StreamControl control;
	std::atomic<std::int64_t> ttl{0};
	std::atomic<bool> lost{false};
	std::thread thread;
};

KeepAlive::KeepAlive(Client &client, std::int64_t lease, std::function<void()> on_lost)
	: state_(std::make_shared<State>())
{
	Client::Impl *impl = client.impl_.get();
	State *st = state_.get();
	st->thread = std::thread([impl, st, lease, on_lost = std::move(on_lost)] {
		stream_loop(*impl, st->control, false, [&](Conn &c, grpc::ClientContext &ctx) {
			auto stream = c.lease->LeaseKeepAlive(&ctx);
			pb::LeaseKeepAliveRequest req;
			req.set_id(lease);
			pb::LeaseKeepAliveResponse resp;
			while (stream->Write(req) && stream->Read(&resp)) {
				if (resp.ttl() <= 0) {
					st->ttl = 0;
					st->lost = true;
					log().warn("etcd {}: lease {:x} has expired", c.endpoint, lease);
					if (on_lost)
						on_lost();
					ctx.TryCancel();
					stream->Finish();
					return true;
				}
				st->ttl = resp.ttl();
				st->control.answered(c.endpoint, "lease keepalive");
				const auto every = std::max<std::int64_t>(resp.ttl() * 1000 / 3, 500);
				if (!st->control.pause(std::chrono::milliseconds(every)))
					break;
			}
			stream->WritesDone();
			const grpc::Status s = stream->Finish();
			if (!st->control.stopping())
				log().log(st->control.level(),
					  "etcd {}: lease {:x} keepalive stream ended: {}", c.endpoint,
					  lease, s.error_message());
			return false;
		});
	});
}

KeepAlive::~KeepAlive()
{
	state_->control.request_stop();
	state_->thread.join();
}

std::int64_t KeepAlive::ttl() const
{
	return state_->ttl;
}

bool KeepAlive::lost() const
{
	return state_->lost;
}

struct Watch::State {
	StreamControl control;
	// The open stream, for request_progress(); guarded by control.mutex.
	grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse> *stream = nullptr;
	std::atomic<bool> running{true};
	std::atomic<bool> connected{false}; // a stream is open and created
	std::thread thread;
};

namespace {

WatchBatch batch_of(const pb::WatchResponse &resp)
{
	WatchBatch b;
	b.revision = resp.header().revision();
	b.compact_revision = resp.compact_revision();
	b.events.reserve(static_cast<std::size_t>(resp.events_size()));
	for (const auto &e : resp.events())
		b.events.push_back({e.type() == mvccpb::Event::DELETE ? WatchEvent::Kind::del
								       : WatchEvent::Kind::put,
				    from_pb(e.kv())});
	b.progress = b.events.empty() && b.compact_revision == 0;
	return b;
}

} // namespace

Watch::Watch(Client &client, std::string key, Options options, Handler handler)
	: state_(std::make_shared<State>())
{
	Client::Impl *impl = client.impl_.get();
	State *st = state_.get();
	st->thread = std::thread([impl, st, key = std::move(key), options,
				  handler = std::move(handler)] {
		std::int64_t next = options.start_revision;
		// A member cut off from its leader would keep the stream open and
		// silent; "hasleader" makes it end the stream, and the watch moves on.
		stream_loop(*impl, st->control, true, [&](Conn &c, grpc::ClientContext &ctx) {
			auto stream = c.watch->Watch(&ctx);
			pb::WatchRequest req;
			auto *create = req.mutable_create_request();
			create->set_key(key);
			if (options.prefix)
				create->set_range_end(prefix_end(key));
			create->set_start_revision(next);
			create->set_progress_notify(options.progress_notify);
			bool ended = false;
			{
				std::lock_guard lock(st->control.mutex);
				st->stream = stream.get();
				ended = !stream->Write(req);
			}
			pb::WatchResponse resp;
			while (!ended && stream->Read(&resp)) {
				// "From now" is fixed at creation: a resumed stream
				// must not skip what came after it.
				if (resp.created()) {
					st->connected = true;
					st->control.answered(c.endpoint, "watch on " + key);
					if (next == 0)
						next = resp.header().revision() + 1;
				}
				if (resp.created() && !resp.canceled() && resp.events_size() == 0)
					continue;
				WatchBatch b = batch_of(resp);
				if (resp.canceled() && b.compact_revision == 0) {
					log().error("etcd {}: watch on {} canceled: {}", c.endpoint, key,
						    resp.cancel_reason());
					st->running = false;
					break;
				}
				// Resume after the last event delivered; a progress
				// batch vouches for everything up to its revision.
				if (!b.events.empty())
					next = b.events.back().kv.mod_revision + 1;
				else if (b.progress && b.revision >= next)
					next = b.revision + 1;
				if (b.compact_revision)
					st->running = false;
				handler(b);
				if (!st->running)
					break;
			}
			st->connected = false;
			{
				std::lock_guard lock(st->control.mutex);
				st->stream = nullptr;
			}
			// Finish waits for the server's status unless the stream is
			// ours to end.
			if (!st->running)
				ctx.TryCancel();
			const grpc::Status s = stream->Finish();
			if (!st->running)
				return true;
			if (!st->control.stopping())
				log().log(st->control.level(),
					  "etcd {}: watch on {} broke ({}), resuming at revision {}",
					  c.endpoint, key, s.error_message(), next);
			return false;
		});
		st->running = false;
	});
}

Watch::~Watch()
{
	state_->control.request_stop();
	state_->thread.join();
}

void Watch::request_progress()
{
	std::lock_guard lock(state_->control.mutex);
	if (!state_->stream)
		return;
	pb::WatchRequest req;
	req.mutable_progress_request();
	state_->stream->Write(req);
}

bool Watch::running() const
{
	return state_->running;
}

bool Watch::connected() const
{
	return state_->connected;
}

} // namespace ovx::cluster
