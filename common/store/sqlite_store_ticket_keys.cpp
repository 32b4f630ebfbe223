// TLS session ticket keys shared by the servers (schema v9, migration_ticket_keys.hpp).

#include "common/store/sqlite_handle.hpp"
#include "common/store/sqlite_store.hpp"
#include "common/store/ticket_key_rules.hpp"

#include <string>
#include <vector>

namespace agentlb::store {

std::vector<TicketKeyRecord> SqliteStore::ticket_keys() {
    auto query = connection_.query(
        "SELECT name, wrapped, created_at FROM ticket_keys ORDER BY created_at DESC, name DESC",
        "reading the ticket keys");
    std::vector<TicketKeyRecord> keys;
    while (query.step()) {
        keys.push_back(TicketKeyRecord{query.blob(0), query.blob(1), query.int64(2)});
    }
    return keys;
}

std::vector<TicketKeyRecord> SqliteStore::ensure_ticket_keys(std::int64_t now,
                                                             std::int64_t rotation_seconds,
                                                             const TicketKeyMaker& maker) {
    // Most calls find nothing due: a read, without the write lock.
    auto keys = ticket_keys();
    if (!ticket_key_due(keys, now, rotation_seconds, maker)) {
        return keys;
    }
    constexpr std::string_view what = "rotating the ticket keys";
    WriteTransaction transaction(connection_, what);
    // Another server may have made one while we waited for the lock.
    keys = ticket_keys();
    if (!ticket_key_due(keys, now, rotation_seconds, maker)) {
        return keys;
    }
    const TicketKeyRecord key = checked_new_ticket_key(maker, now, keys);
    connection_.query("INSERT INTO ticket_keys (name, wrapped, created_at) VALUES (?1, ?2, ?3)", what)
        .bind_blob(1, key.name)
        .bind_blob(2, key.wrapped)
        .bind(3, key.created_at)
        .run();
    connection_
        .query(
            "DELETE FROM ticket_keys WHERE name NOT IN "
            "(SELECT name FROM ticket_keys ORDER BY created_at DESC, name DESC LIMIT ?1)",
            what)
        .bind(1, static_cast<std::int64_t>(kTicketKeysKept))
        .run();
    keys = ticket_keys();
    transaction.commit();
    return keys;
}

}  // namespace agentlb::store
