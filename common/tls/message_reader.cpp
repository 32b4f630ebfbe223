#include "common/tls/message_reader.hpp"

#include <array>
#include <cstddef>

namespace agentlb::tls {

namespace {

// One TLS record at most; the frame decoder joins the pieces.
constexpr std::size_t kReadChunk = 4096;

}  // namespace

boost::asio::awaitable<boost::system::error_code> read_message(TlsStream& stream,
                                                               wire::FrameDecoder& decoder,
                                                               wire::Message& out,
                                                               std::string& detail) {
    std::array<char, kReadChunk> buffer;
    for (;;) {
        boost::system::error_code ec;
        if (auto payload = decoder.next(ec)) {
            co_return wire::decode_message(*payload, out, detail);
        }
        if (ec) {
            detail = ec.message();
            co_return ec;
        }
        const std::size_t n = co_await stream.read_some(buffer.data(), buffer.size(), ec);
        if (ec) {
            co_return ec;
        }
        decoder.feed(buffer.data(), n);
    }
}

}  // namespace agentlb::tls
