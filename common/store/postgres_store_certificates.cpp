// Certificates: agents' and servers', their revocation and counts.

#include "common/store/postgres_store.hpp"
#include "common/util/clock.hpp"

#include <functional>

namespace agentlb::store {

namespace {

// A newer row for the same host id and name (servers: id 0, their name) and
// kind: the host or server holds that one now.
constexpr const char* kCertificateColumns =
    "serial, host_id, host_name, not_after, revoked, revoked_at, kind, subject, issuer, issued_at, "
    "EXISTS (SELECT 1 FROM certificates AS newer WHERE newer.host_name = certificates.host_name "
    "AND newer.host_id = certificates.host_id AND newer.kind = certificates.kind "
    "AND newer.seq > certificates.seq)";

CertificateRecord read_certificate(const PgResult& found, int row) {
    CertificateRecord record;
    record.serial = found.text(row, 0);
    record.host_id = found.int64(row, 1);
    record.host_name = found.text(row, 2);
    record.not_after = found.int64(row, 3);
    record.revoked = found.boolean(row, 4);
    record.revoked_at = found.optional_int64(row, 5);
    record.kind = found.text(row, 6);
    record.subject = found.text(row, 7);
    record.issuer = found.text(row, 8);
    record.issued_at = found.int64(row, 9);
    record.superseded = found.boolean(row, 10);
    return record;
}

std::vector<CertificateRecord> read_certificates(const PgResult& found) {
    std::vector<CertificateRecord> certificates;
    certificates.reserve(static_cast<std::size_t>(found.rows()));
    for (int row = 0; row < found.rows(); ++row) {
        certificates.push_back(read_certificate(found, row));
    }
    return certificates;
}

std::string select_certificates(std::string_view where) {
    return std::string("SELECT ") + kCertificateColumns + " FROM certificates " + std::string(where) +
           " ORDER BY seq";
}

}  // namespace

void PostgresStore::insert_certificate(std::int64_t host_id,
                                       std::string_view host_name,
                                       const IssuedCertificate& certificate,
                                       bool revoked,
                                       std::int64_t now,
                                       std::string_view kind) {
    const std::int64_t issued_at = certificate.issued_at != 0 ? certificate.issued_at : now;
    connection_.exec(
        "INSERT INTO certificates (serial, host_id, host_name, not_after, revoked, kind, subject, issuer, "
        "issued_at) VALUES ($1, $2, $3, $4, $5, $6, $3, "
        "CASE WHEN $7 = '' THEN coalesce((SELECT fingerprint FROM ca WHERE id = 1), '') ELSE $7 END, $8)",
        {certificate.serial,
         host_id,
         host_name,
         certificate.not_after,
         revoked ? "true" : "false",
         kind,
         certificate.issuer,
         issued_at},
        "recording a certificate");
}

void PostgresStore::revoke_certificates_of(std::int64_t host_id, std::int64_t now) {
    connection_.exec(
        "UPDATE certificates SET revoked = true, revoked_at = $2 WHERE host_id = $1 AND kind = 'agent' AND "
        "NOT revoked",
        {host_id, now},
        "revoking certificates");
}

void PostgresStore::record_certificate(std::int64_t host_id, const IssuedCertificate& certificate) {
    connection_.retrying([&] {
        PgTransaction transaction(connection_, "recording a certificate");
        // FOR SHARE: the host cannot be removed until this certificate is in.
        auto found = connection_.exec(
            "SELECT name FROM hosts WHERE id = $1 FOR SHARE", {host_id}, "recording a certificate");
        const std::optional<std::string> name =
            found.rows() == 0 ? std::nullopt : std::optional<std::string>(found.text(0, 0));
        // A host removed while its renewal was in flight must not get a usable certificate.
        insert_certificate(host_id,
                           name ? std::string_view(*name) : std::string_view(),
                           certificate,
                           !name,
                           util::unix_now());
        transaction.commit();
    });
}

void PostgresStore::record_server_certificate(std::string_view server, const IssuedCertificate& certificate) {
    const std::int64_t now = util::unix_now();
    const std::int64_t issued_at = certificate.issued_at != 0 ? certificate.issued_at : now;
    // One statement: a serial already recorded (a restart reusing its
    // certificate, or two calls racing) is left as it is.
    connection_.exec(
        "INSERT INTO certificates (serial, host_id, host_name, not_after, revoked, kind, subject, issuer, "
        "issued_at) VALUES ($1, 0, $2, $3, false, 'server', $2, "
        "CASE WHEN $4 = '' THEN coalesce((SELECT fingerprint FROM ca WHERE id = 1), '') ELSE $4 END, $5) "
        "ON CONFLICT (serial) DO NOTHING",
        {certificate.serial, server, certificate.not_after, certificate.issuer, issued_at},
        "recording a server certificate");
}

std::optional<CertificateRecord> PostgresStore::find_certificate(std::string_view serial) {
    auto found = read_certificates(
        connection_.exec(select_certificates("WHERE serial = $1"), {serial}, "reading a certificate"));
    if (found.empty()) {
        return std::nullopt;
    }
    return std::move(found.front());
}

std::vector<std::string> PostgresStore::revoked_serials() {
    auto found =
        connection_.exec("SELECT serial FROM certificates WHERE revoked ORDER BY serial COLLATE \"C\"",
                         "listing revoked certificates");
    std::vector<std::string> serials;
    for (int row = 0; row < found.rows(); ++row) {
        serials.push_back(found.text(row, 0));
    }
    return serials;
}

std::vector<CertificateRecord> PostgresStore::certificates_of(std::string_view host_name) {
    return read_certificates(connection_.exec(select_certificates("WHERE host_name = $1 AND kind = 'agent'"),
                                              {host_name},
                                              "listing a host's certificates"));
}

std::vector<CertificateRecord> PostgresStore::list_certificates(const CertificateFilter& filter) {
    auto certificates = read_certificates(connection_.exec(
        select_certificates("WHERE ($1::text IS NULL OR host_name = $1) AND ($2::bigint IS NULL OR not_after "
                            "< $2) AND ($3::boolean OR NOT revoked) AND ($4::text IS NULL OR issuer = $4)"),
        {filter.host, filter.expiring_before, filter.include_revoked ? "true" : "false", filter.issuer},
        "listing certificates"));
    if (!filter.include_superseded) {
        std::erase_if(certificates, [](const CertificateRecord& c) { return c.superseded; });
    }
    return certificates;
}

Result<CertificateRecord> PostgresStore::revoke_certificate(std::string_view serial, std::int64_t now) {
    return connection_.retrying([&]() -> Result<CertificateRecord> {
        constexpr std::string_view what = "revoking a certificate";
        PgTransaction transaction(connection_, what);
        bump_generation(what);
        std::optional<CertificateRecord> record = find_certificate(serial);
        if (!record) {
            return fail("no certificate with serial \"" + std::string(serial) +
                        "\" is recorded in the store; `agentlbctl cert list` shows the serials");
        }
        if (record->revoked) {
            // Nothing written: the destructor rolls the bump back.
            return *record;
        }
        connection_.exec(
            "UPDATE certificates SET revoked = true, revoked_at = $2 WHERE serial = $1", {serial, now}, what);
        transaction.commit();
        record->revoked = true;
        record->revoked_at = now;
        return *record;
    });
}

std::int64_t PostgresStore::count_certificates(std::string_view kind,
                                               std::int64_t expiring_before,
                                               std::int64_t now) {
    auto found = connection_.exec(
        "SELECT count(*) FROM certificates WHERE kind = $1 AND NOT revoked AND not_after >= $3 AND "
        "not_after < $2 AND NOT EXISTS (SELECT 1 FROM certificates AS newer WHERE newer.host_name = "
        "certificates.host_name AND newer.host_id = certificates.host_id AND newer.kind = certificates.kind "
        "AND newer.seq > certificates.seq)",
        {kind, expiring_before, now},
        "counting certificates");
    return found.int64(0, 0);
}

bool PostgresStore::is_revoked(std::string_view serial) {
    auto found = connection_.exec("SELECT revoked FROM certificates WHERE serial = $1",
                                  {serial},
                                  "checking a certificate's revocation");
    return found.rows() == 1 && found.boolean(0, 0);
}

}  // namespace agentlb::store
