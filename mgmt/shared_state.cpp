#include "mgmt/shared_state.hpp"

#include "common/util/clock.hpp"

#include <stdexcept>
#include <utility>

namespace agentlb::mgmt {

namespace {

std::shared_ptr<tls::TicketKeyRing> make_ticket_key_ring() {
    auto ring = tls::TicketKeyRing::create();
    if (!ring) {
        throw std::runtime_error(ring.error());
    }
    return std::move(ring).value();
}

}  // namespace

SharedState::SharedState(Options options_in,
                         std::string advertise_in,
                         StoreWorker& store_in,
                         std::shared_ptr<const CaView> cas_in)
    : options(std::move(options_in)),
      advertise(std::move(advertise_in)),
      started_at(util::unix_now()),
      store(store_in),
      ca(std::move(cas_in)),
      revoked(std::make_shared<certs::RevocationList>()),
      ticket_keys(make_ticket_key_ring()),
      hooks(options.hook.empty()
                ? nullptr
                : std::make_unique<HookRunner>(
                      HookSettings{
                          options.hook, options.hook_concurrency, options.hook_timeout, options.hook_queue},
                      metrics)),
      admission(metrics, options.threads),
      connections(
          store_in,
          options.name,
          [this](const store::ConnectionChange& change) {
              return !stopping.load() && (change.kind == store::ConnectionChange::Kind::connect ||
                                          registry.session_count_of(change.host_id) == 0);
          },
          [] { return util::unix_now(); }),
      agent_settings{options.name, options.handshake_timeout, options.heartbeat_interval},
      snapshot_(std::make_shared<const ClusterSnapshot>(empty_snapshot())) {}

std::shared_ptr<const ClusterSnapshot> SharedState::snapshot() const {
    std::lock_guard lock(snapshot_mutex_);
    return snapshot_;
}

void SharedState::set_snapshot(std::shared_ptr<const ClusterSnapshot> snapshot) {
    std::lock_guard lock(snapshot_mutex_);
    snapshot_ = std::move(snapshot);
}

void SharedState::post_hook(HookEvent event) {
    if (auto shown = status_event_of(event)) {
        events.add(std::move(*shown));
    }
    if (hooks) {
        hooks->post(std::move(event));
    }
}

std::vector<store::ServerRecord> SharedState::servers() const {
    std::lock_guard lock(servers_mutex_);
    return servers_;
}

void SharedState::set_servers(std::vector<store::ServerRecord> servers) {
    std::lock_guard lock(servers_mutex_);
    servers_ = std::move(servers);
}

void SharedState::recheck_record_later(std::int64_t host_id, bool write) {
    std::lock_guard lock(recheck_mutex_);
    // One entry per host however often it reconnected: a write wins.
    auto& pending = recheck_[host_id];
    pending = pending || write;
}

std::vector<SharedState::RecordRecheck> SharedState::take_records_to_recheck() {
    std::map<std::int64_t, bool> taken;
    {
        std::lock_guard lock(recheck_mutex_);
        taken = std::exchange(recheck_, {});
    }
    std::vector<RecordRecheck> out;
    out.reserve(taken.size());
    for (const auto& [host_id, write] : taken) {
        out.push_back(RecordRecheck{host_id, write});
    }
    return out;
}

}  // namespace agentlb::mgmt
