#include "tests/agent/app_streams.hpp"

#include <algorithm>

namespace agentlb::test {

bool pump(client::Client& a,
          std::vector<client::Event>& a_events,
          client::Client& b,
          std::vector<client::Event>& b_events,
          const std::function<bool()>& done,
          std::chrono::milliseconds timeout) {
    using namespace std::chrono_literals;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        for (auto& event : a.poll(10ms)) {
            a_events.push_back(std::move(event));
        }
        for (auto& event : b.poll(10ms)) {
            b_events.push_back(std::move(event));
        }
    }
    return true;
}

std::vector<std::string> payloads_of(const std::vector<client::Event>& events, const std::string& from) {
    std::vector<std::string> out;
    for (const auto& event : events) {
        if (event.kind == client::Event::Kind::message && event.peer == from) {
            out.push_back(event.payload);
        }
    }
    return out;
}

bool all_delivered(const std::vector<client::Event>& events, std::uint64_t up_to) {
    return std::any_of(events.begin(), events.end(), [&](const client::Event& e) {
        return e.kind == client::Event::Kind::delivered && e.sequence >= up_to;
    });
}

bool any_given_up(const std::vector<client::Event>& events) {
    return std::any_of(events.begin(), events.end(), [](const client::Event& e) {
        return e.kind == client::Event::Kind::given_up;
    });
}

}  // namespace agentlb::test
