#pragma once

// What the enrollment machines' tests share: the time they start at, a
// request every store-free check lets through, and finding an action.

#include "common/protocol/enroll_client_machine.hpp"
#include "common/protocol/enroll_server_machine.hpp"
#include "common/wire/error_code.hpp"
#include "common/wire/frame.hpp"

#include <chrono>
#include <string>
#include <variant>

namespace agentlb::test::enroll {

inline const protocol::TimePoint t0 = protocol::TimePoint{} + std::chrono::seconds(1000);

inline std::string frame_of(const wire::Message& message) {
    return wire::encode_frame(wire::encode_message(message)).value();
}

// A request every store-free check lets through.
inline wire::EnrollRequest good_request() {
    wire::EnrollRequest request;
    request.token = std::string(43, 'A');
    request.csr = "-----BEGIN CERTIFICATE REQUEST-----\n...\n-----END CERTIFICATE REQUEST-----\n";
    request.name = "kvm1";
    request.zone = "z1";
    return request;
}

// The first action of type T, or null.
template <class T, class Actions>
const T* find(const Actions& actions) {
    for (const auto& action : actions) {
        if (const auto* found = std::get_if<T>(&action)) {
            return found;
        }
    }
    return nullptr;
}

}  // namespace agentlb::test::enroll
