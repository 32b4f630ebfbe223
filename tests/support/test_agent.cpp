#include "tests/support/test_agent.hpp"

#include "certs/ca_chain.hpp"
#include "certs/inspect.hpp"
#include "common/protocol/agent_machine.hpp"
#include "common/protocol/enroll_client_machine.hpp"
#include "common/protocol/frame_intake.hpp"
#include "common/tls/stream.hpp"
#include "common/wire/error.hpp"
#include "common/wire/frame.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <future>
#include <stdexcept>

namespace agentlb::test {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

tcp::endpoint parse_loopback(const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) {
        throw std::invalid_argument("address without port: " + address);
    }
    return {asio::ip::make_address(address.substr(0, colon)),
            static_cast<unsigned short>(std::stoi(address.substr(colon + 1)))};
}

// The TLS layer's own reason when it has one, else the error's message.
std::string failure_text(const tls::TlsStream& stream, const error_code& ec) {
    return stream.last_error_detail().empty() ? ec.message() : stream.last_error_detail();
}

template <class T>
std::optional<T> wait_future(std::future<T>& future, std::chrono::milliseconds timeout) {
    if (future.wait_for(timeout) != std::future_status::ready) {
        return std::nullopt;
    }
    return future.get();
}

}  // namespace

struct TestAgent::Impl {
    asio::io_context context;
    asio::executor_work_guard<asio::io_context::executor_type> guard{context.get_executor()};
    tls::SslCtxPtr ssl_context;
    std::unique_ptr<tls::TlsStream> stream;
    std::thread thread;

    mutable std::mutex mutex;
    std::condition_variable changed;
    std::deque<wire::Message> inbox;
    std::string server_serial;  // set before connect() returns
    bool closed = false;
    std::string close_reason;

    Impl() : thread([this] { context.run(); }) {}

    ~Impl() {
        close_stream();
        guard.reset();
        context.stop();
        thread.join();
        // Coroutine frames still queued die with the context, before the stream.
    }

    // Closes the stream on the I/O thread, which alone touches it.
    void close_stream() {
        std::promise<void> done;
        auto finished = done.get_future();
        asio::post(context, [this, &done] {
            if (stream) {
                stream->close();
            }
            done.set_value();
        });
        finished.wait_for(std::chrono::seconds(5));
    }

    void mark_closed(std::string reason) {
        std::lock_guard lock(mutex);
        if (!closed) {
            closed = true;
            close_reason = std::move(reason);
        }
        changed.notify_all();
    }

    // Every message as it came, through the protocol core's frame intake.
    asio::awaitable<void> reader() {
        protocol::FrameIntake intake;
        std::array<char, 4096> buffer;
        for (;;) {
            error_code ec;
            const std::size_t n = co_await stream->read_some(buffer.data(), buffer.size(), ec);
            if (ec) {
                mark_closed(failure_text(*stream, ec));
                co_return;
            }
            intake.feed(buffer.data(), n);
            for (;;) {
                auto next = intake.next();
                if (std::holds_alternative<protocol::NeedMore>(next)) {
                    break;
                }
                if (auto* bad = std::get_if<protocol::BadInput>(&next)) {
                    mark_closed(bad->detail + " (from the server)");
                    co_return;
                }
                std::lock_guard lock(mutex);
                inbox.push_back(std::move(std::get<wire::Message>(next)));
                changed.notify_all();
            }
        }
    }
};

TestAgent::TestAgent(AgentIdentity identity, std::string ca_pem)
    : identity_(std::move(identity)), impl_(std::make_unique<Impl>()) {
    // As agentlb-agent does: what follows the leaf in cert_pem is sent after it.
    auto chain = certs::pem_after_first(identity_.cert_pem);
    if (!chain) {
        throw std::runtime_error("agent certificate: " + chain.error());
    }
    auto context = tls::make_agent_client_context(
        tls::AgentClientConfig{ca_pem, identity_.cert_pem, identity_.key_pem, std::move(chain).value()});
    if (!context) {
        throw std::runtime_error("agent client context: " + context.error());
    }
    impl_->ssl_context = std::move(context).value();
}

TestAgent::~TestAgent() = default;

std::string TestAgent::connect(const std::string& address, std::chrono::milliseconds timeout) {
    // Shared: on a timeout the coroutine may still finish after we return.
    auto promise = std::make_shared<std::promise<std::string>>();
    auto future = promise->get_future();
    auto* impl = impl_.get();
    auto run = [impl, address, promise]() -> asio::awaitable<void> {
        tcp::socket socket(impl->context);
        error_code ec;
        co_await socket.async_connect(parse_loopback(address), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            promise->set_value("connect: " + ec.message());
            co_return;
        }
        impl->stream = std::make_unique<tls::TlsStream>(
            std::move(socket), impl->ssl_context.get(), tls::Role::client, address);
        ec = co_await impl->stream->handshake();
        if (ec) {
            promise->set_value("handshake: " + failure_text(*impl->stream, ec));
            impl->mark_closed("handshake failed");
            co_return;
        }
        if (auto peer = tls::peer_certificate(impl->stream->native_handle())) {
            impl->server_serial = certs::serial_of(peer.get());
        }
        asio::co_spawn(impl->context, impl->reader(), asio::detached);
        promise->set_value("");
    };
    asio::co_spawn(impl->context, std::move(run), asio::detached);
    auto result = wait_future(future, timeout);
    if (!result) {
        close();
        return "connect: timed out";
    }
    address_ = address;
    return *result;
}

std::string TestAgent::server_serial() const {
    return impl_->server_serial;
}

std::optional<wire::Message> TestAgent::hello(const std::string& held_list,
                                              std::int64_t interval,
                                              std::optional<std::string> name,
                                              std::chrono::milliseconds timeout) {
    wire::Hello hello;
    hello.name = name.value_or(identity_.name);
    hello.zone = identity_.zone;
    hello.list = held_list;
    hello.interval = interval;
    hello.version = "test-agent";
    using Machine = protocol::AgentMachine;
    Machine machine(Machine::Settings{address_, timeout});
    welcomed_ = false;
    hello_outcome_.clear();
    const auto start = std::chrono::steady_clock::now();
    const auto take = [this](const Machine::Actions& actions) {
        for (const auto& action : actions) {
            if (std::holds_alternative<Machine::Welcomed>(action)) {
                welcomed_ = true;
            } else if (const auto* close = std::get_if<Machine::Close>(&action)) {
                hello_outcome_ = close->detail;
            }
        }
    };
    for (const auto& action : machine.start(hello, start)) {
        if (const auto* out = std::get_if<Machine::Send>(&action); out && !send(out->message, timeout)) {
            hello_outcome_ = "cannot send hello";
            return std::nullopt;
        }
    }
    auto answer = receive(timeout);
    if (!answer) {
        take(machine.on_timer(std::max(std::chrono::steady_clock::now(), machine.deadline())));
        if (is_closed()) {
            hello_outcome_ = "closed before welcome: " + close_reason();
        }
        return std::nullopt;
    }
    // The test handles what follows (a correction is not acknowledged here).
    take(machine.on_message(*answer, std::chrono::steady_clock::now()));
    return answer;
}

bool TestAgent::send(const wire::Message& message, std::chrono::milliseconds timeout) {
    auto frame = wire::encode_frame(wire::encode_message(message));
    if (!frame) {
        return false;
    }
    return send_raw(*frame, timeout);
}

bool TestAgent::send_raw(const std::string& bytes, std::chrono::milliseconds timeout) {
    auto promise = std::make_shared<std::promise<bool>>();
    auto future = promise->get_future();
    auto* impl = impl_.get();
    auto run = [impl, bytes, promise]() -> asio::awaitable<void> {
        if (!impl->stream || !impl->stream->is_open()) {
            promise->set_value(false);
            co_return;
        }
        const auto ec = co_await impl->stream->write_all(bytes.data(), bytes.size());
        promise->set_value(!ec);
    };
    asio::co_spawn(impl->context, std::move(run), asio::detached);
    auto result = wait_future(future, timeout);
    return result.value_or(false);
}

std::optional<wire::Message> TestAgent::receive(std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    impl_->changed.wait_for(lock, timeout, [this] { return !impl_->inbox.empty() || impl_->closed; });
    if (impl_->inbox.empty()) {
        return std::nullopt;
    }
    auto message = std::move(impl_->inbox.front());
    impl_->inbox.pop_front();
    return message;
}

bool TestAgent::ping(std::chrono::milliseconds timeout) {
    const auto seq = ++next_ping_;
    if (!send(wire::Ping{seq}, timeout)) {
        return false;
    }
    const auto pong = receive_until<wire::Pong>([seq](const wire::Pong& p) { return p.seq == seq; }, timeout);
    return pong.has_value();
}

bool TestAgent::wait_closed(std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [this] { return impl_->closed; });
}

bool TestAgent::is_closed() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->closed;
}

std::string TestAgent::close_reason() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->close_reason;
}

void TestAgent::close() {
    impl_->close_stream();
}

namespace {

using EnrollClient = protocol::EnrollClientMachine;

// What the machine's Close leaves for the test: the answer as received, or why there was none.
void take_close(EnrollOutcome& outcome, EnrollClient::Close close) {
    if (close.response) {
        outcome.answer = std::move(*close.response);
    } else if (close.refusal) {
        outcome.answer = std::move(*close.refusal);
    } else {
        outcome.transport_error = std::move(close.detail);
    }
}

// One enrollment exchange driven by the client machine; `raw` (when given)
// goes out instead of the machine's request.
EnrollOutcome run_enrollment(const std::string& address,
                             const std::string& ca_fingerprint,
                             wire::EnrollRequest request,
                             const std::optional<std::string>& raw,
                             std::chrono::milliseconds timeout,
                             const std::string& source_address) {
    EnrollOutcome outcome;
    auto context = tls::make_enroll_client_context(ca_fingerprint);
    if (!context) {
        outcome.transport_error = "enroll client context: " + context.error();
        return outcome;
    }
    asio::io_context io;
    std::unique_ptr<tls::TlsStream> stream;
    // The helper's own bound (io.run_for) is the deadline: the machine's is not armed.
    EnrollClient machine(timeout);
    auto run = [&]() -> asio::awaitable<void> {
        tcp::socket socket(io);
        error_code ec;
        const tcp::endpoint server = parse_loopback(address);
        if (!source_address.empty()) {
            const tcp::endpoint local(asio::ip::make_address(source_address), 0);
            socket.open(local.protocol(), ec);
            if (!ec) {
                socket.bind(local, ec);
            }
            if (ec) {
                outcome.transport_error = "bind to " + source_address + ": " + ec.message();
                co_return;
            }
        }
        co_await socket.async_connect(server, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            outcome.transport_error = "connect: " + ec.message();
            co_return;
        }
        stream =
            std::make_unique<tls::TlsStream>(std::move(socket), context->get(), tls::Role::client, address);
        ec = co_await stream->handshake();
        if (ec) {
            outcome.transport_error = "handshake: " + failure_text(*stream, ec);
            co_return;
        }
        auto next_actions = machine.start(std::move(request), std::chrono::steady_clock::now());
        std::array<char, 4096> buffer;
        while (machine.state() != EnrollClient::State::closed || !next_actions.empty()) {
            if (next_actions.empty()) {
                const std::size_t n = co_await stream->read_some(buffer.data(), buffer.size(), ec);
                const auto now = std::chrono::steady_clock::now();
                next_actions = ec ? machine.on_closed("read: " + failure_text(*stream, ec), now)
                                  : machine.on_bytes(buffer.data(), n, now);
                continue;
            }
            auto action = std::move(next_actions.front());
            next_actions.erase(next_actions.begin());
            if (auto* send = std::get_if<EnrollClient::Send>(&action)) {
                auto frame = wire::encode_frame(wire::encode_message(send->message));
                if (!frame && !raw) {
                    outcome.transport_error = "frame: " + frame.error();
                    co_return;
                }
                const std::string bytes = raw ? *raw : *frame;
                ec = co_await stream->write_all(bytes.data(), bytes.size());
                if (ec) {
                    outcome.transport_error = "write: " + ec.message();
                    co_return;
                }
            } else {
                take_close(outcome, std::get<EnrollClient::Close>(std::move(action)));
            }
        }
    };
    asio::co_spawn(io, run(), asio::detached);
    io.run_for(timeout);
    if (!io.stopped()) {
        if (stream) {
            stream->close();
        }
        io.run_for(std::chrono::seconds(2));
        if (outcome.transport_error.empty() && !outcome.answer) {
            outcome.transport_error = "timed out";
        }
    }
    return outcome;
}

}  // namespace

EnrollOutcome enroll_over_network(const std::string& address,
                                  const std::string& ca_fingerprint,
                                  const wire::EnrollRequest& request,
                                  std::chrono::milliseconds timeout,
                                  const std::string& source_address) {
    return run_enrollment(address, ca_fingerprint, request, std::nullopt, timeout, source_address);
}

EnrollOutcome send_to_enrollment_port(const std::string& address,
                                      const std::string& ca_fingerprint,
                                      const std::string& bytes,
                                      std::chrono::milliseconds timeout,
                                      const std::string& source_address) {
    // The machine's request is replaced by `bytes`; it reads the answer all the same.
    return run_enrollment(address, ca_fingerprint, wire::EnrollRequest{}, bytes, timeout, source_address);
}

}  // namespace agentlb::test
