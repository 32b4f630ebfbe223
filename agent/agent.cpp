#include "agent/agent.hpp"

#include "agent/enrollment.hpp"
#include "agent/printable.hpp"
#include "certs/inspect.hpp"
#include "certs/keys.hpp"
#include "certs/pem.hpp"
#include "certs/rfc3339.hpp"
#include "certs/verify.hpp"
#include "common/lb/host_list.hpp"
#include "common/tls/context.hpp"
#include "common/util/exception_text.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <ctime>

namespace agentlb::agent {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using boost::system::error_code;
using std::chrono::milliseconds;

namespace {

// A deliberate stop waits this long for sessions to send close_notify.
constexpr std::chrono::seconds kStopGrace{3};
// After a switch the old session stays this long (see ServerSession::retire).
constexpr milliseconds kHandoverGrace{500};
// A renewal request without an answer is sent again after this long.
constexpr std::chrono::seconds kRenewalRetry{60};

void log_exception(std::exception_ptr ep, const char* what) {
    if (auto text = util::exception_text(ep)) {
        spdlog::critical("agent {} ended by an exception: {}", what, *text);
    }
}

// 1 s, x2, cap 60 s, +/-20 % unless a test flag changed the bounds.
BackoffSettings backoff_from(const Tuning& tuning) {
    BackoffSettings settings;
    settings.initial = tuning.backoff_initial;
    settings.cap = tuning.backoff_cap;
    return settings;
}

std::string describe_list(const std::vector<std::string>& hosts, const std::string& algorithm) {
    if (hosts.empty()) {
        return "(none)";
    }
    return lb::format_agent_host_value({hosts, algorithm});
}

// Hands a pushed list from the worker (persist) to the I/O thread (adopt, ack).
class WorkerPushTarget : public PushTarget {
public:
    WorkerPushTarget(AgentStateFile& state,
                     asio::any_io_executor io,
                     std::function<void(const ListPush&)> adopt,
                     std::shared_ptr<ServerSession> session)
        : state_(state), io_(std::move(io)), adopt_(std::move(adopt)), session_(std::move(session)) {}

    Status persist(const ListUpdate& update) override { return state_.save_list(update); }
    void adopt(const ListPush& push) override {
        asio::post(io_, [adopt = adopt_, push] { adopt(push); });
    }
    void ack(std::int64_t seq) override {
        asio::post(io_, [session = session_, seq] { session->send(wire::Ack{seq}); });
    }

private:
    AgentStateFile& state_;
    asio::any_io_executor io_;
    std::function<void(const ListPush&)> adopt_;
    std::shared_ptr<ServerSession> session_;
};

}  // namespace

Agent::Agent(asio::io_context& io, FileWorker& worker, AgentOptions options, AgentStateFile state)
    : io_(io),
      worker_(worker),
      options_(std::move(options)),
      state_(std::make_unique<AgentStateFile>(std::move(state))),
      settings_(state_->settings()),
      policy_(backoff_from(options_.tuning), make_default_random()),
      timeouts_{options_.tuning.connect_timeout,
                options_.tuning.welcome_timeout,
                options_.tuning.heartbeat_interval},
      signals_(io, SIGINT, SIGTERM, SIGHUP),
      wake_(io),
      retry_timer_(io),
      preferred_timer_(io),
      renewal_timer_(io) {
    policy_.set_hosts(settings_.hosts);
}

Agent::~Agent() = default;

void Agent::start() {
    asio::co_spawn(io_, signal_loop(), [](std::exception_ptr ep) { log_exception(ep, "signal handling"); });
    asio::co_spawn(io_, run(), [this](std::exception_ptr ep) {
        if (ep) {
            log_exception(ep, "main loop");
            stop(kExitFailure, "internal error");
        }
    });
}

// --- start-up -------------------------------------------------------------

asio::awaitable<void> Agent::run() {
    if (!certificate_exists(settings_)) {
        if (!options_.enroll) {
            stop(kExitUsage,
                 "no certificate at " + settings_.cert_file.string() +
                     ": this host is not enrolled. Create a token on a management server (agentlbctl token "
                     "create) and start once with --enroll-server HOST:8251 --enroll-token TOKEN "
                     "--ca-fingerprint sha256:HEX");
            co_return;
        }
        if (!co_await enroll()) {
            co_return;
        }
    } else if (options_.enroll) {
        spdlog::info("certificate {} exists: ignoring the enrolment options", settings_.cert_file.string());
    }
    if (stopping_ || !co_await load_credentials_and_context()) {
        co_return;
    }
    running_ = true;
    asio::co_spawn(
        io_, preferred_loop(), [](std::exception_ptr ep) { log_exception(ep, "preferred check"); });
    asio::co_spawn(io_, renewal_loop(), [](std::exception_ptr ep) { log_exception(ep, "renewal check"); });
    co_await connection_loop();
}

asio::awaitable<bool> Agent::enroll() {
    const EnrollOptions& server = *options_.enroll;
    const std::string name = options_.name;
    spdlog::info(
        "no certificate at {}: enrolling as {} with {}", settings_.cert_file.string(), name, server.server);

    auto key = certs::generate_p256_key();
    if (!key) {
        stop(kExitFailure, "cannot make a key: " + key.error());
        co_return false;
    }
    auto csr = certs::make_csr_pem(key->get(), name);
    if (!csr) {
        stop(kExitFailure, "cannot make a certificate request: " + csr.error());
        co_return false;
    }
    const std::string key_pem = certs::private_key_to_pem(key->get());
    auto context = tls::make_enroll_client_context(server.ca_fingerprint);
    if (!context) {
        stop(kExitUsage, context.error());
        co_return false;
    }

    const wire::EnrollRequest request{server.token, *csr, name, options_.zone};
    Backoff backoff(backoff_from(options_.tuning), make_default_random());
    auto executor = co_await asio::this_coro::executor;
    while (!stopping_) {
        auto attempt = co_await attempt_enrollment(
            executor, context->get(), server, request, timeouts_.connect, timeouts_.welcome);
        if (stopping_) {
            co_return false;
        }
        if (attempt.response) {
            const wire::EnrollResponse response = std::move(*attempt.response);
            if (auto checked = check_enrollment_response(response, key_pem, server.ca_fingerprint);
                !checked) {
                stop(kExitFailure, "enrolment failed: " + checked.error());
                co_return false;
            }
            std::function<Result<AgentSettings>()> job =
                [this, response, key_pem]() -> Result<AgentSettings> {
                if (auto stored = store_enrollment(*state_, response, key_pem); !stored) {
                    return fail(stored.error());
                }
                return state_->settings();
            };
            auto stored = co_await worker_.run(std::move(job));
            if (!stored) {
                stop(kExitFailure, "enrolled, but cannot store the result: " + stored.error());
                co_return false;
            }
            settings_ = std::move(*stored);
            policy_.set_hosts(settings_.hosts);
            spdlog::info("enrolled as {} (host id {}, zone {}); servers {}",
                         printable(response.name),
                         response.host_id,
                         printable(response.zone),
                         describe_list(settings_.hosts, settings_.algorithm));
            co_return true;
        }
        if (attempt.final) {
            stop(kExitFailure, "enrolment failed: " + attempt.reason);
            co_return false;
        }
        const auto wait = backoff.next();
        spdlog::warn(
            "enrolment at {} failed: {}; retrying in {} ms", server.server, attempt.reason, wait.count());
        co_await sleep(retry_timer_, wait);
    }
    co_return false;
}

asio::awaitable<bool> Agent::load_credentials_and_context() {
    std::function<Result<Credentials>()> job = [settings = settings_] { return load_credentials(settings); };
    auto loaded = co_await worker_.run(std::move(job));
    if (!loaded) {
        stop(kExitUsage, loaded.error());
        co_return false;
    }
    credentials_ = std::move(*loaded);
    if (auto built = rebuild_client_context(); !built) {
        stop(kExitUsage, built.error());
        co_return false;
    }
    spdlog::info("agentlb-agent {} for {} ({}): certificate serial {} valid until {}; servers {}",
                 AGENTLB_VERSION,
                 identity_name(),
                 settings_.zone.empty() ? "no zone" : "zone " + settings_.zone,
                 certs::serial_of(credentials_.certificate.get()),
                 certs::format_rfc3339(certs::not_after_of(credentials_.certificate.get())),
                 describe_list(settings_.hosts, settings_.algorithm));
    co_return true;
}

Status Agent::rebuild_client_context() {
    auto context =
        tls::make_agent_client_context({credentials_.ca_pem, credentials_.cert_pem, credentials_.key_pem});
    if (!context) {
        return fail(context.error());
    }
    client_context_ = std::shared_ptr<SSL_CTX>(context->release(), tls::SslCtxDeleter{});
    return success();
}

std::string Agent::identity_name() const {
    if (credentials_.certificate) {
        std::string cn = certs::common_name_of(credentials_.certificate.get());
        if (!cn.empty()) {
            return cn;
        }
    }
    return settings_.name.empty() ? options_.name : settings_.name;
}

// --- connecting -----------------------------------------------------------

asio::awaitable<DialOutcome> Agent::dial(const std::string& entry) {
    // Held for the whole dial: a renewal may replace the context meanwhile.
    const std::shared_ptr<SSL_CTX> context = client_context_;
    wire::Hello hello;
    hello.name = identity_name();
    hello.zone = settings_.zone.empty() ? options_.zone : settings_.zone;
    hello.list = settings_.held_list();
    hello.interval = settings_.check_interval;
    hello.version = AGENTLB_VERSION;
    auto executor = co_await asio::this_coro::executor;
    spdlog::debug("dialling {}", entry);
    co_return co_await ServerSession::dial(executor, entry, context.get(), std::move(hello), timeouts_);
}

asio::awaitable<bool> Agent::connect_pass(std::vector<std::string> candidates, bool relocating) {
    std::string failures;
    for (const auto& entry : candidates) {
        if (stopping_ || (!relocating && current_)) {
            co_return static_cast<bool>(current_);
        }
        DialOutcome outcome = co_await dial(entry);
        if (outcome.session) {
            if (stopping_) {
                outcome.session->close("stopping");
                co_return false;
            }
            if (!relocating && current_) {
                // The preferred check connected us meanwhile.
                outcome.session->close("already connected");
                co_return true;
            }
            adopt(outcome.session,
                  relocating ? "moving away from " + (current_ ? current_->entry() : "(none)") : "");
            co_return true;
        }
        if (outcome.refused) {
            spdlog::debug("{}: {}", entry, outcome.reason);
        } else {
            spdlog::warn("cannot use {}: {}", entry, outcome.reason);
        }
        failures += (failures.empty() ? "" : "; ") + entry + ": " + outcome.reason;
    }
    if (!candidates.empty()) {
        spdlog::warn("no management server answered ({})", failures);
    }
    co_return false;
}

void Agent::adopt(const std::shared_ptr<ServerSession>& session, const std::string& why) {
    auto old = current_;
    current_ = session;
    ++open_sessions_;
    policy_.connected();
    const auto& welcome = session->welcome();
    if (old) {
        spdlog::info("switched from {} to {} (server {}){}",
                     old->entry(),
                     session->entry(),
                     printable(welcome.server),
                     why.empty() ? "" : ": " + why);
        // Make-before-break: the new session is up before the old one goes.
        old->retire(kHandoverGrace, "switched to " + session->entry());
        std::erase_if(retiring_, [](const std::weak_ptr<ServerSession>& s) { return s.expired(); });
        retiring_.push_back(old);
    } else {
        spdlog::info("connected to {} (server {}, host id {})",
                     session->entry(),
                     printable(welcome.server),
                     welcome.host_id);
    }
    session->start(*this);
    // The check interval counts from the connect.
    preferred_timer_.cancel();
    check_renewal();
}

asio::awaitable<void> Agent::connection_loop() {
    while (!stopping_) {
        if (!current_) {
            auto candidates = policy_.candidates();
            if (co_await connect_pass(candidates, false) || stopping_) {
                continue;
            }
            const auto wait = policy_.pass_failed();
            if (candidates.empty()) {
                spdlog::warn(
                    "no management server list in {} (host=); waiting {} ms (send SIGHUP after editing)",
                    options_.config_path.string(),
                    wait.count());
            } else {
                spdlog::warn("retrying in {} ms", wait.count());
            }
            co_await sleep(retry_timer_, wait);
            continue;
        }
        if (relocate_) {
            const auto from = current_;
            auto candidates = policy_.candidates_excluding(from->entry());
            switching_ = true;
            const bool moved = co_await connect_pass(candidates, true);
            switching_ = false;
            if (moved || current_ != from) {
                relocate_ = false;
                continue;
            }
            if (stopping_) {
                break;
            }
            const auto wait = policy_.pass_failed();
            spdlog::warn(
                "nothing else answers: staying on {}; trying again in {} ms", from->entry(), wait.count());
            co_await sleep(retry_timer_, wait);
            continue;
        }
        co_await sleep(wake_, std::nullopt);
    }
}

asio::awaitable<void> Agent::preferred_loop() {
    while (!stopping_) {
        const auto delay = policy_.preferred_check_delay(settings_.check_interval);
        if (!co_await sleep(preferred_timer_, delay) || stopping_) {
            continue;  // woken early: the interval or the connection changed
        }
        if (!current_ || switching_ || relocate_ || !policy_.should_try_preferred(current_->entry())) {
            continue;
        }
        const std::string target = *policy_.preferred();
        spdlog::debug("preferred check: trying {} (connected to {})", target, current_->entry());
        switching_ = true;
        DialOutcome outcome = co_await dial(target);
        switching_ = false;
        if (!outcome.session) {
            spdlog::debug("preferred server {} still unavailable: {}", target, outcome.reason);
            continue;
        }
        if (stopping_ || (current_ && !policy_.should_try_preferred(current_->entry()))) {
            outcome.session->close(stopping_ ? "stopping" : "already on the preferred server");
            continue;
        }
        adopt(outcome.session, "preferred server " + target + " answers");
    }
}

void Agent::on_closed(const std::shared_ptr<ServerSession>& session, const std::string& reason) {
    --open_sessions_;
    if (session != current_) {
        spdlog::debug("closed session to {}: {}", session->entry(), reason);
        return;
    }
    current_.reset();
    relocate_ = false;
    if (stopping_) {
        return;
    }
    spdlog::warn("lost the connection to {}: {}", session->entry(), reason);
    wake_connection_loop();
}

void Agent::wake_connection_loop() {
    wake_.cancel();
    retry_timer_.cancel();
}

// --- pushes ---------------------------------------------------------------

void Agent::on_list(const std::shared_ptr<ServerSession>& session, const wire::MsList& list) {
    ListPush push = to_list_push(list);
    auto io = io_.get_executor();
    worker_.post(io, [this, push, session, io] {
        WorkerPushTarget target(
            *state_, io, [this](const ListPush& p) { adopt_list(p); }, session);
        const AgentSettings held = state_->settings();
        if (auto applied = apply_push(push, held, target); !applied) {
            asio::post(io, [reason = applied.error(), entry = session->entry()] {
                spdlog::error("list from {} not applied, keeping the previous one: {}", entry, reason);
            });
        }
    });
}

void Agent::adopt_list(const ListPush& push) {
    const bool changed =
        settings_.hosts != push.update.value.hosts || settings_.algorithm != push.update.value.algorithm ||
        settings_.check_interval != push.update.check_interval || policy_.avoid() != push.avoid;
    settings_.hosts = push.update.value.hosts;
    settings_.algorithm = push.update.value.algorithm;
    settings_.check_interval = push.update.check_interval;
    policy_.set_hosts(settings_.hosts);
    policy_.set_avoid(push.avoid);
    if (changed) {
        spdlog::info("list {} (seq {}, check interval {} s{})",
                     describe_list(settings_.hosts, settings_.algorithm),
                     push.seq,
                     settings_.check_interval,
                     push.avoid.empty() ? "" : ", avoid " + lb::join_host_list(push.avoid));
    }
    after_list_change();
}

void Agent::after_list_change() {
    preferred_timer_.cancel();
    if (current_ && !policy_.contains(current_->entry())) {
        spdlog::info("{} is no longer in the list: moving", current_->entry());
        relocate_ = true;
    }
    wake_connection_loop();
}

void Agent::on_migrate(const std::shared_ptr<ServerSession>& session, const wire::Migrate& migrate) {
    if (session != current_) {
        return;
    }
    spdlog::info("{} asks us to move: {}", session->entry(), printable(migrate.reason));
    auto avoid = migrate.avoid;
    if (std::none_of(avoid.begin(), avoid.end(), [&](const std::string& a) {
            return same_server(a, session->entry());
        })) {
        avoid.push_back(session->entry());
    }
    policy_.set_avoid(std::move(avoid));
    relocate_ = true;
    wake_connection_loop();
}

// --- renewal --------------------------------------------------------------

asio::awaitable<void> Agent::renewal_loop() {
    while (!stopping_) {
        co_await sleep(renewal_timer_, options_.tuning.renewal_check_interval);
        if (!stopping_) {
            check_renewal();
        }
    }
}

void Agent::check_renewal() {
    if (!current_ || !credentials_.certificate) {
        return;
    }
    if (!certs::needs_renewal(credentials_.certificate.get(), std::time(nullptr))) {
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!pending_key_pem_.empty() && now - pending_since_ < kRenewalRetry) {
        return;
    }
    auto key = certs::generate_p256_key();
    if (!key) {
        spdlog::error("cannot make a key for renewal: {}", key.error());
        return;
    }
    auto csr = certs::make_csr_pem(key->get(), identity_name());
    if (!csr) {
        spdlog::error("cannot make a certificate request for renewal: {}", csr.error());
        return;
    }
    pending_key_pem_ = certs::private_key_to_pem(key->get());
    pending_since_ = now;
    spdlog::info("certificate valid until {}: asking {} for a new one",
                 certs::format_rfc3339(certs::not_after_of(credentials_.certificate.get())),
                 current_->entry());
    current_->send(wire::Renew{*csr});
}

void Agent::on_certificate(const std::shared_ptr<ServerSession>& session, const wire::Certificate& message) {
    if (pending_key_pem_.empty()) {
        spdlog::warn("{} sent a certificate we did not ask for: ignored", session->entry());
        return;
    }
    const std::string ca_pem = message.ca.empty() ? credentials_.ca_pem : message.ca;
    auto cert = certs::parse_certificate_pem(message.certificate);
    auto key = certs::parse_private_key_pem(pending_key_pem_);
    if (!cert || !key || !certs::key_matches_certificate(key->get(), cert->get())) {
        spdlog::error("{} sent a certificate that is not for our new key: ignored", session->entry());
        return;
    }
    if (auto verified = certs::verify_certificate(cert->get(), ca_pem, std::time(nullptr)); !verified) {
        spdlog::error("{} sent a certificate that does not verify: {}", session->entry(), verified.error());
        return;
    }
    if (certs::common_name_of(cert->get()) != identity_name()) {
        spdlog::error("{} sent a certificate for another name: ignored", session->entry());
        return;
    }
    Credentials renewed{pending_key_pem_, message.certificate, ca_pem, std::move(*cert)};
    pending_key_pem_.clear();
    auto io = io_.get_executor();
    const AgentSettings paths = settings_;
    worker_.post(io,
                 [this, io, paths, renewed = std::make_shared<Credentials>(std::move(renewed))]() mutable {
                     auto stored = store_renewed(paths, renewed->key_pem, renewed->cert_pem, renewed->ca_pem);
                     asio::post(io, [this, renewed, stored = std::move(stored)]() mutable {
                         if (!stored) {
                             spdlog::error("cannot store the renewed certificate, keeping the old one: {}",
                                           stored.error());
                             return;
                         }
                         credentials_ = std::move(*renewed);
                         if (auto built = rebuild_client_context(); !built) {
                             spdlog::error("renewed certificate stored, but unusable: {}", built.error());
                             return;
                         }
                         spdlog::info(
                             "stored the renewed certificate (serial {}, valid until {}); used from the next "
                             "connection",
                             certs::serial_of(credentials_.certificate.get()),
                             certs::format_rfc3339(certs::not_after_of(credentials_.certificate.get())));
                     });
                 });
}

// --- signals and stopping -------------------------------------------------

asio::awaitable<void> Agent::signal_loop() {
    while (!stopping_) {
        error_code ec;
        auto token = asio::redirect_error(asio::use_awaitable, ec);
        const int signal = co_await signals_.async_wait(token);
        if (ec) {
            co_return;
        }
        if (signal == SIGHUP) {
            reload();
        } else {
            stop(kExitOk, signal == SIGTERM ? "SIGTERM" : "SIGINT");
        }
    }
}

void Agent::reload() {
    if (!running_) {
        spdlog::warn("SIGHUP before start-up finished: ignored");
        return;
    }
    auto io = io_.get_executor();
    worker_.post(io, [this, io] {
        auto loaded = AgentStateFile::load(state_->path());
        if (!loaded) {
            asio::post(io, [reason = loaded.error()] {
                spdlog::error("SIGHUP: cannot reload, keeping the previous settings: {}", reason);
            });
            return;
        }
        *state_ = std::move(*loaded);
        asio::post(io, [this, settings = state_->settings()]() mutable {
            apply_settings(std::move(settings), "reloaded after SIGHUP");
        });
    });
}

void Agent::apply_settings(AgentSettings settings, const std::string& why) {
    settings_ = std::move(settings);
    policy_.set_hosts(settings_.hosts);
    spdlog::info("{}: servers {}, check interval {} s",
                 why,
                 describe_list(settings_.hosts, settings_.algorithm),
                 settings_.check_interval);
    after_list_change();
}

void Agent::stop(int exit_code, const std::string& why) {
    if (stopping_) {
        return;
    }
    stopping_ = true;
    exit_code_ = exit_code;
    if (exit_code == kExitOk) {
        spdlog::info("stopping ({})", why);
    } else {
        spdlog::error("{}", why);
    }
    asio::co_spawn(io_, shutdown(), [](std::exception_ptr ep) { log_exception(ep, "shutdown"); });
}

asio::awaitable<void> Agent::shutdown() {
    error_code ignored;
    signals_.cancel(ignored);
    wake_.cancel();
    retry_timer_.cancel();
    preferred_timer_.cancel();
    renewal_timer_.cancel();
    if (current_) {
        current_->close("agent stopping");
    }
    for (const auto& weak : retiring_) {
        if (auto old = weak.lock()) {
            old->close("agent stopping");
        }
    }
    // Give close_notify a moment, then end whatever is left (a dial in flight).
    asio::steady_timer poll(io_);
    const auto deadline = std::chrono::steady_clock::now() + kStopGrace;
    while (open_sessions_ > 0 && std::chrono::steady_clock::now() < deadline) {
        poll.expires_after(milliseconds(20));
        error_code ec;
        auto token = asio::redirect_error(asio::use_awaitable, ec);
        co_await poll.async_wait(token);
    }
    io_.stop();
}

asio::awaitable<bool> Agent::sleep(asio::steady_timer& timer, std::optional<milliseconds> duration) {
    if (duration) {
        timer.expires_after(*duration);
    } else {
        timer.expires_at(std::chrono::steady_clock::time_point::max());
    }
    error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    co_await timer.async_wait(token);
    co_return !ec;
}

// --- process --------------------------------------------------------------

int run_agent(const AgentOptions& options) {
    auto logger = spdlog::stderr_logger_mt("agentlb-agent");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    spdlog::set_level(spdlog::level::from_str(options.log_level));

    std::error_code ec;
    AgentOptions resolved = options;
    resolved.config_path = fs::absolute(options.config_path, ec);
    if (ec) {
        spdlog::error("--config {}: {}", options.config_path.string(), ec.message());
        return kExitUsage;
    }
    if (const int removed = remove_stale_temp_files(resolved.config_path); removed > 0) {
        spdlog::info("removed {} temporary file(s) left by an interrupted write of {}",
                     removed,
                     resolved.config_path.string());
    }
    auto state = AgentStateFile::load(resolved.config_path);
    if (!state) {
        spdlog::error("{}", state.error());
        return kExitUsage;
    }

    asio::io_context io(1);
    FileWorker worker;
    Agent agent(io, worker, std::move(resolved), std::move(*state));
    agent.start();
    io.run();
    // Writes already handed to the worker finish before the process exits.
    worker.stop();
    return agent.exit_code();
}

}  // namespace agentlb::agent
