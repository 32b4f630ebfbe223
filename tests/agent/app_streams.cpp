#include "tests/agent/app_streams.hpp"

#include <algorithm>
#include <stdexcept>

namespace agentlb::test {

client::Frame local_frame(client::FrameKind kind,
                          std::string peer,
                          std::uint64_t epoch,
                          std::uint64_t sequence,
                          std::string payload,
                          std::uint64_t reply_to) {
    client::Frame frame;
    frame.kind = kind;
    frame.peer = std::move(peer);
    frame.epoch = epoch;
    frame.sequence = sequence;
    if (kind == client::FrameKind::message) {
        frame.floor = sequence;
        frame.reply_to = reply_to;
    }
    frame.payload = std::move(payload);
    return frame;
}

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

namespace {

client::ClientSettings quick_resends() {
    using namespace std::chrono_literals;
    client::ClientSettings settings;
    settings.resend_after = 300ms;
    return settings;
}

}  // namespace

TwoWayStreams::TwoWayStreams(const std::string& app_socket, const std::string& host_socket, std::string host)
    : host_(std::move(host)),
      app_(app_socket, "cloudstack", quick_resends()),
      host_client_(host_socket, "kvm-agent", quick_resends()) {}

void TwoWayStreams::send_phase(int phase) {
    for (int i = 0; i < kPerPhase; ++i) {
        to_host_.push_back("command " + std::to_string(phase) + "." + std::to_string(i));
        to_app_.push_back("answer " + std::to_string(phase) + "." + std::to_string(i));
        if (!app_.send(host_, to_host_.back(), "text/plain") ||
            !host_client_.send("cloudstack", to_app_.back(), "text/plain")) {
            throw std::runtime_error("a client refused a message: too many unacknowledged");
        }
    }
}

bool TwoWayStreams::through(std::chrono::milliseconds timeout) {
    return pump_until(
        [this] {
            return at_host().size() >= to_host_.size() && at_app().size() >= to_app_.size() &&
                   all_delivered(app_events_, to_host_.size()) && all_delivered(host_events_, to_app_.size());
        },
        timeout);
}

void TwoWayStreams::pump_for(std::chrono::milliseconds duration) {
    pump_until([] { return false; }, duration);
}

bool TwoWayStreams::pump_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    return pump(app_, app_events_, host_client_, host_events_, done, timeout);
}

bool TwoWayStreams::any_given_up() const {
    return test::any_given_up(app_events_) || test::any_given_up(host_events_);
}

}  // namespace agentlb::test
