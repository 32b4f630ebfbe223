// The CAs the cluster trusts and CA rotation (schema v7), and reissue requests.

#include "common/store/ca_rules.hpp"
#include "common/store/postgres_store.hpp"

namespace agentlb::store {

namespace {

// Certificates of `issuer` in use at `now`: not revoked, not expired, and
// no newer one for the same host (id and name) or server (see list_certificates).
constexpr const char* kLiveOfIssuer =
    "FROM certificates AS c WHERE c.issuer = $1 AND NOT c.revoked AND c.not_after >= $2 "
    "AND NOT EXISTS (SELECT 1 FROM certificates AS newer WHERE newer.host_name = c.host_name "
    "AND newer.host_id = c.host_id AND newer.kind = c.kind AND newer.seq > c.seq)";

std::vector<TrustedCa> read_trusted(const PgResult& found) {
    std::vector<TrustedCa> cas;
    for (int row = 0; row < found.rows(); ++row) {
        cas.push_back(TrustedCa{found.text(row, 0),
                                found.text(row, 1),
                                found.text(row, 2),
                                found.text(row, 3),
                                found.int64(row, 4)});
    }
    return cas;
}

constexpr const char* kSelectTrusted =
    "SELECT fingerprint, pem, cross_pem, state, created_at FROM trusted_cas "
    "ORDER BY state = 'active' DESC, created_at, fingerprint COLLATE \"C\"";

}  // namespace

std::vector<TrustedCa> PostgresStore::trusted_cas() {
    return read_trusted(connection_.exec(kSelectTrusted, "reading the trusted CAs"));
}

Result<TrustedCa> PostgresStore::begin_ca_rotation(const CaRotation& rotation) {
    return connection_.retrying([&]() -> Result<TrustedCa> {
        constexpr std::string_view what = "beginning a CA rotation";
        PgTransaction transaction(connection_, what);
        // The generation row's lock first: two rotations at once run one after the other.
        bump_generation(what);
        if (auto refused = refuse_rotation(read_trusted(connection_.exec(kSelectTrusted, what)), rotation)) {
            return *refused;  // rolls the bump back
        }
        connection_.exec("UPDATE trusted_cas SET state = 'previous' WHERE state = 'active'", what);
        connection_.exec(
            "INSERT INTO trusted_cas (fingerprint, pem, cross_pem, state, created_at) "
            "VALUES ($1, $2, $3, 'active', $4)",
            {rotation.fingerprint, rotation.pem, rotation.cross_pem, rotation.now},
            what);
        connection_.exec("UPDATE ca SET pem = $1, fingerprint = $2 WHERE id = 1",
                         {rotation.pem, rotation.fingerprint},
                         what);
        transaction.commit();
        return TrustedCa{
            rotation.fingerprint, rotation.pem, rotation.cross_pem, std::string(kCaActive), rotation.now};
    });
}

Result<TrustedCa> PostgresStore::finish_ca_rotation(std::int64_t now) {
    return connection_.retrying([&]() -> Result<TrustedCa> {
        constexpr std::string_view what = "finishing a CA rotation";
        PgTransaction transaction(connection_, what);
        bump_generation(what);
        // No certificate of the previous CA may be recorded between the check and the delete.
        connection_.exec("LOCK TABLE certificates IN SHARE ROW EXCLUSIVE MODE", what);
        auto previous = previous_ca(read_trusted(connection_.exec(kSelectTrusted, what)));
        if (!previous) {
            return previous;
        }
        const std::int64_t total =
            connection_
                .exec(std::string("SELECT count(*) ") + kLiveOfIssuer, {previous->fingerprint, now}, what)
                .int64(0, 0);
        if (total > 0) {
            auto listed = connection_.exec(std::string("SELECT c.host_name, c.kind, c.serial, c.not_after ") +
                                               kLiveOfIssuer + " ORDER BY c.seq LIMIT " +
                                               std::to_string(kFinishListLimit),
                                           {previous->fingerprint, now},
                                           what);
            std::vector<BlockingCertificate> blocking;
            for (int row = 0; row < listed.rows(); ++row) {
                blocking.push_back(BlockingCertificate{
                    listed.text(row, 0), listed.text(row, 1), listed.text(row, 2), listed.int64(row, 3)});
            }
            return refuse_finish(*previous, blocking, total);
        }
        connection_.exec("DELETE FROM trusted_cas WHERE state = 'previous'", what);
        transaction.commit();
        return previous;
    });
}

Result<std::int64_t> PostgresStore::request_reissue(std::int64_t rate, std::int64_t now) {
    if (rate < 1) {
        return bad_reissue_rate(rate);
    }
    return connection_.retrying([&]() -> Result<std::int64_t> {
        constexpr std::string_view what = "requesting a reissue";
        PgTransaction transaction(connection_, what);
        // Bumping first orders the ids, as for rebalance requests.
        bump_generation(what);
        if (!previous_ca(read_trusted(connection_.exec(kSelectTrusted, what)))) {
            return no_rotation_to_reissue();
        }
        connection_.exec("DELETE FROM reissues WHERE requested_at < $1", {now - kRebalanceKeepSeconds}, what);
        auto inserted = connection_.exec(
            "INSERT INTO reissues (rate, requested_at) VALUES ($1, $2) RETURNING id", {rate, now}, what);
        const std::int64_t id = inserted.int64(0, 0);
        transaction.commit();
        return id;
    });
}

std::vector<ReissueRequest> PostgresStore::reissue_requests_after(std::int64_t id) {
    auto found = connection_.exec("SELECT id, rate, requested_at FROM reissues WHERE id > $1 ORDER BY id",
                                  {id},
                                  "reading reissue requests");
    std::vector<ReissueRequest> requests;
    for (int row = 0; row < found.rows(); ++row) {
        requests.push_back(ReissueRequest{found.int64(row, 0), found.int64(row, 1), found.int64(row, 2)});
    }
    return requests;
}

std::int64_t PostgresStore::last_reissue_id() {
    return connection_.exec("SELECT coalesce(max(id), 0) FROM reissues", "reading the last reissue request")
        .int64(0, 0);
}

}  // namespace agentlb::store
