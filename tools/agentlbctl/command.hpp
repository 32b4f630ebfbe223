#pragma once

// What every command gets (Context) and how each is described (Command), so
// main.cpp can dispatch and print usage from one table.
//
// Exit codes: kExitOk; kExitUsage when something on the command line is
// wrong or refused (bad usage, unknown key, refused value, unknown host
// name, a `db` command's store newer than this build or copy target not
// empty); kExitFailure when the command line is fine but the surroundings are
// not (store missing or unreadable, no CA in the store, CA files already
// present).

#include "common/store/store.hpp"
#include "common/util/result.hpp"
#include "tools/agentlbctl/cli_args.hpp"

#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Only `ca init` and `config set` may create a missing store file (or give an
// empty, 0-byte file the schema, or an empty PostgreSQL database its tables);
// every other command refuses them, so a mistyped --db never shows an empty
// store as if it were real.
enum class StoreAccess { existing_only, create_if_missing };

class Context {
public:
    Context(DbLocation db, bool json, std::ostream& out, std::ostream& err);

    bool json() const { return json_; }
    const DbLocation& db() const { return db_; }
    std::ostream& out() const { return out_; }
    std::ostream& err() const { return err_; }

    // "config set": prefixes every error message.
    void set_command_name(std::string name) { command_name_ = std::move(name); }
    const std::string& command_name() const { return command_name_; }

    // Prints "agentlbctl: COMMAND: MESSAGE" on stderr and returns `code`.
    int fail(int code, std::string_view message) const;

    // Store failures (StoreError) are thrown and reported by main with exit 1.
    Result<std::unique_ptr<store::Store>> open_store(StoreAccess access) const;

private:
    DbLocation db_;
    bool json_;
    std::ostream& out_;
    std::ostream& err_;
    std::string command_name_;
};

// For an SQLite location: refuses a file that is not there (or cannot be
// looked at), naming where the location came from and how to create a store.
// PostgreSQL locations pass: only connecting tells.
Status check_store_exists(const DbLocation& db);

// "the store LOCATION", the location as people may see it (no password).
std::string store_phrase(const DbLocation& db);

// An existing store and the CA recorded in it.
struct StoreWithCa {
    std::unique_ptr<store::Store> store;
    // What agents pin: the root of an imported CA's chain, else the CA itself.
    std::string ca_fingerprint;
    // The CA that issues (`ca import`: differs from ca_fingerprint).
    std::string issuing_ca_fingerprint;
};

// Opens the existing store and reads its CA. Both failures are exit 1; when
// the store holds no CA, the reason names the store and ends with
// `missing_ca_hint` (how to create one).
Result<StoreWithCa> open_store_with_ca(const Context& context, std::string_view missing_ca_hint);

using CommandFn = int (*)(Context& context, const CommandArgs& args);
using OptionsPtr = std::shared_ptr<const boost::program_options::options_description>;

// A command declares its options (Program_options, shown in its help) and its
// positional arguments (every one required); see cli_args.hpp for the rules.
struct Command {
    std::vector<std::string_view> words;        // {"config", "set"}, {"status"}
    std::string_view arguments;                 // "KEY VALUE", shown in usage
    std::string_view summary;                   // one line
    std::string details;                        // notes after the options, one per line; may be empty
    OptionsPtr options;                         // null: none
    std::vector<std::string_view> positionals;  // {"KEY", "VALUE"}
    CommandFn run = nullptr;

    CommandSyntax syntax() const { return {words, options.get(), positionals}; }
};

// An empty options_description with the caption every command's help uses.
std::shared_ptr<boost::program_options::options_description> command_options();

// "config set"
std::string command_name(const Command& command);

}  // namespace agentlb::ctl
