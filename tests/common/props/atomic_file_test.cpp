#include "common/util/atomic_file.hpp"

#include "tests/common/props/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sys/stat.h>

using agentlb::props::test::TempDir;
using agentlb::util::AtomicWriteHooks;
using agentlb::util::AtomicWriteStep;
using agentlb::util::read_file;
using agentlb::util::write_file_atomically;
using Names = std::vector<std::string>;

namespace {

::mode_t mode_of(const std::filesystem::path& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

std::string content_of(const std::filesystem::path& path) {
    auto content = read_file(path);
    REQUIRE(content.ok());
    return *content;
}

AtomicWriteHooks fail_at(AtomicWriteStep failing) {
    return AtomicWriteHooks{[failing](AtomicWriteStep step) { return step != failing; }};
}

// Restores the process umask when a test changed it.
class UmaskGuard {
public:
    explicit UmaskGuard(::mode_t mask) : old_(::umask(mask)) {}
    ~UmaskGuard() { ::umask(old_); }

private:
    ::mode_t old_;
};

}  // namespace

TEST_CASE("atomic_file: writes a new file with the content and mode, no temp left") {
    TempDir dir;
    auto path = dir.path() / "agent.key";
    REQUIRE(write_file_atomically(path, "secret\n", 0600).ok());
    CHECK(content_of(path) == "secret\n");
    CHECK(mode_of(path) == 0600);
    CHECK(dir.names() == Names{"agent.key"});
}

TEST_CASE("atomic_file: the mode is exact, the umask is not applied") {
    TempDir dir;
    UmaskGuard guard(077);
    REQUIRE(write_file_atomically(dir.path() / "a", "x", 0644).ok());
    CHECK(mode_of(dir.path() / "a") == 0644);
    REQUIRE(write_file_atomically(dir.path() / "b", "x").ok());
    CHECK(mode_of(dir.path() / "b") == 0644);  // the default
}

TEST_CASE("atomic_file: replaces an existing file, content and mode") {
    TempDir dir;
    auto path = dir.path() / "agent.properties";
    REQUIRE(write_file_atomically(path, std::string(100000, 'o'), 0644).ok());
    REQUIRE(write_file_atomically(path, "new=1\n", 0600).ok());
    CHECK(content_of(path) == "new=1\n");
    CHECK(mode_of(path) == 0600);
    CHECK(dir.names() == Names{"agent.properties"});
}

TEST_CASE("atomic_file: the mode is set before any content is written") {
    TempDir dir;
    auto path = dir.path() / "agent.key";
    bool checked = false;
    AtomicWriteHooks hooks{[&](AtomicWriteStep step) {
        if (step == AtomicWriteStep::write) {
            Names names = dir.names();
            REQUIRE(names.size() == 1);
            auto tmp = dir.path() / names[0];
            CHECK(names[0].rfind(".agent.key.tmp-", 0) == 0);
            CHECK(mode_of(tmp) == 0640);
            CHECK(std::filesystem::file_size(tmp) == 0);
            checked = true;
        }
        return true;
    }};
    REQUIRE(write_file_atomically(path, "key material", 0640, hooks).ok());
    CHECK(checked);
    CHECK(mode_of(path) == 0640);
}

TEST_CASE("atomic_file: hooks see every step in order") {
    TempDir dir;
    std::vector<AtomicWriteStep> seen;
    AtomicWriteHooks hooks{[&](AtomicWriteStep step) {
        seen.push_back(step);
        return true;
    }};
    REQUIRE(write_file_atomically(dir.path() / "f", "x", 0644, hooks).ok());
    CHECK(seen == std::vector<AtomicWriteStep>{AtomicWriteStep::create,
                                               AtomicWriteStep::set_mode,
                                               AtomicWriteStep::write,
                                               AtomicWriteStep::fsync,
                                               AtomicWriteStep::close,
                                               AtomicWriteStep::rename,
                                               AtomicWriteStep::fsync_dir});
}

TEST_CASE("atomic_file: a failure before the rename leaves the old file byte-identical") {
    struct Case {
        AtomicWriteStep step;
        std::string message_start;
    };
    auto c = GENERATE(Case{AtomicWriteStep::create, "cannot create a temporary file in "},
                      Case{AtomicWriteStep::set_mode, "cannot set the mode of "},
                      Case{AtomicWriteStep::write, "cannot write "},
                      Case{AtomicWriteStep::fsync, "cannot fsync "},
                      Case{AtomicWriteStep::close, "cannot close "},
                      Case{AtomicWriteStep::rename, "cannot rename "});
    INFO("failing step: " << agentlb::util::to_string(c.step));

    TempDir dir;
    auto path = dir.path() / "agent.properties";
    const std::string old_content = std::string("host=a\0b\n", 9) + std::string(70000, 'z');
    REQUIRE(write_file_atomically(path, old_content, 0640).ok());

    auto status = write_file_atomically(path, "host=c\n", 0600, fail_at(c.step));
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().rfind(c.message_start, 0) == 0);
    CHECK_THAT(status.error(), Catch::Contains(path.string()));
    CHECK_THAT(status.error(), Catch::EndsWith("Input/output error"));
    CHECK(content_of(path) == old_content);
    CHECK(mode_of(path) == 0640);
    CHECK(dir.names() == Names{"agent.properties"});
}

TEST_CASE("atomic_file: a failure before the rename creates no target") {
    auto step = GENERATE(AtomicWriteStep::create,
                         AtomicWriteStep::set_mode,
                         AtomicWriteStep::write,
                         AtomicWriteStep::fsync,
                         AtomicWriteStep::close,
                         AtomicWriteStep::rename);
    TempDir dir;
    REQUIRE_FALSE(write_file_atomically(dir.path() / "new", "x", 0644, fail_at(step)).ok());
    CHECK(dir.names().empty());
}

TEST_CASE("atomic_file: a folder fsync failure reports that the content is in place") {
    TempDir dir;
    auto path = dir.path() / "agent.properties";
    REQUIRE(write_file_atomically(path, "old\n").ok());
    auto status = write_file_atomically(path, "new\n", 0644, fail_at(AtomicWriteStep::fsync_dir));
    REQUIRE_FALSE(status.ok());
    CHECK(status.error() ==
          "cannot fsync folder " + dir.path().string() + " after replacing " + path.string() +
              " (the new content is in place but may not survive a crash): Input/output error");
    CHECK(content_of(path) == "new\n");
    CHECK(dir.names() == Names{"agent.properties"});
}

TEST_CASE("atomic_file: a missing folder is reported") {
    TempDir dir;
    auto path = dir.path() / "nope" / "agent.properties";
    auto status = write_file_atomically(path, "x");
    REQUIRE_FALSE(status.ok());
    CHECK(status.error() == "cannot create a temporary file in " + (dir.path() / "nope").string() +
                                " (writing " + path.string() + "): No such file or directory");
}

TEST_CASE("atomic_file: a real rename failure removes the temp file and keeps the target") {
    TempDir dir;
    auto target = dir.path() / "occupied";
    std::filesystem::create_directory(target);
    std::ofstream(target / "inside") << "keep";
    auto status = write_file_atomically(target, "x");
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().rfind("cannot rename ", 0) == 0);
    CHECK(dir.names() == Names{"occupied"});
    CHECK(content_of(target / "inside") == "keep");
}

TEST_CASE("atomic_file: a path without a file name is refused") {
    TempDir dir;
    auto status = write_file_atomically(dir.path().string() + "/", "x");
    REQUIRE_FALSE(status.ok());
    CHECK_THAT(status.error(), Catch::Contains("names no file"));
    CHECK(dir.names().empty());
}

TEST_CASE("atomic_file: read_file returns the whole content, binary and large") {
    TempDir dir;
    std::string content;
    for (int i = 0; i < 100000; ++i) {
        content += static_cast<char>(i % 256);
    }
    REQUIRE(write_file_atomically(dir.path() / "blob", content).ok());
    CHECK(content_of(dir.path() / "blob") == content);
    REQUIRE(write_file_atomically(dir.path() / "empty", "").ok());
    CHECK(content_of(dir.path() / "empty").empty());
}

TEST_CASE("atomic_file: read_file errors name the path and the reason") {
    TempDir dir;
    auto missing = read_file(dir.path() / "missing");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error() ==
          "cannot read " + (dir.path() / "missing").string() + ": No such file or directory");

    auto folder = read_file(dir.path());
    REQUIRE_FALSE(folder.ok());
    CHECK(folder.error() == "cannot read " + dir.path().string() + ": Is a directory");

    auto fifo = dir.path() / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto from_fifo = read_file(fifo);  // must not block waiting for a writer
    REQUIRE_FALSE(from_fifo.ok());
    CHECK(from_fifo.error() == "cannot read " + fifo.string() + ": not a regular file");
}

TEST_CASE("atomic_file: read_file reports permission denied (as root: not a directory)") {
    if (::geteuid() == 0) {
        // root reads any file: the refusal cannot be provoked, so check the
        // message shape through a path that is not a folder instead.
        TempDir dir;
        REQUIRE(write_file_atomically(dir.path() / "file", "x").ok());
        auto result = read_file(dir.path() / "file" / "below");
        REQUIRE_FALSE(result.ok());
        CHECK(result.error() ==
              "cannot read " + (dir.path() / "file" / "below").string() + ": Not a directory");
        return;
    }
    TempDir dir;
    auto path = dir.path() / "locked";
    REQUIRE(write_file_atomically(path, "x", 0000).ok());
    auto result = read_file(path);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error() == "cannot read " + path.string() + ": Permission denied");
}

TEST_CASE("atomic_file: Overwrite::refuse keeps what is there and leaves no temp file") {
    TempDir dir;
    auto path = dir.path() / "ca.key";
    REQUIRE(write_file_atomically(path, "first", 0600, agentlb::util::Overwrite::refuse).ok());
    auto again = write_file_atomically(path, "second", 0600, agentlb::util::Overwrite::refuse);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error() == path.string() + " already exists; refusing to overwrite it");
    CHECK(content_of(path) == "first");
    CHECK(mode_of(path) == 0600);
    CHECK(dir.names() == Names{"ca.key"});

    // A failure of the final step cleans up the same way.
    auto failed = write_file_atomically(dir.path() / "new.key",
                                        "x",
                                        0600,
                                        agentlb::util::Overwrite::refuse,
                                        fail_at(AtomicWriteStep::rename));
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().rfind("cannot rename ", 0) == 0);
    CHECK(dir.names() == Names{"ca.key"});
}

TEST_CASE("atomic_file: paths are shown escaped in errors") {
    TempDir dir;
    auto path = dir.path() / "bad\nfolder" / "agent.properties";
    auto status = write_file_atomically(path, "x");
    REQUIRE_FALSE(status.ok());
    CHECK_THAT(status.error(), Catch::Contains("bad\\x0afolder") && !Catch::Contains("bad\nfolder"));

    auto read = read_file(dir.path() / "missing\x1b[31m");
    REQUIRE_FALSE(read.ok());
    CHECK(read.error() ==
          "cannot read " + dir.path().string() + "/missing\\x1b[31m: No such file or directory");
}

TEST_CASE("atomic_file: read_file refuses a file larger than max_bytes") {
    TempDir dir;
    auto path = dir.path() / "big";
    REQUIRE(write_file_atomically(path, std::string(100, 'x')).ok());
    CHECK(read_file(path, 100).ok());
    auto big = read_file(path, 50);
    REQUIRE_FALSE(big.ok());
    CHECK(big.error() == "cannot read " + path.string() + ": too large (100 bytes, at most 50 expected)");
}

TEST_CASE("atomic_file: rename_durably replaces the target and keeps the mode, or names both paths") {
    TempDir dir;
    REQUIRE(write_file_atomically(dir.path() / "agent.key.pending", "new\n", 0600).ok());
    REQUIRE(write_file_atomically(dir.path() / "agent.key", "old\n", 0600).ok());
    REQUIRE(agentlb::util::rename_durably(dir.path() / "agent.key.pending", dir.path() / "agent.key").ok());
    CHECK(content_of(dir.path() / "agent.key") == "new\n");
    CHECK(mode_of(dir.path() / "agent.key") == 0600);
    CHECK(dir.names() == Names{"agent.key"});

    auto missing = agentlb::util::rename_durably(dir.path() / "gone", dir.path() / "agent.key");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().find("gone") != std::string::npos);
    CHECK(missing.error().find("agent.key") != std::string::npos);
    CHECK(missing.error().find("No such file") != std::string::npos);
    CHECK(content_of(dir.path() / "agent.key") == "new\n");
}
