#include "mgmt/ticket_key_refresh.hpp"

#include "certs/ca.hpp"
#include "common/lb/ticket_settings.hpp"
#include "common/util/clock.hpp"
#include "mgmt/shared_state.hpp"
#include "mgmt/tick_loop.hpp"

#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

#include <map>
#include <stdexcept>
#include <utility>

namespace agentlb::mgmt {

namespace asio = boost::asio;

namespace {

// The rotation period as stored (its default when unset or corrupt).
std::int64_t rotation_seconds(store::Store& store, std::optional<std::string>& error) {
    std::map<std::string, std::string> stored;
    for (std::string_view key : {lb::kTicketLifetimeKey, lb::kTicketRotationKey}) {
        if (auto value = store.get_config(key)) {
            stored.emplace(std::string(key), *value);
        }
    }
    auto settings = lb::ticket_settings_from_config(stored);
    if (!settings) {
        error = settings.error();
        return lb::kDefaultTicketRotation.count();
    }
    return settings->rotation.count();
}

std::string_view text_of(const std::array<unsigned char, 16>& bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// This server's wrapping key, from the CA it issues from (it changes with a CA rotation).
std::shared_ptr<const tls::TicketKeyWrapper> make_wrapper(const SharedState& state) {
    auto secret = state.ca.issuer()->derive_secret(tls::kTicketKeyWrapInfo);
    if (!secret) {
        throw std::runtime_error(secret.error());
    }
    auto wrapper = std::make_shared<const tls::TicketKeyWrapper>(*secret);
    secret->fill(0);
    return wrapper;
}

}  // namespace

TicketKeyRefreshResult refresh_ticket_keys(store::Store& store,
                                           const tls::TicketKeyWrapper& wrapper,
                                           std::int64_t now) {
    TicketKeyRefreshResult result;
    const std::int64_t rotation = rotation_seconds(store, result.settings_error);
    store::TicketKeyMaker maker{
        [&wrapper] {
            auto key = tls::random_ticket_key();
            if (!key) {
                throw std::runtime_error(key.error());
            }
            auto wrapped = wrapper.wrap(*key);
            if (!wrapped) {
                throw std::runtime_error(wrapped.error());
            }
            return store::TicketKeyRecord{std::string(text_of(key->name)), std::move(wrapped).value(), 0};
        },
        [&wrapper](const store::TicketKeyRecord& row) {
            return wrapper.unwrap(row.name, row.wrapped).has_value();
        }};
    const auto rows = store.ensure_ticket_keys(now, rotation, maker);
    for (std::size_t i = 0; i < rows.size() && i < store::kTicketKeysKept; ++i) {
        if (auto key = wrapper.unwrap(rows[i].name, rows[i].wrapped)) {
            result.keys.push_back(*key);
        } else {
            ++result.unusable;
        }
    }
    return result;
}

TicketKeyRefresh::TicketKeyRefresh(asio::io_context& context, std::shared_ptr<SharedState> state)
    : context_(context), state_(std::move(state)), timer_(context) {}

void TicketKeyRefresh::load_initial() {
    try {
        auto wrapper = make_wrapper(*state_);
        apply(state_->store.call_sync([&wrapper](store::Store& store) {
            return refresh_ticket_keys(store, *wrapper, util::unix_now());
        }));
    } catch (const std::exception& e) {
        failed(e.what());
    }
}

void TicketKeyRefresh::start() {
    spawn_loop(context_, "ticket key refresh", [self = shared_from_this()] { return self->loop(); });
}

void TicketKeyRefresh::stop() {
    asio::post(context_, [self = shared_from_this()] {
        self->stopped_ = true;
        self->timer_.cancel();
    });
}

asio::awaitable<void> TicketKeyRefresh::loop() {
    for (;;) {
        const bool go_on = co_await next_tick(timer_, state_->options.ticket_key_refresh, stopped_);
        if (!go_on) {
            break;
        }
        std::optional<TicketKeyRefreshResult> result;
        std::string error;
        try {
            auto wrapper = make_wrapper(*state_);
            auto job = [wrapper](store::Store& store) {
                return refresh_ticket_keys(store, *wrapper, util::unix_now());
            };
            result = co_await state_->store.call(std::move(job));
        } catch (const std::exception& e) {
            error = e.what();
        }
        if (stopped_) {
            break;
        }
        if (result) {
            apply(std::move(*result));
        } else {
            failed(error);
        }
    }
}

void TicketKeyRefresh::apply(TicketKeyRefreshResult result) {
    if (failing_) {
        spdlog::info("TLS ticket keys: read from the store again");
        failing_ = false;
    }
    if (result.settings_error && result.settings_error != settings_error_) {
        spdlog::warn("TLS ticket keys: {}; using the default rotation period", *result.settings_error);
    }
    settings_error_ = result.settings_error;
    if (result.unusable > 0 && !warned_unusable_) {
        // Another CA key wrapped them: a CA rotation in progress, or servers whose --ca-dir differ.
        spdlog::warn(
            "TLS ticket keys: {} of the stored keys were made under another CA key and cannot be used by "
            "this server; agents resume here only with tickets of the keys it made",
            result.unusable);
        warned_unusable_ = true;
    } else if (result.unusable == 0) {
        warned_unusable_ = false;
    }
    const std::size_t held = result.keys.size();
    std::optional<std::array<unsigned char, 16>> newest;
    if (!result.keys.empty()) {
        newest = result.keys.front().name;
    }
    state_->ticket_keys->install(std::move(result.keys));
    if (newest && current_ && *newest != *current_) {
        state_->metrics.ticket_key_rotations.fetch_add(1);
        spdlog::info("TLS ticket keys: a new key encrypts session tickets ({} held)", held);
    } else if (newest && !current_) {
        spdlog::info("TLS ticket keys: {} shared key{} held", held, held == 1 ? "" : "s");
    }
    current_ = newest;
}

void TicketKeyRefresh::failed(const std::string& reason) {
    if (!failing_) {
        // The keys held go on working; a server without any sends no tickets.
        spdlog::warn("TLS ticket keys: cannot refresh them ({}); {} key{} held, trying again every {} ms",
                     reason,
                     state_->ticket_keys->size(),
                     state_->ticket_keys->size() == 1 ? "" : "s",
                     state_->options.ticket_key_refresh.count());
        failing_ = true;
    }
}

}  // namespace agentlb::mgmt
