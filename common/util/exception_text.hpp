#pragma once

// co_spawn hands the exception that ended a coroutine (a bug) to its
// completion handler; this turns it into text for a log line instead of
// losing it.

#include <exception>
#include <optional>
#include <string>

namespace agentlb::util {

// The what() of `error`, or nothing when there is none. An exception not
// derived from std::exception is rethrown.
inline std::optional<std::string> exception_text(std::exception_ptr error) {
    if (!error) {
        return std::nullopt;
    }
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return std::string(e.what());
    }
}

}  // namespace agentlb::util
