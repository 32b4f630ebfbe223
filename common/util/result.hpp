#pragma once

// A value or a human-readable reason why there is none.
//
// Used for input that an operator or a file can get wrong (config values,
// properties files, host lists): the caller must look at the outcome, and the
// reason is written to be shown to a person as it is. Failures caused by the
// network or a peer use boost::system::error_code instead; bugs throw.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace agentlb {

struct Failure {
    std::string reason;
};

inline Failure fail(std::string reason) {
    return Failure{std::move(reason)};
}

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Result(Failure failure) : state_(std::in_place_index<1>, std::move(failure)) {}

    bool ok() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & {
        assert(ok());
        return std::get<0>(state_);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(state_);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(state_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const std::string& error() const {
        assert(!ok());
        return std::get<1>(state_).reason;
    }

private:
    std::variant<T, Failure> state_;
};

// For operations that produce nothing but can be refused.
struct Done {};
using Status = Result<Done>;
inline Status success() {
    return Done{};
}

}  // namespace agentlb
