#include "tools/agentlbctl/db_commands.hpp"

#include "tools/agentlbctl/output.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>

namespace agentlb::ctl {
namespace {

enum class SchemaState { empty, older, current, newer };

SchemaState state_of(const store::SchemaVersions& versions) {
    if (versions.stored > versions.known) {
        return SchemaState::newer;
    }
    if (versions.stored == versions.known) {
        return SchemaState::current;
    }
    return versions.stored == 0 ? SchemaState::empty : SchemaState::older;
}

const char* state_name(SchemaState state) {
    switch (state) {
        case SchemaState::empty:
            return "empty";
        case SchemaState::older:
            return "older";
        case SchemaState::current:
            return "current";
        case SchemaState::newer:
            return "newer";
    }
    return "";
}

// A newer schema holds data this build cannot read correctly, and writing
// into it could break the newer servers: refused before anything is opened.
std::string newer_message(const DbLocation& db, const store::SchemaVersions& versions) {
    return store_phrase(db) + " has schema version " + std::to_string(versions.stored) +
           ", newer than this build of agentlb knows (" + std::to_string(versions.known) +
           "); upgrade agentlbctl (and the servers) before using it";
}

std::string advice(SchemaState state, int known) {
    switch (state) {
        case SchemaState::empty:
            return "empty: no agentlb schema yet; `agentlbctl db migrate` creates it";
        case SchemaState::older:
            return "older than this build: `agentlbctl db migrate` (or the next agentlb-mgmt to start) "
                   "brings it to " +
                   std::to_string(known);
        case SchemaState::current:
            return "up to date";
        case SchemaState::newer:
            return "newer than this build: upgrade agentlb";
    }
    return "";
}

int run_db_version(Context& context, const CommandArgs&) {
    if (auto exists = check_store_exists(context.db()); !exists) {
        return context.fail(kExitFailure, exists.error());
    }
    const store::SchemaVersions versions = store::read_schema_versions(context.db().location);
    const SchemaState state = state_of(versions);
    if (context.json()) {
        print_json(context.out(),
                   Json{{"store", context.db().shown()},
                        {"stored", versions.stored},
                        {"known", versions.known},
                        {"state", state_name(state)}});
    } else {
        context.out() << "store " << display_text(context.db().shown()) << "\n"
                      << "stored schema version " << versions.stored << "; this build knows "
                      << versions.known << "\n"
                      << advice(state, versions.known) << "\n";
    }
    if (state == SchemaState::newer) {
        return context.fail(kExitUsage, newer_message(context.db(), versions));
    }
    return kExitOk;
}

int run_db_migrate(Context& context, const CommandArgs&) {
    if (auto exists = check_store_exists(context.db()); !exists) {
        return context.fail(kExitFailure, exists.error());
    }
    const store::SchemaVersions versions = store::read_schema_versions(context.db().location);
    const SchemaState state = state_of(versions);
    if (state == SchemaState::newer) {
        return context.fail(kExitUsage, newer_message(context.db(), versions));
    }
    if (state != SchemaState::current) {
        // The store applies the migrations on opening, under its lock, so a
        // server starting at the same time does not apply them twice.
        store::open_store(context.db().location, store::OpenMode::create);
    }
    const bool migrated = state != SchemaState::current;
    if (context.json()) {
        print_json(context.out(),
                   Json{{"store", context.db().shown()},
                        {"from", versions.stored},
                        {"to", versions.known},
                        {"migrated", migrated}});
        return kExitOk;
    }
    const std::string store = display_text(context.db().shown());
    if (!migrated) {
        context.out() << "store " << store << ": already at schema version " << versions.known << "\n";
    } else if (state == SchemaState::empty) {
        context.out() << "store " << store << ": schema created, from 0 (empty) to " << versions.known
                      << "\n";
    } else {
        context.out() << "store " << store << ": schema migrated from " << versions.stored << " to "
                      << versions.known << "\n";
    }
    return kExitOk;
}

Result<DbLocation> copy_location(const CommandArgs& args, std::string_view option) {
    const std::string shown = "--" + std::string(option);
    auto value = args.value(option);
    if (!value) {
        return fail("missing " + shown + " LOCATION; `db copy` needs both --from and --to");
    }
    if (value->empty()) {
        return fail(shown + ": the value is empty");
    }
    return DbLocation{*value, shown};
}

// Two spellings of one SQLite file count as the same store.
bool same_store(const DbLocation& from, const DbLocation& to) {
    if (from.location == to.location) {
        return true;
    }
    if (!from.is_sqlite() || !to.is_sqlite()) {
        return false;
    }
    std::error_code ec;
    return std::filesystem::equivalent(from.location, to.location, ec) && !ec;
}

// Version 0 for an SQLite target that is not there yet: it is created.
store::SchemaVersions target_versions(const DbLocation& to) {
    if (to.is_sqlite()) {
        std::error_code ec;
        if (!std::filesystem::exists(to.location, ec) && !ec) {
            return store::SchemaVersions{0, 0};
        }
    }
    return store::read_schema_versions(to.location);
}

// Values set per zone or per cluster, all scopes together.
std::size_t count_scoped(const std::map<lb::ConfigScope, std::map<std::string, std::string>>& overrides) {
    std::size_t count = 0;
    for (const auto& [scope, values] : overrides) {
        count += values.size();
    }
    return count;
}

std::size_t scoped_values(const store::StoreContents& contents) {
    return count_scoped(contents.scoped_config);
}

void print_copy_text(std::ostream& out,
                     const DbLocation& from,
                     const DbLocation& to,
                     const store::StoreContents& contents,
                     std::size_t revoked) {
    out << "copied " << quote(from.shown()) << " to " << quote(to.shown()) << "\n"
        << "  configuration keys  " << contents.config.size() << "\n"
        << "  scoped values       " << scoped_values(contents) << "\n"
        << "  hosts               " << contents.hosts.size() << "\n"
        << "  certificates        " << contents.certificates.size() << " (" << revoked << " revoked)\n"
        << "  join tokens         " << contents.tokens.size() << "\n"
        << "  CA certificate      " << (contents.ca ? contents.ca->second : std::string("(none)")) << "\n";
}

int run_db_copy(Context& context, const CommandArgs& args) {
    auto from = copy_location(args, "from");
    if (!from) {
        return context.fail(kExitUsage, from.error());
    }
    auto to = copy_location(args, "to");
    if (!to) {
        return context.fail(kExitUsage, to.error());
    }
    if (same_store(*from, *to)) {
        return context.fail(
            kExitUsage,
            "--from and --to name the same store " + quote(from->shown()) + "; copy into a new, empty store");
    }
    if (auto exists = check_store_exists(*from); !exists) {
        return context.fail(kExitFailure, exists.error());
    }
    const store::SchemaVersions source_versions = store::read_schema_versions(from->location);
    if (state_of(source_versions) == SchemaState::newer) {
        return context.fail(kExitUsage, newer_message(*from, source_versions));
    }
    const store::SchemaVersions target_versions_now = target_versions(*to);
    if (state_of(target_versions_now) == SchemaState::newer) {
        return context.fail(kExitUsage, newer_message(*to, target_versions_now));
    }
    // Read everything before the target is touched: a source that cannot be
    // read leaves no half-made target behind.
    const store::StoreContents contents =
        store::open_store(from->location, store::OpenMode::existing)->export_contents();
    auto target = store::open_store(to->location, store::OpenMode::create);
    // import_contents would overwrite configuration keys the target holds;
    // "empty" here means nothing at all of what is copied.
    if (const auto config = target->scoped_config(); !config.global.empty() || !config.overrides.empty()) {
        const auto& first = config.global.empty() ? config.overrides.begin()->second : config.global;
        return context.fail(kExitUsage,
                            store_phrase(*to) + " is not empty (it holds " +
                                std::to_string(config.global.size() + count_scoped(config.overrides)) +
                                " configuration keys, first " + quote(first.begin()->first) +
                                "); copy only into a new store; nothing was copied");
    }
    // One transaction, refused as a whole when the target holds anything.
    if (auto imported = target->import_contents(contents); !imported) {
        return context.fail(kExitUsage, imported.error() + "; nothing was copied");
    }
    const auto revoked = static_cast<std::size_t>(std::count_if(
        contents.certificates.begin(), contents.certificates.end(), [](const auto& c) { return c.revoked; }));
    if (context.json()) {
        print_json(context.out(),
                   Json{{"from", from->shown()},
                        {"to", to->shown()},
                        {"config", contents.config.size()},
                        {"scoped_values", scoped_values(contents)},
                        {"hosts", contents.hosts.size()},
                        {"certificates", contents.certificates.size()},
                        {"revoked_certificates", revoked},
                        {"tokens", contents.tokens.size()},
                        {"ca_fingerprint", contents.ca ? Json(contents.ca->second) : Json(nullptr)}});
    } else {
        print_copy_text(context.out(), *from, *to, contents, revoked);
    }
    return kExitOk;
}

OptionsPtr copy_options() {
    auto options = command_options();
    // clang-format off
    options->add_options()
        ("from", text_value("LOCATION"), "the store to copy (an SQLite file, or a PostgreSQL URI or "
                                         "key=value string)")
        ("to", text_value("LOCATION"), "the new store: created (or given the schema) when needed; it "
                                       "must be empty (no configuration key, host, certificate, token or CA)");
    // clang-format on
    return options;
}

}  // namespace

std::vector<Command> db_commands() {
    return {
        {{"db", "version"},
         "",
         "print the store's schema version and the one this build knows",
         "Exit 2 when the store is newer than this build (upgrade agentlb first).",
         nullptr,
         {},
         run_db_version},
        {{"db", "migrate"},
         "",
         "bring the store's schema up to this build's version (servers also do it when they start)",
         "Idempotent: says what it did (\"from 2 to 3\") or that there was nothing to do.\n"
         "Gives an empty PostgreSQL database (or an empty, 0-byte SQLite file) the schema.\n"
         "Exit 2 when the store is newer than this build.",
         nullptr,
         {},
         run_db_migrate},
        {{"db", "copy"},
         "--from LOCATION --to LOCATION",
         "copy a whole store into a new one, e.g. from SQLite to PostgreSQL",
         "Copies the configuration, the hosts with their ids, every certificate with its revocation,\n"
         "the join tokens and the CA certificate; not the management servers' rows (servers register\n"
         "again) nor which server each host is connected to. Stop every server first.\n"
         "The source is brought to this build's schema as a server start would; --db is not used.\n"
         "Exit 2, nothing copied, when the target is not empty or either store is newer than this build.",
         copy_options(),
         {},
         run_db_copy},
    };
}

}  // namespace agentlb::ctl
