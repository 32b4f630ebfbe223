// An agent that keeps sending but never reads what it is sent: the server
// writes to it without waiting, so its answers pile up, and it must be
// dropped without holding up anyone else.

#include "common/tls/context.hpp"
#include "common/tls/message_reader.hpp"
#include "common/tls/stream.hpp"
#include "common/wire/frame.hpp"
#include "tests/mgmt/integration_helpers.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

using namespace agentlb;
using namespace agentlb::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

std::string frames_of(const std::vector<wire::Message>& messages) {
    std::string bytes;
    for (const auto& message : messages) {
        auto frame = wire::encode_frame(wire::encode_message(message));
        REQUIRE(frame.ok());
        bytes += *frame;
    }
    return bytes;
}

}  // namespace

TEST_CASE("an agent that never reads is dropped once its answers pile up, and others stay") {
    CaFixture fixture;
    MgmtServer server(fixture, "M1");
    fixture.set_config("host", server.address());
    auto good = connect_agent(fixture, fixture.enroll("good"), server);
    const auto silent = fixture.enroll("silent");
    REQUIRE(wait_synced(fixture, server));

    auto context = tls::make_agent_client_context({fixture.ca_pem(), silent.cert_pem, silent.key_pem});
    REQUIRE(context.ok());
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.open(asio::ip::tcp::v4());
    // A small window: the server's writes block after a few KiB.
    socket.set_option(asio::socket_base::receive_buffer_size(4096));
    const auto colon = server.address().rfind(':');
    socket.connect({asio::ip::make_address(server.address().substr(0, colon)),
                    static_cast<std::uint16_t>(std::stoi(server.address().substr(colon + 1)))});
    tls::TlsStream stream(std::move(socket), context->get(), tls::Role::client, server.address());

    bool welcomed = false;
    bool finished = false;
    error_code outcome;
    std::int64_t pings_sent = 0;
    auto run = [&]() -> asio::awaitable<void> {
        if (const auto ec = co_await stream.handshake()) {
            outcome = ec;
            co_return;
        }
        wire::Hello hello;
        hello.name = silent.name;
        const auto hello_frame = frames_of({hello});
        if (const auto ec = co_await stream.write_all(hello_frame.data(), hello_frame.size())) {
            outcome = ec;
            co_return;
        }
        protocol::FrameIntake intake;
        wire::Message first;
        std::string detail;
        if (const auto ec = co_await tls::read_message(stream, intake, first, detail)) {
            outcome = ec;
            co_return;
        }
        welcomed = std::holds_alternative<wire::Welcome>(first);
        // From here on nothing is read: every pong stays with the server.
        std::vector<wire::Message> pings;
        for (std::int64_t seq = 1; seq <= 500; ++seq) {
            pings.emplace_back(wire::Ping{seq});
        }
        const auto burst = frames_of(pings);
        for (int round = 0; round < 2000 && !outcome; ++round) {
            outcome = co_await stream.write_all(burst.data(), burst.size());
            pings_sent += outcome ? 0 : static_cast<std::int64_t>(pings.size());
        }
        finished = true;
    };
    asio::co_spawn(io, run(), asio::detached);
    io.run_for(20s);

    INFO("pings sent: " << pings_sent << ", outcome: " << outcome.message());
    CHECK(welcomed);
    CHECK(finished);
    // The server closed the connection while the agent was still sending.
    CHECK(outcome);
    CHECK(wait_until(
        [&] { return server.log().find("frames waiting, the agent does not read") != std::string::npos; },
        3s));
    CHECK_THAT(server.log(), Catch::Contains("agent silent"));
    CHECK(wait_until([&] { return server.metric("agentlb_agents_connected") == 1; }, 3s));
    CHECK(good->ping());
}
