#include "tools/bench/worker.hpp"

#include "certs/pem.hpp"
#include "common/lb/algorithm.hpp"
#include "common/tls/context.hpp"
#include "tools/bench/fleet.hpp"
#include "tools/bench/identities.hpp"
#include "tools/bench/proc_stats.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <functional>
#include <istream>

namespace agentlb::bench {

namespace asio = boost::asio;
using boost::system::error_code;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

X509Handle parse_cert(const std::string& pem) {
    auto parsed = certs::parse_certificate_pem(pem);
    if (!parsed) {
        throw std::runtime_error("agent certificate: " + parsed.error());
    }
    return X509Handle(parsed->release());
}

json stats_json(const ConnectStats& stats) {
    json failures = json::object();
    for (const auto& [reason, count] : stats.failures) {
        failures[reason] = count;
    }
    return {{"started_ns", stats.started_ns},
            {"last_ns", stats.last_ns},
            {"attempts", stats.attempts},
            {"established", stats.established},
            {"full", stats.full},
            {"resumed", stats.resumed},
            {"offered_ticket", stats.offered_ticket},
            {"pushed_back", stats.pushed_back},
            {"failures", failures},
            {"setup_us", stats.setup_us}};
}

class Worker {
public:
    explicit Worker(int fd) : control_(io_, fd) {}

    int run() {
        asio::co_spawn(io_, command_loop(), [this](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    std::fprintf(stderr, "agentlb-bench worker: %s\n", ex.what());
                }
                exit_code_ = 1;
            }
            if (fleet_) {
                fleet_->stop();
            }
            io_.stop();
        });
        io_.run();
        return exit_code_;
    }

private:
    asio::awaitable<void> command_loop() {
        asio::streambuf input;
        for (;;) {
            error_code ec;
            auto token = asio::redirect_error(asio::use_awaitable, ec);
            co_await asio::async_read_until(control_, input, '\n', token);
            if (ec) {
                co_return;  // the coordinator went away
            }
            std::istream lines(&input);
            std::string line;
            std::getline(lines, line);
            json reply;
            bool stop = false;
            try {
                const json command = json::parse(line);
                const std::string name = command.at("cmd");
                stop = name == "stop";
                reply = co_await dispatch(name, command);
                reply["ok"] = true;
            } catch (const std::exception& e) {
                reply = {{"ok", false}, {"error", e.what()}};
            }
            const std::string text = reply.dump() + "\n";
            asio::write(control_, asio::buffer(text), ec);
            if (ec || stop) {
                co_return;
            }
        }
    }

    asio::awaitable<json> dispatch(const std::string& name, const json& command) {
        if (name == "init") {
            co_return init(command);
        }
        if (!fleet_) {
            throw std::runtime_error("'" + name + "' before 'init'");
        }
        if (name == "connect") {
            co_return co_await connect(command);
        }
        if (name == "reconnect") {
            co_return co_await reconnect(command);
        }
        if (name == "status") {
            co_return status();
        }
        if (name == "arm_push") {
            fleet_->reset_push_tracking();
            co_return status();
        }
        if (name == "collect_push") {
            co_return co_await collect_push(command);
        }
        if (name == "arm_failover") {
            fleet_->reset_loss_tracking();
            co_return status();
        }
        if (name == "collect_failover") {
            co_return co_await collect_failover(command);
        }
        if (name == "arm_steady") {
            fleet_->reset_steady();
            co_return status();
        }
        if (name == "collect_steady") {
            const auto& steady = fleet_->steady();
            json reply = status();
            reply["pings"] = steady.pings;
            reply["pongs"] = steady.pongs;
            reply["losses"] = steady.losses;
            reply["rtt_us"] = steady.rtt_us;
            co_return reply;
        }
        if (name == "collect_messages") {
            co_return co_await collect_messages(command);
        }
        if (name == "stop") {
            fleet_->stop();
            co_return json::object();
        }
        throw std::runtime_error("unknown command '" + name + "'");
    }

    json init(const json& command) {
        raise_descriptor_limit();
        const std::size_t begin = command.at("begin");
        const std::size_t end = command.at("end");
        auto set = load_identity_range(command.at("cache").get<std::string>(), begin, end);
        if (!set) {
            throw std::runtime_error(set.error());
        }
        if (set->agents.empty()) {
            throw std::runtime_error("no agents in this worker's range");
        }
        auto ctx = tls::make_agent_client_context(tls::AgentClientConfig{
            command.at("ca_pem").get<std::string>(), set->agents.front().cert_pem, set->key_pem});
        if (!ctx) {
            throw std::runtime_error(ctx.error());
        }
        ctx_ = std::move(ctx).value();
        std::vector<ServerTarget> servers;
        std::vector<std::string> host_list;
        for (const auto& s : command.at("servers")) {
            ServerTarget target;
            target.name = s.at("name");
            target.address = s.at("address");
            const auto colon = target.address.rfind(':');
            target.endpoint = asio::ip::tcp::endpoint(
                asio::ip::make_address(target.address.substr(0, colon)),
                static_cast<unsigned short>(std::stoi(target.address.substr(colon + 1))));
            host_list.push_back(target.address);
            servers.push_back(std::move(target));
        }
        fleet_ = std::make_unique<Fleet>(io_, ctx_.get(), std::move(servers));
        if (command.value("app", false)) {
            HostAppSettings app;
            app.answer_bytes = command.at("app_payload").get<std::size_t>();
            app.epoch = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                       std::chrono::system_clock::now().time_since_epoch())
                                                       .count());
            fleet_->enable_app(app);
        }
        // Each agent starts out holding the list its server would compute, so
        // it dials its preferred server and needs no correction.
        const std::string algorithm_name = command.at("algorithm");
        auto algorithm = lb::find_algorithm(algorithm_name);
        if (!algorithm) {
            throw std::runtime_error(algorithm.error());
        }
        const std::vector<std::int64_t> ids = command.at("host_ids");
        const std::int64_t interval = command.at("interval");
        for (std::size_t i = 0; i < set->agents.size(); ++i) {
            auto& entry = set->agents[i];
            auto agent = std::make_unique<SimAgent>(
                *fleet_, begin + i, std::move(entry.name), entry.host_id, parse_cert(entry.cert_pem));
            entry.cert_pem.clear();
            entry.cert_pem.shrink_to_fit();
            std::vector<int> held;
            const lb::Weights no_weights;
            for (const auto& address :
                 (*algorithm)->compute({host_list, ids, agent->host_id(), no_weights})) {
                held.push_back(fleet_->server_index(address));
            }
            agent->set_held(std::move(held), algorithm_name, interval);
            fleet_->add(std::move(agent));
        }
        return {{"agents", fleet_->agents().size()}};
    }

    asio::awaitable<json> connect(const json& command) {
        std::vector<SimAgent*> which;
        std::vector<int> targets;
        for (auto& agent : fleet_->agents()) {
            if (!agent->running()) {
                which.push_back(agent.get());
                targets.push_back(agent->preferred());
            }
        }
        co_return co_await run_phase(command, std::move(which), std::move(targets));
    }

    // Closes `count` established sessions, then opens them again to the same
    // server, resuming with the ticket each holds.
    asio::awaitable<json> reconnect(const json& command) {
        const std::size_t count = command.at("count");
        std::vector<SimAgent*> which;
        std::vector<int> targets;
        for (auto& agent : fleet_->agents()) {
            if (which.size() >= count) {
                break;
            }
            if (agent->established()) {
                which.push_back(agent.get());
                targets.push_back(agent->server());
                agent->park();
            }
        }
        const auto deadline = Clock::now() + std::chrono::seconds(10);
        co_await poll_until(
            [&] {
                return std::none_of(which.begin(), which.end(), [](auto* agent) { return agent->running(); });
            },
            deadline);
        co_return co_await run_phase(command, std::move(which), std::move(targets));
    }

    asio::awaitable<json> run_phase(const json& command,
                                    std::vector<SimAgent*> which,
                                    std::vector<int> targets) {
        const double rate = command.value("rate", 0.0);
        const int inflight = command.value("inflight", 100);
        const auto deadline = Clock::now() + std::chrono::milliseconds(command.at("timeout_ms").get<long>());
        auto stats = co_await fleet_->connect(std::move(which), std::move(targets), rate, inflight, deadline);
        json reply = stats_json(stats);
        reply.update(status());
        co_return reply;
    }

    asio::awaitable<json> collect_push(const json& command) {
        const auto deadline = Clock::now() + std::chrono::milliseconds(command.at("timeout_ms").get<long>());
        co_await poll_until(
            [&] {
                return std::none_of(fleet_->agents().begin(), fleet_->agents().end(), [](const auto& agent) {
                    return agent->established() && agent->push_ns == 0;
                });
            },
            deadline);
        json reply = status();
        std::vector<std::int64_t> pushes;
        std::size_t expected = 0;
        for (const auto& agent : fleet_->agents()) {
            if (agent->established() || agent->push_ns != 0) {
                ++expected;
            }
            if (agent->push_ns != 0) {
                pushes.push_back(agent->push_ns);
            }
        }
        reply["expected"] = expected;
        reply["push_ns"] = pushes;
        co_return reply;
    }

    asio::awaitable<json> collect_failover(const json& command) {
        const auto deadline = Clock::now() + std::chrono::milliseconds(command.at("timeout_ms").get<long>());
        const auto settle = Clock::now() + std::chrono::milliseconds(command.value("settle_ms", 500));
        co_await poll_until(
            [&] {
                return Clock::now() > settle &&
                       std::none_of(fleet_->agents().begin(), fleet_->agents().end(), [](const auto& agent) {
                           return !agent->established() || (agent->lost_ns != 0 && agent->back_ns == 0);
                       });
            },
            deadline);
        json reply = status();
        std::vector<std::int64_t> lost;
        std::vector<std::int64_t> back;
        std::size_t back_resumed = 0;
        for (const auto& agent : fleet_->agents()) {
            if (agent->lost_ns != 0) {
                lost.push_back(agent->lost_ns);
                back.push_back(agent->back_ns);  // 0: not back
                if (agent->back_ns != 0 && agent->back_resumed) {
                    ++back_resumed;
                }
            }
        }
        reply["lost_ns"] = lost;
        reply["back_ns"] = back;
        reply["back_resumed"] = back_resumed;
        // Every reconnection attempt since arm_failover, failed ones included.
        reply["reconnections"] = stats_json(fleet_->background());
        co_return reply;
    }

    // The hosts' counts, once every answer was acknowledged (or at the deadline).
    asio::awaitable<json> collect_messages(const json& command) {
        const auto deadline = Clock::now() + std::chrono::milliseconds(command.at("timeout_ms").get<long>());
        co_await poll_until([&] { return fleet_->app_held() == 0; }, deadline);
        const HostAppCounts counts = fleet_->app_counts();
        json reply = status();
        reply["commands"] = counts.commands;
        reply["duplicated"] = counts.duplicated;
        reply["reordered"] = counts.reordered;
        reply["invalid"] = counts.invalid;
        reply["repeats"] = counts.repeats;
        reply["answers"] = counts.answers;
        reply["answers_acknowledged"] = counts.answers_acknowledged;
        reply["answers_held"] = fleet_->app_held();
        reply["given_up"] = counts.given_up;
        reply["undeliverable"] = counts.undeliverable;
        co_return reply;
    }

    json status() const {
        std::vector<std::size_t> per_server(fleet_->servers().size(), 0);
        std::size_t established = 0;
        std::size_t holding = 0;
        for (const auto& agent : fleet_->agents()) {
            if (agent->holds_ticket()) {
                ++holding;
            }
            if (agent->established()) {
                ++established;
                ++per_server[static_cast<std::size_t>(agent->server())];
            }
        }
        return {{"agents", fleet_->agents().size()},
                {"connected", established},
                {"per_server", per_server},
                {"losses_total", fleet_->losses_total()},
                {"tickets_received", fleet_->tickets_received()},
                {"holding_ticket", holding}};
    }

    // Polls `done` every 5 ms until it holds or `deadline` has passed.
    asio::awaitable<void> poll_until(std::function<bool()> done, Clock::time_point deadline) {
        while (!done() && Clock::now() <= deadline) {
            co_await sleep_ms(5);
        }
    }

    asio::awaitable<void> sleep_ms(int ms) {
        asio::steady_timer timer(io_, std::chrono::milliseconds(ms));
        error_code ignored;
        auto token = asio::redirect_error(asio::use_awaitable, ignored);
        co_await timer.async_wait(token);
    }

    asio::io_context io_{1};
    asio::posix::stream_descriptor control_;
    tls::SslCtxPtr ctx_;
    std::unique_ptr<Fleet> fleet_;
    int exit_code_ = 0;
};

}  // namespace

int run_worker(int control_fd) {
    std::signal(SIGPIPE, SIG_IGN);
    Worker worker(control_fd);
    return worker.run();
}

}  // namespace agentlb::bench
