#include "tools/agentlbctl/command.hpp"

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

Result<std::unique_ptr<store::Store>> Context::open_store(StoreAccess access) const {
    if (access == StoreAccess::existing_only) {
        std::error_code ec;
        const bool exists = std::filesystem::exists(db_.path, ec);
        if (ec) {
            return agentlb::fail("cannot look at the store " + quote(db_.path) + " (from " + db_.source +
                                 "): " + ec.message());
        }
        if (!exists) {
            return agentlb::fail("no store at " + quote(db_.path) + " (from " + db_.source +
                                 "); give the right one with --db or $AGENTLB_DB, or create it with " +
                                 "`agentlbctl ca init`");
        }
    }
    // A 0-byte file counts as missing only where creating is allowed (`ca
    // init`, `config set`); every other command refuses it like a missing store.
    return store::open_sqlite_store(
        db_.path,
        access == StoreAccess::create_if_missing ? store::OpenMode::create : store::OpenMode::existing);
}

Result<StoreWithCa> open_store_with_ca(const Context& context, std::string_view missing_ca_hint) {
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return agentlb::fail(store.error());
    }
    auto ca = (*store)->ca_certificate();
    if (!ca) {
        return agentlb::fail("the store " + quote(context.db().path) + " holds no CA; " +
                             std::string(missing_ca_hint));
    }
    return StoreWithCa{std::move(*store), std::move(ca->second)};
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
