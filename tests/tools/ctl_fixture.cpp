#include "tests/tools/ctl_fixture.hpp"

#include "common/util/clock.hpp"

#include <catch2/catch.hpp>

#include <chrono>

namespace agentlb::test {

CommandResult CtlFixture::ctl_raw(const std::vector<std::string>& args,
                                  const std::map<std::string, std::string>& env) const {
    std::vector<std::string> argv{AGENTLBCTL_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    // An AGENTLB_DB from the developer's shell must not point the tests elsewhere.
    std::map<std::string, std::string> environment{{"AGENTLB_DB", ""}};
    for (const auto& [name, value] : env) {
        environment[name] = value;
    }
    return run_command(argv, std::chrono::seconds(20), environment);
}

CommandResult CtlFixture::ctl(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{"--db", db};
    argv.insert(argv.end(), args.begin(), args.end());
    return ctl_raw(argv);
}

nlohmann::json CtlFixture::ctl_json(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{"--db", db, "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    const CommandResult result = ctl_raw(argv);
    INFO("stderr: " << result.err);
    REQUIRE(result.exit_code == 0);
    return nlohmann::json::parse(result.out);
}

std::unique_ptr<store::Store> CtlFixture::open() const {
    return store::open_sqlite_store(db, store::OpenMode::create);
}

std::int64_t CtlFixture::enrol(const std::string& name, const std::string& zone) const {
    auto store = open();
    const std::int64_t now = util::unix_now();
    const std::string hash = "hash-of-token-for-" + name;
    store->create_token(store::TokenSpec{hash, std::nullopt, std::nullopt, now + 3600, now});
    store::IssueFn issue = [&name, now](const store::HostRecord&) -> Result<store::IssuedCertificate> {
        return store::IssuedCertificate{"-----BEGIN CERTIFICATE-----\n", "serial-" + name, now + 86400};
    };
    store::RedeemRequest request{
        hash, name, zone.empty() ? std::nullopt : std::optional<std::string>(zone), now};
    auto enrolled = store->redeem_token(request, issue);
    INFO(name << ": " << (enrolled.ok() ? "" : enrolled.error()));
    REQUIRE(enrolled.ok());
    return enrolled->host.id;
}

}  // namespace agentlb::test
