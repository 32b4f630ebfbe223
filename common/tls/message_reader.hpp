#pragma once

// Reading whole protocol messages from a TlsStream for a driver that waits
// for one message at a time (the tests' scripted server and clients): the
// bytes go through protocol::FrameIntake, the one decoder of every received
// stream. Lives apart from agentlb_tls so that the TLS layer does not depend
// on the wire format.

#include "common/protocol/frame_intake.hpp"
#include "common/tls/stream.hpp"
#include "common/wire/messages.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <string>

namespace agentlb::tls {

// Returns the next message held by `intake`, reading from `stream` (at most
// 4 KiB per read) until one is complete. Errors: the stream's (eof, ssl,
// operation_aborted), or the wire category with `detail` saying what was wrong
// with the frame or the message. Frames after the one returned stay in
// `intake` for the next call.
boost::asio::awaitable<boost::system::error_code> read_message(TlsStream& stream,
                                                               protocol::FrameIntake& intake,
                                                               wire::Message& out,
                                                               std::string& detail);

}  // namespace agentlb::tls
