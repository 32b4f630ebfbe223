#include "client/agentlb_client.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
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
std::string name_problem(std::string_view what, std::string_view name, bool space_allowed) {
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

std::string frame_problem(const Frame& frame) {
    const auto uses = uses_of(frame.kind);
    if (!uses) {
        return "unknown frame kind " + std::to_string(static_cast<unsigned>(frame.kind));
    }
    const std::string kind(kind_name(frame.kind));
    if (auto problem = name_problem("peer", frame.peer, false); !problem.empty()) {
        return kind + ": " + problem;
    }
    if (auto problem = name_problem("content type", frame.content_type, true); !problem.empty()) {
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
      welcomed_by_(std::move(other.welcomed_by_)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = std::exchange(other.fd_, -1);
        reader_ = std::move(other.reader_);
        welcomed_by_ = std::move(other.welcomed_by_);
    }
    return *this;
}

Connection::~Connection() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

void Connection::send(const Frame& frame) {
    std::string bytes;
    std::string error;
    if (!encode_frame(frame, bytes, error)) {
        throw ConnectionError("not sent: " + error);
    }
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("send");
        }
        sent += static_cast<std::size_t>(n);
    }
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
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
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

}  // namespace agentlb::client
