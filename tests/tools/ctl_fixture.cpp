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

void CtlFixture::seed_everything() const {
    REQUIRE(ctl({"ca", "init", "--ca-dir", (dir / "ca").string()}).exit_code == 0);
    REQUIRE(ctl({"config", "set", "host", "ms1:8250,ms2:8250"}).exit_code == 0);
    REQUIRE(ctl({"config", "set", "indirect.agent.lb.algorithm", "roundrobin"}).exit_code == 0);
    REQUIRE(
        ctl({"config", "set", "--zone", "east", "--cluster", "c1", "indirect.agent.lb.algorithm", "shuffle"})
            .exit_code == 0);
    enrol("h1");
    enrol("h2", "east");
    enrol("h3");
    REQUIRE(ctl({"host", "set", "h3", "--cluster", "c7"}).exit_code == 0);
    {
        auto store = open();
        const std::int64_t now = util::unix_now();
        store->create_token(store::TokenSpec{"hash-again-h1", std::nullopt, "h1", now + 3600, now});
        store::IssueFn issue = [now](const store::HostRecord&) -> Result<store::IssuedCertificate> {
            return store::IssuedCertificate{"-----BEGIN CERTIFICATE-----\n", "serial-h1-again", now + 86400};
        };
        auto again =
            store->redeem_token(store::RedeemRequest{"hash-again-h1", "h1", std::nullopt, now}, issue);
        REQUIRE(again.ok());
        REQUIRE(again->re_enrolled);
    }
    REQUIRE(ctl({"host", "remove", "h2"}).exit_code == 0);
    REQUIRE(ctl({"token", "create", "--name", "h4", "--zone", "east", "--cluster", "c2"}).exit_code == 0);
    REQUIRE(ctl({"cert", "reissue", "h3"}).exit_code == 0);
    open()->record_server_certificate(
        "ms1", store::IssuedCertificate{"pem", "serial-ms1", util::unix_now() + 86400});
}

nlohmann::json read_back(const CtlFixture& f, const std::string& location) {
    nlohmann::json view;
    for (const auto& [name, command] :
         std::vector<std::pair<std::string, std::vector<std::string>>>{{"hosts", {"host", "list"}},
                                                                       {"config", {"config", "list"}},
                                                                       {"ca", {"ca", "show"}},
                                                                       {"certificates", {"cert", "list"}}}) {
        std::vector<std::string> argv{"--db", location, "--json"};
        argv.insert(argv.end(), command.begin(), command.end());
        const CommandResult result = f.ctl_raw(argv);
        INFO(name << ": " << result.err);
        REQUIRE(result.exit_code == 0);
        view[name] = nlohmann::json::parse(result.out);
    }
    auto store = store::open_store(location, store::OpenMode::existing);
    nlohmann::json certificates = nlohmann::json::array();
    for (const auto& certificate : store->list_certificates({})) {
        certificates.push_back({certificate.serial,
                                certificate.host_id,
                                certificate.host_name,
                                certificate.not_after,
                                certificate.revoked,
                                certificate.kind,
                                certificate.subject,
                                certificate.issuer,
                                certificate.issued_at});
    }
    view["certificates"] = certificates;
    view["revoked"] = store->revoked_serials();
    nlohmann::json tokens = nlohmann::json::array();
    for (const auto& token : store->export_contents().tokens) {
        tokens.push_back({token.spec.hash,
                          token.spec.zone.value_or("-"),
                          token.spec.name.value_or("-"),
                          token.spec.cluster.value_or("-"),
                          token.spec.expires_at,
                          token.spec.created_at,
                          token.used_at.value_or(-1),
                          token.spec.host_id.value_or(-1)});
    }
    view["tokens"] = tokens;
    const auto ca = store->ca_certificate();
    REQUIRE(ca);
    view["ca_certificate"] = {ca->first, ca->second};
    return view;
}

}  // namespace agentlb::test
