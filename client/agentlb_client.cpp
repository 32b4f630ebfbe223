#include "client/agentlb_client.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <utility>

namespace agentlb::client {

namespace {

void put_u64(std::string& out, std::uint64_t value) {
    for (int shift = 56; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((value >> shift) & 0xff));
    }
}

std::uint64_t get_u64(std::string_view bytes) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        value = (value << 8) | static_cast<unsigned char>(bytes[i]);
    }
    return value;
}

std::size_t get_length(std::string_view bytes) {
    return (std::size_t{static_cast<unsigned char>(bytes[0])} << 24) |
           (std::size_t{static_cast<unsigned char>(bytes[1])} << 16) |
           (std::size_t{static_cast<unsigned char>(bytes[2])} << 8) | static_cast<unsigned char>(bytes[3]);
}

// Printable ASCII; a space too when `space_allowed`. Names go into agentlb's
// logs, so they carry nothing a terminal would act on.
std::string text_problem(std::string_view what, std::string_view name, bool space_allowed) {
    if (name.size() > kMaxNameLength) {
        return std::string(what) + " of " + std::to_string(name.size()) + " bytes: at most " +
               std::to_string(kMaxNameLength);
    }
    for (const char c : name) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte > 0x7e || (byte == 0x20 && !space_allowed)) {
            return std::string(what) + " has a byte that is not printable ASCII" +
                   (space_allowed ? "" : " (or is a space)");
        }
    }
    return "";
}

struct Uses {
    bool peer;      // required
    bool epoch;     // required
    bool sequence;  // required
    bool floor;     // required
    bool reply_to;  // optional
    bool type;      // optional
    bool payload;   // optional
};

std::optional<Uses> uses_of(FrameKind kind) {
    switch (kind) {
        case FrameKind::hello:
            return Uses{true, true, false, false, false, false, false};
        case FrameKind::welcome:
            return Uses{true, false, false, false, false, false, false};
        case FrameKind::message:
            return Uses{true, true, true, true, true, true, true};
        case FrameKind::ack:
            return Uses{true, true, true, false, false, false, false};
        case FrameKind::undeliverable:
            return Uses{true, true, true, false, false, false, true};
        case FrameKind::error:
            return Uses{false, false, false, false, false, false, true};
    }
    return std::nullopt;
}

}  // namespace

std::string_view kind_name(FrameKind kind) noexcept {
    switch (kind) {
        case FrameKind::hello:
            return "hello";
        case FrameKind::welcome:
            return "welcome";
        case FrameKind::message:
            return "message";
        case FrameKind::ack:
            return "ack";
        case FrameKind::undeliverable:
            return "undeliverable";
        case FrameKind::error:
            return "error";
    }
    return "unknown";
}

std::string name_problem(std::string_view what, std::string_view name) {
    if (name.empty()) {
        return std::string(what) + " is missing";
    }
    return text_problem(what, name, false);
}

std::string frame_problem(const Frame& frame) {
    const auto uses = uses_of(frame.kind);
    if (!uses) {
        return "unknown frame kind " + std::to_string(static_cast<unsigned>(frame.kind));
    }
    const std::string kind(kind_name(frame.kind));
    if (auto problem = text_problem("peer", frame.peer, false); !problem.empty()) {
        return kind + ": " + problem;
    }
    if (auto problem = text_problem("content type", frame.content_type, true); !problem.empty()) {
        return kind + ": " + problem;
    }
    if (frame.payload.size() > kMaxPayload) {
        return kind + ": payload of " + std::to_string(frame.payload.size()) + " bytes: at most " +
               std::to_string(kMaxPayload);
    }
    const auto required = [&](bool used, bool set, std::string_view field) -> std::string {
        if (used && !set) {
            return kind + ": " + std::string(field) + " is missing";
        }
        if (!used && set) {
            return kind + ": has a " + std::string(field) + ", which it does not use";
        }
        return "";
    };
    for (auto problem : {required(uses->peer, !frame.peer.empty(), "peer"),
                         required(uses->epoch, frame.epoch != 0, "epoch"),
                         required(uses->sequence, frame.sequence != 0, "sequence"),
                         required(uses->floor, frame.floor != 0, "floor")}) {
        if (!problem.empty()) {
            return problem;
        }
    }
    const auto optional = [&](bool used, bool set, std::string_view field) -> std::string {
        return !used && set ? kind + ": has a " + std::string(field) + ", which it does not use" : "";
    };
    for (auto problem : {optional(uses->reply_to, frame.reply_to != 0, "reply_to"),
                         optional(uses->type, !frame.content_type.empty(), "content type"),
                         optional(uses->payload, !frame.payload.empty(), "payload")}) {
        if (!problem.empty()) {
            return problem;
        }
    }
    if (frame.kind == FrameKind::message && frame.floor > frame.sequence) {
        return kind + ": floor " + std::to_string(frame.floor) + " is past sequence " +
               std::to_string(frame.sequence);
    }
    return "";
}

bool encode_frame(const Frame& frame, std::string& out, std::string& error) {
    error = frame_problem(frame);
    if (!error.empty()) {
        return false;
    }
    const std::size_t body =
        kFixedBodySize + frame.peer.size() + frame.content_type.size() + frame.payload.size();
    out.reserve(out.size() + kLengthSize + body);
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((body >> shift) & 0xff));
    }
    out.push_back(static_cast<char>(frame.kind));
    put_u64(out, frame.epoch);
    put_u64(out, frame.sequence);
    put_u64(out, frame.floor);
    put_u64(out, frame.reply_to);
    out.push_back(static_cast<char>(frame.peer.size()));
    out += frame.peer;
    out.push_back(static_cast<char>(frame.content_type.size()));
    out += frame.content_type;
    out += frame.payload;
    return true;
}

std::optional<Frame> decode_body(std::string_view body, std::string& error) {
    if (body.size() < kFixedBodySize) {
        error = "frame body of " + std::to_string(body.size()) + " bytes: at least " +
                std::to_string(kFixedBodySize);
        return std::nullopt;
    }
    Frame frame;
    frame.kind = static_cast<FrameKind>(static_cast<unsigned char>(body[0]));
    frame.epoch = get_u64(body.substr(1));
    frame.sequence = get_u64(body.substr(9));
    frame.floor = get_u64(body.substr(17));
    frame.reply_to = get_u64(body.substr(25));
    std::size_t pos = 33;
    for (std::string* name : {&frame.peer, &frame.content_type}) {
        if (pos >= body.size()) {
            error = "frame body ends inside its names";
            return std::nullopt;
        }
        const std::size_t length = static_cast<unsigned char>(body[pos++]);
        if (body.size() - pos < length) {
            error = "frame body ends inside its names";
            return std::nullopt;
        }
        name->assign(body.substr(pos, length));
        pos += length;
    }
    frame.payload.assign(body.substr(pos));
    error = frame_problem(frame);
    if (!error.empty()) {
        return std::nullopt;
    }
    return frame;
}

void FrameReader::feed(const char* data, std::size_t size) {
    if (failed()) {
        return;
    }
    // Drop what was consumed before growing, so the buffer holds at most one
    // unfinished frame plus what this call brought.
    if (consumed_ > 0) {
        buffer_.erase(0, consumed_);
        consumed_ = 0;
    }
    buffer_.append(data, size);
}

std::optional<Frame> FrameReader::next() {
    if (failed()) {
        return std::nullopt;
    }
    const std::string_view held = std::string_view(buffer_).substr(consumed_);
    if (held.size() < kLengthSize) {
        return std::nullopt;
    }
    const std::size_t length = get_length(held);
    if (length > kMaxBodySize) {
        error_ = "frame of " + std::to_string(length) + " bytes: at most " + std::to_string(kMaxBodySize) +
                 " (a payload of at most " + std::to_string(kMaxPayload) + ")";
        buffer_.clear();
        consumed_ = 0;
        return std::nullopt;
    }
    if (held.size() - kLengthSize < length) {
        return std::nullopt;
    }
    std::string error;
    auto frame = decode_body(held.substr(kLengthSize, length), error);
    if (!frame) {
        error_ = error;
        buffer_.clear();
        consumed_ = 0;
        return std::nullopt;
    }
    consumed_ += kLengthSize + length;
    if (consumed_ == buffer_.size()) {
        buffer_.clear();
        consumed_ = 0;
    }
    return frame;
}

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
    throw ConnectionError(what + ": " + std::strerror(errno));
}

}  // namespace

Connection Connection::open(const std::string& path,
                            const std::string& name,
                            std::uint64_t epoch,
                            std::chrono::milliseconds timeout) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path)) {
        throw ConnectionError("app socket path too long: " + path);
    }
    std::memcpy(address.sun_path, path.data(), path.size());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw_errno("socket");
    }
    Connection connection(fd);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
        throw_errno("cannot connect to " + path);
    }
    Frame hello;
    hello.kind = FrameKind::hello;
    hello.peer = name;
    hello.epoch = epoch;
    connection.send(hello);
    auto welcome = connection.receive(timeout);
    if (!welcome) {
        throw ConnectionError("no welcome from " + path + " within " + std::to_string(timeout.count()) +
                              " ms");
    }
    if (welcome->kind == FrameKind::error) {
        throw ConnectionError("refused by " + path + ": " + welcome->payload);
    }
    if (welcome->kind != FrameKind::welcome) {
        throw ConnectionError("expected welcome from " + path + ", got " +
                              std::string(kind_name(welcome->kind)));
    }
    connection.welcomed_by_ = welcome->peer;
    return connection;
}

Connection::Connection(Connection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      reader_(std::move(other.reader_)),
      welcomed_by_(std::move(other.welcomed_by_)),
      queued_(std::move(other.queued_)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = std::exchange(other.fd_, -1);
        reader_ = std::move(other.reader_);
        welcomed_by_ = std::move(other.welcomed_by_);
        queued_ = std::move(other.queued_);
    }
    return *this;
}

Connection::~Connection() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

void Connection::send(const Frame& frame) {
    queue(frame);
    flush();
}

void Connection::queue(const Frame& frame) {
    std::string error;
    if (!encode_frame(frame, queued_, error)) {
        throw ConnectionError("not sent: " + error);
    }
}

void Connection::flush() {
    std::size_t sent = 0;
    while (sent < queued_.size()) {
        const ssize_t n = ::send(fd_, queued_.data() + sent, queued_.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            queued_.clear();
            throw_errno("send");
        }
        sent += static_cast<std::size_t>(n);
    }
    queued_.clear();
}

std::optional<Frame> Connection::receive(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (auto frame = reader_.next()) {
            return frame;
        }
        if (reader_.failed()) {
            throw ConnectionError("protocol error from agentlb: " + reader_.error());
        }
        // Rounded up: truncated, a 1 ms timeout was 0 ms left by the time it
        // was read, and a poll(1 ms) loop never read the socket at all.
        const auto left =
            std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return std::nullopt;
        }
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("poll");
        }
        if (ready == 0) {
            return std::nullopt;
        }
        char buffer[65536];
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("recv");
        }
        if (n == 0) {
            throw ConnectionError("agentlb closed the connection");
        }
        reader_.feed(buffer, static_cast<std::size_t>(n));
    }
}

// ---- Delivery streams

StreamSender::StreamSender(std::uint64_t epoch, StreamSenderSettings settings)
    : epoch_(epoch), settings_(settings) {}

std::optional<std::uint64_t> StreamSender::offer(std::string body, TimePoint now) {
    if (full()) {
        return std::nullopt;
    }
    const std::uint64_t sequence = next_sequence_++;
    held_.push_back(Held{sequence, now, std::move(body), std::nullopt, false});
    return sequence;
}

std::uint64_t StreamSender::floor() const {
    return held_.empty() ? next_sequence_ : held_.front().sequence;
}

std::vector<StreamMessage> StreamSender::take_unsent(TimePoint now) {
    if (const auto due = next_resend(); due && now >= *due) {
        on_link_reset();
    }
    std::vector<StreamMessage> out;
    const std::uint64_t held_floor = floor();
    for (auto& held : held_) {
        if (!held.sent) {
            held.sent = now;
            held.ever_sent = true;
            out.push_back(StreamMessage{epoch_, held.sequence, held_floor, held.body});
        }
    }
    return out;
}

std::size_t StreamSender::on_ack(std::uint64_t sequence) {
    // Only what went out can be acknowledged: a larger number is a confused
    // or forged peer, and releasing unsent messages on its word would lose them.
    std::size_t released = 0;
    while (!held_.empty() && held_.front().sequence <= sequence && held_.front().ever_sent) {
        held_.pop_front();
        ++released;
    }
    return released;
}

void StreamSender::on_link_reset() {
    for (auto& held : held_) {
        held.sent.reset();
    }
}

std::vector<ExpiredMessage> StreamSender::expire(TimePoint now) {
    std::vector<ExpiredMessage> out;
    // Offers are in time order, so what expired is always the oldest part.
    while (!held_.empty() && now - held_.front().offered >= settings_.ttl) {
        out.push_back(ExpiredMessage{held_.front().sequence, std::move(held_.front().body)});
        held_.pop_front();
    }
    return out;
}

std::optional<TimePoint> StreamSender::next_expiry() const {
    if (held_.empty()) {
        return std::nullopt;
    }
    return held_.front().offered + settings_.ttl;
}

std::optional<TimePoint> StreamSender::next_resend() const {
    // The oldest held message was sent first: it is the one that waited longest.
    if (held_.empty() || !held_.front().sent) {
        return std::nullopt;
    }
    return *held_.front().sent + settings_.resend_after;
}

StreamReceiver::StreamReceiver(StreamReceiverSettings settings) : settings_(settings) {}

void StreamReceiver::skip_to(std::uint64_t floor) {
    if (floor <= expected_) {
        return;
    }
    expected_ = floor;
    early_.erase(early_.begin(), early_.lower_bound(floor));
}

void StreamReceiver::drain_early(std::vector<std::string>& deliver) {
    for (auto it = early_.find(expected_); it != early_.end(); it = early_.find(expected_)) {
        deliver.push_back(std::move(it->second));
        early_.erase(it);
        ++expected_;
    }
}

StreamReceiver::Outcome StreamReceiver::on_message(StreamMessage message) {
    Outcome outcome;
    if (message.epoch < epoch_) {
        // A sender that has since restarted: what it held died with it.
        return outcome;
    }
    if (message.epoch > epoch_) {
        epoch_ = message.epoch;
        expected_ = 1;
        early_.clear();
    }
    outcome.ack_epoch = epoch_;
    skip_to(message.floor);
    if (message.sequence < expected_) {
        outcome.duplicate = true;
    } else if (message.sequence == expected_) {
        outcome.deliver.push_back(std::move(message.body));
        ++expected_;
    } else if (message.sequence - expected_ <= settings_.window) {
        early_.emplace(message.sequence, std::move(message.body));
    }
    drain_early(outcome.deliver);
    if (expected_ > 1) {
        outcome.ack = expected_ - 1;
    }
    return outcome;
}

// ---- Client

namespace {

// What a sender holds per message: reply_to, the content type and the payload.
std::string pack_outgoing(std::uint64_t reply_to,
                          const std::string& content_type,
                          const std::string& payload) {
    std::string body;
    put_u64(body, reply_to);
    body.push_back(static_cast<char>(content_type.size()));
    body += content_type;
    body += payload;
    return body;
}

struct Outgoing {
    std::uint64_t reply_to;
    std::string content_type;
    std::string payload;
};

Outgoing unpack_outgoing(std::string_view body) {
    const std::size_t type_length = static_cast<unsigned char>(body[8]);
    return Outgoing{
        get_u64(body), std::string(body.substr(9, type_length)), std::string(body.substr(9 + type_length))};
}

std::uint64_t epoch_now() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

}  // namespace

Client::Client(std::string socket_path, std::string name, ClientSettings settings, std::uint64_t epoch)
    : socket_path_(std::move(socket_path)),
      name_(std::move(name)),
      settings_(settings),
      epoch_(epoch != 0 ? epoch : epoch_now()) {}

std::optional<std::uint64_t> Client::send(const std::string& peer,
                                          std::string payload,
                                          std::string content_type,
                                          std::uint64_t reply_to) {
    Frame check{FrameKind::message, epoch_, 1, 1, reply_to, peer, content_type, payload};
    if (auto problem = frame_problem(check); !problem.empty()) {
        throw ConnectionError("not sent: " + problem);
    }
    auto [sender, inserted] = senders_.try_emplace(
        peer, epoch_, StreamSenderSettings{settings_.capacity, settings_.ttl, settings_.resend_after});
    auto sequence = sender->second.offer(pack_outgoing(reply_to, content_type, payload),
                                         std::chrono::steady_clock::now());
    if (sequence) {
        offered_to_.insert(peer);
    }
    return sequence;
}

std::size_t Client::unacknowledged() const {
    std::size_t held = 0;
    for (const auto& [peer, sender] : senders_) {
        held += sender.held();
    }
    return held;
}

void Client::connect_if_due(TimePoint now) {
    if (connection_ || now < next_connect_) {
        return;
    }
    try {
        connection_.emplace(Connection::open(socket_path_, name_, epoch_, std::chrono::seconds(5)));
        last_error_.clear();
        for (auto& [peer, sender] : senders_) {
            sender.on_link_reset();
        }
        scan_at_ = TimePoint::min();  // everything held goes again
    } catch (const ConnectionError& e) {
        last_error_ = e.what();
        next_connect_ = now + settings_.reconnect_after;
    }
}

void Client::drop_connection(const std::string& why, TimePoint now) {
    connection_.reset();
    pending_acks_.clear();  // the next connection acknowledges again what comes again
    last_error_ = why;
    next_connect_ = now + settings_.reconnect_after;
}

void Client::send_frame(const Frame& frame, TimePoint now) {
    if (!connection_) {
        return;
    }
    try {
        connection_->queue(frame);
    } catch (const ConnectionError& e) {
        drop_connection(e.what(), now);
    }
}

void Client::send_acks(TimePoint now) {
    for (const auto& [peer, ack] : pending_acks_) {
        send_frame(Frame{FrameKind::ack, ack.epoch, ack.sequence, 0, 0, peer, "", ""}, now);
    }
    pending_acks_.clear();
}

void Client::flush(TimePoint now) {
    send_acks(now);
    if (!connection_) {
        return;
    }
    try {
        connection_->flush();
    } catch (const ConnectionError& e) {
        drop_connection(e.what(), now);
    }
}

void Client::note_deadlines(const StreamSender& sender) {
    if (auto resend = sender.next_resend()) {
        scan_at_ = std::min(scan_at_, *resend);
    }
    if (auto expiry = sender.next_expiry()) {
        scan_at_ = std::min(scan_at_, *expiry);
    }
}

void Client::take_unsent(const std::string& peer, StreamSender& sender, TimePoint now) {
    for (auto& message : sender.take_unsent(now)) {
        const Outgoing out = unpack_outgoing(message.body);
        send_frame(Frame{FrameKind::message,
                         message.epoch,
                         message.sequence,
                         message.floor,
                         out.reply_to,
                         peer,
                         out.content_type,
                         out.payload},
                   now);
    }
}

void Client::send_due(TimePoint now) {
    if (!connection_) {
        return;  // offered_to_ waits: connecting sends everything held anyway
    }
    if (now >= scan_at_) {
        return;  // expire() passes over every stream and sends what is due
    }
    for (const auto& peer : offered_to_) {
        if (!connection_) {
            return;
        }
        auto& sender = senders_.at(peer);
        take_unsent(peer, sender, now);
        note_deadlines(sender);
    }
    offered_to_.clear();
}

void Client::expire(TimePoint now) {
    if (now < scan_at_) {
        return;
    }
    scan_at_ = TimePoint::max();
    offered_to_.clear();
    for (auto& [peer, sender] : senders_) {
        if (connection_) {
            take_unsent(peer, sender, now);
        }
        for (auto& expired : sender.expire(now)) {
            Event event;
            event.kind = Event::Kind::given_up;
            event.peer = peer;
            event.sequence = expired.sequence;
            event.payload = "not acknowledged within " + std::to_string(settings_.ttl.count()) + " ms";
            if (auto refusal = last_refusal_.find(peer); refusal != last_refusal_.end()) {
                event.payload += " (last answer: " + refusal->second + ")";
            }
            events_.push_back(std::move(event));
        }
        note_deadlines(sender);
    }
}

void Client::handle(const Frame& frame, TimePoint now) {
    switch (frame.kind) {
        case FrameKind::message: {
            auto& receiver = receivers_[frame.peer];
            // The receiver keeps bodies only: the sequence goes in front.
            std::string body;
            put_u64(body, frame.sequence);
            body += pack_outgoing(frame.reply_to, frame.content_type, frame.payload);
            auto outcome =
                receiver.on_message(StreamMessage{frame.epoch, frame.sequence, frame.floor, std::move(body)});
            for (const auto& delivered : outcome.deliver) {
                const Outgoing in = unpack_outgoing(std::string_view(delivered).substr(8));
                events_.push_back(Event{Event::Kind::message,
                                        frame.peer,
                                        get_u64(delivered),
                                        in.reply_to,
                                        in.content_type,
                                        in.payload});
            }
            if (outcome.ack) {
                pending_acks_[frame.peer] = PendingAck{outcome.ack_epoch, *outcome.ack};
            }
            break;
        }
        case FrameKind::ack: {
            auto sender = senders_.find(frame.peer);
            if (frame.epoch == epoch_ && sender != senders_.end() &&
                sender->second.on_ack(frame.sequence) > 0) {
                events_.push_back(Event{Event::Kind::delivered, frame.peer, frame.sequence, 0, "", ""});
            }
            break;
        }
        case FrameKind::undeliverable:
            // Often passing (a host between two servers): the message goes
            // again until its time to live; the reason is kept for then.
            if (frame.epoch == epoch_) {
                last_refusal_[frame.peer] = frame.payload;
            }
            break;
        case FrameKind::error:
            drop_connection("refused by " + socket_path_ + ": " + frame.payload, now);
            break;
        case FrameKind::hello:
        case FrameKind::welcome:
            break;
    }
}

TimePoint Client::next_wake(TimePoint deadline) const {
    TimePoint wake = deadline;
    if (!connection_) {
        wake = std::min(wake, next_connect_);
    }
    return std::min(wake, scan_at_);
}

std::vector<Event> Client::poll(std::chrono::milliseconds timeout) {
    const TimePoint deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const TimePoint now = std::chrono::steady_clock::now();
        connect_if_due(now);
        send_due(now);
        expire(now);
        // Acknowledgements and messages of this pass, in one write.
        flush(now);
        if (!events_.empty() || now >= deadline) {
            std::vector<Event> out(std::make_move_iterator(events_.begin()),
                                   std::make_move_iterator(events_.end()));
            events_.clear();
            return out;
        }
        const TimePoint wake = next_wake(deadline);
        const auto wait =
            std::chrono::ceil<std::chrono::milliseconds>(std::max(wake - now, TimePoint::duration{}));
        if (!connection_) {
            std::this_thread::sleep_for(wait);
            continue;
        }
        try {
            if (auto frame = connection_->receive(wait)) {
                handle(*frame, std::chrono::steady_clock::now());
                // Take whatever else already arrived before waking the caller.
                while (connection_) {
                    auto more = connection_->receive(std::chrono::milliseconds(0));
                    if (!more) {
                        break;
                    }
                    handle(*more, std::chrono::steady_clock::now());
                }
            }
        } catch (const ConnectionError& e) {
            drop_connection(e.what(), std::chrono::steady_clock::now());
        }
    }
}

std::optional<Event> Client::request(const std::string& peer,
                                     std::string payload,
                                     std::string content_type,
                                     std::chrono::milliseconds timeout,
                                     std::string* why) {
    const TimePoint deadline = std::chrono::steady_clock::now() + timeout;
    std::optional<std::uint64_t> sequence;
    std::deque<Event> kept;
    std::optional<Event> answer;
    std::string reason = "no answer within " + std::to_string(timeout.count()) + " ms";
    while (!answer) {
        const TimePoint now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            break;
        }
        if (!sequence) {
            sequence = send(peer, payload, content_type);
            if (!sequence) {
                reason = "too many messages to " + peer + " unacknowledged";
            }
        }
        bool given_up = false;
        for (auto& event : poll(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now))) {
            if (sequence && !answer && event.peer == peer && event.kind == Event::Kind::message &&
                event.reply_to == *sequence) {
                answer = std::move(event);
            } else if (sequence && event.peer == peer && event.kind == Event::Kind::given_up &&
                       event.sequence == *sequence) {
                reason = event.payload;
                given_up = true;
                kept.push_back(std::move(event));
            } else {
                kept.push_back(std::move(event));
            }
        }
        if (given_up) {
            break;
        }
    }
    for (auto it = kept.rbegin(); it != kept.rend(); ++it) {
        events_.push_front(std::move(*it));
    }
    if (!answer && why != nullptr) {
        *why = reason;
    }
    return answer;
}

}  // namespace agentlb::client
