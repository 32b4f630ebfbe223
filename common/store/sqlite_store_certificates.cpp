// Certificates: agents' and servers', their revocation and counts.

#include "common/store/sqlite_store.hpp"
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
    "AND newer.rowid > certificates.rowid)";

CertificateRecord read_certificate(const Query& row) {
    CertificateRecord record;
    record.serial = row.text(0);
    record.host_id = row.int64(1);
    record.host_name = row.text(2);
    record.not_after = row.int64(3);
    record.revoked = row.int64(4) != 0;
    record.revoked_at = row.optional_int64(5);
    record.kind = row.text(6);
    record.subject = row.text(7);
    record.issuer = row.text(8);
    record.issued_at = row.int64(9);
    record.superseded = row.int64(10) != 0;
    return record;
}

std::vector<CertificateRecord> read_certificates(Connection& connection,
                                                 const std::string& where,
                                                 const std::function<void(Query&)>& bind) {
    auto query = connection.query(
        std::string("SELECT ") + kCertificateColumns + " FROM certificates " + where + " ORDER BY rowid",
        "listing certificates");
    bind(query);
    std::vector<CertificateRecord> certificates;
    while (query.step()) {
        certificates.push_back(read_certificate(query));
    }
    return certificates;
}

}  // namespace

void SqliteStore::insert_certificate(std::int64_t host_id,
                                     std::string_view host_name,
                                     const IssuedCertificate& certificate,
                                     bool revoked,
                                     std::int64_t now,
                                     std::string_view kind) {
    connection_
        .query(
            "INSERT INTO certificates (serial, host_id, host_name, not_after, revoked, kind, subject, "
            "issuer, "
            "issued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?3, "
            "CASE WHEN ?7 = '' THEN coalesce((SELECT fingerprint FROM ca WHERE id = 1), '') ELSE ?7 END, ?8)",
            "recording a certificate")
        .bind(1, certificate.serial)
        .bind(2, host_id)
        .bind(3, host_name)
        .bind(4, certificate.not_after)
        .bind(5, std::int64_t{revoked ? 1 : 0})
        .bind(6, kind)
        .bind(7, certificate.issuer)
        .bind(8, certificate.issued_at != 0 ? certificate.issued_at : now)
        .run();
}

void SqliteStore::revoke_certificates_of(std::int64_t host_id, std::int64_t now) {
    connection_
        .query(
            "UPDATE certificates SET revoked = 1, revoked_at = ?2 WHERE host_id = ?1 AND kind = 'agent' AND "
            "revoked = 0",
            "revoking certificates")
        .bind(1, host_id)
        .bind(2, now)
        .run();
}

void SqliteStore::record_certificate(std::int64_t host_id, const IssuedCertificate& certificate) {
    WriteTransaction transaction(connection_, "recording a certificate");
    std::optional<HostRecord> host = find_host_by_id(host_id);
    // A host removed while its renewal was in flight must not get a usable certificate.
    insert_certificate(host_id,
                       host ? std::string_view(host->name) : std::string_view(),
                       certificate,
                       !host,
                       util::unix_now());
    transaction.commit();
}

void SqliteStore::record_server_certificate(std::string_view server, const IssuedCertificate& certificate) {
    WriteTransaction transaction(connection_, "recording a server certificate");
    if (!find_certificate(certificate.serial)) {
        insert_certificate(0, server, certificate, false, util::unix_now(), kCertificateServer);
    }
    transaction.commit();
}

std::optional<CertificateRecord> SqliteStore::find_certificate(std::string_view serial) {
    auto found = read_certificates(connection_, "WHERE serial = ?1", [&](Query& q) { q.bind(1, serial); });
    if (found.empty()) {
        return std::nullopt;
    }
    return std::move(found.front());
}

std::vector<std::string> SqliteStore::revoked_serials() {
    auto query = connection_.query("SELECT serial FROM certificates WHERE revoked <> 0 ORDER BY serial",
                                   "listing revoked certificates");
    std::vector<std::string> serials;
    while (query.step()) {
        serials.push_back(query.text(0));
    }
    return serials;
}

std::vector<CertificateRecord> SqliteStore::certificates_of(std::string_view host_name) {
    return read_certificates(
        connection_, "WHERE host_name = ?1 AND kind = 'agent'", [&](Query& q) { q.bind(1, host_name); });
}

std::vector<CertificateRecord> SqliteStore::list_certificates(const CertificateFilter& filter) {
    auto certificates =
        read_certificates(connection_,
                          "WHERE (?1 IS NULL OR host_name = ?1) AND (?2 IS NULL OR not_after < ?2) "
                          "AND (?3 <> 0 OR revoked = 0) AND (?4 IS NULL OR issuer = ?4)",
                          [&](Query& q) {
                              q.bind(1, filter.host)
                                  .bind(2, filter.expiring_before)
                                  .bind(3, std::int64_t{filter.include_revoked ? 1 : 0})
                                  .bind(4, filter.issuer);
                          });
    if (!filter.include_superseded) {
        std::erase_if(certificates, [](const CertificateRecord& c) { return c.superseded; });
    }
    return certificates;
}

Result<CertificateRecord> SqliteStore::revoke_certificate(std::string_view serial, std::int64_t now) {
    WriteTransaction transaction(connection_, "revoking a certificate");
    std::optional<CertificateRecord> record = find_certificate(serial);
    if (!record) {
        return fail("no certificate with serial \"" + std::string(serial) +
                    "\" is recorded in the store; `agentlbctl cert list` shows the serials");
    }
    if (record->revoked) {
        return *record;
    }
    connection_
        .query("UPDATE certificates SET revoked = 1, revoked_at = ?2 WHERE serial = ?1",
               "revoking a certificate")
        .bind(1, serial)
        .bind(2, now)
        .run();
    bump_generation();
    transaction.commit();
    record->revoked = true;
    record->revoked_at = now;
    return *record;
}

std::int64_t SqliteStore::count_certificates(std::string_view kind,
                                             std::int64_t expiring_before,
                                             std::int64_t now) {
    auto query = connection_.query(
        "SELECT count(*) FROM certificates WHERE kind = ?1 AND revoked = 0 AND not_after >= ?3 AND "
        "not_after < ?2 AND NOT EXISTS (SELECT 1 FROM certificates AS newer WHERE newer.host_name = "
        "certificates.host_name AND newer.host_id = certificates.host_id AND newer.kind = certificates.kind "
        "AND newer.rowid > certificates.rowid)",
        "counting certificates");
    query.bind(1, kind).bind(2, expiring_before).bind(3, now);
    query.step();
    return query.int64(0);
}

bool SqliteStore::is_revoked(std::string_view serial) {
    auto query = connection_.query("SELECT revoked FROM certificates WHERE serial = ?1",
                                   "checking a certificate's revocation");
    query.bind(1, serial);
    return query.step() && query.int64(0) != 0;
}

}  // namespace agentlb::store
