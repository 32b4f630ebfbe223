#pragma once

// The listening end of an --app-socket (issue 19): a Unix stream socket that
// only the owner and one group may use. Both agentlb-agent and agentlb-mgmt
// open theirs here, so both check the same things before they listen.

#include "common/util/result.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <filesystem>
#include <string>

namespace agentlb::appsock {

using Acceptor = boost::asio::local::stream_protocol::acceptor;
using Socket = boost::asio::local::stream_protocol::socket;

// Listens on `path`, mode 0660, owned by `group` when it is not empty (a
// group name or number). Refused, with a reason naming the path and what is
// wrong, when:
// - its folder is missing, or anyone may write to it without the sticky
//   bit (another user could put their own socket in its place);
// - the path exists and is not a socket, or another process listens on it
//   (a socket left by a process that died is replaced);
// - the group does not exist or cannot be set, or the path is too long for
//   a Unix socket.
Result<Acceptor> open_app_socket(boost::asio::any_io_executor executor,
                                 const std::filesystem::path& path,
                                 const std::string& group);

// The reason `path` (an open app socket) is not as open_app_socket() left
// it, or "": mode 0660 and, when given, `group`. Checked again by the tests.
std::string app_socket_problem(const std::filesystem::path& path, const std::string& group);

}  // namespace agentlb::appsock
