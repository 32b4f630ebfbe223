// Connection and Client against a real local socket: a frame that is waiting
// on the socket is read within even the shortest timeout, and a burst of
// messages is acknowledged once.

#include "client/agentlb_client.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

using namespace agentlb::client;
using namespace std::chrono_literals;

namespace {

// A listening Unix socket at `path`; -1 when it could not be made.
int listen_at(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.data(), path.size());
    if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd, 1) != 0) {
        return -1;
    }
    return fd;
}

void write_frame(int fd, const Frame& frame) {
    std::string bytes;
    std::string error;
    REQUIRE(encode_frame(frame, bytes, error));
    REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

}  // namespace

TEST_CASE("a frame waiting on the socket is read within a 1 ms timeout") {
    agentlb::test::TempDir dir;
    const std::string path = (dir / "app.sock").string();
    const int listener = listen_at(path);
    REQUIRE(listener >= 0);
    int peer = -1;
    std::thread server([&] {
        peer = ::accept(listener, nullptr, nullptr);
        Frame welcome;
        welcome.kind = FrameKind::welcome;
        welcome.peer = "ms1";
        write_frame(peer, welcome);
    });
    auto connection = Connection::open(path, "app", 1);
    server.join();
    Frame message;
    message.kind = FrameKind::message;
    message.peer = "h1";
    message.epoch = 7;
    message.sequence = 1;
    message.floor = 1;
    message.payload = "start";
    write_frame(peer, message);
    std::this_thread::sleep_for(50ms);  // it is on the socket, not yet read
    auto received = connection.receive(1ms);
    REQUIRE(received);
    CHECK(*received == message);
    // Nothing more: the wait ends empty.
    CHECK_FALSE(connection.receive(1ms));
    ::close(peer);
    ::close(listener);
}

TEST_CASE("a Client acknowledges the messages of one burst from a peer once, cumulatively") {
    agentlb::test::TempDir dir;
    const std::string path = (dir / "app.sock").string();
    const int listener = listen_at(path);
    REQUIRE(listener >= 0);
    std::string written;  // everything the client wrote, once it has acknowledged
    std::thread server([&] {
        const int peer = ::accept(listener, nullptr, nullptr);
        Frame welcome;
        welcome.kind = FrameKind::welcome;
        welcome.peer = "ms1";
        write_frame(peer, welcome);
        std::string burst;
        std::string error;
        for (std::uint64_t sequence = 1; sequence <= 3; ++sequence) {
            Frame message{FrameKind::message, 9, sequence, 1, 0, "h1", "", "m" + std::to_string(sequence)};
            REQUIRE(encode_frame(message, burst, error));
        }
        REQUIRE(::send(peer, burst.data(), burst.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(burst.size()));
        FrameReader reader;
        std::size_t acks = 0;
        while (acks == 0) {
            pollfd p{peer, POLLIN, 0};
            if (::poll(&p, 1, 5000) != 1) {
                break;
            }
            char buffer[4096];
            const ssize_t n = ::recv(peer, buffer, sizeof buffer, 0);
            if (n <= 0) {
                break;
            }
            written.append(buffer, static_cast<std::size_t>(n));
            reader.feed(buffer, static_cast<std::size_t>(n));
            while (auto frame = reader.next()) {
                acks += frame->kind == FrameKind::ack ? 1 : 0;
            }
        }
        ::close(peer);
    });
    Client client(path, "app", {}, 1);
    std::vector<Event> messages;
    for (int pass = 0; pass < 50 && messages.size() < 3; ++pass) {
        for (auto& event : client.poll(100ms)) {
            if (event.kind == Event::Kind::message) {
                messages.push_back(std::move(event));
            }
        }
    }
    server.join();
    ::close(listener);
    REQUIRE(messages.size() == 3);
    CHECK(messages[2].payload == "m3");
    FrameReader reader;
    reader.feed(written.data(), written.size());
    std::vector<Frame> frames;
    while (auto frame = reader.next()) {
        frames.push_back(std::move(*frame));
    }
    // hello, then a single ack that covers all three.
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].kind == FrameKind::hello);
    CHECK(frames[1].kind == FrameKind::ack);
    CHECK(frames[1].peer == "h1");
    CHECK(frames[1].epoch == 9);
    CHECK(frames[1].sequence == 3);
}
