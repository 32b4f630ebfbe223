#pragma once

// agentlb's application client (issue 19): the local protocol through which a
// platform's own software exchanges messages over agentlb. The host's agent
// software connects to agentlb-agent's --app-socket, the management
// application to agentlb-mgmt's --app-socket; both speak this one protocol.
// Standard library only, so that it builds wherever the platform's software
// does; docs/INTEGRATION.md describes the protocol for clients in other
// languages.
//
// A frame on the socket:
//
//   length   u32, big-endian: the bytes that follow (the body)
//   kind     u8   (FrameKind)
//   epoch    u64  big-endian
//   sequence u64
//   floor    u64
//   reply_to u64
//   peer     u8 length, then that many bytes
//   type     u8 length, then that many bytes (content type)
//   payload  the rest of the body, at most kMaxPayload bytes
//
// Every kind has every field; a field a kind does not use is 0 or empty (and
// a frame where it is not is refused). `peer` names the far end: on the
// management side the host a message goes to or came from, on the host side
// the application. Payloads are opaque: agentlb never reads or logs them.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace agentlb::client {

// The largest payload a message carries. A larger one is refused, by the
// library before it is sent and by agentlb when a client sends it anyway
// (an `error` frame, then the connection closes): split bigger data in the
// application.
inline constexpr std::size_t kMaxPayload = 32 * 1024;
// The longest peer name and content type.
inline constexpr std::size_t kMaxNameLength = 255;
inline constexpr std::size_t kLengthSize = 4;
// kind + epoch + sequence + floor + reply_to + the two name lengths.
inline constexpr std::size_t kFixedBodySize = 1 + 4 * 8 + 2;
inline constexpr std::size_t kMaxBodySize = kFixedBodySize + 2 * kMaxNameLength + kMaxPayload;

enum class FrameKind : std::uint8_t {
    // client -> agentlb, first frame: peer = the client's own name, epoch =
    // its streams' epoch (larger at each start of the client).
    hello = 1,
    // agentlb -> client, answer to hello: peer = the name of this host
    // (agentlb-agent) or of this server (agentlb-mgmt).
    welcome = 2,
    // Either way: one message of a stream (epoch, sequence, floor), with an
    // optional reply_to (the sequence of the message it answers) and a
    // content type.
    message = 3,
    // Either way: every message of the peer's stream `epoch` up to
    // `sequence` has been handed on.
    ack = 4,
    // agentlb -> client: the message (epoch, sequence) for `peer` cannot be
    // delivered; the payload says why (text).
    undeliverable = 5,
    // agentlb -> client: the connection is refused or ends; the payload says
    // why (text). Nothing follows it.
    error = 6,
};

// The kind's name, for messages: "hello", "message", ...; "unknown" otherwise.
std::string_view kind_name(FrameKind kind) noexcept;

struct Frame {
    FrameKind kind = FrameKind::message;
    std::uint64_t epoch = 0;
    std::uint64_t sequence = 0;
    std::uint64_t floor = 0;
    std::uint64_t reply_to = 0;
    std::string peer;
    std::string content_type;
    std::string payload;
    bool operator==(const Frame&) const = default;
};

// What is wrong with `frame` for its kind, or "" when nothing is:
// - hello: peer and epoch set; nothing else;
// - welcome: peer set; nothing else;
// - message: epoch, sequence set; 1 <= floor <= sequence; payload at most
//   kMaxPayload bytes; reply_to and content type optional;
// - ack: epoch and sequence set; no floor, reply_to, type or payload;
// - undeliverable: epoch and sequence set; the reason as payload;
// - error: the reason as payload; nothing else;
// and for every kind: peer and content type at most kMaxNameLength bytes of
// printable ASCII (no space in peer), payload at most kMaxPayload bytes.
std::string frame_problem(const Frame& frame);

// The frame's bytes, length first, appended to `out`. Returns false (with
// frame_problem() in `error`, `out` untouched) when the frame is not valid.
bool encode_frame(const Frame& frame, std::string& out, std::string& error);

// Incremental reader of one connection's bytes: feed() what was read, then
// next() until it returns nothing. A length over kMaxBodySize is refused as
// soon as its 4 bytes are in, before any of the body is kept. After an error
// the reader stays failed and error() says what was wrong, e.g. "frame of
// 10485800 bytes: at most 33313 (a payload of at most 32768)".
class FrameReader {
public:
    void feed(const char* data, std::size_t size);
    std::optional<Frame> next();

    bool failed() const noexcept { return !error_.empty(); }
    const std::string& error() const noexcept { return error_; }
    // Bytes held that next() has not turned into frames yet.
    std::size_t buffered() const noexcept { return buffer_.size() - consumed_; }

private:
    std::string buffer_;
    std::size_t consumed_ = 0;
    std::string error_;
};

// Parses one body (without its length). Returns the frame, or nothing with
// `error` saying what was wrong.
std::optional<Frame> decode_body(std::string_view body, std::string& error);

// What went wrong on a Connection: the socket could not be reached, agentlb
// refused the client (an `error` frame: what() is its reason), the
// connection ended, or a frame broke the protocol.
class ConnectionError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One connection to an --app-socket, blocking (POSIX sockets). open()
// connects and says hello; send() and receive() then exchange frames. Not
// thread-safe: one thread sends and receives, or the caller locks.
class Connection {
public:
    // Connects to the Unix socket at `path` as `name` (hello) with `epoch`
    // (larger at each start of the client, e.g. microseconds since the
    // epoch), and waits up to `timeout` for welcome. Throws ConnectionError.
    static Connection open(const std::string& path,
                           const std::string& name,
                           std::uint64_t epoch,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5));

    Connection(Connection&& other) noexcept;
    Connection& operator=(Connection&& other) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    // Writes one frame (blocking until the socket took it: agentlb's
    // back-pressure). Throws ConnectionError for an invalid frame or a
    // broken connection.
    void send(const Frame& frame);
    // The next frame, or nothing when none came within `timeout`. An `error`
    // frame is returned like any other (the connection ends after it).
    // Throws ConnectionError when the connection ended or broke the protocol.
    std::optional<Frame> receive(std::chrono::milliseconds timeout);

    // welcome's peer: the host (agentlb-agent) or server (agentlb-mgmt).
    const std::string& welcomed_by() const noexcept { return welcomed_by_; }
    int native_handle() const noexcept { return fd_; }

private:
    explicit Connection(int fd) : fd_(fd) {}

    int fd_ = -1;
    FrameReader reader_;
    std::string welcomed_by_;
};

}  // namespace agentlb::client
