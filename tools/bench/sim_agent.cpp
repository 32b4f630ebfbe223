#include "tools/bench/sim_agent.hpp"

#include "common/tls/deadline.hpp"
#include "common/tls/timeouts.hpp"
#include "common/wire/frame.hpp"
#include "tools/bench/fleet.hpp"
#include "tools/bench/ticket_keeper.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <netinet/in.h>
#include <random>

namespace agentlb::bench {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

// One read buffer for the whole worker: a session touches it only once data is there.
std::array<char, 16 * 1024>& read_buffer() {
    static std::array<char, 16 * 1024> buffer;
    return buffer;
}

std::string short_reason(const error_code& ec, const std::string& detail) {
    std::string text = detail.empty() ? ec.message() : detail;
    if (text.size() > 80) {
        text.resize(80);
    }
    return text;
}

// The value in [0, 1) that jitters a backoff (agents must not retry in step).
double unit_random() {
    static thread_local std::mt19937 random{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(random);
}

protocol::TimePoint now() {
    return std::chrono::steady_clock::now();
}

}  // namespace

SimAgent::SimAgent(
    Fleet& fleet, std::size_t global_index, std::string name, std::int64_t host_id, X509Handle cert)
    : fleet_(fleet),
      global_index_(global_index),
      name_(std::move(name)),
      host_id_(host_id),
      cert_(std::move(cert)),
      policy_(protocol::BackoffSettings{}),
      timer_(fleet.io().get_executor()) {
    if (const auto* settings = fleet.app_settings()) {
        app_ = std::make_unique<HostStreams>(*settings);
    }
}

void SimAgent::set_held(std::vector<int> servers, std::string algorithm, std::int64_t interval) {
    std::vector<std::string> hosts;
    for (int index : servers) {
        hosts.push_back(fleet_.servers()[static_cast<std::size_t>(index)].address);
    }
    policy_.set_hosts(std::move(hosts));
    algorithm_ = std::move(algorithm);
    interval_ = interval;
}

int SimAgent::preferred() const {
    const auto first = policy_.preferred();
    return first ? std::max(0, fleet_.server_index(*first)) : 0;
}

std::string SimAgent::held_text() const {
    if (policy_.hosts().empty()) {
        return {};
    }
    std::string text;
    for (const auto& address : policy_.hosts()) {
        if (!text.empty()) {
            text += ',';
        }
        text += address;
    }
    return text + "@" + algorithm_;
}

void SimAgent::apply_list(const wire::MsList& list) {
    // Only the bench's own servers: an entry it cannot dial is dropped.
    std::vector<std::string> hosts;
    for (const auto& entry : list.list) {
        if (fleet_.server_index(entry) >= 0) {
            hosts.push_back(entry);
        }
    }
    policy_.set_hosts(std::move(hosts));
    policy_.set_avoid(list.avoid);
    algorithm_ = list.algorithm;
    interval_ = list.interval;
}

void SimAgent::keep_ticket(SSL_SESSION* session) {
    // A copy: OpenSSL marks the session of an SSL freed without close_notify
    // (a lost connection) as not resumable, and this one is that SSL's.
    if (session != nullptr && SSL_SESSION_is_resumable(session) == 1) {
        SslSessionPtr copy(SSL_SESSION_dup(session));
        if (copy) {
            ticket_ = std::move(copy);
            fleet_.on_ticket();
        }
    }
}

void SimAgent::park() {
    parked_ = true;
    if (stream_) {
        stream_->close();
    }
}

asio::awaitable<void> SimAgent::live(int target) {
    running_ = true;
    parked_ = false;
    bool initial = true;
    const int first_target = target;
    std::vector<std::string> pass;  // the candidates of the current pass
    std::size_t next = 0;
    while (!fleet_.stopping() && !parked_) {
        Attempt result = co_await attempt(target);
        result.initial = initial;
        fleet_.on_attempt(result);
        if (result.pushed_back) {
            // A failed candidate: the next one now; the pass's wait is the policy's.
            policy_.pushed_back(fleet_.servers()[static_cast<std::size_t>(target)].address,
                                *result.pushed_back);
        }
        if (result.established) {
            initial = false;
            policy_.connected();
            if (lost_ns != 0 && back_ns == 0) {
                back_ns = result.welcomed_ns;
                back_resumed = result.resumed;
            }
            auto stream = stream_;
            const error_code ended = co_await pump(*stream, Machine::State::established);
            (void)ended;
            stream->close();
            server_ = -1;
            if (parked_ || fleet_.stopping()) {
                break;
            }
            fleet_.on_lost(*this);
            if (lost_ns == 0) {
                lost_ns = steady_ns();
            }
            pass = policy_.candidates();
            next = 0;
            if (!relocate_to_.empty()) {
                // Moved towards named servers: only those (the real agent stays
                // where it is when none takes it; here the next pass is the
                // whole list again).
                auto named = pass;
                std::erase_if(named, [this](const std::string& entry) {
                    return std::none_of(relocate_to_.begin(), relocate_to_.end(), [&](const std::string& to) {
                        return protocol::same_server(entry, to);
                    });
                });
                if (!named.empty()) {
                    pass = std::move(named);
                }
                relocate_to_.clear();
            }
        } else if (initial && result.pushed_back) {
            // The phase places each agent on its server: a push-back there
            // means wait the retry-after (as the policy would after a pass)
            // and dial the same server again, not move to the next one.
            asio::steady_timer pause(fleet_.io(),
                                     protocol::push_back_wait(*result.pushed_back, unit_random()));
            error_code ignored;
            auto token = asio::redirect_error(asio::use_awaitable, ignored);
            co_await pause.async_wait(token);
            policy_.connected();  // forget the push-back: no pass is under way
            continue;
        } else if (initial) {
            break;  // the phase counts the failure; an initial failure is not retried
        }
        if (next >= pass.size()) {
            // A full pass failed (or there is no list): back off, then start over.
            if (!result.established) {
                asio::steady_timer pause(fleet_.io(), policy_.pass_failed(unit_random()));
                error_code ignored;
                auto token = asio::redirect_error(asio::use_awaitable, ignored);
                co_await pause.async_wait(token);
            }
            pass = policy_.pass_candidates();
            next = 0;
        }
        target = next < pass.size() ? fleet_.server_index(pass[next++]) : first_target;
        if (target < 0) {
            target = first_target;
        }
    }
    server_ = -1;
    running_ = false;
}

asio::awaitable<Attempt> SimAgent::attempt(int target) {
    Attempt result;
    result.started_ns = steady_ns();
    const ServerTarget& server = fleet_.servers()[static_cast<std::size_t>(target)];
    tcp::socket socket(fleet_.io());
    error_code ec;
    socket.open(tcp::v4(), ec);
    if (ec) {
        result.failure = "socket: " + ec.message();
        co_return result;
    }
    // Many agents share a source address: let connect() pick the port per
    // destination instead of reserving one at bind().
    const int one = 1;
    ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    socket.bind(tcp::endpoint(fleet_.source_address(global_index_), 0), ec);
    if (ec) {
        result.failure = "bind: " + ec.message();
        co_return result;
    }
    {
        tls::Deadline connect_deadline(socket);
        connect_deadline.expires_after(tls::kHandshakeTimeout);
        auto token = asio::redirect_error(asio::use_awaitable, ec);
        co_await socket.async_connect(server.endpoint, token);
        if (ec) {
            result.failure = connect_deadline.expired() ? "connect: timeout" : "connect: " + ec.message();
            co_return result;
        }
    }
    auto stream = std::make_shared<tls::TlsStream>(
        std::move(socket), fleet_.ssl_context(), tls::Role::client, server.address);
    SSL* ssl = stream->native_handle();
    // One client context for every agent: each session carries its own certificate.
    if (SSL_use_certificate(ssl, cert_.get()) != 1) {
        result.failure = "own certificate refused by OpenSSL";
        co_return result;
    }
    // Tickets arrive after welcome (new-session callback): it finds its agent here.
    attach_agent(ssl, this);
    if (ticket_) {
        // A copy: a resumed session ending without close_notify (a killed
        // server) marks its session not resumable, and a resumed agent gets
        // no new ticket while its own is young, so it offers this one again.
        SslSessionPtr copy(SSL_SESSION_dup(ticket_.get()));
        result.offered_ticket = copy && SSL_set_session(ssl, copy.get()) == 1;
        ERR_clear_error();
    }
    stream_ = stream;
    if (parked_) {
        stream->close();
    }

    // A new session: its own machine, whose welcome deadline covers the
    // handshake too; frames of an earlier session are dropped.
    ++session_;
    out_.clear();
    writing_ = false;
    refused_ = false;
    refusal_.reset();
    closed_by_.reset();
    close_detail_.clear();
    // A random first ping: agents that connect together ping spread over the interval.
    machine_.emplace(
        Machine::Settings{server.address, tls::kHandshakeTimeout, tls::kHeartbeatInterval, unit_random()});
    wire::Hello greeting{name_, "default", held_text(), interval_, "bench"};
    greeting.app = app_ != nullptr;
    run(machine_->start(std::move(greeting), now()));
    const auto timed_out = [this] { return closed_by_ == Machine::CloseReason::welcome_timeout; };

    ec = co_await stream->handshake();
    if (ec) {
        if (const auto pushed = stream->push_back()) {
            result.pushed_back = pushed->retry_after;
            result.failure = "pushed back";
        } else {
            result.failure =
                timed_out() ? "tls: timeout" : "tls: " + short_reason(ec, stream->last_error_detail());
        }
        co_return result;
    }
    std::string hello;
    hello.swap(out_);
    ec = co_await stream->write_all(hello.data(), hello.size());
    if (ec) {
        result.failure = "hello: " + short_reason(ec, stream->last_error_detail());
        co_return result;
    }
    ec = co_await pump(*stream, Machine::State::awaiting_welcome);
    if (machine_->state() != Machine::State::established) {
        if (refused_) {
            result.failure =
                "refused: " + std::string(refusal_ ? wire::error_code_text(*refusal_) : "unknown code");
        } else if (timed_out()) {
            result.failure = "welcome: timeout";
        } else if (closed_by_ == Machine::CloseReason::protocol_error) {
            result.failure = short_reason(ec, close_detail_);
        } else {
            result.failure = "closed before welcome: " + short_reason(ec, stream->last_error_detail());
        }
        stream->close();
        co_return result;
    }
    result.established = true;
    result.resumed = stream->resumed();
    result.welcomed_ns = steady_ns();
    server_ = target;
    if (app_) {
        // As the Client on a new connection: what was not acknowledged goes again.
        send_app(app_->on_link_reset(now()));
    }
    // What came with welcome (an ack of its correction, a pong) goes now.
    if (!out_.empty() && !writing_) {
        writing_ = true;
        asio::co_spawn(fleet_.io(), writer(stream_, session_), asio::detached);
    }
    co_return result;
}

asio::awaitable<error_code> SimAgent::pump(tls::TlsStream& stream, Machine::State state) {
    auto& buffer = read_buffer();
    error_code ec;
    while (machine_->state() == state) {
        const std::size_t n = co_await stream.read_some(buffer.data(), buffer.size(), ec);
        if (ec) {
            run(machine_->close("connection lost: " + ec.message(), false));
            co_return ec;
        }
        const std::int64_t answered = machine_->pings_answered();
        run(machine_->on_bytes(buffer.data(), n, now()));
        if (machine_->pings_answered() > answered) {
            fleet_.on_pong((steady_ns() - ping_sent_ns_) / 1000);
        }
    }
    co_return ec;
}

void SimAgent::run(Machine::Actions actions) {
    std::vector<wire::App> apps;  // of this input (one read): answered as one pass
    for (auto& action : actions) {
        if (auto* send = std::get_if<Machine::Send>(&action)) {
            if (std::holds_alternative<wire::Ping>(send->message)) {
                ping_sent_ns_ = steady_ns();
                fleet_.on_ping();
            }
            queue(send->message);
        } else if (auto* persist = std::get_if<Machine::Persist>(&action)) {
            if (!persist->correction && push_ns == 0) {
                push_ns = steady_ns();
            }
            apply_list(persist->list);
            // The real agent stores the list first; the bench holds it in memory.
            run(machine_->on_persisted(persist->list.seq, true, now()));
        } else if (auto* migrate = std::get_if<Machine::Migrate>(&action)) {
            policy_.set_avoid(std::move(migrate->avoid));
            relocate_to_ = std::move(migrate->to);
            run(machine_->close("migrate", false));
        } else if (auto* received = std::get_if<Machine::AppReceived>(&action)) {
            if (app_) {
                apps.push_back(std::move(received->app));
            }
        } else if (auto* refused = std::get_if<Machine::Refused>(&action)) {
            refused_ = true;
            refusal_ = refused->code;
        } else if (auto* close = std::get_if<Machine::Close>(&action)) {
            closed_by_ = close->reason;
            close_detail_ = std::move(close->detail);
            if (stream_) {
                stream_->close();
            }
        }
        // Welcomed: attempt() sees the state; certificate, server error, ignored: nothing to do.
    }
    if (!apps.empty()) {
        send_app(app_->on_apps(apps, now()));
    }
    arm_timer();
}

void SimAgent::arm_timer() {
    const auto at = machine_ ? machine_->deadline() : protocol::TimePoint::max();
    // The timer is destroyed with this agent, so `this` is alive when it fires.
    timer_.arm(at, [this] { run(machine_->on_timer(now())); });
}

void SimAgent::queue(const wire::Message& message) {
    if (!stream_) {
        return;
    }
    auto frame = wire::encode_frame(wire::encode_message(message));
    if (!frame) {
        return;
    }
    out_ += *frame;
    // Before welcome attempt() writes the hello itself, and starts the writer after.
    if (server_ >= 0 && !writing_) {
        writing_ = true;
        asio::co_spawn(fleet_.io(), writer(stream_, session_), asio::detached);
    }
}

void SimAgent::send_app(std::vector<wire::App> messages) {
    for (auto& message : messages) {
        run(machine_->send_app(std::move(message)));
    }
}

void SimAgent::app_tick(protocol::TimePoint at) {
    if (!app_) {
        return;
    }
    if (server_ >= 0 && machine_ && machine_->state() == Machine::State::established) {
        send_app(app_->on_tick(at));
    } else {
        app_->on_tick_without_session(at);
    }
}

asio::awaitable<void> SimAgent::writer(std::shared_ptr<tls::TlsStream> stream, std::uint64_t session) {
    while (session == session_ && !out_.empty()) {
        std::string chunk;
        chunk.swap(out_);
        const error_code ec = co_await stream->write_all(chunk.data(), chunk.size());
        if (ec) {
            stream->close();
            break;
        }
    }
    if (session == session_) {
        writing_ = false;
    }
}

}  // namespace agentlb::bench
