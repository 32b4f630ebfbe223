// The applications each server holds on its app socket (schema v10,
// migration_applications.hpp). Single statements: each is its own
// transaction, and none bumps the generation.

#include "common/store/sqlite_handle.hpp"
#include "common/store/sqlite_store.hpp"

#include <string>
#include <vector>

namespace agentlb::store {

void SqliteStore::add_application(const ApplicationRecord& application) {
    connection_
        .query(
            "INSERT INTO applications (server, name, epoch, connected_at) VALUES (?1, ?2, ?3, ?4) "
            "ON CONFLICT (server, name, epoch) DO NOTHING",
            "recording an application")
        .bind(1, application.server)
        .bind(2, application.name)
        .bind(3, application.epoch)
        .bind(4, application.connected_at)
        .run();
}

void SqliteStore::remove_application(std::string_view server, std::string_view name, std::int64_t epoch) {
    connection_
        .query("DELETE FROM applications WHERE server = ?1 AND name = ?2 AND epoch = ?3",
               "removing an application")
        .bind(1, server)
        .bind(2, name)
        .bind(3, epoch)
        .run();
}

void SqliteStore::clear_applications(std::string_view server) {
    connection_.query("DELETE FROM applications WHERE server = ?1", "removing a server's applications")
        .bind(1, server)
        .run();
}

std::vector<ApplicationRecord> SqliteStore::applications_named(std::string_view name) {
    auto query = connection_.query(
        "SELECT server, name, epoch, connected_at FROM applications WHERE name = ?1 ORDER BY epoch, server",
        "reading an application's instances");
    query.bind(1, name);
    std::vector<ApplicationRecord> applications;
    while (query.step()) {
        applications.push_back(
            ApplicationRecord{query.text(0), query.text(1), query.int64(2), query.int64(3)});
    }
    return applications;
}

}  // namespace agentlb::store
