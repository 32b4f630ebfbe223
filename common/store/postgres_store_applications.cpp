// The applications each server holds on its app socket (schema v10,
// migration_applications.hpp). Single statements: each is its own
// transaction, and none bumps the generation.

#include "common/store/pg_handle.hpp"
#include "common/store/postgres_store.hpp"

#include <string>
#include <vector>

namespace agentlb::store {

void PostgresStore::add_application(const ApplicationRecord& application) {
    connection_.exec(
        "INSERT INTO applications (server, name, epoch, connected_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (server, name, epoch) DO NOTHING",
        {application.server, application.name, application.epoch, application.connected_at},
        "recording an application");
}

void PostgresStore::remove_application(std::string_view server, std::string_view name, std::int64_t epoch) {
    connection_.exec("DELETE FROM applications WHERE server = $1 AND name = $2 AND epoch = $3",
                     {server, name, epoch},
                     "removing an application");
}

void PostgresStore::clear_applications(std::string_view server) {
    connection_.exec(
        "DELETE FROM applications WHERE server = $1", {server}, "removing a server's applications");
}

std::vector<ApplicationRecord> PostgresStore::applications_named(std::string_view name) {
    auto found = connection_.exec(
        "SELECT server, name, epoch, connected_at FROM applications WHERE name = $1 "
        "ORDER BY epoch, server COLLATE \"C\"",
        {name},
        "reading an application's instances");
    std::vector<ApplicationRecord> applications;
    for (int row = 0; row < found.rows(); ++row) {
        applications.push_back(ApplicationRecord{
            found.text(row, 0), found.text(row, 1), found.int64(row, 2), found.int64(row, 3)});
    }
    return applications;
}

}  // namespace agentlb::store
