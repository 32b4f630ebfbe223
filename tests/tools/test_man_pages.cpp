// The man pages help2man made at build time (tools/packaging/ManPages.cmake):
// each is there, `man -l` renders it, and it names every option the
// program's own --help lists.

#include "tests/support/process.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>

using namespace agentlb::test;

namespace {

// "--name" at the start of a line of PROGRAM --help (after spaces): the options.
std::set<std::string> options_in_help(const std::string& program) {
    const CommandResult help =
        run_command({program, "--help"}, std::chrono::seconds(10), {{"AGENTLB_DB", ""}});
    REQUIRE(help.exit_code == 0);
    std::set<std::string> options;
    const std::regex option(R"(^ +(--[a-z][a-z0-9-]*))");
    std::istringstream in(help.out);
    for (std::string line; std::getline(in, line);) {
        std::smatch match;
        if (std::regex_search(line, match, option)) {
            options.insert(match[1]);
        }
    }
    return options;
}

// Configured with -DAGENTLB_MAN_PAGES=OFF: no pages to check, said so.
bool pages_built() {
    if (AGENTLB_MAN_PAGES_BUILT == 0) {
        std::cout << "AGENTLB_TEST_SKIPPED: man pages off (-DAGENTLB_MAN_PAGES=OFF)\n";
        return false;
    }
    return true;
}

}  // namespace

TEST_CASE("man pages are built for the three programs and render with every option of their --help") {
    if (!pages_built()) {
        return;
    }
    const std::filesystem::path bin = std::filesystem::path(AGENTLBCTL_PATH).parent_path();
    struct Page {
        std::string program;
        std::string file;
    };
    for (const Page& page : {Page{"agentlbctl", "agentlbctl.1.gz"},
                             Page{"agentlb-mgmt", "agentlb-mgmt.8.gz"},
                             Page{"agentlb-agent", "agentlb-agent.8.gz"}}) {
        INFO(page.file);
        const std::filesystem::path path = std::filesystem::path(AGENTLB_MAN_DIR) / page.file;
        REQUIRE(std::filesystem::exists(path));
        // man-db, not a terminal: plain text, no pager, no bold overstrikes.
        const CommandResult rendered =
            run_command({"/usr/bin/man", "-l", path.string()},
                        std::chrono::seconds(20),
                        {{"MANPAGER", "cat"}, {"PAGER", "cat"}, {"MANWIDTH", "200"}});
        INFO(rendered.err);
        REQUIRE(rendered.exit_code == 0);
        CHECK(rendered.err.empty());
        CHECK_THAT(rendered.out, Catch::Contains("NAME\n       " + page.program + " - "));
        CHECK_THAT(rendered.out, Catch::Contains("SEE ALSO"));
        const auto options = options_in_help((bin / page.program).string());
        CHECK(options.count("--help") == 1);
        CHECK(options.count("--version") == 1);
        for (const std::string& option : options) {
            INFO(option);
            CHECK_THAT(rendered.out, Catch::Contains(option));
        }
    }
}

TEST_CASE("the man pages are gzip'd troff that groff reads without warnings") {
    if (!pages_built()) {
        return;
    }
    for (const char* file : {"agentlbctl.1.gz", "agentlb-mgmt.8.gz", "agentlb-agent.8.gz"}) {
        INFO(file);
        const std::string path = (std::filesystem::path(AGENTLB_MAN_DIR) / file).string();
        // zcat | groff -ww: every warning on; -z: check only.
        const CommandResult checked =
            run_command({"/bin/sh", "-c", "zcat \"$1\" | groff -man -Tutf8 -ww -z", "check", path});
        INFO(checked.err);
        CHECK(checked.exit_code == 0);
        CHECK(checked.err.empty());
    }
}
