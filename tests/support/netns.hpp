#pragma once

// Network namespaces for multi-machine integration tests: each "machine" is a
// namespace of its own, joined to the others through a bridge in a "switch"
// namespace by a veth pair, with addresses from 198.18.0.0/24 that exist only
// inside those namespaces (the root namespace never sees them).
//
// Names are unique per run (NetLab's prefix holds the test's pid), so
// parallel runs never clash, and a namespace left by a crashed run is removed
// by the next one (its pid is dead). Every object removes what it made when it
// goes away, also when a test fails.
//
//   std::string why = netns_unavailable();      // "" when namespaces work here
//   NetLab lab;                                 // "agentlb-nt-<pid>-<n>-"
//   Switch sw(lab.name("sw"));
//   Namespace a(lab.name("a")), b(lab.name("b"));
//   sw.plug(a, "198.18.0.1/24");
//   sw.plug(b, "198.18.0.2/24");
//   Process p(a.command({binary, ...}), log);   // runs inside `a`
//   auto code = b.enter([] { return http_get(8252, "/healthz").status; });
//   a.link_down();                              // a's cable pulled

#include "tests/support/process.hpp"

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::test {

// Why this process cannot make network namespaces ("" when it can): no
// iproute2, not root / no CAP_NET_ADMIN, or a kernel without them. Tries once
// (adds and removes a probe namespace) and remembers the answer.
std::string netns_unavailable();

// What a test prints when it cannot run here; CTest reports a test whose
// output holds this marker as skipped (SKIP_REGULAR_EXPRESSION in
// tests/CMakeLists.txt), not passed.
inline constexpr const char* kSkipMarker = "AGENTLB_TEST_SKIPPED";
void report_skipped(const std::string& what, const std::string& reason);

// The iproute2 binary ("" when absent).
std::string ip_binary();

// Runs `ip ARGS...`; throws std::runtime_error with ip's stderr on failure.
void run_ip(const std::vector<std::string>& args);

// One test's share of namespace names: "agentlb-nt-<pid>-<n>-". Making one
// first removes namespaces of earlier runs whose process is gone (killing
// what still runs inside them, such as a PostgreSQL that outlived its test).
class NetLab {
public:
    NetLab();
    const std::string& prefix() const { return prefix_; }
    std::string name(const std::string& role) const { return prefix_ + role; }

    static constexpr const char* kFamily = "agentlb-nt-";
    // Removes every namespace of the family whose creating pid is dead;
    // returns how many it removed.
    static int remove_stale();

private:
    std::string prefix_;
};

class Namespace {
public:
    // `ip netns add NAME` with its loopback up; throws with ip's reason.
    explicit Namespace(std::string name);
    // Kills what still runs inside (by pid) and deletes it.
    ~Namespace();
    Namespace(const Namespace&) = delete;
    Namespace& operator=(const Namespace&) = delete;

    const std::string& name() const { return name_; }

    // `argv` run inside this namespace (`ip netns exec NAME argv...`; ip
    // execs the program, so a Process on it holds the program's own pid).
    std::vector<std::string> command(const std::vector<std::string>& argv) const;
    // `ip -n NAME ARGS...`; throws on failure.
    void ip(const std::vector<std::string>& args) const;
    // A short command inside, to completion.
    CommandResult run(const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

    // Runs `fn` on a thread that joined this namespace, and waits for it:
    // sockets `fn` opens live here (a 127.0.0.1 is this namespace's own
    // loopback). Exceptions are carried back. Never start a Process inside
    // `fn`: it would be killed with the thread (PR_SET_PDEATHSIG).
    template <class F>
    auto enter(F fn) const -> decltype(fn()) {
        std::optional<decltype(fn())> result;
        enter_void([&] { result.emplace(fn()); });
        return std::move(*result);
    }
    void enter_void(const std::function<void()>& fn) const;

    // The namespace's uplink (eth0, made by Switch::plug) down or up again:
    // its cable pulled and put back.
    void link_down() const;
    void link_up() const;

    // Packets from here to `address` are dropped silently (a blackhole
    // route, more specific than the link's), as a firewall between two
    // machines would; everything else still flows. undrop() removes it.
    void drop_to(const std::string& address) const;
    void undrop(const std::string& address) const;

private:
    std::string name_;
};

// A bridge in a namespace of its own: the switch every machine plugs into.
class Switch {
public:
    explicit Switch(std::string name);
    // Joins `machine` to the bridge: a veth pair, "eth0" inside `machine`
    // with `cidr` (e.g. "198.18.0.1/24"), its peer a bridge port here.
    void plug(const Namespace& machine, const std::string& cidr);
    const Namespace& ns() const { return ns_; }

private:
    Namespace ns_;
    int ports_ = 0;
};

}  // namespace agentlb::test
