// TLS session ticket keys shared by the servers (schema v9, migration_ticket_keys.hpp).
// BYTEA travels as hex text: the connection passes every parameter as text.

#include "common/store/pg_handle.hpp"
#include "common/store/postgres_store.hpp"
#include "common/store/ticket_key_rules.hpp"

#include <string>
#include <vector>

namespace agentlb::store {

namespace {

std::string to_hex(const std::string& bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        out.push_back(kDigits[byte >> 4]);
        out.push_back(kDigits[byte & 0x0f]);
    }
    return out;
}

std::string from_hex(const std::string& hex) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        return (c | 0x20) - 'a' + 10;
    };
    std::string out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<char>((nibble(hex[i]) << 4) | nibble(hex[i + 1])));
    }
    return out;
}

}  // namespace

std::vector<TicketKeyRecord> PostgresStore::ticket_keys() {
    auto found = connection_.exec(
        "SELECT encode(name, 'hex'), encode(wrapped, 'hex'), created_at FROM ticket_keys "
        "ORDER BY created_at DESC, name DESC",
        "reading the ticket keys");
    std::vector<TicketKeyRecord> keys;
    for (int row = 0; row < found.rows(); ++row) {
        keys.push_back(
            TicketKeyRecord{from_hex(found.text(row, 0)), from_hex(found.text(row, 1)), found.int64(row, 2)});
    }
    return keys;
}

std::vector<TicketKeyRecord> PostgresStore::ensure_ticket_keys(std::int64_t now,
                                                               std::int64_t rotation_seconds,
                                                               const TicketKeyMaker& maker) {
    // Most calls find nothing due: a read, without the lock.
    auto keys = ticket_keys();
    if (!ticket_key_due(keys, now, rotation_seconds, maker)) {
        return keys;
    }
    constexpr std::string_view what = "rotating the ticket keys";
    return connection_.retrying([&] {
        PgTransaction transaction(connection_, what);
        // Servers racing take turns; each looks again once it has the lock.
        transaction.lock(kLockTicketKeys);
        auto current = ticket_keys();
        if (!ticket_key_due(current, now, rotation_seconds, maker)) {
            transaction.commit();
            return current;
        }
        const TicketKeyRecord key = checked_new_ticket_key(maker, now, current);
        connection_.exec(
            "INSERT INTO ticket_keys (name, wrapped, created_at) VALUES (decode($1, 'hex'), decode($2, "
            "'hex'), $3)",
            {to_hex(key.name), to_hex(key.wrapped), key.created_at},
            what);
        connection_.exec(
            "DELETE FROM ticket_keys WHERE name NOT IN "
            "(SELECT name FROM ticket_keys ORDER BY created_at DESC, name DESC LIMIT $1)",
            {static_cast<std::int64_t>(kTicketKeysKept)},
            what);
        current = ticket_keys();
        transaction.commit();
        return current;
    });
}

}  // namespace agentlb::store
