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
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

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

// What is wrong with `name` as a peer's name (a host's or an application's):
// empty, longer than kMaxNameLength, or a byte that is not printable ASCII
// or is a space; "" when nothing is. `what` names it in the text.
std::string name_problem(std::string_view what, std::string_view name);

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
    // back-pressure), after anything queue()d before it. Throws
    // ConnectionError for an invalid frame or a broken connection.
    void send(const Frame& frame);
    // Adds a frame to what the next flush() or send() writes, so that a
    // burst of frames costs one system call. Throws ConnectionError for an
    // invalid frame (nothing is queued then).
    void queue(const Frame& frame);
    // Writes what queue() gathered, blocking as send() does.
    void flush();
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
    std::string queued_;
};

// ---- Delivery streams
//
// Acknowledged, ordered delivery of the platform's own messages (issue 19):
// one sender's messages to one peer, as two sans-I/O halves (Client below
// drives them). The sender
// numbers what it is given and holds it until the far end acknowledges it;
// the receiver hands each message on once, in order, whatever the links in
// between did (a failover, a killed server, a drain: the sender sends again
// what was not acknowledged, the receiver drops what it already has).
//
// - A stream is (epoch, sequence): the sender takes a new, larger epoch each
//   time it starts (its held messages died with it); sequences count from 1.
//   A receiver follows a larger epoch and ignores a smaller one.
// - Acknowledgements are cumulative: "every message up to N has been handed
//   on". Only the receiver's side makes them, after handing a message on.
// - The sender holds at most `capacity` messages: offer() refuses more, and
//   the application waits until an acknowledgement frees room
//   (back-pressure instead of growth).
// - A message not acknowledged within `ttl` of its offer is expired: it comes
//   back to the driver, to be answered to its author with a reason ("not
//   acknowledged in time": it was not handed on, or its acknowledgement was
//   lost). Every message carries the sender's floor (its oldest held
//   sequence): once one with a floor past an expired message arrives, the
//   receiver never hands that one on, and does not wait for it.
// - The receiver keeps a bounded window of messages that came early (beyond
//   the next expected one) and drops the rest. A message can be lost between
//   two live links (it was on a server that died while the next one went
//   through another): when the oldest held message has waited `resend_after`
//   since it was sent, the sender sends everything held again (go-back-N).
//
// No clock and no socket: times come in as values, and Client does the I/O.

using TimePoint = std::chrono::steady_clock::time_point;

// One message as it crosses a link.
struct StreamMessage {
    std::uint64_t epoch = 0;
    std::uint64_t sequence = 0;
    // The sender's oldest held sequence when this was sent: everything below
    // it was acknowledged or expired.
    std::uint64_t floor = 0;
    std::string body;
    bool operator==(const StreamMessage&) const = default;
};

struct StreamSenderSettings {
    std::size_t capacity = 1024;
    std::chrono::milliseconds ttl{60'000};
    std::chrono::milliseconds resend_after{1'000};
};

// A message given up on: not acknowledged within the time to live.
struct ExpiredMessage {
    std::uint64_t sequence = 0;
    std::string body;
};

class StreamSender {
public:
    StreamSender(std::uint64_t epoch, StreamSenderSettings settings);

    // Queues `body` and returns its sequence; nullopt when `capacity`
    // messages are held already.
    std::optional<std::uint64_t> offer(std::string body, TimePoint now);

    // What to write on the current link now, oldest first: each held message
    // once per link, and again once resend_after has passed unacknowledged.
    std::vector<StreamMessage> take_unsent(TimePoint now);

    // The receiver has handed on every message up to `sequence`. Returns how
    // many held messages that released; an acknowledgement of something never
    // sent is ignored (0).
    std::size_t on_ack(std::uint64_t sequence);

    // The link is gone: every held message goes again on the next one.
    void on_link_reset();

    // Gives up on the held messages offered more than `ttl` before `now`.
    std::vector<ExpiredMessage> expire(TimePoint now);

    // When the oldest held message expires; nullopt when nothing is held.
    std::optional<TimePoint> next_expiry() const;

    // When take_unsent() next has something to send again; nullopt when
    // nothing sent is waiting for its acknowledgement.
    std::optional<TimePoint> next_resend() const;

    std::uint64_t epoch() const { return epoch_; }
    std::size_t held() const { return held_.size(); }
    bool full() const { return held_.size() >= settings_.capacity; }

private:
    struct Held {
        std::uint64_t sequence;
        TimePoint offered;
        std::string body;
        std::optional<TimePoint> sent;  // on the current link, when
        bool ever_sent;
    };

    std::uint64_t floor() const;

    std::uint64_t epoch_;
    StreamSenderSettings settings_;
    std::uint64_t next_sequence_ = 1;
    std::deque<Held> held_;
};

struct StreamReceiverSettings {
    // How far beyond the next expected sequence an early message is kept.
    std::size_t window = 256;
};

class StreamReceiver {
public:
    explicit StreamReceiver(StreamReceiverSettings settings = {});

    struct Outcome {
        // Hand these on, in this order (possibly none, possibly several).
        std::vector<std::string> deliver;
        // Acknowledge up to this sequence of `ack_epoch` (also when nothing
        // new was handed on: the sender may have missed the last ack);
        // nullopt when the message was ignored (an older epoch), or when
        // nothing of this epoch has been handed on yet.
        std::optional<std::uint64_t> ack;
        std::uint64_t ack_epoch = 0;
        // Already handed on (or given up by the sender): dropped.
        bool duplicate = false;
    };

    Outcome on_message(StreamMessage message);

    std::uint64_t epoch() const { return epoch_; }
    // The next sequence to hand on.
    std::uint64_t expected() const { return expected_; }
    std::size_t early() const { return early_.size(); }

private:
    void skip_to(std::uint64_t floor);
    void drain_early(std::vector<std::string>& deliver);

    StreamReceiverSettings settings_;
    std::uint64_t epoch_ = 0;
    std::uint64_t expected_ = 1;
    std::map<std::uint64_t, std::string> early_;
};

// ---- Client: the streams over a Connection

struct ClientSettings {
    // Messages to one peer not acknowledged yet, at most: send() refuses more.
    std::size_t capacity = 1024;
    // A message not acknowledged this long after send() is given up.
    std::chrono::milliseconds ttl{60'000};
    // Everything unacknowledged goes again after this long without an ack.
    std::chrono::milliseconds resend_after{1'000};
    // Between attempts to connect while the socket does not answer.
    std::chrono::milliseconds reconnect_after{200};
};

struct Event {
    enum class Kind {
        message,    // from `peer`: its `sequence` in that peer's stream, reply_to, type, payload
        delivered,  // `peer` handed on every message of ours up to `sequence`
        given_up,   // our message `sequence` to `peer` was not acknowledged in time; payload: why
    };
    Kind kind = Kind::message;
    std::string peer;
    std::uint64_t sequence = 0;
    std::uint64_t reply_to = 0;
    std::string content_type;
    std::string payload;
};

// One end of the platform's messages: a stream to each peer it sends to, a
// receiver for each peer it hears from, over one app socket that it
// connects to again whenever the connection breaks (the daemon restarted).
// What was not acknowledged is sent again, what came twice is dropped, so
// the application sees each message once and in order. Blocking, not
// thread-safe: one thread calls send(), poll() and request().
class Client {
public:
    // `epoch` 0: microseconds since 1970, larger at each start.
    Client(std::string socket_path, std::string name, ClientSettings settings = {}, std::uint64_t epoch = 0);

    // Queues a message for `peer` and returns its sequence; nothing when
    // `capacity` messages to it are unacknowledged (poll() until one is).
    // Throws ConnectionError for a message that can never go (a payload over
    // kMaxPayload, a peer or type that is not printable ASCII).
    std::optional<std::uint64_t> send(const std::string& peer,
                                      std::string payload,
                                      std::string content_type = {},
                                      std::uint64_t reply_to = 0);

    // The I/O for up to `timeout`, returning early once there are events:
    // connects (again), sends what is due, reads, acknowledges what it hands
    // on, gives up what outlived the time to live.
    std::vector<Event> poll(std::chrono::milliseconds timeout);

    // send(), then poll() until `peer` answers it (a message whose reply_to
    // is its sequence): that message, or nothing after `timeout` or when
    // the message was given up (`why` says which). Other events meanwhile
    // wait for the next poll().
    std::optional<Event> request(const std::string& peer,
                                 std::string payload,
                                 std::string content_type,
                                 std::chrono::milliseconds timeout,
                                 std::string* why = nullptr);

    std::uint64_t epoch() const noexcept { return epoch_; }
    bool connected() const noexcept { return connection_.has_value(); }
    // Why the last attempt to connect failed, or why the connection ended.
    const std::string& last_error() const noexcept { return last_error_; }
    // Messages not acknowledged yet, to every peer.
    std::size_t unacknowledged() const;

private:
    void connect_if_due(TimePoint now);
    void drop_connection(const std::string& why, TimePoint now);
    void send_due(TimePoint now);
    void expire(TimePoint now);
    void handle(const Frame& frame, TimePoint now);
    void send_frame(const Frame& frame, TimePoint now);
    void send_acks(TimePoint now);
    void flush(TimePoint now);
    void take_unsent(const std::string& peer, StreamSender& sender, TimePoint now);
    void note_deadlines(const StreamSender& sender);
    TimePoint next_wake(TimePoint deadline) const;

    std::string socket_path_;
    std::string name_;
    ClientSettings settings_;
    std::uint64_t epoch_;
    std::optional<Connection> connection_;
    TimePoint next_connect_{};
    std::string last_error_;
    std::map<std::string, StreamSender> senders_;
    std::map<std::string, StreamReceiver> receivers_;
    std::map<std::string, std::string> last_refusal_;  // the last `undeliverable` reason per peer
    std::deque<Event> events_;
    // Acknowledgements are cumulative: of the messages from one peer handled
    // in a burst, only the last one's goes, once the burst is read.
    struct PendingAck {
        std::uint64_t epoch;
        std::uint64_t sequence;
    };
    std::map<std::string, PendingAck> pending_acks_;
    // With thousands of peers, a pass over every stream at each wake costs
    // more than the messages: only the peers given something since go,
    // until `scan_at_` (no stream's resend or expiry is due before it).
    std::set<std::string> offered_to_;
    TimePoint scan_at_ = TimePoint::min();
};

}  // namespace agentlb::client
