#pragma once

// Finds statements that hold both a `co_await` (or `co_yield`) and a
// conditional operator. GCC 12 constructs and destroys the class-type
// temporaries of such a statement wrongly (both branches built, one destroyed
// twice: GCC PR 100611 and relatives), which once let a single bad frame
// abort agentlb-mgmt. The rule is kept simple on purpose: bind the operands
// to named locals first, then await.

#include <string>
#include <string_view>
#include <vector>

namespace agentlb::lint {

struct Finding {
    int line = 0;  // 1-based line of the statement's `co_await`
    std::string statement;
};

// `source` with comments and the contents of string and character literals
// (raw strings included) replaced by blanks; line breaks are kept, so line
// numbers stay right.
std::string blank_comments_and_literals(std::string_view source);

// Every statement of `source` (split at `;`, `{` and `}`) that holds both a
// coroutine operator and `?`.
std::vector<Finding> await_with_conditional(std::string_view source);

// Every `while` whose condition awaits (`while (co_await next())`). GCC 12
// miscompiles it: agentlb-mgmt died at its first timer tick when three
// loops were written so. Await into a named local inside the loop instead.
std::vector<Finding> await_in_loop_condition(std::string_view source);

}  // namespace agentlb::lint
