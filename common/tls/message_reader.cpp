#include "common/tls/message_reader.hpp"

#include <array>
#include <cstddef>

namespace agentlb::tls {

namespace {

// One TLS record at most; the intake joins the pieces.
constexpr std::size_t kReadChunk = 4096;

}  // namespace

boost::asio::awaitable<boost::system::error_code> read_message(TlsStream& stream,
                                                               protocol::FrameIntake& intake,
                                                               wire::Message& out,
                                                               std::string& detail) {
    std::array<char, kReadChunk> buffer;
    for (;;) {
        auto next = intake.next();
        if (auto* message = std::get_if<wire::Message>(&next)) {
            out = std::move(*message);
            co_return boost::system::error_code{};
        }
        if (auto* bad = std::get_if<protocol::BadInput>(&next)) {
            detail = bad->detail;
            co_return bad->code;
        }
        boost::system::error_code ec;
        const std::size_t n = co_await stream.read_some(buffer.data(), buffer.size(), ec);
        if (ec) {
            co_return ec;
        }
        intake.feed(buffer.data(), n);
    }
}

}  // namespace agentlb::tls
