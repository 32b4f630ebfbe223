#pragma once

// Runs the real agentlbctl against a store in a fresh temp folder, and seeds
// or inspects that store through its own API.

#include "common/store/store.hpp"
#include "common/util/clock.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace agentlb::test {

struct CtlFixture {
    TempDir dir;
    std::string db = (dir / "agentlb.db").string();

    // agentlbctl --db DB ARGS...
    CommandResult ctl(const std::vector<std::string>& args) const;
    // agentlbctl ARGS... (no --db), with extra environment.
    CommandResult ctl_raw(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env = {}) const;
    // agentlbctl --db DB --json ARGS..., checked to exit 0 and parsed.
    nlohmann::json ctl_json(const std::vector<std::string>& args) const;

    // A store object of the test's own; close it (let it go) before the CLI writes.
    std::unique_ptr<store::Store> open() const;

    // Enrols a host the way a server does: a token in the store, redeemed with
    // a stand-in certificate whose serial is "serial-NAME". Returns its id.
    std::int64_t enrol(const std::string& name, const std::string& zone = "") const;

    // Something of everything `db copy` moves, through the CLI where it can:
    // a CA (ca init into DIR/ca), two configuration keys and one set for
    // cluster c1 of zone east, hosts h1 (re-enrolled: serial-h1 revoked,
    // serial-h1-again current), h2 (zone east, removed: its serial revoked)
    // and h3 (cluster c7), one unused join token for h4 (zone east,
    // cluster c2), one from `cert reissue h3` (bound to h3's id) and the
    // certificate of server ms1 (serial-ms1).
    void seed_everything() const;
};

// What a store holds, read back through agentlbctl (host list, config list,
// ca show, as JSON) and the store's API (every certificate with its
// revocation, the revoked serials, the join tokens, the CA certificate), for
// comparing two stores.
nlohmann::json read_back(const CtlFixture& f, const std::string& location);

}  // namespace agentlb::test
