// Connection's waits against a real local socket: a frame that is waiting
// on the socket is read within even the shortest timeout.

#include "client/agentlb_client.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstring>
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
