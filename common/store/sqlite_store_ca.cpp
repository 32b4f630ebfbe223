// The CAs the cluster trusts and CA rotation (schema v7), and reissue requests.

#include "common/store/ca_rules.hpp"
#include "common/store/sqlite_store.hpp"

namespace agentlb::store {

namespace {

// Certificates of `issuer` in use at `now`: not revoked, not expired, and
// no newer one for the same host (id and name) or server (see list_certificates).
constexpr const char* kLiveOfIssuer =
    "FROM certificates AS c WHERE c.issuer = ?1 AND c.revoked = 0 AND c.not_after >= ?2 "
    "AND NOT EXISTS (SELECT 1 FROM certificates AS newer WHERE newer.host_name = c.host_name "
    "AND newer.host_id = c.host_id AND newer.kind = c.kind AND newer.rowid > c.rowid)";

}  // namespace

std::vector<TrustedCa> SqliteStore::trusted_cas() {
    auto query = connection_.query(
        "SELECT fingerprint, pem, cross_pem, state, created_at FROM trusted_cas "
        "ORDER BY state = 'active' DESC, created_at, fingerprint",
        "reading the trusted CAs");
    std::vector<TrustedCa> cas;
    while (query.step()) {
        cas.push_back(TrustedCa{query.text(0), query.text(1), query.text(2), query.text(3), query.int64(4)});
    }
    return cas;
}

Result<TrustedCa> SqliteStore::begin_ca_rotation(const CaRotation& rotation) {
    WriteTransaction transaction(connection_, "beginning a CA rotation");
    if (auto refused = refuse_rotation(trusted_cas(), rotation)) {
        return *refused;
    }
    connection_
        .query("UPDATE trusted_cas SET state = 'previous' WHERE state = 'active'", "beginning a CA rotation")
        .run();
    connection_
        .query(
            "INSERT INTO trusted_cas (fingerprint, pem, cross_pem, state, created_at) "
            "VALUES (?1, ?2, ?3, 'active', ?4)",
            "beginning a CA rotation")
        .bind(1, rotation.fingerprint)
        .bind(2, rotation.pem)
        .bind(3, rotation.cross_pem)
        .bind(4, rotation.now)
        .run();
    connection_.query("UPDATE ca SET pem = ?1, fingerprint = ?2 WHERE id = 1", "beginning a CA rotation")
        .bind(1, rotation.pem)
        .bind(2, rotation.fingerprint)
        .run();
    bump_generation();
    transaction.commit();
    return TrustedCa{
        rotation.fingerprint, rotation.pem, rotation.cross_pem, std::string(kCaActive), rotation.now};
}

Result<TrustedCa> SqliteStore::finish_ca_rotation(std::int64_t now) {
    WriteTransaction transaction(connection_, "finishing a CA rotation");
    auto previous = previous_ca(trusted_cas());
    if (!previous) {
        return previous;
    }
    auto count =
        connection_.query(std::string("SELECT count(*) ") + kLiveOfIssuer, "finishing a CA rotation");
    count.bind(1, previous->fingerprint).bind(2, now);
    count.step();
    const std::int64_t total = count.int64(0);
    if (total > 0) {
        auto listed = connection_.query(std::string("SELECT c.host_name, c.kind, c.serial, c.not_after ") +
                                            kLiveOfIssuer + " ORDER BY c.rowid LIMIT " +
                                            std::to_string(kFinishListLimit),
                                        "finishing a CA rotation");
        listed.bind(1, previous->fingerprint).bind(2, now);
        std::vector<BlockingCertificate> blocking;
        while (listed.step()) {
            blocking.push_back(
                BlockingCertificate{listed.text(0), listed.text(1), listed.text(2), listed.int64(3)});
        }
        return refuse_finish(*previous, blocking, total);
    }
    connection_.query("DELETE FROM trusted_cas WHERE state = 'previous'", "finishing a CA rotation").run();
    bump_generation();
    transaction.commit();
    return previous;
}

Result<std::int64_t> SqliteStore::request_reissue(std::int64_t rate, std::int64_t now) {
    if (rate < 1) {
        return bad_reissue_rate(rate);
    }
    WriteTransaction transaction(connection_, "requesting a reissue");
    if (!previous_ca(trusted_cas())) {
        return no_rotation_to_reissue();
    }
    connection_.query("DELETE FROM reissues WHERE requested_at < ?1", "pruning old reissue requests")
        .bind(1, now - kRebalanceKeepSeconds)
        .run();
    connection_.query("INSERT INTO reissues (rate, requested_at) VALUES (?1, ?2)", "requesting a reissue")
        .bind(1, rate)
        .bind(2, now)
        .run();
    const std::int64_t id = connection_.last_insert_rowid();
    bump_generation();
    transaction.commit();
    return id;
}

std::vector<ReissueRequest> SqliteStore::reissue_requests_after(std::int64_t id) {
    auto query = connection_.query("SELECT id, rate, requested_at FROM reissues WHERE id > ?1 ORDER BY id",
                                   "reading reissue requests");
    query.bind(1, id);
    std::vector<ReissueRequest> requests;
    while (query.step()) {
        requests.push_back(ReissueRequest{query.int64(0), query.int64(1), query.int64(2)});
    }
    return requests;
}

std::int64_t SqliteStore::last_reissue_id() {
    auto query =
        connection_.query("SELECT coalesce(max(id), 0) FROM reissues", "reading the last reissue request");
    query.step();
    return query.int64(0);
}

}  // namespace agentlb::store
