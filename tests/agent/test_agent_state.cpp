#include "agent/agent_state.hpp"
#include "common/util/atomic_file.hpp"
#include "tests/agent/agent_state_helpers.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <sys/stat.h>

using namespace agentlb;
using namespace agentlb::agent;
namespace fs = std::filesystem;
using namespace agentlb::agent::test;
using agentlb::test::TempDir;

namespace {

std::string read_text(const fs::path& path) {
    auto text = util::read_file(path);
    REQUIRE(text.ok());
    return *text;
}

}  // namespace

TEST_CASE("a missing properties file is valid and defaults sit beside it") {
    TempDir dir;
    const auto path = dir.path() / "agent.properties";
    auto state = load_ok(path);
    const auto& s = state.settings();
    CHECK(s.hosts.empty());
    CHECK_FALSE(s.has_list());
    CHECK(s.held_list().empty());
    CHECK(s.check_interval == 0);
    CHECK_FALSE(s.id.has_value());
    CHECK(s.key_file == dir.path() / "agent.key");
    CHECK(s.cert_file == dir.path() / "agent.crt");
    CHECK(s.ca_file == dir.path() / "ca.crt");
    CHECK_FALSE(fs::exists(path));  // loading creates nothing
}

TEST_CASE("an empty properties file is valid") {
    TempDir dir;
    const auto path = dir.path() / "agent.properties";
    auto state = write_and_load(path, "");
    CHECK(state.settings().hosts.empty());
}

TEST_CASE("every agent key is read into the settings") {
    TempDir dir;
    const auto path = dir.path() / "agent.properties";
    auto state = write_and_load(path,
                                "# managed by agentlb\n"
                                "host=m1,m2:9000,m3@roundrobin\n"
                                "host.lb.check.interval=30\n"
                                "zone=z1\n"
                                "name=kvm-7\n"
                                "id=7\n"
                                "tls.key.file=keys/my.key\n"
                                "tls.cert.file=/opt/certs/my.crt\n"
                                "guid=unrelated\n");
    const auto& s = state.settings();
    CHECK(s.hosts == std::vector<std::string>{"m1", "m2:9000", "m3"});
    CHECK(s.algorithm == "roundrobin");
    CHECK(s.held_list() == "m1,m2:9000,m3@roundrobin");
    CHECK(s.check_interval == 30);
    CHECK(s.zone == "z1");
    CHECK(s.name == "kvm-7");
    CHECK(s.id == std::optional<std::int64_t>(7));
    CHECK(s.key_file == dir.path() / "keys" / "my.key");
    CHECK(s.cert_file == fs::path("/opt/certs/my.crt"));
    CHECK(s.ca_file == dir.path() / "ca.crt");
}

TEST_CASE("a host value without an algorithm holds the list and no algorithm") {
    auto file = props::PropertiesFile::parse("host=a,b\n", "t");
    REQUIRE(file.ok());
    auto s = settings_from_properties(*file, "/etc/agentlb/agent.properties");
    REQUIRE(s.ok());
    // The agent connects with the list; its hello reports no algorithm, so
    // the server sends the correction.
    CHECK(s->hosts == std::vector<std::string>{"a", "b"});
    CHECK(s->algorithm.empty());
    CHECK(s->has_list());
    CHECK(s->held_list() == "a,b");
    CHECK(s->key_file == fs::path("/etc/agentlb/agent.key"));
}

TEST_CASE("a corrupt properties file is refused with the key or line named") {
    TempDir dir;
    const auto path = dir.path() / "agent.properties";
    SECTION("bad host list") {
        write_text(path, "host=a,,b@static\n");
        auto state = AgentStateFile::load(path);
        REQUIRE_FALSE(state.ok());
        CHECK_THAT(state.error(), Catch::Contains("host") && Catch::Contains(path.string()));
    }
    SECTION("duplicate entries") {
        write_text(path, "host=a,a:8250@static\n");
        REQUIRE_FALSE(AgentStateFile::load(path).ok());
    }
    SECTION("negative interval") {
        write_text(path, "host=a@static\nhost.lb.check.interval=-5\n");
        auto state = AgentStateFile::load(path);
        REQUIRE_FALSE(state.ok());
        CHECK_THAT(state.error(), Catch::Contains("host.lb.check.interval") && Catch::Contains("-5"));
    }
    SECTION("bad id") {
        write_text(path, "id=seven\n");
        auto state = AgentStateFile::load(path);
        REQUIRE_FALSE(state.ok());
        CHECK_THAT(state.error(), Catch::Contains("id"));
    }
    SECTION("a zone over 256 bytes") {
        write_text(path, "zone=" + std::string(257, 'z') + "\n");
        auto state = AgentStateFile::load(path);
        REQUIRE_FALSE(state.ok());
        CHECK_THAT(state.error(),
                   Catch::Contains(path.string() + ": zone: zone \"") &&
                       Catch::Contains("257 bytes long; at most 256"));
        write_text(path, "zone=" + std::string(256, 'z') + "\n");
        CHECK(AgentStateFile::load(path).ok());
    }
    SECTION("a zone with a space") {
        write_text(path, "zone=east 1\n");
        auto state = AgentStateFile::load(path);
        REQUIRE_FALSE(state.ok());
        CHECK_THAT(state.error(), Catch::Contains("zone: zone \"east 1\" contains a space"));
    }
    SECTION("a name no enrolment writes") {
        write_text(path, "name=kvm 1\n");
        auto state = AgentStateFile::load(path);
        REQUIRE_FALSE(state.ok());
        CHECK_THAT(state.error(), Catch::Contains(path.string() + ": name: \"kvm 1\" is not a host name"));
        write_text(path, "name=" + std::string(65, 'n') + "\n");
        CHECK_FALSE(AgentStateFile::load(path).ok());
    }
    SECTION("a name enrolled before the RFC 1123 rule keeps working") {
        write_text(path, "name=kvm_1\n");
        CHECK(AgentStateFile::load(path).ok());
    }
    SECTION("a line that is not key=value") {
        write_text(path, "host=a@static\nthis is garbage\n");
        auto state = AgentStateFile::load(path);
        REQUIRE_FALSE(state.ok());
        CHECK_THAT(state.error(), Catch::Contains("line 2"));
    }
}

TEST_CASE("saving a list keeps comments and unknown keys") {
    TempDir dir;
    const auto path = dir.path() / "agent.properties";
    auto state = write_and_load(
        path, "# operator notes\nguid=abc\nhost=m1@static\nresource=LibvirtComputingResource\n");
    REQUIRE(state.save_list(ListUpdate{{{"m2", "m3", "m1"}, "roundrobin"}, 5}).ok());
    CHECK(read_text(path) ==
          "# operator notes\nguid=abc\nhost=m2,m3,m1@roundrobin\nresource=LibvirtComputingResource\n"
          "host.lb.check.interval=5\n");
    CHECK(state.settings().hosts == std::vector<std::string>{"m2", "m3", "m1"});
    CHECK(state.settings().check_interval == 5);

    auto again = AgentStateFile::load(path);
    REQUIRE(again.ok());
    CHECK(again->settings().held_list() == "m2,m3,m1@roundrobin");
}

TEST_CASE("saving keeps the file's mode") {
    TempDir dir;
    const auto path = dir.path() / "agent.properties";
    REQUIRE(util::write_file_atomically(path, "host=a@static\n", 0640).ok());
    auto state = load_ok(path);
    REQUIRE(state.save_list(ListUpdate{{{"b"}, "static"}, 0}).ok());
    struct ::stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
}

TEST_CASE("enrolment creates the properties file with every key") {
    TempDir dir;
    const auto path = dir.path() / "agent.properties";
    auto state = load_ok(path);
    REQUIRE(state.save_enrollment(EnrollmentRecord{4, "h4", "z1", ListUpdate{{{"m1", "m2"}, "static"}, 10}})
                .ok());
    auto again = AgentStateFile::load(path);
    REQUIRE(again.ok());
    const auto& s = again->settings();
    CHECK(s.id == std::optional<std::int64_t>(4));
    CHECK(s.name == "h4");
    CHECK(s.zone == "z1");
    CHECK(s.held_list() == "m1,m2@static");
    CHECK(s.check_interval == 10);
}

TEST_CASE("enrolment without a host list stores no host key") {
    TempDir dir;
    const auto path = dir.path() / "agent.properties";
    auto state = load_ok(path);
    REQUIRE(state.save_enrollment(EnrollmentRecord{1, "h1", "default", ListUpdate{{{}, "static"}, 0}}).ok());
    CHECK_FALSE(state.properties().get("host").has_value());
    CHECK(state.settings().hosts.empty());
}

TEST_CASE("a failed save leaves the file and the settings unchanged") {
    TempDir dir;
    const auto path = dir.path() / "agent.properties";
    auto state = write_and_load(path, "host=m1,m2@static\n");
    auto step =
        GENERATE(util::AtomicWriteStep::write, util::AtomicWriteStep::fsync, util::AtomicWriteStep::rename);
    state.set_write_hooks({[step](util::AtomicWriteStep s) { return s != step; }});
    auto saved = state.save_list(ListUpdate{{{"m2", "m1"}, "roundrobin"}, 3});
    REQUIRE_FALSE(saved.ok());
    CHECK(state.settings().held_list() == "m1,m2@static");
    CHECK(state.properties().get("host") == std::optional<std::string>("m1,m2@static"));
    CHECK(read_text(path) == "host=m1,m2@static\n");
    std::vector<std::string> names;  // no temp file left behind
    for (const auto& entry : fs::directory_iterator(dir.path())) {
        names.push_back(entry.path().filename().string());
    }
    CHECK(names == std::vector<std::string>{"agent.properties"});
}

TEST_CASE("a save into a missing folder fails without changing the settings") {
    TempDir dir;
    const auto path = dir.path() / "missing-folder" / "agent.properties";
    auto state = load_ok(path);
    REQUIRE_FALSE(state.save_list(ListUpdate{{{"m1"}, "static"}, 0}).ok());
    CHECK(state.settings().hosts.empty());
}

TEST_CASE("lists the agent could not read back are refused") {
    CHECK(validate_list_update(ListUpdate{{{"m1", "m2:9000"}, "shuffle"}, 0}).ok());
    CHECK_FALSE(validate_list_update(ListUpdate{{{}, "static"}, 0}).ok());
    CHECK_FALSE(validate_list_update(ListUpdate{{{"m1", "m1:8250"}, "static"}, 0}).ok());
    CHECK_FALSE(validate_list_update(ListUpdate{{{"m1", ""}, "static"}, 0}).ok());
    CHECK_FALSE(validate_list_update(ListUpdate{{{" m1"}, "static"}, 0}).ok());
    CHECK_FALSE(validate_list_update(ListUpdate{{{"m1:0"}, "static"}, 0}).ok());
    CHECK_FALSE(validate_list_update(ListUpdate{{{"m1"}, ""}, 0}).ok());
    CHECK_FALSE(validate_list_update(ListUpdate{{{"m1"}, "a@b"}, 0}).ok());
    CHECK_FALSE(validate_list_update(ListUpdate{{{"m1"}, "static"}, -1}).ok());
    // The bounds of `agentlbctl config set`: one year at most.
    CHECK(validate_list_update(ListUpdate{{{"m1"}, "static"}, 31536000}).ok());
    auto huge = validate_list_update(ListUpdate{{{"m1"}, "static"}, std::int64_t{1} << 62});
    REQUIRE_FALSE(huge.ok());
    CHECK_THAT(huge.error(), Catch::Contains("out of range"));
    auto odd = validate_list_update(ListUpdate{{{"m1"}, "st\x1b[0m"}, 0});
    REQUIRE_FALSE(odd.ok());
    CHECK_THAT(odd.error(), Catch::Contains("st\\x1b[0m"));
}

TEST_CASE("temporary files of an interrupted write are removed, nothing else") {
    TempDir dir;
    const auto path = dir.path() / "agent.properties";
    write_text(path, "host=a@static\n");
    write_text(dir.path() / ".agent.properties.tmp-Ab12Cd", "host=half");
    write_text(dir.path() / ".agent.properties.tmp-Zz99Yy", "");
    write_text(dir.path() / ".other.properties.tmp-Ab12Cd", "keep");
    write_text(dir.path() / "agent.properties.bak", "keep");
    CHECK(remove_stale_temp_files(path) == 2);
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir.path())) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{
                       ".other.properties.tmp-Ab12Cd", "agent.properties", "agent.properties.bak"});
    CHECK(remove_stale_temp_files(dir.path() / "missing" / "agent.properties") == 0);
}

TEST_CASE("enroll.port names the servers' enrollment port, 8251 when absent") {
    TempDir dir;
    const auto path = dir.path() / "agent.properties";
    CHECK(load_ok(path).settings().enroll_port == 8251);
    CHECK(write_and_load(path, "enroll.port=18251\n").settings().enroll_port == 18251);
    for (const std::string bad : {"0", "65536", "-1", "port", "8251x"}) {
        INFO(bad);
        write_text(path, "enroll.port=" + bad + "\n");
        auto state = AgentStateFile::load(path);
        REQUIRE_FALSE(state.ok());
        CHECK_THAT(state.error(),
                   Catch::Contains("enroll.port") && Catch::Contains("is not a port (1 to 65535)"));
    }
}
