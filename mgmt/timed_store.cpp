#include "mgmt/timed_store.hpp"

// Every method forwards to the wrapped store, timed under its own name.

namespace agentlb::store {

TimedStore::TimedStore(std::unique_ptr<Store> inner, mgmt::StoreTimings& timings)
    : inner_(std::move(inner)), timings_(timings) {}

std::optional<std::string> TimedStore::get_config(std::string_view key) {
    return timed("get_config", [&] { return inner_->get_config(key); });
}

std::map<std::string, std::string> TimedStore::list_config() {
    return timed("list_config", [&] { return inner_->list_config(); });
}

Result<std::optional<std::string>> TimedStore::set_config(std::string_view key, std::string_view value) {
    return timed("set_config", [&] { return inner_->set_config(key, value); });
}

lb::ScopedConfig TimedStore::scoped_config() {
    return timed("scoped_config", [&] { return inner_->scoped_config(); });
}

Result<std::optional<std::string>> TimedStore::set_scoped_config(const lb::ConfigScope& scope,
                                                                 std::string_view key,
                                                                 std::string_view value) {
    return timed("set_scoped_config", [&] { return inner_->set_scoped_config(scope, key, value); });
}

Result<std::optional<std::string>> TimedStore::unset_scoped_config(const lb::ConfigScope& scope,
                                                                   std::string_view key) {
    return timed("unset_scoped_config", [&] { return inner_->unset_scoped_config(scope, key); });
}

std::int64_t TimedStore::generation() {
    return timed("generation", [&] { return inner_->generation(); });
}

std::optional<std::string> TimedStore::quick_check() {
    return timed("quick_check", [&] { return inner_->quick_check(); });
}

void TimedStore::reading_together(const std::function<void()>& reads) {
    timed("reading_together", [&] { inner_->reading_together(reads); });
}

std::vector<HostRecord> TimedStore::list_hosts() {
    return timed("list_hosts", [&] { return inner_->list_hosts(); });
}

std::optional<HostRecord> TimedStore::find_host(std::string_view name) {
    return timed("find_host", [&] { return inner_->find_host(name); });
}

std::optional<HostRecord> TimedStore::find_host_by_id(std::int64_t id) {
    return timed("find_host_by_id", [&] { return inner_->find_host_by_id(id); });
}

std::vector<std::int64_t> TimedStore::host_ids_in_zone(std::string_view zone) {
    return timed("host_ids_in_zone", [&] { return inner_->host_ids_in_zone(zone); });
}

Result<HostRecord> TimedStore::move_host(std::string_view name, const lb::ConfigScope& place) {
    return timed("move_host", [&] { return inner_->move_host(name, place); });
}

Result<std::vector<std::string>> TimedStore::remove_host(std::string_view name) {
    return timed("remove_host", [&] { return inner_->remove_host(name); });
}

void TimedStore::set_connected(std::int64_t host_id, std::string_view server, std::int64_t now) {
    timed("set_connected", [&] { inner_->set_connected(host_id, server, now); });
}

std::optional<std::string> TimedStore::claim_if_unconnected(std::int64_t host_id,
                                                            std::string_view server,
                                                            std::int64_t now) {
    return timed("claim_if_unconnected", [&] { return inner_->claim_if_unconnected(host_id, server, now); });
}

std::vector<Supersession> TimedStore::take_superseded(std::string_view server) {
    return timed("take_superseded", [&] { return inner_->take_superseded(server); });
}

bool TimedStore::clear_connected_if(std::int64_t host_id, std::string_view server) {
    return timed("clear_connected_if", [&] { return inner_->clear_connected_if(host_id, server); });
}

std::vector<bool> TimedStore::apply_connection_changes(std::string_view server,
                                                       const std::vector<ConnectionChange>& changes,
                                                       std::int64_t now) {
    return timed("apply_connection_changes",
                 [&] { return inner_->apply_connection_changes(server, changes, now); });
}

void TimedStore::clear_connected_for_server(std::string_view server) {
    timed("clear_connected_for_server", [&] { inner_->clear_connected_for_server(server); });
}

void TimedStore::touch_hosts(const std::vector<std::int64_t>& host_ids, std::int64_t now) {
    timed("touch_hosts", [&] { inner_->touch_hosts(host_ids, now); });
}

std::vector<ConnectedCount> TimedStore::connected_counts() {
    return timed("connected_counts", [&] { return inner_->connected_counts(); });
}

void TimedStore::create_token(const TokenSpec& token) {
    timed("create_token", [&] { inner_->create_token(token); });
}

Result<Enrollment> TimedStore::redeem_token(const RedeemRequest& request, const IssueFn& issue) {
    return timed("redeem_token", [&] { return inner_->redeem_token(request, issue); });
}

void TimedStore::record_certificate(std::int64_t host_id, const IssuedCertificate& certificate) {
    timed("record_certificate", [&] { inner_->record_certificate(host_id, certificate); });
}

std::vector<std::string> TimedStore::revoked_serials() {
    return timed("revoked_serials", [&] { return inner_->revoked_serials(); });
}

std::vector<CertificateRecord> TimedStore::certificates_of(std::string_view host_name) {
    return timed("certificates_of", [&] { return inner_->certificates_of(host_name); });
}

bool TimedStore::is_revoked(std::string_view serial) {
    return timed("is_revoked", [&] { return inner_->is_revoked(serial); });
}

void TimedStore::record_server_certificate(std::string_view server, const IssuedCertificate& certificate) {
    timed("record_server_certificate", [&] { inner_->record_server_certificate(server, certificate); });
}

std::vector<CertificateRecord> TimedStore::list_certificates(const CertificateFilter& filter) {
    return timed("list_certificates", [&] { return inner_->list_certificates(filter); });
}

Result<CertificateRecord> TimedStore::revoke_certificate(std::string_view serial, std::int64_t now) {
    return timed("revoke_certificate", [&] { return inner_->revoke_certificate(serial, now); });
}

std::int64_t TimedStore::count_certificates(std::string_view kind,
                                            std::int64_t expiring_before,
                                            std::int64_t now) {
    return timed("count_certificates",
                 [&] { return inner_->count_certificates(kind, expiring_before, now); });
}

void TimedStore::put_ca_certificate(std::string_view pem, std::string_view fingerprint) {
    timed("put_ca_certificate", [&] { inner_->put_ca_certificate(pem, fingerprint); });
}

std::optional<std::pair<std::string, std::string>> TimedStore::ca_certificate() {
    return timed("ca_certificate", [&] { return inner_->ca_certificate(); });
}

void TimedStore::put_ca_with_chain(std::string_view pem,
                                   std::string_view fingerprint,
                                   std::string_view chain_pem) {
    timed("put_ca_with_chain", [&] { inner_->put_ca_with_chain(pem, fingerprint, chain_pem); });
}

std::string TimedStore::ca_chain() {
    return timed("ca_chain", [&] { return inner_->ca_chain(); });
}

std::vector<TrustedCa> TimedStore::trusted_cas() {
    return timed("trusted_cas", [&] { return inner_->trusted_cas(); });
}

Result<TrustedCa> TimedStore::begin_ca_rotation(const CaRotation& rotation) {
    return timed("begin_ca_rotation", [&] { return inner_->begin_ca_rotation(rotation); });
}

Result<TrustedCa> TimedStore::finish_ca_rotation(std::int64_t now) {
    return timed("finish_ca_rotation", [&] { return inner_->finish_ca_rotation(now); });
}

Result<std::int64_t> TimedStore::request_reissue(std::int64_t rate, std::int64_t now) {
    return timed("request_reissue", [&] { return inner_->request_reissue(rate, now); });
}

std::vector<ReissueRequest> TimedStore::reissue_requests_after(std::int64_t id) {
    return timed("reissue_requests_after", [&] { return inner_->reissue_requests_after(id); });
}

std::int64_t TimedStore::last_reissue_id() {
    return timed("last_reissue_id", [&] { return inner_->last_reissue_id(); });
}

void TimedStore::register_server(std::string_view name, std::string_view address, std::int64_t now) {
    timed("register_server", [&] { inner_->register_server(name, address, now); });
}

Rejoin TimedStore::rejoin_server(std::string_view name,
                                 std::string_view address,
                                 std::int64_t started_at,
                                 std::int64_t now,
                                 const std::vector<std::int64_t>& held_hosts) {
    return timed("rejoin_server",
                 [&] { return inner_->rejoin_server(name, address, started_at, now, held_hosts); });
}

bool TimedStore::mark_server_down(std::string_view name, std::int64_t judged_heartbeat) {
    return timed("mark_server_down", [&] { return inner_->mark_server_down(name, judged_heartbeat); });
}

void TimedStore::heartbeat_server(std::string_view name, std::int64_t now, std::int64_t agents) {
    timed("heartbeat_server", [&] { inner_->heartbeat_server(name, now, agents); });
}

void TimedStore::set_server_state(std::string_view name, std::string_view state) {
    timed("set_server_state", [&] { inner_->set_server_state(name, state); });
}

bool TimedStore::compare_and_set_server_state(std::string_view name,
                                              std::string_view expected,
                                              std::string_view next) {
    return timed("compare_and_set_server_state",
                 [&] { return inner_->compare_and_set_server_state(name, expected, next); });
}

std::vector<ServerRecord> TimedStore::list_servers() {
    return timed("list_servers", [&] { return inner_->list_servers(); });
}

void TimedStore::set_peer_address(std::string_view server, std::string_view address) {
    timed("set_peer_address", [&] { inner_->set_peer_address(server, address); });
}

Result<MaintenanceChange> TimedStore::begin_maintenance(std::string_view name,
                                                        std::int64_t now,
                                                        std::int64_t stale_after) {
    return timed("begin_maintenance", [&] { return inner_->begin_maintenance(name, now, stale_after); });
}

Result<MaintenanceChange> TimedStore::end_maintenance(std::string_view name) {
    return timed("end_maintenance", [&] { return inner_->end_maintenance(name); });
}

Result<std::int64_t> TimedStore::request_rebalance(std::optional<std::string_view> target, std::int64_t now) {
    return timed("request_rebalance", [&] { return inner_->request_rebalance(target, now); });
}

std::vector<RebalanceRequest> TimedStore::rebalance_requests_after(std::int64_t id) {
    return timed("rebalance_requests_after", [&] { return inner_->rebalance_requests_after(id); });
}

std::int64_t TimedStore::last_rebalance_id() {
    return timed("last_rebalance_id", [&] { return inner_->last_rebalance_id(); });
}

std::vector<TicketKeyRecord> TimedStore::ensure_ticket_keys(std::int64_t now,
                                                            std::int64_t rotation_seconds,
                                                            const TicketKeyMaker& maker) {
    return timed("ensure_ticket_keys",
                 [&] { return inner_->ensure_ticket_keys(now, rotation_seconds, maker); });
}

std::vector<TicketKeyRecord> TimedStore::ticket_keys() {
    return timed("ticket_keys", [&] { return inner_->ticket_keys(); });
}

void TimedStore::add_application(const ApplicationRecord& application) {
    timed("add_application", [&] { inner_->add_application(application); });
}

void TimedStore::remove_application(std::string_view server, std::string_view name, std::int64_t epoch) {
    timed("remove_application", [&] { inner_->remove_application(server, name, epoch); });
}

void TimedStore::clear_applications(std::string_view server) {
    timed("clear_applications", [&] { inner_->clear_applications(server); });
}

std::vector<ApplicationRecord> TimedStore::applications_named(std::string_view name) {
    return timed("applications_named", [&] { return inner_->applications_named(name); });
}

StoreContents TimedStore::export_contents() {
    return timed("export_contents", [&] { return inner_->export_contents(); });
}

Status TimedStore::import_contents(const StoreContents& contents) {
    return timed("import_contents", [&] { return inner_->import_contents(contents); });
}
}  // namespace agentlb::store
