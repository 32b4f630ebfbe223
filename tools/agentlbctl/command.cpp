#include "tools/agentlbctl/command.hpp"

#include "certs/ca_chain.hpp"
#include "tools/agentlbctl/output.hpp"

#include <filesystem>
#include <system_error>

namespace agentlb::ctl {

Context::Context(DbLocation db, bool json, std::ostream& out, std::ostream& err)
    : db_(std::move(db)), json_(json), out_(out), err_(err) {}

int Context::fail(int code, std::string_view message) const {
    err_ << "agentlbctl: ";
    if (!command_name_.empty()) {
        err_ << command_name_ << ": ";
    }
    err_ << message << '\n';
    return code;
}

Status check_store_exists(const DbLocation& db) {
    if (!db.is_sqlite()) {
        return success();
    }
    std::error_code ec;
    const bool exists = std::filesystem::exists(db.location, ec);
    if (ec) {
        return agentlb::fail("cannot look at the store " + quote(db.shown()) + " (from " + db.source +
                             "): " + ec.message());
    }
    if (!exists) {
        return agentlb::fail("no store at " + quote(db.shown()) + " (from " + db.source +
                             "); give the right one with --db or $AGENTLB_DB, or create it with " +
                             "`agentlbctl ca init`");
    }
    return success();
}

std::string store_phrase(const DbLocation& db) {
    return "the store " + quote(db.shown());
}

Result<std::unique_ptr<store::Store>> Context::open_store(StoreAccess access) const {
    if (access == StoreAccess::existing_only) {
        if (auto exists = check_store_exists(db_); !exists) {
            return agentlb::fail(exists.error());
        }
    }
    // A 0-byte file counts as missing only where creating is allowed (`ca
    // init`, `config set`); every other command refuses it like a missing store.
    return store::open_store(
        db_.location,
        access == StoreAccess::create_if_missing ? store::OpenMode::create : store::OpenMode::existing);
}

Result<StoreWithCa> open_store_with_ca(const Context& context, std::string_view missing_ca_hint) {
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return agentlb::fail(store.error());
    }
    auto ca = (*store)->ca_certificate();
    if (!ca) {
        return agentlb::fail(store_phrase(context.db()) + " holds no CA; " + std::string(missing_ca_hint));
    }
    std::string pin = ca->second;
    if (const std::string chain = (*store)->ca_chain(); !chain.empty()) {
        auto root = certs::root_fingerprint_of_chain(chain);
        if (!root) {
            return agentlb::fail(store_phrase(context.db()) + ": " + root.error());
        }
        pin = std::move(root).value();
    }
    return StoreWithCa{std::move(*store), std::move(pin), std::move(ca->second)};
}

std::shared_ptr<boost::program_options::options_description> command_options() {
    return std::make_shared<boost::program_options::options_description>(
        "Options", kHelpWidth, kHelpWidth / 2);
}

std::string command_name(const Command& command) {
    std::string name;
    for (std::string_view word : command.words) {
        name += name.empty() ? "" : " ";
        name += word;
    }
    return name;
}

}  // namespace agentlb::ctl
