#pragma once

// The TLS session ticket keys this server shares with every other one
// through the store: at start and every 10 s (Options::ticket_key_refresh)
// on the store thread, store::Store::ensure_ticket_keys (a new key when
// agentlb.tls.ticket.key.rotation.period has passed; two kept), then the
// keys this server can unwrap (under its CA key) go into the ring every
// agent-port context uses (SharedState::ticket_keys). An agent that loses its
// server then resumes its session on the next one.
//
// A key made under another CA key (after a CA rotation, or by a server
// whose --ca-dir differs) cannot be unwrapped: ensure_ticket_keys replaces
// it when it is the newest. Key material is never logged.

#include "common/store/store.hpp"
#include "common/tls/ticket_key_wrap.hpp"
#include "common/tls/ticket_keys.hpp"
#include "mgmt/awaitable.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::mgmt {

class SharedState;

struct TicketKeyRefreshResult {
    std::vector<tls::TicketKey> keys;           // usable, newest first: what the ring gets
    std::size_t unusable = 0;                   // of the newest kTicketKeysKept rows, those not unwrapped
    std::optional<std::string> settings_error;  // a corrupt stored setting (the default was used)
};

// One refresh on the store thread: reads the rotation period, ensures the
// keys and unwraps them. Throws StoreError as the store does, and
// std::runtime_error when no key can be made (OpenSSL's random generator).
TicketKeyRefreshResult refresh_ticket_keys(store::Store& store,
                                           const tls::TicketKeyWrapper& wrapper,
                                           std::int64_t now);

class TicketKeyRefresh : public std::enable_shared_from_this<TicketKeyRefresh> {
public:
    TicketKeyRefresh(boost::asio::io_context& context, std::shared_ptr<SharedState> state);

    // Start-up: the first refresh, blocking, before the listeners accept. A
    // failure is logged; the server then starts without keys (it sends no
    // tickets and resumes none) and the loop tries again.
    void load_initial();
    void start();
    void stop();  // any thread

private:
    boost::asio::awaitable<void> loop();
    // On the context's thread: installs what a refresh found, counts a rotation, logs.
    void apply(TicketKeyRefreshResult result);
    void failed(const std::string& reason);

    boost::asio::io_context& context_;
    std::shared_ptr<SharedState> state_;
    boost::asio::steady_timer timer_;
    bool stopped_ = false;
    std::optional<std::array<unsigned char, 16>> current_;  // name of the key that encrypts
    bool failing_ = false;
    bool warned_unusable_ = false;
    std::optional<std::string> settings_error_;  // logged once until it changes
};

}  // namespace agentlb::mgmt
