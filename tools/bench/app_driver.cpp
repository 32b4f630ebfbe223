#include "tools/bench/app_driver.hpp"

#include <algorithm>
#include <thread>

namespace agentlb::bench {

namespace {

using Clock = AppDriver::Clock;

// The longest a loop waits in poll(): short, so that the end of a phase and
// a paced send are not missed by much.
constexpr std::chrono::milliseconds kMaxPoll{10};

double ms_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace

void on_each(std::size_t count, const std::function<void(std::size_t)>& body) {
    std::vector<std::thread> threads;
    for (std::size_t c = 0; c < count; ++c) {
        threads.emplace_back(body, c);
    }
    for (auto& thread : threads) {
        thread.join();
    }
}

void AppPhase::add(const AppPhase& other) {
    commands += other.commands;
    acknowledged += other.acknowledged;
    answers += other.answers;
    refused += other.refused;
    rtt_ms.insert(rtt_ms.end(), other.rtt_ms.begin(), other.rtt_ms.end());
}

void AppTotals::add(const AppTotals& other) {
    commands += other.commands;
    answers += other.answers;
    duplicated += other.duplicated;
    reordered += other.reordered;
    mismatched += other.mismatched;
    given_up += other.given_up;
    unanswered += other.unanswered;
    unacknowledged += other.unacknowledged;
    if (first_disconnect.empty()) {
        first_disconnect = other.first_disconnect;
    }
    disconnects += other.disconnects;
}

AppDriver::AppDriver(AppDriverSettings settings)
    : settings_(std::move(settings)), client_(settings_.socket_path, settings_.name) {
    hosts_.reserve(settings_.hosts.size());
    for (const auto& name : settings_.hosts) {
        index_.emplace(name, hosts_.size());
        hosts_.push_back(Host{name, 1, 0, {}, {}});
    }
}

bool AppDriver::connect(Clock::time_point deadline) {
    while (!client_.connected() && Clock::now() < deadline) {
        poll_once(std::chrono::milliseconds(50), nullptr, false);
    }
    return client_.connected();
}

bool AppDriver::send_command(std::size_t index, AppPhase* phase) {
    Host& host = hosts_[index];
    const auto sequence =
        client_.send(host.name,
                     make_payload(PayloadKind::command, host.next_counter, settings_.payload_bytes),
                     std::string(kCommandType));
    if (!sequence) {
        if (phase != nullptr) {
            ++phase->refused;
        }
        return false;
    }
    host.waiting.emplace(*sequence, Waiting{host.next_counter, Clock::now()});
    ++host.next_counter;
    ++waiting_;
    ++totals_.commands;
    if (phase != nullptr) {
        ++phase->commands;
    }
    return true;
}

void AppDriver::poll_once(std::chrono::milliseconds timeout, AppPhase* phase, bool counting) {
    auto events = client_.poll(timeout);
    const bool connected = client_.connected();
    if (was_connected_ && !connected) {
        if (totals_.disconnects++ == 0) {
            totals_.first_disconnect = client_.last_error();
        }
    }
    was_connected_ = connected;
    for (const auto& event : events) {
        const auto found = index_.find(event.peer);
        if (found == index_.end()) {
            if (event.kind == client::Event::Kind::message) {
                ++totals_.mismatched;  // from a host it never commanded
            }
            continue;
        }
        Host& host = hosts_[found->second];
        switch (event.kind) {
            case client::Event::Kind::message:
                on_answer(event, host, found->second, phase, counting);
                break;
            case client::Event::Kind::delivered:
                // Cumulative: every command up to `sequence` reached the host.
                if (event.sequence > host.acknowledged) {
                    if (counting && phase != nullptr) {
                        phase->acknowledged += event.sequence - host.acknowledged;
                    }
                    host.acknowledged = event.sequence;
                }
                break;
            case client::Event::Kind::given_up:
                // Its answer will not come: counted, and its room given back.
                ++totals_.given_up;
                if (host.waiting.erase(event.sequence) > 0) {
                    --waiting_;
                    if (ready_ != nullptr) {
                        ready_->push_back(found->second);
                    }
                }
                break;
        }
    }
}

void AppDriver::on_answer(
    const client::Event& event, Host& host, std::size_t index, AppPhase* phase, bool counting) {
    const auto counter = payload_counter(PayloadKind::answer, event.payload);
    const auto waiting = host.waiting.find(event.reply_to);
    if (!counter) {
        ++totals_.mismatched;
        return;
    }
    switch (host.answers.on_counter(*counter)) {
        case CounterCheck::Verdict::duplicate:
            ++totals_.duplicated;
            return;
        case CounterCheck::Verdict::invalid:
            ++totals_.mismatched;
            return;
        case CounterCheck::Verdict::reordered:
            ++totals_.reordered;
            break;
        case CounterCheck::Verdict::in_order:
            break;
    }
    if (waiting == host.waiting.end() || waiting->second.counter != *counter) {
        ++totals_.mismatched;  // an answer to no command waiting, or to another one
        return;
    }
    const auto now = Clock::now();
    if (counting && phase != nullptr) {
        ++phase->answers;
        phase->rtt_ms.push_back(ms_between(waiting->second.sent, now));
    }
    host.waiting.erase(waiting);
    --waiting_;
    ++totals_.answers;
    if (ready_ != nullptr) {
        ready_->push_back(index);
    }
}

AppPhase AppDriver::paced(double rate, Clock::time_point end, const std::atomic<bool>* stop) {
    AppPhase phase;
    if (hosts_.empty()) {
        return phase;
    }
    const auto interval =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
    auto next = Clock::now();
    std::size_t cursor = 0;
    const auto stopped = [stop] { return stop != nullptr && stop->load(std::memory_order_relaxed); };
    for (auto now = Clock::now(); now < end && !stopped(); now = Clock::now()) {
        while (next <= now) {
            send_command(cursor, &phase);
            cursor = (cursor + 1) % hosts_.size();
            next += interval;
        }
        // Until the next command is due: poll() returns as soon as an answer is in.
        const auto wait = std::clamp(std::chrono::ceil<std::chrono::milliseconds>(std::min(next, end) - now),
                                     std::chrono::milliseconds(1),
                                     kMaxPoll);
        poll_once(wait, &phase, true);
    }
    return phase;
}

AppPhase AppDriver::saturate(std::size_t window,
                             std::size_t inflight,
                             Clock::time_point from,
                             Clock::time_point end) {
    AppPhase phase;
    // Round-robin: each host once per round, as many rounds as the window
    // allows it; an answer puts its host back at the end of the line.
    std::deque<std::size_t> ready;
    for (std::size_t round = 0; round < window; ++round) {
        for (std::size_t i = 0; i < hosts_.size(); ++i) {
            if (hosts_[i].waiting.size() + round < window) {
                ready.push_back(i);
            }
        }
    }
    ready_ = &ready;
    for (auto now = Clock::now(); now < end; now = Clock::now()) {
        const bool counting = now >= from;
        while (waiting_ < inflight && !ready.empty()) {
            const std::size_t host = ready.front();
            if (!send_command(host, counting ? &phase : nullptr)) {
                break;  // its stream is full: it waits for an acknowledgement
            }
            ready.pop_front();
        }
        poll_once(kMaxPoll, &phase, counting);
    }
    ready_ = nullptr;
    return phase;
}

void AppDriver::drain(Clock::time_point deadline, AppPhase* phase) {
    while ((waiting_ > 0 || client_.unacknowledged() > 0) && Clock::now() < deadline) {
        poll_once(kMaxPoll, phase, phase != nullptr);
    }
}

AppTotals AppDriver::totals() const {
    AppTotals totals = totals_;
    totals.unanswered = waiting_;
    totals.unacknowledged = client_.unacknowledged();
    return totals;
}

}  // namespace agentlb::bench
