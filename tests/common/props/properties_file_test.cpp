#include "common/props/properties_file.hpp"

#include "common/util/atomic_file.hpp"
#include "tests/common/props/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <sys/stat.h>

using agentlb::props::PropertiesFile;
using agentlb::props::test::TempDir;
using agentlb::util::read_file;
using agentlb::util::write_file_atomically;
using Entries = std::vector<std::pair<std::string, std::string>>;

namespace {

PropertiesFile parse_ok(std::string_view text) {
    auto parsed = PropertiesFile::parse(text, "test.properties");
    INFO(text);
    REQUIRE(parsed.ok());
    return std::move(parsed).value();
}

}  // namespace

TEST_CASE("properties: round trip keeps comments, blank lines, unknown keys and order") {
    const std::string text =
        "# Written by CloudStack\n"
        "! bang comment\n"
        "   # indented comment\n"
        "\n"
        "workers=5\n"
        "host = 10.0.0.1,10.0.0.2@roundrobin\n"
        "   \t\n"
        "guid=6a1c-44\n"
        "resource=com.cloud.hypervisor.kvm.resource.LibvirtComputingResource\n"
        "empty=\n"
        "url=http://x/?a=b&c=d\n";
    PropertiesFile file = parse_ok(text);
    CHECK(file.serialize() == text);
    CHECK(file.get("host") == "10.0.0.1,10.0.0.2@roundrobin");
    CHECK(file.get("empty") == "");
    CHECK(file.get("url") == "http://x/?a=b&c=d");  // split at the first '=' only
    CHECK(file.get("missing") == std::nullopt);
    CHECK(file.entries() ==
          Entries{{"workers", "5"},
                  {"host", "10.0.0.1,10.0.0.2@roundrobin"},
                  {"guid", "6a1c-44"},
                  {"resource", "com.cloud.hypervisor.kvm.resource.LibvirtComputingResource"},
                  {"empty", ""},
                  {"url", "http://x/?a=b&c=d"}});
}

TEST_CASE("properties: keys and values are trimmed, no escape processing") {
    PropertiesFile file = parse_ok("  zone\t=  z1 \t\npath=C:\\temp\\n\ncont=a \\\n");
    CHECK(file.get("zone") == "z1");
    CHECK(file.get("path") == "C:\\temp\\n");
    CHECK(file.get("cont") == "a \\");  // no line continuation
}

TEST_CASE("properties: missing trailing newline is accepted, serialize adds it") {
    PropertiesFile file = parse_ok("a=1\n# last");
    CHECK(file.serialize() == "a=1\n# last\n");
    file = parse_ok("a=1");
    CHECK(file.serialize() == "a=1\n");
}

TEST_CASE("properties: empty text is a valid file with no entries") {
    PropertiesFile file = parse_ok("");
    CHECK(file.entries().empty());
    CHECK(file.serialize().empty());
    CHECK(PropertiesFile{}.serialize().empty());
}

TEST_CASE("properties: set replaces an existing value in place") {
    PropertiesFile file = parse_ok("# head\nhost = a,b\nzone=z\n# tail\n");
    file.set("host", "c,d@shuffle");
    CHECK(file.serialize() == "# head\nhost = c,d@shuffle\nzone=z\n# tail\n");
    CHECK(file.get("host") == "c,d@shuffle");

    file.set("zone", "");
    CHECK(file.serialize() == "# head\nhost = c,d@shuffle\nzone=\n# tail\n");
    file.set("zone", "z2");
    CHECK(file.serialize() == "# head\nhost = c,d@shuffle\nzone=z2\n# tail\n");
}

TEST_CASE("properties: set of an empty value line with trailing blanks drops the blanks") {
    PropertiesFile file = parse_ok("name=   \n");
    file.set("name", "h1");
    CHECK(file.serialize() == "name=h1\n");
}

TEST_CASE("properties: set of a new key appends key=value") {
    PropertiesFile file = parse_ok("a=1\n# end");
    file.set("b", "2");
    CHECK(file.serialize() == "a=1\n# end\nb=2\n");
    PropertiesFile empty;
    empty.set("host", "x");
    CHECK(empty.serialize() == "host=x\n");
    CHECK(empty.entries() == Entries{{"host", "x"}});
}

TEST_CASE("properties: erase removes the key's lines only") {
    PropertiesFile file = parse_ok("# c\na=1\nb=2\na=3\n\n");
    CHECK(file.erase("a"));
    CHECK(file.serialize() == "# c\nb=2\n\n");
    CHECK(file.get("a") == std::nullopt);
    CHECK_FALSE(file.erase("a"));
    CHECK_FALSE(file.erase("# c"));  // comments are not keys
    CHECK(file.serialize() == "# c\nb=2\n\n");
}

TEST_CASE("properties: duplicate keys, last one wins and both lines are kept") {
    PropertiesFile file = parse_ok("host=first\nzone=z\nhost=second\n");
    CHECK(file.get("host") == "second");
    CHECK(file.entries() == Entries{{"host", "second"}, {"zone", "z"}});

    file.set("host", "third");
    CHECK(file.serialize() == "host=first\nzone=z\nhost=third\n");
    CHECK(file.get("host") == "third");
}

TEST_CASE("properties: CRLF line endings are accepted") {
    PropertiesFile file = parse_ok("# c\r\na=1\r\n\r\nb = 2 \r\n");
    CHECK(file.get("a") == "1");
    CHECK(file.get("b") == "2");
    CHECK(file.serialize() == "# c\na=1\n\nb = 2 \n");
}

// Found by tests/fuzz (properties): "a=1\r\r\n" kept "1\r" as the value, and
// serialize() wrote "a=1\r\n", which reads back as "1".
TEST_CASE("properties: every CR before the line feed belongs to the line ending") {
    PropertiesFile file = parse_ok("a=1\r\r\nb=2\r\r");
    CHECK(file.entries() == Entries{{"a", "1"}, {"b", "2"}});
    CHECK(file.serialize() == "a=1\nb=2\n");
    CHECK(parse_ok(file.serialize()).entries() == file.entries());
}

TEST_CASE("properties: a line without '=' is refused with its line number") {
    auto parsed = PropertiesFile::parse("# c\na=1\ngarbage\nb=2\n", "agent.properties");
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error() == "agent.properties line 3: expected key=value, got \"garbage\"");

    parsed = PropertiesFile::parse("a=1\r\n\r\nbad\tline\r\n", "x");
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error() == "x line 3: expected key=value, got \"bad\\x09line\"");
}

TEST_CASE("properties: an empty key is refused with its line number") {
    auto parsed = PropertiesFile::parse("a=1\n  = value\n", "agent.properties");
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error() == "agent.properties line 2: empty key before '=', got \"  = value\"");
}

TEST_CASE("properties: long bad lines are cut in the error") {
    auto parsed = PropertiesFile::parse(std::string(500, 'x'), "p");
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error() == "p line 1: expected key=value, got \"" + std::string(80, 'x') + "...\"");
}

TEST_CASE("properties: set refuses pairs that would not read back the same") {
    PropertiesFile file;
    CHECK_THROWS_AS(file.set("", "v"), std::invalid_argument);
    CHECK_THROWS_AS(file.set("a=b", "v"), std::invalid_argument);
    CHECK_THROWS_AS(file.set(" a", "v"), std::invalid_argument);
    CHECK_THROWS_AS(file.set("#a", "v"), std::invalid_argument);
    CHECK_THROWS_AS(file.set("!a", "v"), std::invalid_argument);
    CHECK_THROWS_AS(file.set("a\nb", "v"), std::invalid_argument);
    CHECK_THROWS_AS(file.set("a", "x\nhost=evil"), std::invalid_argument);
    CHECK_THROWS_AS(file.set("a", "x\r"), std::invalid_argument);
    CHECK_THROWS_AS(file.set("a", std::string("x\0y", 3)), std::invalid_argument);
    CHECK_THROWS_AS(file.set("a", " x"), std::invalid_argument);
    CHECK(file.serialize().empty());
    file.set("a", "x = y");  // '=' inside a value is fine
    CHECK(parse_ok(file.serialize()).get("a") == "x = y");
}

TEST_CASE("properties: load reports a missing file with the system's reason") {
    TempDir dir;
    auto path = dir.path() / "agent.properties";
    auto loaded = PropertiesFile::load(path);
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.error() == "cannot read " + path.string() + ": No such file or directory");
}

TEST_CASE("properties: load of a folder is refused clearly") {
    TempDir dir;
    auto loaded = PropertiesFile::load(dir.path());
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.error() == "cannot read " + dir.path().string() + ": Is a directory");
}

TEST_CASE("properties: load of an empty file gives no entries") {
    TempDir dir;
    auto path = dir.path() / "agent.properties";
    REQUIRE(write_file_atomically(path, "").ok());
    auto loaded = PropertiesFile::load(path);
    REQUIRE(loaded.ok());
    CHECK(loaded->entries().empty());
}

TEST_CASE("properties: load names the file in syntax errors") {
    TempDir dir;
    auto path = dir.path() / "agent.properties";
    REQUIRE(write_file_atomically(path, "a=1\nnope\n").ok());
    auto loaded = PropertiesFile::load(path);
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.error() == path.string() + " line 2: expected key=value, got \"nope\"");
}

TEST_CASE("properties: save writes atomically with the mode and loads back") {
    TempDir dir;
    auto path = dir.path() / "agent.properties";
    const std::string text = "# keep me\nhost=a,b@static\nunknown.key = 42\n";
    REQUIRE(write_file_atomically(path, text).ok());

    auto loaded = PropertiesFile::load(path);
    REQUIRE(loaded.ok());
    loaded->set("host", "b,a@static");
    loaded->set("id", "7");
    REQUIRE(loaded->save(path, 0600).ok());

    auto content = read_file(path);
    REQUIRE(content.ok());
    CHECK(*content == "# keep me\nhost=b,a@static\nunknown.key = 42\nid=7\n");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(dir.names() == std::vector<std::string>{"agent.properties"});
}
