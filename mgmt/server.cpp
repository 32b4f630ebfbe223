#include "mgmt/server.hpp"

#include "certs/ca.hpp"
#include "common/lb/endpoint.hpp"
#include "common/store/store_location.hpp"
#include "common/util/clock.hpp"
#include "common/util/text.hpp"
#include "mgmt/admin_http.hpp"
#include "mgmt/admin_routes.hpp"
#include "mgmt/agent_accept.hpp"
#include "mgmt/agent_session.hpp"
#include "mgmt/app_router.hpp"
#include "mgmt/app_start.hpp"
#include "mgmt/peer_links.hpp"
#include "mgmt/ca_start.hpp"
#include "mgmt/change_listener.hpp"
#include "mgmt/cluster_watcher.hpp"
#include "mgmt/drain.hpp"
#include "mgmt/enroll_session.hpp"
#include "mgmt/history_sampler.hpp"
#include "mgmt/io_pool.hpp"
#include "mgmt/listener.hpp"
#include "mgmt/liveness.hpp"
#include "mgmt/load_rebalancer.hpp"
#include "mgmt/name_claim.hpp"
#include "mgmt/process_setup.hpp"
#include "mgmt/rebalancer.hpp"
#include "mgmt/server_certificate.hpp"
#include "mgmt/server_renewal.hpp"
#include "mgmt/shared_state.hpp"
#include "mgmt/store_outage.hpp"
#include "mgmt/store_worker.hpp"
#include "mgmt/ticket_key_refresh.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <spdlog/spdlog.h>

#include <csignal>

namespace agentlb::mgmt {

namespace asio = boost::asio;

namespace {

class Server {
public:
    explicit Server(const Options& options)
        : options_(options), shown_db_(store::shown_location(options.db)), pool_(options.threads) {}

    ~Server() {
        // Sessions and timers hold the state; drop the loops first, then the
        // feed's thread (it posts to them), then the store thread (it may
        // still hold completion handlers of the pool).
        pool_.stop();
        if (state_ && state_->hooks) {
            state_->hooks->stop();  // runs what is queued (server.down included), bounded
        }
        changes_.reset();
        store_.stop();
    }

    void start() {
        auto advertise =
            start_value(lb::parse_endpoint(options_.advertise), "--advertise '" + options_.advertise + "'");
        auto ca =
            start_value(certs::CertificateAuthority::load(options_.ca_dir), "--ca-dir " + options_.ca_dir);

        open_store();
        auto ca_view = start_ca_view(store_, std::move(ca), options_.ca_dir);

        // Before binding: while a crashed predecessor's row goes stale,
        // agents dialling this address are refused and go elsewhere instead
        // of waiting in the listen backlog.
        if (auto refusal = wait_for_name(store_, options_.name, options_.server_heartbeat_interval)) {
            throw StartError(*refusal);
        }

        auto credentials = start_server_certificate(
            store_, *ca_view->issuer, options_.state_dir, options_.name, advertise.host);

        state_ = std::make_shared<SharedState>(options_, lb::to_string(advertise), store_, ca_view);
        state_->tls.install(start_value(
            make_server_tls(
                credentials, ca_view->issuer_fingerprint, *ca_view, state_->revoked, state_->ticket_keys),
            "TLS"));
        renewal_ = std::make_shared<ServerRenewal>(pool_.main(), state_, advertise.host);
        // Before the listeners accept: the first agents get tickets every server reads.
        ticket_keys_ = std::make_shared<TicketKeyRefresh>(pool_.main(), state_);
        ticket_keys_->load_initial();

        // Bind everything before registering: a busy port must not leave a
        // row that says "up".
        auto state = state_;
        apps_ = start_app_routing(*state_, pool_.main().get_executor(), advertise);
        try {
            agent_listener_ = std::make_shared<Listener>(
                pool_, options_.listen, "agent port", [state](asio::ip::tcp::socket socket) {
                    accept_agent(state, std::move(socket));
                });
        } catch (const boost::system::system_error& e) {
            throw StartError("--listen " + endpoint_text(options_.listen) + ": " + e.code().message());
        }
        try {
            enroll_listener_ = std::make_shared<Listener>(
                pool_, options_.enroll_listen, "enrollment port", [state](asio::ip::tcp::socket socket) {
                    std::make_shared<EnrollSession>(std::move(socket), state)->start();
                });
        } catch (const boost::system::system_error& e) {
            throw StartError("--enroll-listen " + endpoint_text(options_.enroll_listen) + ": " +
                             e.code().message());
        }
        try {
            admin_ = std::make_shared<AdminHttpServer>(
                pool_.main().get_executor(), options_.admin_listen, [state](std::string_view target) {
                    return admin_route(*state, target);
                });
        } catch (const boost::system::system_error& e) {
            throw StartError("--admin-listen " + endpoint_text(options_.admin_listen) + ": " +
                             e.code().message());
        }

        store_.call_sync([&](store::Store& store) {
            store.register_server(options_.name, state_->advertise, util::unix_now());
            // A restart forgets the applications its predecessor held.
            store.set_peer_address(options_.name, apps_.peer_address);
            store.clear_applications(options_.name);
            state_->set_servers(store.list_servers());
        });
        // With change notification the poll is only the safety net.
        const auto poll = feed_ ? options_.safety_poll.value_or(kSafetyPoll) : kGenerationPoll;
        watcher_ = std::make_shared<ClusterWatcher>(pool_.main(), state_, poll);
        if (feed_) {
            // Listening before the first load: a change between the two is not missed.
            changes_ = std::make_unique<ChangeListener>(
                std::move(feed_), shown_db_, state_->metrics, [watcher = watcher_] { watcher->wake(); });
            changes_->start();
        }
        watcher_->load_initial();
        liveness_ = std::make_shared<Liveness>(pool_.main(), state_);

        watcher_->start();
        liveness_->start();
        outage_ = std::make_shared<StoreOutage>(pool_.main(), state_);
        outage_->start();
        drain_ = std::make_shared<Drain>(pool_.main(), state_);
        drain_->start();
        rebalancer_ = std::make_shared<Rebalancer>(pool_.main(), state_);
        rebalancer_->load_initial();
        rebalancer_->start();
        load_rebalancer_ = std::make_shared<LoadRebalancer>(pool_.main(), state_);
        load_rebalancer_->start();
        history_ = std::make_shared<HistorySampler>(pool_.main(), state_);
        history_->start();
        renewal_->start();
        ticket_keys_->start();
        agent_listener_->start();
        enroll_listener_->start();
        if (apps_.links) {
            apps_.links->start();
        }
        admin_->start();

        if (state_->hooks) {
            spdlog::info("membership hook {}: at most {} at once, each killed after {} s",
                         util::peer_text(options_.hook, util::kShownPathBytes),
                         options_.hook_concurrency,
                         options_.hook_timeout.count());
        }
        signals_.emplace(pool_.main(), SIGTERM, SIGINT);
        wait_for_signal();

        hangup_.emplace(pool_.main(), SIGHUP);
        wait_for_hangup();
        refusal_summary_.emplace(pool_.main());
        summarise_enroll_refusals();

        spdlog::info(
            "management server {} up: agents on {}, enrollment on {}, admin on {}, advertised as {}; "
            "store {} ({})",
            options_.name,
            endpoint_text(agent_listener_->local_endpoint()),
            endpoint_text(enroll_listener_->local_endpoint()),
            endpoint_text(admin_->local_endpoint()),
            state_->advertise,
            shown_db_,
            changes_ ? "changes notified, safety poll every " + std::to_string(poll.count()) + " ms"
                     : "polled every " + std::to_string(poll.count()) + " ms");
        if (apps_.links) {
            spdlog::info("peer link on {}, dialled by the other servers as {}",
                         endpoint_text(*apps_.links->local_endpoint()),
                         apps_.peer_address);
        }
    }

    // The first SIGTERM/SIGINT drains (see on_first_signal); the second, or
    // the drain's end, shuts down.
    void wait_for_signal() {
        signals_->async_wait([this](const boost::system::error_code& ec, int signal) {
            if (ec) {
                return;
            }
            if (shutdown_begun_) {
                return;
            }
            if (signalled_) {
                spdlog::info("signal {} again: shutting down at once", signal);
                begin_shutdown();
                return;
            }
            signalled_ = true;
            on_first_signal(signal);
            if (!shutdown_begun_) {
                wait_for_signal();
            }
        });
    }

    void on_first_signal(int signal) {
        const auto timeout = state_->snapshot()->shutdown_timeout;
        if (timeout <= 0) {
            spdlog::info("signal {}: shutting down now (agentlb.shutdown.timeout is 0: no drain)", signal);
            begin_shutdown();
            return;
        }
        const auto sessions = state_->registry.session_count();
        if (sessions > 0 && !other_server_up()) {
            spdlog::info(
                "signal {}: shutting down now without a drain: no other management server is up to take this "
                "server's {} agents",
                signal,
                sessions);
            begin_shutdown();
            return;
        }
        spdlog::info(
            "signal {}: draining for at most {} s before shutting down (send it again to stop at once)",
            signal,
            timeout);
        // up -> preparing: peers avoid this server meanwhile. A server in
        // maintenance (or drained already) keeps its state.
        auto mark = [this]() -> asio::awaitable<void> {
            auto job = [name = options_.name](store::Store& store) {
                return store.compare_and_set_server_state(name, store::kServerUp, store::kServerPreparing);
            };
            try {
                if (co_await store_.call(std::move(job))) {
                    spdlog::info("state of management server {}: up -> preparing", options_.name);
                }
            } catch (const std::exception& e) {
                spdlog::error("cannot set this server's state to preparing (draining anyway): {}", e.what());
            }
        };
        asio::co_spawn(pool_.main(), std::move(mark), asio::detached);
        drain_->begin_shutdown(timeout, [this](bool) { begin_shutdown(); });
    }

    bool other_server_up() const {
        return another_server_up(options_.name,
                                 {state_->servers(), state_->snapshot()->servers},
                                 util::unix_now(),
                                 static_cast<std::int64_t>(options_.server_heartbeat_interval.count()));
    }

    // SIGHUP must not end a daemon that operators are used to "reloading":
    // everything that can change live is read from the store already.
    void wait_for_hangup() {
        hangup_->async_wait([this](const boost::system::error_code& ec, int) {
            if (ec) {
                return;
            }
            spdlog::info("SIGHUP ignored: configuration is read live from the store; flags need a restart");
            wait_for_hangup();
        });
    }

    // Refusals of rate-limited enrollment senders are not logged one by one.
    void summarise_enroll_refusals() {
        refusal_summary_->expires_after(kEnrollRefusalSummaryInterval);
        refusal_summary_->async_wait([this](const boost::system::error_code& ec) {
            if (ec) {
                return;
            }
            log_enroll_refusal_summary(*state_);
            summarise_enroll_refusals();
        });
    }

    int run() {
        pool_.run();
        return exit_code_;
    }

private:
    // A server never creates or initialises a store (`agentlbctl ca init`
    // does): a wrong or emptied --db must not become an empty cluster that
    // refuses every agent as unknown. A damaged file is refused before it
    // serves anything. The store is named only as shown_location shows it:
    // a PostgreSQL --db may carry a password.
    void open_store() {
        std::optional<std::string> damage;
        try {
            refuse_newer_schema();
            store_.open([db = options_.db] { return store::open_store(db, store::OpenMode::existing); });
            damage = store_.call_sync([](store::Store& store) { return store.quick_check(); });
            // Connected before the first snapshot is read (see start()).
            feed_ = store::open_change_feed(options_.db);
        } catch (const StartError&) {
            throw;
        } catch (const std::exception& e) {
            throw StartError("--db " + shown_db_ + ": " + e.what());
        }
        if (damage) {
            throw StartError("--db " + shown_db_ + ": the store is damaged; PRAGMA quick_check says: " +
                             *damage + " (restore the store from a backup; see docs/TROUBLESHOOTING.md)");
        }
    }

    // The backend refuses a newer schema too; this says it the same way for
    // both, and before anything is opened for writing.
    void refuse_newer_schema() {
        const auto versions = store::read_schema_versions(options_.db);
        if (versions.stored > versions.known) {
            throw StartError("--db " + shown_db_ + ": the store has schema version " +
                             std::to_string(versions.stored) + " but this agentlb-mgmt knows only up to " +
                             std::to_string(versions.known) +
                             ": a newer agentlb migrated it; upgrade agentlb-mgmt on this machine");
        }
    }

    void begin_shutdown() {
        if (shutdown_begun_) {
            return;
        }
        shutdown_begun_ = true;
        state_->stopping.store(true);
        if (signals_) {
            signals_->cancel();
        }
        if (drain_) {
            drain_->stop();
        }
        if (hangup_) {
            hangup_->cancel();
        }
        if (refusal_summary_) {
            refusal_summary_->cancel();
        }
        agent_listener_->stop();
        enroll_listener_->stop();
        if (state_->apps) {
            state_->apps->stop();
        }
        admin_->stop();
        watcher_->stop();
        if (changes_) {
            changes_->stop();
        }
        liveness_->stop();
        if (history_) {
            history_->stop();
        }
        if (outage_) {
            outage_->stop();
        }
        if (rebalancer_) {
            rebalancer_->stop();
        }
        if (load_rebalancer_) {
            load_rebalancer_->stop();
        }
        if (renewal_) {
            renewal_->stop();
        }
        if (ticket_keys_) {
            ticket_keys_->stop();
        }
        const auto sessions = state_->registry.sessions();
        for (const auto& session : sessions) {
            session->stop();
        }
        auto finish = [this, count = sessions.size()]() -> asio::awaitable<void> {
            auto job = [name = options_.name](store::Store& store) {
                store.clear_connected_for_server(name);
                store.set_server_state(name, store::kServerDown);
            };
            try {
                co_await store_.call(std::move(job));
                spdlog::info(
                    "management server {} marked down; {} agent sessions closed", options_.name, count);
                state_->post_hook(server_hook_event(kHookServerDown,
                                                    options_.name,
                                                    options_.name,
                                                    std::string(store::kServerDown),
                                                    "shutdown"));
            } catch (const std::exception& e) {
                spdlog::error("cannot mark this server down in the store: {}", e.what());
                exit_code_ = kExitFailure;
            }
            pool_.stop();
        };
        asio::co_spawn(pool_.main(), std::move(finish), [this](std::exception_ptr e) {
            if (e) {
                exit_code_ = kExitFailure;
                pool_.stop();
            }
        });
    }

    Options options_;
    std::string shown_db_;  // options_.db without its password
    IoPool pool_;
    StoreWorker store_;
    std::unique_ptr<store::ChangeFeed> feed_;  // until changes_ takes it
    std::unique_ptr<ChangeListener> changes_;
    std::shared_ptr<SharedState> state_;
    AppStart apps_;
    std::shared_ptr<Listener> agent_listener_;
    std::shared_ptr<Listener> enroll_listener_;
    std::shared_ptr<AdminHttpServer> admin_;
    std::shared_ptr<ClusterWatcher> watcher_;
    std::shared_ptr<Liveness> liveness_;
    std::shared_ptr<StoreOutage> outage_;
    std::shared_ptr<Drain> drain_;
    std::shared_ptr<Rebalancer> rebalancer_;
    std::shared_ptr<LoadRebalancer> load_rebalancer_;
    std::shared_ptr<HistorySampler> history_;
    std::shared_ptr<ServerRenewal> renewal_;
    std::shared_ptr<TicketKeyRefresh> ticket_keys_;
    std::optional<asio::signal_set> signals_;
    std::optional<asio::signal_set> hangup_;
    std::optional<asio::steady_timer> refusal_summary_;
    int exit_code_ = kExitOk;
    bool signalled_ = false;
    bool shutdown_begun_ = false;
};

}  // namespace

int run_server(const Options& options) {
    setup_logging(options.log_level);
    std::signal(SIGPIPE, SIG_IGN);
    raise_file_limit();
    try {
        Server server(options);
        server.start();
        return server.run();
    } catch (const StartError& e) {
        spdlog::critical("cannot start: {}", e.what());
        return kExitConfig;
    } catch (const store::StoreError& e) {
        spdlog::critical("cannot start: store: {}", e.what());
        return kExitConfig;
    } catch (const std::exception& e) {
        spdlog::critical("stopped: {}", e.what());
        return kExitFailure;
    }
}

}  // namespace agentlb::mgmt
