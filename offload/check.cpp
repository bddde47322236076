#include "offload/check.h"

#include <bpf/libbpf.h>
#include <gelf.h>
#include <libelf.h>
#include <linux/bpf.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "maps/error.h"
#include "maps/read_file.h"
#include "maps/unique_fd.h"

namespace ovx::offload {

const std::vector<Rule> &rules()
{
	using enum RuleKind;
	static const std::vector<Rule> all = {
		{rule::verdict,
		 "ovx's policy: XDP programs only, every exit a known PASS, DROP, TX or ABORTED "
		 "(the card drops any other code)",
		 policy},
		{rule::helper,
		 "helpers map_lookup/update/delete_elem, get_prandom_u32, xdp_adjust_head/tail, "
		 "perf_event_output(BPF_F_CURRENT_CPU) only, each if the firmware has it"},
		{rule::map_type, "map types the firmware holds (HASH, ARRAY)"},
		{rule::map_flags, "map_flags 0"},
		{rule::map_element_size, "key + value, each rounded up to 8 bytes, within the firmware's element size"},
		{rule::map_limits, "map count, total entries, key and value sizes within the firmware's"},
		{rule::global_data, "no global data (.rodata, .data, .bss maps)"},
		{rule::tail_call, "no tail calls (bpf_tail_call, PROG_ARRAY maps)"},
		{rule::map_write, "no stores into map values; counters by atomic add only"},
		{rule::map_value_use,
		 "map values at constant offsets; a word is either read or a counter, not both"},
		{rule::atomic_init, "map updates from the program leave atomic-counter words zero"},
		{rule::stack_offset, "stack accessed at constant offsets only"},
		{rule::stack_consistency,
		 "an instruction reached with different stack offsets only if they agree modulo 4"},
		{rule::stack_size, "stack within the firmware's stack size (64-byte frames)"},
		{rule::context, "context: loads of data and data_end only, stores to rx_queue_index only"},
		{rule::pointer_type, "each memory instruction reached with one pointer type only"},
		{rule::packet_offset, "packet bytes within the card's packet split boundary"},
		{rule::sign_extend, "no sign-extending moves or loads (movsx, ldsx)"},
		{rule::mul_div,
		 "multiplication of 32-bit operands only; division only by constants; no modulo"},
		{rule::map_argument,
		 "map keys and values passed on the stack, at constant 4-byte aligned offsets"},
		{rule::program_size, "the JITed program within the firmware's maximum program length"},
		{rule::opcode, "instructions the NFP JIT translates"},
		{rule::bpf_call,
		 "ovx's policy: no BPF-to-BPF calls (the checker follows one function: inline them)",
		 policy},
	};
	return all;
}

bool is_policy(std::string_view name)
{
	for (const Rule &r : rules())
		if (r.name == name)
			return r.kind == RuleKind::policy;
	return false;
}

const Caps &default_caps()
{
	static const Caps caps;
	return caps;
}

namespace {

// The caps file's keys, in the order `ovx offload check` prints them.
struct CapsField {
	const char *key;
	std::uint32_t Caps::*number = nullptr;
	bool Caps::*flag = nullptr;
};
const CapsField kCapsFields[] = {
	{"map_types", &Caps::map_types},
	{"max_maps", &Caps::max_maps},
	{"max_entries", &Caps::max_entries},
	{"max_key_size", &Caps::max_key_size},
	{"max_value_size", &Caps::max_value_size},
	{"max_element_size", &Caps::max_element_size},
	{"stack_bytes", &Caps::stack_bytes},
	{"max_program_length", &Caps::max_program_length},
	{"packet_split", &Caps::packet_split},
	{"map_lookup", nullptr, &Caps::map_lookup},
	{"map_update", nullptr, &Caps::map_update},
	{"map_delete", nullptr, &Caps::map_delete},
	{"perf_event_output", nullptr, &Caps::perf_event_output},
	{"adjust_head", nullptr, &Caps::adjust_head},
	{"adjust_tail", nullptr, &Caps::adjust_tail},
	{"random", nullptr, &Caps::random},
	{"queue_select", nullptr, &Caps::queue_select},
};

constexpr std::uint64_t kCapsFileBytes = 64 * 1024;

} // namespace

Caps parse_caps_text(const std::string &name, const std::string &text)
{
	Caps caps;
	caps.source = name;
	std::set<std::string> seen;
	int line_no = 0;
	std::size_t pos = 0;
	while (pos < text.size()) {
		const std::size_t eol = std::min(text.find('\n', pos), text.size());
		std::string line = text.substr(pos, eol - pos);
		pos = eol + 1;
		line_no++;
		if (auto hash = line.find('#'); hash != std::string::npos)
			line.resize(hash);
		char key[64], value[64], extra[2];
		const int n = std::sscanf(line.c_str(), "%63s %63s %1s", key, value, extra);
		if (n <= 0)
			continue;
		const auto bad = [&](const std::string &why) {
			return ConfigError(Location{name, line_no, 1, key}, why);
		};
		if (n != 2)
			throw bad("expected \"KEY VALUE\"");
		const CapsField *field = nullptr;
		for (const CapsField &f : kCapsFields)
			if (std::strcmp(f.key, key) == 0)
				field = &f;
		if (!field)
			throw bad("unknown key");
		if (!seen.insert(key).second)
			throw bad("given twice");
		const std::string v = value;
		if (field->flag) {
			if (v != "yes" && v != "no")
				throw bad("\"" + v + "\" is not yes or no");
			caps.*field->flag = v == "yes";
			continue;
		}
		char *end = nullptr;
		errno = 0;
		const unsigned long long x = std::strtoull(v.c_str(), &end, 0);
		if (v.empty() || v[0] == '-' || *end || errno || x > 0xffffffffull)
			throw bad("\"" + v + "\" is not a number from 0 to 4294967295");
		caps.*field->number = static_cast<std::uint32_t>(x);
	}
	for (const CapsField &f : kCapsFields)
		if (!seen.count(f.key))
			throw ConfigError(Location{name, line_no ? line_no : 1, 1, f.key},
					  "missing: a caps file gives every key");
	return caps;
}

Caps parse_caps(const std::string &path)
{
	try {
		return parse_caps_text(path, read_regular_file(path, kCapsFileBytes));
	} catch (const FileError &e) {
		throw ConfigError(path + ": " + e.what());
	}
}

std::string map_type_name(std::uint32_t type)
{
	const char *name = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(type));
	return name ? name : "type " + std::to_string(type);
}

namespace {

#define OVX_HELPER_NAME(x) #x
const char *const kHelperNames[] = {__BPF_FUNC_MAPPER(OVX_HELPER_NAME)};
#undef OVX_HELPER_NAME

std::string helper_name(std::int32_t id)
{
	if (id >= 0 && static_cast<std::size_t>(id) < std::size(kHelperNames))
		return std::string("bpf_") + kHelperNames[id];
	return "helper #" + std::to_string(id);
}

// ---- the object: libbpf for programs and maps, libelf for relocations ----

struct Reloc {
	enum Kind { map, global, call, other } kind = other;
	std::string name; // map name or data section
};

struct ElfView {
	// section index -> (byte offset in section -> relocation)
	std::map<std::size_t, std::map<std::uint64_t, Reloc>> relocs;
	// program (global function) name -> (section index, byte offset)
	std::map<std::string, std::pair<std::size_t, std::uint64_t>> functions;
};

struct ElfCloser {
	void operator()(Elf *e) const { elf_end(e); }
};

ElfView read_elf(const std::string &name, std::vector<std::uint8_t> &bytes)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		throw SystemError("libelf: " + std::string(elf_errmsg(-1)));
	std::unique_ptr<Elf, ElfCloser> elf(
		elf_memory(reinterpret_cast<char *>(bytes.data()), bytes.size()));
	std::size_t shstrndx = 0;
	if (!elf || elf_kind(elf.get()) != ELF_K_ELF || elf_getshdrstrndx(elf.get(), &shstrndx))
		throw SystemError(name + ": not an ELF object");

	std::map<std::size_t, std::string> section_names;
	Elf_Scn *symtab = nullptr;
	GElf_Shdr symtab_hdr{};
	for (Elf_Scn *scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			throw SystemError(name + ": bad section header");
		const char *sname = elf_strptr(elf.get(), shstrndx, sh.sh_name);
		section_names[elf_ndxscn(scn)] = sname ? sname : "";
		if (sh.sh_type == SHT_SYMTAB) {
			symtab = scn;
			symtab_hdr = sh;
		}
	}
	if (!symtab)
		throw SystemError(name + ": no symbol table");
	Elf_Data *syms = elf_getdata(symtab, nullptr);

	auto symbol = [&](std::size_t index, GElf_Sym &sym) {
		if (!gelf_getsym(syms, static_cast<int>(index), &sym))
			throw SystemError(name + ": bad symbol " + std::to_string(index));
		const char *n = elf_strptr(elf.get(), symtab_hdr.sh_link, sym.st_name);
		return std::string(n ? n : "");
	};

	ElfView view;
	const std::size_t nsyms = symtab_hdr.sh_entsize ? symtab_hdr.sh_size / symtab_hdr.sh_entsize : 0;
	for (std::size_t i = 0; i < nsyms; i++) {
		GElf_Sym sym;
		std::string n = symbol(i, sym);
		if (GELF_ST_TYPE(sym.st_info) == STT_FUNC)
			view.functions[n] = {sym.st_shndx, sym.st_value};
	}

	for (Elf_Scn *scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
		GElf_Shdr sh;
		gelf_getshdr(scn, &sh);
		if (sh.sh_type != SHT_REL)
			continue;
		Elf_Data *data = elf_getdata(scn, nullptr);
		const std::size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (std::size_t i = 0; i < n; i++) {
			GElf_Rel rel;
			if (!gelf_getrel(data, static_cast<int>(i), &rel))
				throw SystemError(name + ": bad relocation in " + section_names[elf_ndxscn(scn)]);
			GElf_Sym sym;
			std::string sname = symbol(GELF_R_SYM(rel.r_info), sym);
			const std::string &target = section_names[sym.st_shndx];
			Reloc r;
			if (target == ".maps") {
				r = {Reloc::map, sname};
			} else if (target.starts_with(".rodata") || target.starts_with(".data") ||
				   target.starts_with(".bss") || target == ".kconfig") {
				r = {Reloc::global, target};
			} else if (GELF_ST_TYPE(sym.st_info) == STT_FUNC ||
				   GELF_ST_TYPE(sym.st_info) == STT_SECTION) {
				r = {Reloc::call, sname.empty() ? target : sname};
			}
			view.relocs[sh.sh_info][rel.r_offset] = r;
		}
	}
	return view;
}

struct ObjectCloser {
	void operator()(bpf_object *o) const { bpf_object__close(o); }
};

// What the checker takes from libbpf's reading of the object.
struct ParsedProgram {
	std::string name, section;
	std::uint32_t type = 0;
	std::vector<bpf_insn> insns;
};
struct ParsedMap {
	MapInfo info;
	bool internal = false; // .rodata, .data, .bss, .kconfig
};
struct Parsed {
	std::vector<ParsedProgram> programs;
	std::vector<ParsedMap> maps;
};

Parsed parse_with_libbpf(const std::string &name, std::vector<std::uint8_t> &bytes)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "object");
	std::unique_ptr<bpf_object, ObjectCloser> obj(
		bpf_object__open_mem(bytes.data(), bytes.size(), &opts));
	if (!obj)
		throw SystemError(name + ": libbpf cannot open it: " + std::strerror(errno));
	Parsed out;
	bpf_program *prog;
	bpf_object__for_each_program(prog, obj.get())
	{
		const bpf_insn *insns = bpf_program__insns(prog);
		out.programs.push_back({bpf_program__name(prog), bpf_program__section_name(prog),
					static_cast<std::uint32_t>(bpf_program__type(prog)),
					{insns, insns + bpf_program__insn_cnt(prog)}});
	}
	bpf_map *m;
	bpf_object__for_each_map(m, obj.get())
	{
		ParsedMap pm;
		MapInfo &info = pm.info;
		info.name = bpf_map__name(m);
		info.type = bpf_map__type(m);
		info.key_size = bpf_map__key_size(m);
		info.value_size = bpf_map__value_size(m);
		info.max_entries = bpf_map__max_entries(m);
		info.flags = bpf_map__map_flags(m);
		info.element_bytes = ((info.key_size + 7) & ~7u) + ((info.value_size + 7) & ~7u);
		pm.internal = bpf_map__is_internal(m);
		out.maps.push_back(std::move(pm));
	}
	return out;
}

// The bytes of @from as elements of type To (a trailing part of one is
// dropped): instructions as 64-bit words for JSON and back, raw code as
// instructions.
template <typename To, typename From> std::vector<To> bytes_as(std::span<const From> from)
{
	std::vector<To> out(from.size_bytes() / sizeof(To));
	if (!out.empty()) // an empty span's data() may be null, undefined for memcpy
		std::memcpy(out.data(), from.data(), out.size() * sizeof(To));
	return out;
}

// The object crosses from the child in JSON: the parent trusts nothing in
// it (at() and get() check every field).
using nlohmann::json;

json to_json(const Parsed &p)
{
	json j = {{"programs", json::array()}, {"maps", json::array()}};
	for (const ParsedProgram &prog : p.programs) {
		const auto words = bytes_as<std::uint64_t>(std::span(prog.insns));
		j["programs"].push_back({{"name", prog.name},
					 {"section", prog.section},
					 {"type", prog.type},
					 {"insns", words}});
	}
	for (const ParsedMap &m : p.maps)
		j["maps"].push_back({{"name", m.info.name},
				     {"type", m.info.type},
				     {"key_size", m.info.key_size},
				     {"value_size", m.info.value_size},
				     {"max_entries", m.info.max_entries},
				     {"flags", m.info.flags},
				     {"element_bytes", m.info.element_bytes},
				     {"internal", m.internal}});
	return j;
}

Parsed from_json(const json &j)
{
	Parsed p;
	for (const json &jp : j.at("programs")) {
		ParsedProgram prog{jp.at("name").get<std::string>(), jp.at("section").get<std::string>(),
				   jp.at("type").get<std::uint32_t>(), {}};
		const auto words = jp.at("insns").get<std::vector<std::uint64_t>>();
		prog.insns = bytes_as<bpf_insn>(std::span(words));
		p.programs.push_back(std::move(prog));
	}
	for (const json &jm : j.at("maps"))
		p.maps.push_back({{jm.at("name").get<std::string>(), jm.at("type").get<std::uint32_t>(),
				   jm.at("key_size").get<std::uint32_t>(),
				   jm.at("value_size").get<std::uint32_t>(),
				   jm.at("max_entries").get<std::uint32_t>(),
				   jm.at("flags").get<std::uint32_t>(),
				   jm.at("element_bytes").get<std::uint32_t>()},
				  jm.at("internal").get<bool>()});
	return p;
}

// libbpf's object parser is not written for hostile input (mutated objects
// crash it: 3 in 1,500 for libbpf 1.1), and `ovx offload check` is meant
// for objects from anywhere. Validating the ELF first would mean knowing
// every bug of every libbpf version; a child process contains all of them.
// It reads the object and hands back the programs and maps; libelf's
// relocation reading and all analysis stay in this process, where the
// fuzzer (tests/fuzz) watches them under ASan. A crash, a hang (CPU limit)
// or a blow-up (address space limit) in the child is a clean error here.
constexpr rlim_t kChildCpuSeconds = 10;
constexpr rlim_t kChildExtraBytes = rlim_t{1} << 30;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

[[noreturn]] void parse_in_child(const std::string &name, std::vector<std::uint8_t> &bytes, int out)
{
	// Die by the signal, not by a handler the parent installed (libFuzzer's
	// would report the parent's input as a crash), and leave no core.
	for (const int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT})
		signal(sig, SIG_DFL);
	const rlimit no_core{0, 0}, cpu{kChildCpuSeconds, kChildCpuSeconds};
	setrlimit(RLIMIT_CORE, &no_core);
	setrlimit(RLIMIT_CPU, &cpu);
	// ASan reserves terabytes of shadow; under it, its allocator limits apply.
	if (!kAsan) {
		long pages = 0;
		if (std::FILE *f = std::fopen("/proc/self/statm", "r")) {
			if (std::fscanf(f, "%ld", &pages) != 1)
				pages = 0;
			std::fclose(f);
		}
		const rlim_t now = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE));
		const rlimit as{now + kChildExtraBytes, now + kChildExtraBytes};
		setrlimit(RLIMIT_AS, &as);
	}
	std::string msg;
	try {
		msg = to_json(parse_with_libbpf(name, bytes)).dump();
	} catch (const std::exception &e) {
		msg = json{{"error", e.what()}}.dump();
	}
	for (std::size_t done = 0; done < msg.size();) {
		const ssize_t n = ::write(out, msg.data() + done, msg.size() - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(3);
		done += static_cast<std::size_t>(n);
	}
	_exit(0);
}

Parsed parse_isolated(const std::string &name, std::vector<std::uint8_t> &bytes)
{
	int fds[2];
	if (::pipe2(fds, O_CLOEXEC) != 0)
		throw SystemError("pipe", errno);
	UniqueFd in(fds[0]), out(fds[1]);
	std::fflush(nullptr); // nothing buffered is written twice
	const pid_t pid = ::fork();
	if (pid < 0)
		throw SystemError("fork", errno);
	if (pid == 0) {
		in.reset();
		parse_in_child(name, bytes, out.get());
	}
	out.reset();
	std::string msg;
	char buf[65536];
	for (;;) {
		const ssize_t n = ::read(in.get(), buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		// Some 2.6 bytes of JSON per byte of code: more is no answer.
		if (msg.size() > 4 * kMaxObjectBytes) {
			::kill(pid, SIGKILL);
			break;
		}
		msg.append(buf, static_cast<std::size_t>(n));
	}
	int status = 0;
	while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (WIFSIGNALED(status))
		throw SystemError(name + ": malformed object: libbpf's parser died of signal " +
				  std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) +
				  ") reading it");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		throw SystemError(name + ": malformed object: libbpf's parser failed on it (exit status " +
				  std::to_string(WEXITSTATUS(status)) + ")");
	try {
		const json j = json::parse(msg);
		if (j.contains("error"))
			throw SystemError(j.at("error").get<std::string>());
		return from_json(j);
	} catch (const json::exception &e) {
		throw SystemError(name + ": bad answer from the parser process: " + e.what());
	}
}

// ---- the abstract machine: what each register may hold ----------------

constexpr std::size_t kMaxConsts = 8;
constexpr std::int64_t kU32Max = 0xffffffffll;

// Offsets come from untrusted code: they wrap as the machine does, never
// overflow (undefined in C++).
std::int64_t wrapping_add(std::int64_t a, std::int64_t b)
{
	return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

struct Value {
	enum Kind : std::uint8_t {
		scalar,
		stack,
		map_value,
		map_ptr,
		packet,
		packet_end,
		ctx,
		mixed, // a pointer of different kinds on different paths
	} kind = scalar;
	std::set<std::int64_t> consts; // scalar: its possible values; empty = any
	bool fits32 = false;	       // scalar: provably within 0..U32_MAX
	std::int64_t off = 0;	       // stack, map_value, packet: offset from r10 / value / data
	bool var = false;	       // stack, map_value, packet: offset not constant
	// stack: several constant offsets, off the lowest; mods has a bit per
	// offset modulo 4 among them. packet: off the highest.
	bool several = false;
	std::uint8_t mods = 0;
	std::uint8_t kinds = 0; // mixed: a bit per Kind
	std::string map;	// map_value / map_ptr: which map ("" = unknown)

	static Value any() { return {}; }
	static Value constant(std::int64_t c)
	{
		Value v;
		v.consts = {c};
		v.fits32 = c >= 0 && c <= kU32Max;
		return v;
	}
	static Value u32() // a scalar known to fit 32 bits (loads, 32-bit ALU)
	{
		Value v;
		v.fits32 = true;
		return v;
	}
	static Value pointer(Kind k, std::int64_t off = 0)
	{
		Value v;
		v.kind = k;
		v.off = off;
		v.mods = mod_bit(off);
		return v;
	}
	static std::uint8_t mod_bit(std::int64_t off) { return static_cast<std::uint8_t>(1u << (off & 3)); }
	std::optional<std::int64_t> single() const
	{
		if (kind == scalar && consts.size() == 1)
			return *consts.begin();
		return std::nullopt;
	}
	// One known offset (stack, map value, packet).
	bool fixed() const { return !var && !several; }
	std::uint8_t kind_bits() const { return kind == mixed ? kinds : static_cast<std::uint8_t>(1u << kind); }
	// Moves a pointer by one of @deltas (empty: by an unknown amount). The
	// verifier follows each path with its own constant, so several
	// constants keep a stack or packet pointer constant on every path.
	void move(const std::set<std::int64_t> &deltas)
	{
		if (deltas.empty() || (deltas.size() > 1 && kind != stack && kind != packet)) {
			var = true;
			return;
		}
		std::uint8_t moved = 0;
		for (const std::int64_t d : deltas) {
			const unsigned turn = static_cast<unsigned>(d & 3);
			moved |= static_cast<std::uint8_t>(((mods << turn) | (mods >> (4 - turn))) & 0xf);
		}
		mods = moved;
		several = several || deltas.size() > 1;
		// stack: the lowest offset; packet: the highest
		off = wrapping_add(off, kind == packet ? *deltas.rbegin() : *deltas.begin());
	}
	bool operator==(const Value &) const = default;
};

// Bounds on offsets the analysis keeps: past them a pointer is variable, so
// that a loop moving a pointer reaches a fixpoint soon. Both are past what
// the card can reach (its packet split is at most 255 * 64 - 32 bytes, the
// kernel's stack 512 bytes).
constexpr std::int64_t kMaxPacketOff = 16384;
constexpr std::int64_t kMinStackOff = -1024;

const char *kind_name(unsigned kind)
{
	static const char *const names[] = {"a scalar",	 "the stack",	  "a map value",  "a map",
					    "the packet", "the packet end", "the context", "a pointer"};
	return kind < std::size(names) ? names[kind] : "?";
}

Value join(const Value &a, const Value &b)
{
	if (a == b)
		return a;
	// A lookup result merges with its NULL branch.
	if (a.kind == Value::map_value && b.single() == 0)
		return a;
	if (b.kind == Value::map_value && a.single() == 0)
		return b;
	if (a.kind != b.kind) {
		if (a.kind == Value::scalar || b.kind == Value::scalar)
			return Value::any();
		Value v;
		v.kind = Value::mixed;
		v.kinds = a.kind_bits() | b.kind_bits();
		return v;
	}
	Value v = a;
	switch (a.kind) {
	case Value::scalar:
		v.fits32 = a.fits32 && b.fits32;
		if (a.consts.empty() || b.consts.empty())
			v.consts.clear();
		else
			v.consts.insert(b.consts.begin(), b.consts.end());
		if (v.consts.size() > kMaxConsts)
			v.consts.clear();
		break;
	case Value::stack:
		v.var = a.var || b.var;
		v.several = a.several || b.several || a.off != b.off;
		v.off = std::min(a.off, b.off);
		v.mods = a.mods | b.mods;
		if (v.off < kMinStackOff)
			v.var = true;
		break;
	case Value::packet:
		v.var = a.var || b.var;
		v.several = a.several || b.several || a.off != b.off;
		v.off = std::max(a.off, b.off);
		break;
	case Value::map_value:
		v.var = a.var || b.var || a.off != b.off;
		if (a.map != b.map)
			v.map.clear();
		break;
	case Value::map_ptr:
		if (a.map != b.map)
			v.map.clear();
		break;
	default:
		break;
	}
	if (v.var) { // one shape for "anywhere", so that joins settle
		v.off = 0;
		v.several = false;
		v.mods = 0xf;
	}
	return v;
}

struct State {
	std::array<Value, MAX_BPF_REG> regs;
	std::map<std::int64_t, Value> spills; // 8-byte slots by frame offset
	std::set<std::int64_t> zero;	      // stack bytes known to hold zero, by frame offset

	bool operator==(const State &) const = default;
};

State join(const State &a, const State &b)
{
	State s;
	for (std::size_t i = 0; i < s.regs.size(); i++)
		s.regs[i] = join(a.regs[i], b.regs[i]);
	for (const auto &[off, v] : a.spills) {
		auto it = b.spills.find(off);
		if (it != b.spills.end())
			s.spills[off] = join(v, it->second);
	}
	std::set_intersection(a.zero.begin(), a.zero.end(), b.zero.begin(), b.zero.end(),
			      std::inserter(s.zero, s.zero.end()));
	return s;
}

std::int64_t alu(std::uint8_t op, std::int64_t a, std::int64_t b, bool is64)
{
	std::uint64_t ua = static_cast<std::uint64_t>(a), ub = static_cast<std::uint64_t>(b);
	std::uint64_t r = 0;
	const unsigned width = is64 ? 64 : 32;
	switch (op) {
	case BPF_ADD: r = ua + ub; break;
	case BPF_SUB: r = ua - ub; break;
	case BPF_MUL: r = ua * ub; break;
	case BPF_OR: r = ua | ub; break;
	case BPF_AND: r = ua & ub; break;
	case BPF_XOR: r = ua ^ ub; break;
	case BPF_LSH: r = ua << (ub & (width - 1)); break;
	case BPF_RSH: r = (is64 ? ua : ua & kU32Max) >> (ub & (width - 1)); break;
	case BPF_NEG: r = -ua; break;
	default: r = 0; break;
	}
	if (!is64)
		r &= static_cast<std::uint64_t>(kU32Max);
	return static_cast<std::int64_t>(r);
}

bool is_map_helper(std::int32_t id)
{
	return id == BPF_FUNC_map_lookup_elem || id == BPF_FUNC_map_update_elem ||
	       id == BPF_FUNC_map_delete_elem;
}

bool is_redirect_helper(std::int32_t id)
{
	return id == BPF_FUNC_redirect || id == BPF_FUNC_redirect_map ||
	       id == BPF_FUNC_redirect_neigh || id == BPF_FUNC_redirect_peer;
}

bool is_allowed_helper(std::int32_t id)
{
	return is_map_helper(id) || id == BPF_FUNC_get_prandom_u32 ||
	       id == BPF_FUNC_xdp_adjust_head || id == BPF_FUNC_xdp_adjust_tail ||
	       id == BPF_FUNC_perf_event_output;
}

// The opcodes the NFP JIT translates (its instruction table, Linux 6.1).
bool nfp_supports(std::uint8_t code)
{
	const std::uint8_t cls = BPF_CLASS(code);
	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64: {
		const std::uint8_t op = BPF_OP(code);
		if (op == BPF_END)
			return cls == BPF_ALU && BPF_SRC(code) == BPF_X; // to big endian
		return op != BPF_MOD;
	}
	case BPF_LD:
		return code == (BPF_LD | BPF_IMM | BPF_DW) ||
		       ((BPF_MODE(code) == BPF_ABS || BPF_MODE(code) == BPF_IND) &&
			BPF_SIZE(code) != BPF_DW);
	case BPF_LDX:
	case BPF_ST:
		return BPF_MODE(code) == BPF_MEM;
	case BPF_STX:
		return BPF_MODE(code) == BPF_MEM ||
		       (BPF_MODE(code) == BPF_ATOMIC &&
			(BPF_SIZE(code) == BPF_W || BPF_SIZE(code) == BPF_DW));
	case BPF_JMP:
		return BPF_OP(code) <= BPF_JSLE;
	case BPF_JMP32:
		return BPF_OP(code) <= BPF_JSLE && BPF_OP(code) != BPF_JA &&
		       BPF_OP(code) != BPF_CALL && BPF_OP(code) != BPF_EXIT;
	default:
		return false;
	}
}

// BPF_MEMSX, BPF_MOVSX (Linux 6.6; the NFP JIT of 6.1 predates them and
// would translate a movsx as a plain move).
constexpr std::uint8_t kBpfMemsx = 0x80;

bool is_sign_extend(const bpf_insn &in)
{
	const std::uint8_t cls = BPF_CLASS(in.code);
	if (cls == BPF_LDX)
		return BPF_MODE(in.code) == kBpfMemsx;
	return (cls == BPF_ALU || cls == BPF_ALU64) && BPF_OP(in.code) == BPF_MOV &&
	       BPF_SRC(in.code) == BPF_X && in.off != 0;
}

// The JIT's length, estimated from above: NFP instructions per BPF
// instruction, by the emitter that translates it (jit.c, Linux 6.1). Each
// 64-bit register is two 32-bit NFP registers, so a 64-bit ALU operation is
// two (wrp_alu64_*), a 32-bit one is the operation and the zeroed high half;
// an immediate that does not fit the instruction takes two (wrp_immed); a
// memory access is a command, a wait and the shuffling of the transfer
// registers (data_ld_host_order, mem_op_stack, mem_ldx_emem); a helper call
// sets the local memory pointers, branches and restores them with nops
// (map_call_stack_common); an atomic add emits both its 16-bit fast and its
// general path (mem_xadd). The optimisations (packet cache, load/store
// gather, dead code the verifier removes) only shorten it.
constexpr std::size_t kNfpFixedLength = 2 + 13; // nfp_intro(), nfp_outro_xdp()

std::size_t nfp_cost(const bpf_insn &in)
{
	const std::uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
	const bool wide = BPF_SIZE(in.code) == BPF_DW;
	switch (cls) {
	case BPF_ALU64:
	case BPF_ALU: {
		const std::size_t halves = cls == BPF_ALU64 ? 2 : 1;
		switch (op) {
		case BPF_MUL: return 6 * halves;	// wrp_mul: a step per 8 bits
		case BPF_DIV: return 12;		// wrp_div_imm: reciprocal multiply
		case BPF_LSH:
		case BPF_RSH:
		case BPF_ARSH: return BPF_SRC(in.code) == BPF_X ? 4 * halves + 2 : 2 * halves;
		case BPF_END: return 6;			// end_reg32: byte swaps by ld_field
		case BPF_MOV: return BPF_SRC(in.code) == BPF_K ? 4 : 2;
		default: return BPF_SRC(in.code) == BPF_K ? 4 : 2;
		}
	}
	case BPF_LD:
		return in.code == (BPF_LD | BPF_IMM | BPF_DW) ? 4 : 12; // data_ld()
	case BPF_LDX:
	case BPF_ST:
		return wide ? 10 : 8;
	case BPF_STX:
		if (BPF_MODE(in.code) == BPF_ATOMIC)
			return 24;
		return wide ? 10 : 8;
	case BPF_JMP:
	case BPF_JMP32:
		if (op == BPF_JA)
			return 1;
		if (op == BPF_EXIT)
			return 2;
		if (op == BPF_CALL) {
			if (in.src_reg == BPF_PSEUDO_CALL)
				return 8;
			if (in.imm == BPF_FUNC_xdp_adjust_head)
				return 40; // adjust_head(): checks and moves the packet
			return in.imm == BPF_FUNC_xdp_adjust_tail ? 20 : 12;
		}
		return cls == BPF_JMP ? 4 : 3;
	default:
		return 0; // the second half of a 64-bit immediate load
	}
}

int size_bytes(std::uint8_t code)
{
	switch (BPF_SIZE(code)) {
	case BPF_B: return 1;
	case BPF_H: return 2;
	case BPF_W: return 4;
	default: return 8;
	}
}

std::string hex(unsigned v)
{
	char b[16];
	std::snprintf(b, sizeof(b), "0x%x", v);
	return b;
}

const char *size_name(std::uint8_t code)
{
	switch (BPF_SIZE(code)) {
	case BPF_B: return "u8";
	case BPF_H: return "u16";
	case BPF_W: return "u32";
	default: return "u64";
	}
}

std::string verdict_name(std::int64_t v)
{
	switch (v) {
	case XDP_ABORTED: return "XDP_ABORTED";
	case XDP_DROP: return "XDP_DROP";
	case XDP_PASS: return "XDP_PASS";
	case XDP_TX: return "XDP_TX";
	case XDP_REDIRECT: return "XDP_REDIRECT";
	default: return std::to_string(v);
	}
}

// One program, abstractly executed to a fixpoint, then checked insn by insn.
class ProgramCheck {
public:
	ProgramCheck(std::string name, std::span<const bpf_insn> insns,
		     const std::map<std::uint64_t, Reloc> &relocs, std::uint64_t base,
		     const Options &options, const std::map<std::string, std::uint32_t> &value_sizes,
		     std::vector<Finding> &out)
		: name_(std::move(name)), insns_(insns), options_(options), caps_(options.caps),
		  value_sizes_(value_sizes), out_(out)
	{
		for (const auto &[off, r] : relocs)
			if (off >= base && (off - base) / 8 < insns.size())
				relocs_[static_cast<std::size_t>((off - base) / 8)] = r;
	}

	// First instruction referencing each map, for map-level findings.
	std::map<std::string, int> map_refs;
	std::size_t nfp_length = 0;  // estimated, in NFP instructions
	std::size_t stack_bytes = 0; // the frame the driver reserves (64-byte units)

	void run()
	{
		check_length();
		for (const auto &[idx, r] : relocs_) {
			if (r.kind == Reloc::map && !map_refs.count(r.name))
				map_refs[r.name] = static_cast<int>(idx);
			if (r.kind == Reloc::global)
				report(rule::global_data, static_cast<int>(idx), r.name,
				       "reads global data in " + r.name +
					       ": the NFP has no global-data maps; put constants in "
					       "the code or a map");
		}
		// The abstract machine indexes its registers with these fields.
		if (!registers_valid())
			return;
		analyse();
		for (std::size_t i = 0; i < insns_.size(); i++)
			if (in_[i])
				check(i, *in_[i]);
		check_stack_size();
		check_atomic_init();
	}

private:
	// Every register field names r0..r10 (a call's and a 64-bit load's
	// source field says what kind it is instead), r10 is never written, and
	// a 64-bit load has its second half. The kernel's verifier refuses
	// anything else, and so does the checker, before using them.
	bool registers_valid()
	{
		bool valid = true;
		const auto bad = [&](std::size_t i, const std::string &why) {
			report(rule::opcode, static_cast<int>(i), "", why);
			valid = false;
		};
		const auto reg_ok = [&](std::size_t i, const char *field, unsigned reg) {
			if (reg >= MAX_BPF_REG)
				bad(i, std::string(field) + " register r" + std::to_string(reg) +
					       " does not exist (BPF has r0-r10)");
			return reg < MAX_BPF_REG;
		};
		for (std::size_t i = 0; i < insns_.size(); i++) {
			const bpf_insn &in = insns_[i];
			const std::uint8_t cls = BPF_CLASS(in.code);
			const bool wide = in.code == (BPF_LD | BPF_IMM | BPF_DW);
			const bool call = cls == BPF_JMP && BPF_OP(in.code) == BPF_CALL;
			const bool dst_ok = reg_ok(i, "destination", in.dst_reg);
			if (!wide && !call)
				reg_ok(i, "source", in.src_reg);
			const bool writes_dst = cls == BPF_ALU || cls == BPF_ALU64 || cls == BPF_LDX || wide;
			if (dst_ok && writes_dst && in.dst_reg == BPF_REG_10)
				bad(i, "writes r10, the read-only frame pointer");
			if (wide) {
				const bpf_insn *next = i + 1 < insns_.size() ? &insns_[i + 1] : nullptr;
				if (!next || next->code || next->dst_reg || next->src_reg || next->off)
					bad(i, "64-bit immediate load without its second half");
				i++;
			}
		}
		return valid;
	}

	void report(std::string_view rule, int insn, const std::string &map, std::string reason)
	{
		if (options_.policies || !is_policy(rule))
			out_.push_back({std::string(rule), name_, insn, map, std::move(reason)});
	}

	// nfp_bpf_translate() allocates, and nfp_net_bpf_load() allows, the
	// firmware's NFP_NET_CFG_BPF_MAX_LEN instructions.
	void check_length()
	{
		nfp_length = kNfpFixedLength;
		bool over = false;
		for (std::size_t i = 0; i < insns_.size(); i++) {
			nfp_length += nfp_cost(insns_[i]);
			if (nfp_length > caps_.max_program_length && !over) {
				over = true;
				report(rule::program_size, static_cast<int>(i), "",
				       "the JITed code passes the firmware's " +
					       std::to_string(caps_.max_program_length) +
					       " NFP instructions here (estimated)");
			}
		}
	}

	// nfp_bpf_finalize(): the frame, in 64-byte units (STACK_FRAME_ALIGN),
	// within NFP_NET_CFG_BPF_STACK_SZ * 64.
	void check_stack_size()
	{
		if (stack_low_ >= 0)
			return;
		stack_bytes = static_cast<std::size_t>((-stack_low_ + 63) / 64 * 64);
		if (stack_bytes > caps_.stack_bytes)
			report(rule::stack_size, stack_low_insn_, "",
			       "uses " + std::to_string(-stack_low_) + " bytes of stack (a " +
				       std::to_string(stack_bytes) + "-byte frame); the firmware has " +
				       std::to_string(caps_.stack_bytes));
	}

	// nfp_bpf_map_update_value_ok() and nfp_bpf_map_mark_used_one(): a
	// word some instruction adds to atomically may only be written by
	// bpf_map_update_elem() from stack bytes known to be zero (the card
	// keeps counters big-endian; only zero reads the same both ways).
	void check_atomic_init()
	{
		std::set<int> reported;
		for (const auto &[word, insn] : nonzero_update_) {
			auto use = word_use_.find(word);
			if (use == word_use_.end() || use->second.second < 0 || !reported.insert(insn).second)
				continue;
			report(rule::atomic_init, insn, word.first,
			       "bpf_map_update_elem writes bytes " + std::to_string(word.second * 4) + ".." +
				       std::to_string(word.second * 4 + 3) + " of " + word.first +
				       " from the stack not known to be zero, and insn " +
				       std::to_string(use->second.second) +
				       " adds to them atomically: counters start at zero");
		}
	}

	std::vector<std::size_t> successors(std::size_t i) const
	{
		const bpf_insn &in = insns_[i];
		const std::uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
		if (in.code == (BPF_LD | BPF_IMM | BPF_DW))
			return {i + 2};
		if (cls != BPF_JMP && cls != BPF_JMP32)
			return {i + 1};
		if (op == BPF_EXIT)
			return {};
		if (op == BPF_CALL)
			return {i + 1};
		const std::size_t target = i + 1 + static_cast<std::size_t>(static_cast<std::int64_t>(in.off));
		if (op == BPF_JA)
			return {target};
		return {i + 1, target};
	}

	void analyse()
	{
		in_.assign(insns_.size(), std::nullopt);
		if (insns_.empty())
			return;
		State entry;
		entry.regs[BPF_REG_1].kind = Value::ctx;
		entry.regs[BPF_REG_10] = Value::pointer(Value::stack);
		in_[0] = entry;
		std::set<std::size_t> work = {0};
		while (!work.empty()) {
			const std::size_t i = *work.begin();
			work.erase(work.begin());
			const State out = step(i, *in_[i]);
			for (std::size_t s : successors(i)) {
				if (s >= insns_.size())
					continue;
				State merged = in_[s] ? join(*in_[s], out) : out;
				if (!in_[s] || !(merged == *in_[s])) {
					in_[s] = std::move(merged);
					work.insert(s);
				}
			}
		}
	}

	// Past the bounds the analysis keeps, an offset is variable.
	static void bound(Value &p)
	{
		if (p.kind == Value::packet && (p.off > kMaxPacketOff || p.off < -kMaxPacketOff))
			p.var = true;
		if (p.kind == Value::stack && (p.off < kMinStackOff || p.off > -kMinStackOff))
			p.var = true;
		if (p.kind == Value::map_value && (p.off < -kMaxPacketOff || p.off > kMaxPacketOff))
			p.var = true;
		if (p.var) { // the shape join() gives a variable pointer
			p.off = 0;
			p.several = false;
			p.mods = 0xf;
		}
	}

	static void forget_overlapping(State &s, std::int64_t off, int size)
	{
		std::erase_if(s.spills, [&](const auto &slot) {
			return slot.first < off + size && off < slot.first + 8;
		});
	}

	Value alu_value(const bpf_insn &in, const Value &dst, const Value &src) const
	{
		const bool is64 = BPF_CLASS(in.code) == BPF_ALU64;
		const std::uint8_t op = BPF_OP(in.code);
		if (op == BPF_MOV) {
			if (in.off)
				return Value::any(); // movsx (reported as sign-extend)
			if (is64)
				return src;
			Value v = Value::u32();
			for (std::int64_t c : src.consts)
				v.consts.insert(c & kU32Max);
			if (src.kind != Value::scalar)
				v.consts.clear();
			return v;
		}
		if (is64 && (op == BPF_ADD || op == BPF_SUB)) {
			const bool dst_ptr = dst.kind != Value::scalar;
			const bool src_ptr = src.kind != Value::scalar;
			if (dst_ptr && src_ptr)
				return Value::any(); // pointer difference
			if (dst_ptr || (src_ptr && op == BPF_ADD)) {
				Value p = dst_ptr ? dst : src;
				const Value &n = dst_ptr ? src : dst;
				if (p.kind == Value::stack || p.kind == Value::map_value ||
				    p.kind == Value::packet) {
					std::set<std::int64_t> deltas;
					if (n.kind == Value::scalar)
						for (const std::int64_t c : n.consts)
							deltas.insert(op == BPF_SUB ? wrapping_add(~c, 1) : c);
					p.move(deltas);
					bound(p);
				}
				return p;
			}
		}
		if (dst.kind != Value::scalar || src.kind != Value::scalar)
			return Value::any();
		Value v = is64 ? Value::any() : Value::u32();
		if (op == BPF_END) {
			v.fits32 = in.imm <= 32;
			return v;
		}
		if (!dst.consts.empty() && (op == BPF_NEG || !src.consts.empty())) {
			const std::set<std::int64_t> srcs = op == BPF_NEG ? std::set<std::int64_t>{0} : src.consts;
			for (std::int64_t a : dst.consts)
				for (std::int64_t b : srcs)
					v.consts.insert(alu(op, a, b, is64));
			if (v.consts.size() > kMaxConsts)
				v.consts.clear();
		}
		if (is64) {
			const bool all32 = !v.consts.empty() &&
					   std::all_of(v.consts.begin(), v.consts.end(), [](std::int64_t c) {
						   return c >= 0 && c <= kU32Max;
					   });
			const bool masked = op == BPF_AND && ((src.fits32) || (dst.fits32));
			const bool shifted = op == BPF_RSH && src.single() && *src.single() >= 32;
			const bool narrowing = (op == BPF_RSH || op == BPF_DIV) && dst.fits32;
			v.fits32 = all32 || masked || shifted || narrowing ||
				   (dst.fits32 && src.fits32 && (op == BPF_OR || op == BPF_XOR));
		}
		return v;
	}

	State step(std::size_t i, State s) const
	{
		const bpf_insn &in = insns_[i];
		const std::uint8_t cls = BPF_CLASS(in.code);
		auto src_value = [&]() {
			if (BPF_SRC(in.code) == BPF_X)
				return s.regs[in.src_reg];
			return Value::constant(cls == BPF_ALU ? (in.imm & kU32Max) : in.imm);
		};
		switch (cls) {
		case BPF_ALU:
		case BPF_ALU64:
			if (in.dst_reg < MAX_BPF_REG && in.src_reg < MAX_BPF_REG)
				s.regs[in.dst_reg] = alu_value(in, s.regs[in.dst_reg], src_value());
			break;
		case BPF_LD:
			if (in.code == (BPF_LD | BPF_IMM | BPF_DW)) {
				Value v;
				auto r = relocs_.find(i);
				if (r != relocs_.end() && r->second.kind == Reloc::map) {
					v.kind = Value::map_ptr;
					v.map = r->second.name;
				} else if (r != relocs_.end() && r->second.kind == Reloc::global) {
					v.kind = Value::map_value;
					v.map = r->second.name;
				} else if (i + 1 < insns_.size()) {
					v = Value::constant(static_cast<std::int64_t>(
						(static_cast<std::uint64_t>(static_cast<std::uint32_t>(insns_[i + 1].imm)) << 32) |
						static_cast<std::uint32_t>(in.imm)));
				}
				s.regs[in.dst_reg] = v;
			} else {
				s.regs[BPF_REG_0] = Value::u32();
				for (int r = BPF_REG_1; r <= BPF_REG_5; r++)
					s.regs[r] = Value::any();
			}
			break;
		case BPF_LDX: {
			const Value &base = s.regs[in.src_reg];
			Value v = BPF_SIZE(in.code) == BPF_DW ? Value::any() : Value::u32();
			if (base.kind == Value::stack && base.fixed() && BPF_SIZE(in.code) == BPF_DW) {
				auto it = s.spills.find(base.off + in.off);
				if (it != s.spills.end())
					v = it->second;
			} else if (base.kind == Value::ctx && in.off == offsetof(xdp_md, data)) {
				v = Value::pointer(Value::packet);
			} else if (base.kind == Value::ctx && in.off == offsetof(xdp_md, data_end)) {
				v = Value::pointer(Value::packet_end);
			}
			s.regs[in.dst_reg] = v;
			break;
		}
		case BPF_ST:
		case BPF_STX: {
			const Value &base = s.regs[in.dst_reg];
			if (BPF_MODE(in.code) == BPF_ATOMIC) {
				if (in.imm & BPF_FETCH)
					s.regs[in.imm == BPF_CMPXCHG ? static_cast<std::uint8_t>(BPF_REG_0) : in.src_reg] = Value::any();
				break;
			}
			if (base.kind != Value::stack)
				break;
			if (!base.fixed()) {
				s.spills.clear();
				s.zero.clear();
				break;
			}
			const std::int64_t off = base.off + in.off;
			const int size = size_bytes(in.code);
			const Value stored = cls == BPF_STX ? s.regs[in.src_reg] : Value::constant(in.imm);
			forget_overlapping(s, off, size);
			if (BPF_SIZE(in.code) == BPF_DW)
				s.spills[off] = stored;
			// The verifier marks bytes STACK_ZERO from a register known
			// to be zero (nfp_bpf_map_update_value_ok() reads that).
			for (std::int64_t b = off; b < off + size; b++)
				if (cls == BPF_STX && stored.single() == 0)
					s.zero.insert(b);
				else
					s.zero.erase(b);
			break;
		}
		case BPF_JMP:
			if (BPF_OP(in.code) == BPF_CALL) {
				Value r0 = Value::any();
				if (in.src_reg == 0 && in.imm == BPF_FUNC_map_lookup_elem) {
					r0.kind = Value::map_value;
					r0.map = s.regs[BPF_REG_1].kind == Value::map_ptr ? s.regs[BPF_REG_1].map : "";
				} else if (in.src_reg == 0 && in.imm == BPF_FUNC_get_prandom_u32) {
					r0 = Value::u32();
				}
				s.regs[BPF_REG_0] = r0;
				for (int r = BPF_REG_1; r <= BPF_REG_5; r++)
					s.regs[r] = Value::any();
			}
			break;
		default:
			break;
		}
		return s;
	}

	void check_call(int idx, const bpf_insn &in, const State &s)
	{
		if (in.src_reg == BPF_PSEUDO_CALL) {
			report(rule::bpf_call, idx, "",
			       "calls a BPF subprogram (the NFP JIT takes them, within the stack of all "
			       "frames); the checker follows one function only: make it __always_inline");
			return;
		}
		if (in.src_reg == BPF_PSEUDO_KFUNC_CALL) {
			report(rule::helper, idx, "", "calls a kernel function (kfunc); the NFP has none");
			return;
		}
		const std::int32_t id = in.imm;
		if (id == BPF_FUNC_tail_call) {
			report(rule::tail_call, idx, "", "bpf_tail_call: the NFP runs one program, no tail calls");
			return;
		}
		if (!is_allowed_helper(id)) {
			report(rule::helper, idx, "",
			       helper_name(id) + " is not available on the NFP" +
				       (is_redirect_helper(id) ? " (it cannot redirect: PASS, DROP, TX only)" : ""));
			return;
		}
		if (!firmware_has(id)) {
			report(rule::helper, idx, "",
			       helper_name(id) + ": the firmware (" + caps_.source + ") does not offer it");
			return;
		}
		if (id == BPF_FUNC_perf_event_output && s.regs[BPF_REG_3].single() != static_cast<std::int64_t>(BPF_F_CURRENT_CPU)) {
			report(rule::helper, idx, "",
			       "bpf_perf_event_output: flags must be the constant BPF_F_CURRENT_CPU");
			return;
		}
		if (!is_map_helper(id))
			return;
		const std::string map = s.regs[BPF_REG_1].map;
		auto arg_ok = [&](int reg, const char *what) {
			const Value &v = s.regs[reg];
			std::string why;
			if (v.kind != Value::stack)
				why = "is not a pointer to the stack";
			else if (v.var)
				why = "is at a variable stack offset";
			else if (v.mods != 1)
				why = "is at stack offset " + std::to_string(v.off) + ", not 4-byte aligned";
			if (!why.empty())
				report(rule::map_argument, idx, map, helper_name(id) + ": the " + what + " " + why);
			return why.empty();
		};
		arg_ok(BPF_REG_2, "key");
		if (id == BPF_FUNC_map_update_elem && arg_ok(BPF_REG_3, "value"))
			note_update(idx, map, s.regs[BPF_REG_3], s);
	}

	bool firmware_has(std::int32_t id) const
	{
		switch (id) {
		case BPF_FUNC_map_lookup_elem: return caps_.map_lookup;
		case BPF_FUNC_map_update_elem: return caps_.map_update;
		case BPF_FUNC_map_delete_elem: return caps_.map_delete;
		case BPF_FUNC_perf_event_output: return caps_.perf_event_output;
		case BPF_FUNC_xdp_adjust_head: return caps_.adjust_head;
		case BPF_FUNC_xdp_adjust_tail: return caps_.adjust_tail;
		case BPF_FUNC_get_prandom_u32: return caps_.random;
		default: return true;
		}
	}

	// The value's words that may be non-zero, for check_atomic_init().
	void note_update(int idx, const std::string &map, const Value &value, const State &s)
	{
		auto size = value_sizes_.find(map);
		if (map.empty() || size == value_sizes_.end() || !value.fixed())
			return;
		for (std::int64_t i = 0; i < size->second; i++)
			if (!s.zero.count(value.off + i))
				nonzero_update_.try_emplace({map, i / 4}, idx);
	}

	void check_mul_div(int idx, const bpf_insn &in, const State &s)
	{
		const bool is64 = BPF_CLASS(in.code) == BPF_ALU64;
		const std::uint8_t op = BPF_OP(in.code);
		const bool reg = BPF_SRC(in.code) == BPF_X;
		const Value &dst = s.regs[in.dst_reg];
		const Value &src = s.regs[in.src_reg];
		if (op == BPF_MOD) {
			report(rule::mul_div, idx, "", "modulo: the NFP cannot divide with remainder");
			return;
		}
		if (op == BPF_MUL && is64) {
			if (!dst.fits32)
				report(rule::mul_div, idx, "",
				       "64-bit multiplication: the multiplier is not provably within 32 bits");
			else if (reg && !src.fits32)
				report(rule::mul_div, idx, "",
				       "64-bit multiplication: the multiplicand is not provably within 32 bits");
			else if (!reg && in.imm < 0)
				report(rule::mul_div, idx, "",
				       "64-bit multiplication by a negative (sign-extended) constant");
		}
		if (op == BPF_DIV) {
			if (in.off != 0)
				report(rule::mul_div, idx, "", "signed division");
			else if (reg && !(src.single() && *src.single() >= 0 && *src.single() <= kU32Max))
				report(rule::mul_div, idx, "", "division by a non-constant divisor");
			else if (!reg && in.imm < 0)
				report(rule::mul_div, idx, "", "division by a negative constant");
			else if (is64 && !dst.fits32)
				report(rule::mul_div, idx, "",
				       "64-bit division: the dividend is not provably within 32 bits");
		}
	}

	void check_memory(int idx, const bpf_insn &in, const State &s)
	{
		const std::uint8_t cls = BPF_CLASS(in.code);
		const std::uint8_t base_reg = cls == BPF_LDX ? in.src_reg : in.dst_reg;
		const Value &base = s.regs[base_reg];
		const bool atomic = cls == BPF_STX && BPF_MODE(in.code) == BPF_ATOMIC;
		if (base.kind == Value::mixed) {
			std::string kinds;
			for (unsigned k = 0; k < 8; k++)
				if (base.kinds & (1u << k))
					kinds += std::string(kinds.empty() ? "" : " or ") + kind_name(k);
			report(rule::pointer_type, idx, "",
			       "r" + std::to_string(base_reg) + " points to " + kinds +
				       " depending on the path: the NFP JIT translates each access for one");
			return;
		}
		if (base.kind == Value::ctx && !atomic) {
			check_context(idx, in);
			return;
		}
		if (base.kind == Value::packet)
			check_packet(idx, in, base);
		if (base.kind == Value::stack)
			check_stack(idx, in, base, base_reg);
		if (cls == BPF_ST && base.kind != Value::packet && base.kind != Value::map_value) {
			report(rule::opcode, idx, "",
			       "stores an immediate into " + std::string(kind_name(base.kind)) +
				       ": the NFP JIT stores immediates into the packet only");
			return;
		}
		if (base.kind == Value::map_value && (cls == BPF_LDX || atomic))
			use_map_value(idx, in, base, atomic);
		if (cls == BPF_LDX)
			return;
		if (atomic) {
			if (in.imm != BPF_ADD)
				report(rule::map_write, idx, base.map,
				       "atomic operation " + std::to_string(in.imm) +
					       ": the NFP only adds (no fetch, and, or, xchg)");
			else if (base.kind != Value::map_value)
				report(rule::map_write, idx, "", "atomic add not into a map value");
			return;
		}
		if (base.kind == Value::map_value)
			report(rule::map_write, idx, base.map,
			       std::string("stores a ") + size_name(in.code) + " into a value of " +
				       (base.map.empty() ? std::string("a map") : base.map) +
				       ": the NFP only adds to map values (__sync_fetch_and_add)");
	}

	// mem_ldx_xdp(), nfp_bpf_check_store(), mem_stx_xdp(): the JIT reads
	// data and data_end (4 bytes) and writes rx_queue_index (a 4-byte
	// register store, with the firmware's queue select), nothing else.
	void check_context(int idx, const bpf_insn &in)
	{
		const std::uint8_t cls = BPF_CLASS(in.code);
		const bool word = BPF_SIZE(in.code) == BPF_W;
		std::string why;
		if (cls == BPF_LDX) {
			if (in.off == offsetof(xdp_md, data_meta))
				why = "reads data_meta: the NFP has no metadata area";
			else if (in.off != offsetof(xdp_md, data) && in.off != offsetof(xdp_md, data_end))
				why = "reads context offset " + std::to_string(in.off) +
				      ": the NFP JIT reads data and data_end only";
			else if (!word)
				why = std::string("reads data or data_end as ") + size_name(in.code) + ", not u32";
		} else if (in.off != offsetof(xdp_md, rx_queue_index) || !word || cls != BPF_STX) {
			why = "writes context offset " + std::to_string(in.off) +
			      ": the NFP JIT writes rx_queue_index only, from a register, as u32";
		} else if (!caps_.queue_select) {
			why = "writes rx_queue_index: the firmware has no queue selection";
		}
		if (!why.empty())
			report(rule::context, idx, "", why);
	}

	// nfp_bpf_offload_check_mtu(): the card refuses a program that may read
	// past its packet split boundary (while the MTU is larger too). The
	// verifier's max_pkt_offset is the last byte reached.
	void check_packet(int idx, const bpf_insn &in, const Value &base)
	{
		if (base.var) {
			report(rule::packet_offset, idx, "",
			       "packet access at a variable offset: the checker cannot bound it within the "
			       "card's " + std::to_string(caps_.packet_split) + "-byte packet split");
			return;
		}
		const std::int64_t last = base.off + in.off + size_bytes(in.code) - 1;
		if (last > static_cast<std::int64_t>(caps_.packet_split))
			report(rule::packet_offset, idx, "",
			       "reaches packet byte " + std::to_string(last) + ", past the card's packet split at " +
				       std::to_string(caps_.packet_split) +
				       " bytes: the driver refuses it while the MTU is larger");
	}

	// nfp_bpf_check_stack_access(): a constant offset; an instruction
	// reached with several offsets only if they agree modulo 4.
	void check_stack(int idx, const bpf_insn &in, const Value &base, std::uint8_t reg)
	{
		if (base.var) {
			report(rule::stack_offset, idx, "",
			       "stack access at a variable offset (r" + std::to_string(reg) + ")");
			return;
		}
		if (std::popcount(base.mods) > 1)
			report(rule::stack_consistency, idx, "",
			       "reached with r" + std::to_string(reg) +
				       " at stack offsets that differ modulo 4: the JIT fixes one alignment per "
				       "instruction");
		const std::int64_t low = base.off + in.off;
		if (low < stack_low_) {
			stack_low_ = low;
			stack_low_insn_ = idx;
		}
	}

	// The NFP marks each 4-byte word of a map value as read or as an atomic
	// counter, at constant offsets only, and refuses a word used both ways.
	void use_map_value(int idx, const bpf_insn &in, const Value &base, bool atomic)
	{
		if (base.var) {
			report(rule::map_value_use, idx, base.map, "map value accessed at a variable offset");
			return;
		}
		if (base.map.empty())
			return;
		const std::int64_t first = base.off + in.off, last = first + size_bytes(in.code) - 1;
		std::optional<std::pair<int, int>> clash; // (read insn, atomic insn)
		for (std::int64_t word = first / 4; word <= last / 4; word++) {
			auto &[read_at, atomic_at] =
				word_use_.try_emplace({base.map, word}, -1, -1).first->second;
			(atomic ? atomic_at : read_at) = idx;
			if (read_at >= 0 && atomic_at >= 0 && conflicts_.insert({base.map, word}).second)
				clash = {read_at, atomic_at};
		}
		if (clash)
			report(rule::map_value_use, idx, base.map,
			       "bytes " + std::to_string(first) + ".." + std::to_string(last) + " of a value of " +
				       base.map + " are read (insn " + std::to_string(clash->first) +
				       ") and atomically added (insn " + std::to_string(clash->second) +
				       "): the NFP keeps counters apart from data");
	}

	void check(std::size_t i, const State &s)
	{
		const bpf_insn &in = insns_[i];
		const int idx = static_cast<int>(i);
		const std::uint8_t cls = BPF_CLASS(in.code);
		if (is_sign_extend(in)) {
			report(rule::sign_extend, idx, "",
			       std::string(cls == BPF_LDX ? "sign-extending load (ldsx)" : "sign-extending move (movsx)") +
				       ": the NFP JIT does not sign-extend");
			return;
		}
		if (!nfp_supports(in.code)) {
			if ((cls == BPF_ALU || cls == BPF_ALU64) && BPF_OP(in.code) == BPF_MOD)
				check_mul_div(idx, in, s);
			else
				report(rule::opcode, idx, "",
				       "opcode " + hex(in.code) + " is not translated by the NFP JIT");
			return;
		}
		switch (cls) {
		case BPF_ALU:
		case BPF_ALU64:
			check_mul_div(idx, in, s);
			break;
		case BPF_LDX:
		case BPF_ST:
		case BPF_STX:
			check_memory(idx, in, s);
			break;
		case BPF_JMP:
			if (BPF_OP(in.code) == BPF_CALL)
				check_call(idx, in, s);
			else if (BPF_OP(in.code) == BPF_EXIT)
				check_exit(idx, s.regs[BPF_REG_0]);
			break;
		default:
			break;
		}
	}

	// ovx's policy, not the driver's (nfp_bpf_check_exit() takes any XDP
	// code; the card drops codes past XDP_TX as aborts).
	void check_exit(int idx, const Value &r0)
	{
		if (r0.kind != Value::scalar || r0.consts.empty()) {
			report(rule::verdict, idx, "",
			       "returns a value that is not provably PASS, DROP or TX (the card would "
			       "drop any other code as an abort)");
			return;
		}
		for (std::int64_t v : r0.consts)
			if (v < XDP_ABORTED || v > XDP_TX)
				report(rule::verdict, idx, "",
				       "returns " + verdict_name(v) +
					       ": the card drops it as an abort (it knows PASS, DROP and TX only)");
	}

	std::string name_;
	std::span<const bpf_insn> insns_;
	const Options &options_;
	const Caps &caps_;
	const std::map<std::string, std::uint32_t> &value_sizes_;
	std::vector<Finding> &out_;
	std::int64_t stack_low_ = 0; // lowest stack byte accessed, from r10
	int stack_low_insn_ = -1;
	// (map, word) -> first bpf_map_update_elem that may write it non-zero
	std::map<std::pair<std::string, std::int64_t>, int> nonzero_update_;
	std::map<std::size_t, Reloc> relocs_;
	std::vector<std::optional<State>> in_;
	// (map, 4-byte word of its value) -> last insn reading it, last adding to it
	std::map<std::pair<std::string, std::int64_t>, std::pair<int, int>> word_use_;
	std::set<std::pair<std::string, std::int64_t>> conflicts_;
};

const std::map<std::uint64_t, Reloc> kNoRelocs;

// nfp_bpf_map_alloc(): the firmware's map types, flags, sizes, and its
// count of maps and entries over all of them.
void check_maps(const std::vector<ParsedMap> &maps,
		const std::map<std::string, std::pair<std::string, int>> &first_ref, const Caps &caps,
		Report &report)
{
	std::uint64_t count = 0, entries = 0;
	std::string last_map;
	for (const ParsedMap &m : maps) {
		const MapInfo &info = m.info;
		report.maps.push_back(info);

		// Created even when no instruction refers to it (a constant pool
		// clang left behind), so it is reported on its own as well.
		if (m.internal) {
			report.findings.push_back({std::string(rule::global_data), "", -1, info.name,
						   "global-data map " + info.name +
							   " would be created on the NIC, which has none"});
			continue;
		}
		std::string program;
		int insn = -1;
		if (auto it = first_ref.find(info.name); it != first_ref.end())
			std::tie(program, insn) = it->second;
		auto add = [&](std::string_view r, std::string reason) {
			report.findings.push_back({std::string(r), program, insn, info.name, std::move(reason)});
		};
		if (info.type == BPF_MAP_TYPE_PROG_ARRAY) {
			add(rule::tail_call, "map " + info.name + " is a PROG_ARRAY: the NFP has no tail calls");
			continue;
		}
		if (info.type == BPF_MAP_TYPE_PERF_EVENT_ARRAY)
			continue; // stays on the host, the NFP writes events to it
		if (info.type >= 32 || !(caps.map_types & (1u << info.type)))
			add(rule::map_type, "map " + info.name + " is " + map_type_name(info.type) +
						    ": the firmware holds no such maps");
		if (info.flags)
			add(rule::map_flags,
			    "map " + info.name + " has map_flags " + hex(info.flags) + ": the NFP takes none");
		if (info.element_bytes > caps.max_element_size)
			add(rule::map_element_size,
			    "map " + info.name + ": key " + std::to_string(info.key_size) + " + value " +
				    std::to_string(info.value_size) + " bytes take " +
				    std::to_string(info.element_bytes) + " (rounded up to 8 each), over " +
				    std::to_string(caps.max_element_size));
		if (info.key_size > caps.max_key_size)
			add(rule::map_limits, "map " + info.name + ": key of " + std::to_string(info.key_size) +
						      " bytes, the firmware's at most " +
						      std::to_string(caps.max_key_size));
		if (info.value_size > caps.max_value_size)
			add(rule::map_limits, "map " + info.name + ": value of " +
						      std::to_string(info.value_size) +
						      " bytes, the firmware's at most " +
						      std::to_string(caps.max_value_size));
		count++;
		entries += info.max_entries;
		if (count == caps.max_maps + 1ull)
			add(rule::map_limits, "map " + info.name + " is one more than the firmware's " +
						      std::to_string(caps.max_maps) + " maps");
		if (entries > caps.max_entries && entries - info.max_entries <= caps.max_entries)
			add(rule::map_limits, "map " + info.name + " brings the entries of all maps to " +
						      std::to_string(entries) + ", over the firmware's " +
						      std::to_string(caps.max_entries));
	}
}

} // namespace

Report check_object(std::string name, std::span<const std::uint8_t> elf, const Options &options)
{
	if (elf.size() > kMaxObjectBytes)
		throw SystemError(name + ": too large for a BPF object (" + std::to_string(elf.size()) +
				  " bytes; at most " + std::to_string(kMaxObjectBytes) + ")");
	std::vector<std::uint8_t> bytes(elf.begin(), elf.end());
	const ElfView view = read_elf(name, bytes);
	const Parsed parsed = parse_isolated(name, bytes);

	Report report;
	report.object = std::move(name);
	report.caps = options.caps;
	std::map<std::string, std::uint32_t> value_sizes;
	for (const ParsedMap &m : parsed.maps)
		value_sizes[m.info.name] = m.info.value_size;
	std::map<std::string, std::pair<std::string, int>> first_ref;
	for (const ParsedProgram &prog : parsed.programs) {
		auto fn = view.functions.find(prog.name);
		if (fn == view.functions.end())
			throw SystemError(report.object + ": no symbol for program " + prog.name);
		auto rel = view.relocs.find(fn->second.first);
		ProgramCheck check(prog.name, prog.insns,
				   rel != view.relocs.end() ? rel->second : kNoRelocs, fn->second.second,
				   options, value_sizes, report.findings);
		if (prog.type != BPF_PROG_TYPE_XDP && options.policies)
			report.findings.push_back({std::string(rule::verdict), prog.name, -1, "",
						   "not an XDP program: ovx offloads XDP only"});
		check.run();
		report.programs.push_back(
			{prog.name, prog.section, prog.insns.size(), check.nfp_length, check.stack_bytes});
		for (const auto &[map, insn] : check.map_refs)
			first_ref.try_emplace(map, prog.name, insn);
	}
	check_maps(parsed.maps, first_ref, options.caps, report);
	std::stable_sort(report.findings.begin(), report.findings.end(), [](const Finding &a, const Finding &b) {
		return std::tie(a.program, a.insn) < std::tie(b.program, b.insn);
	});
	return report;
}

std::vector<Finding> check_instructions(std::string program, std::span<const std::uint8_t> code,
					const Options &options)
{
	const auto insns = bytes_as<bpf_insn>(code);
	std::vector<Finding> findings;
	const std::map<std::string, std::uint32_t> no_maps;
	ProgramCheck(std::move(program), insns, kNoRelocs, 0, options, no_maps, findings).run();
	return findings;
}

Report check_file(const std::string &path, const Options &options)
{
	try {
		const std::string bytes = read_regular_file(path, kMaxObjectBytes);
		return check_object(path, {reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size()},
				    options);
	} catch (const FileError &e) {
		throw SystemError(path + ": " + e.what());
	}
}

} // namespace ovx::offload
