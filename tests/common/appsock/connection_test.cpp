// AppConnection's bounded queue towards a client that does not read: what
// its sender repeats anyway is dropped, the connection stays. Nothing is
// started, so nothing is written: the queue fills exactly.

#include "common/appsock/connection.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace agentlb;

namespace {

struct NoHandler : appsock::AppHandler {
    bool ready(appsock::AppConnection&) override { return true; }
    void on_frame(appsock::AppConnection&, client::Frame) override {}
    void on_closed(appsock::AppConnection&, const std::string&) override {}
};

client::Frame frame_of(client::FrameKind kind, std::uint64_t sequence) {
    client::Frame frame;
    frame.kind = kind;
    frame.peer = "h1";
    frame.epoch = 7;
    frame.sequence = sequence;
    if (kind == client::FrameKind::message) {
        frame.floor = sequence;
    }
    if (kind == client::FrameKind::undeliverable) {
        frame.payload = "no session";
    }
    return frame;
}

}  // namespace

TEST_CASE("a client that does not read loses repeatable frames beyond the queue, not its connection") {
    boost::asio::io_context io;
    appsock::Socket ours(io);
    appsock::Socket theirs(io);
    boost::asio::local::connect_pair(ours, theirs);
    NoHandler handler;
    auto connection = std::make_shared<appsock::AppConnection>(std::move(ours), handler, 1);

    // Full payloads until the next one would not fit.
    client::Frame big = frame_of(client::FrameKind::message, 1);
    big.payload.assign(client::kMaxPayload, 'x');
    std::uint64_t sent = 1;
    REQUIRE(connection->send(big));
    const std::size_t one = connection->queued_bytes();
    while (connection->queued_bytes() + one <= appsock::kMaxQueuedBytes) {
        big.sequence = big.floor = ++sent;
        REQUIRE(connection->send(big));
    }
    const std::size_t full = connection->queued_bytes();
    CHECK(full <= appsock::kMaxQueuedBytes);
    CHECK(full > appsock::kMaxQueuedBytes - 2 * client::kMaxPayload);
    // Each of these is sent again by whoever sent it: dropped, and counted by the caller.
    big.sequence = big.floor = ++sent;
    CHECK_FALSE(connection->send(big));
    // Small frames still fit in what is left, up to the bound.
    while (connection->send(frame_of(client::FrameKind::ack, ++sent))) {
    }
    CHECK(connection->queued_bytes() <= appsock::kMaxQueuedBytes);
    CHECK_FALSE(connection->send(frame_of(client::FrameKind::message, 1)));
    CHECK_FALSE(connection->send(frame_of(client::FrameKind::ack, 2000)));
    CHECK_FALSE(connection->send(frame_of(client::FrameKind::undeliverable, 3)));
    CHECK_FALSE(connection->closing());

    // What cannot be repeated (an error) cannot wait either: the connection ends.
    client::Frame error;
    error.kind = client::FrameKind::error;
    error.payload = "stop";
    CHECK_FALSE(connection->send(error));
    CHECK(connection->closing());
}
