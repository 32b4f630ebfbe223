#include "tools/agentlbctl/ca_rotate_command.hpp"

#include "certs/ca.hpp"
#include "certs/keys.hpp"
#include "certs/rotation.hpp"
#include "common/lb/certificate_settings.hpp"
#include "common/util/clock.hpp"
#include "tools/agentlbctl/output.hpp"

#include <filesystem>

namespace agentlb::ctl {
namespace {

// Agents a second per server when --rate is not given.
constexpr std::int64_t kDefaultReissueRate = 10;
constexpr std::int64_t kMaxReissueRate = 10000;

Result<std::filesystem::path> ca_dir(const CommandArgs& args) {
    const auto dir = args.value("ca-dir");
    if (!dir || dir->empty()) {
        return fail("--ca-dir DIR is required (the folder holding ca.key and ca.crt)");
    }
    return std::filesystem::path(*dir);
}

int report_rotation(Context& context,
                    const std::filesystem::path& dir,
                    const std::string& previous,
                    const std::string& active,
                    bool resumed) {
    if (context.json()) {
        print_json(
            context.out(),
            Json{
                {"ca_fingerprint", active}, {"previous_ca_fingerprint", previous}, {"ca_dir", dir.string()}});
        return kExitOk;
    }
    const std::string shown = display_text(dir.string());
    context.out()
        << (resumed ? "completed the interrupted rotation in " : "rotated the CA in ") << shown << ": new CA "
        << active << "\n"
        << "the previous CA " << previous << " is kept as " << shown << "/" << certs::kPreviousCaKeyFileName
        << " and " << shown << "/" << certs::kPreviousCaCertificateFileName
        << " until `agentlbctl ca rotate --finish`\n"
        << "servers trust both CAs and issue from the new one (copy " << shown
        << " to servers with a CA folder of their own); agents learn the new CA over their session\n"
        << "next: `agentlbctl ca rotate --reissue-all` to renew every certificate now, then "
           "`agentlbctl ca rotate --finish --ca-dir "
        << shown << "`\n";
    return kExitOk;
}

int run_rotate(Context& context, const std::filesystem::path& dir) {
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    const auto trusted = (*store)->trusted_cas();
    if (trusted.empty()) {
        return context.fail(
            kExitFailure, store_phrase(context.db()) + " holds no CA: create one with `agentlbctl ca init`");
    }
    // A rotation the store recorded but whose files were not all moved.
    if (auto next = certs::next_ca_fingerprint(dir); next && *next == trusted.front().fingerprint) {
        if (auto completed = certs::complete_ca_rotation_files(dir); !completed) {
            return context.fail(kExitFailure, completed.error());
        }
        const std::string previous = trusted.size() > 1 ? trusted.back().fingerprint : std::string();
        return report_rotation(context, dir, previous, trusted.front().fingerprint, true);
    }
    auto current = certs::CertificateAuthority::load(dir);
    if (!current) {
        return context.fail(kExitFailure, current.error());
    }
    if (current->fingerprint() != trusted.front().fingerprint) {
        return context.fail(kExitUsage,
                            "the CA in " + quote(dir.string()) + " (" + current->fingerprint() +
                                ") is not the store's active CA (" + trusted.front().fingerprint +
                                "): rotate from the folder that holds the active CA");
    }
    if (!current->chain_pem().empty()) {
        // Its successor would be a root of our own, which agents pinning the
        // organisation's root do not trust; the organisation's PKI renews it.
        return context.fail(
            kExitUsage,
            "the CA in " + quote(dir.string()) +
                " was imported (it has ca-chain.crt): an imported CA is not rotated; ask the "
                "organisation's PKI for a new one (docs/PRODUCTION.md, Bringing your own CA)");
    }
    for (const auto& ca : trusted) {
        if (ca.state == store::kCaPrevious) {
            return context.fail(
                kExitUsage,
                "a CA rotation is already in progress (the previous CA " + ca.fingerprint +
                    " is still trusted): finish it first with `agentlbctl ca rotate --finish`");
        }
    }
    // The new CA key is of the type new keys get (agentlb.ca.key.type, global value).
    auto settings = lb::certificate_settings_from_config((*store)->list_config());
    if (!settings) {
        return context.fail(kExitFailure, "the stored configuration is not valid: " + settings.error());
    }
    auto key = certs::generate_key(settings->key_type);
    if (!key) {
        return context.fail(kExitFailure, key.error());
    }
    auto prepared = certs::prepare_ca_rotation(dir, std::move(key).value());
    if (!prepared) {
        return context.fail(kExitFailure, prepared.error());
    }
    auto begun = (*store)->begin_ca_rotation(store::CaRotation{prepared->old_fingerprint,
                                                               prepared->pem,
                                                               prepared->fingerprint,
                                                               prepared->cross_pem,
                                                               util::unix_now()});
    if (!begun) {
        certs::discard_ca_rotation_files(dir);
        return context.fail(kExitUsage, begun.error());
    }
    if (auto completed = certs::complete_ca_rotation_files(dir); !completed) {
        return context.fail(kExitFailure,
                            "the store uses the new CA, but its files could not be put in place (" +
                                completed.error() + "): run `agentlbctl ca rotate --ca-dir " + dir.string() +
                                "` again to complete it");
    }
    return report_rotation(context, dir, prepared->old_fingerprint, prepared->fingerprint, false);
}

int run_reissue_all(Context& context, const CommandArgs& args) {
    std::int64_t rate = kDefaultReissueRate;
    if (auto text = args.value("rate")) {
        auto parsed = parse_positive_integer("--rate", *text, kMaxReissueRate);
        if (!parsed) {
            return context.fail(kExitUsage, parsed.error());
        }
        rate = *parsed;
    }
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    auto id = (*store)->request_reissue(rate, util::unix_now());
    if (!id) {
        return context.fail(kExitUsage, id.error());
    }
    if (context.json()) {
        print_json(context.out(), Json{{"reissue", *id}, {"rate", rate}});
        return kExitOk;
    }
    context.out() << "reissue " << *id
                  << " requested: each server asks its agents holding a certificate of the "
                  << "previous CA to renew now, " << rate << " a second\n";
    return kExitOk;
}

int run_finish(Context& context, const std::filesystem::path& dir) {
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    auto finished = (*store)->finish_ca_rotation(util::unix_now());
    if (!finished) {
        return context.fail(kExitFailure, finished.error());
    }
    if (auto removed = certs::remove_previous_ca_files(dir); !removed) {
        return context.fail(
            kExitFailure,
            "the store no longer trusts the previous CA, but " + removed.error() + ": remove it by hand");
    }
    if (context.json()) {
        print_json(context.out(), Json{{"removed_ca_fingerprint", finished->fingerprint}});
        return kExitOk;
    }
    context.out() << "the previous CA " << finished->fingerprint << " is no longer trusted; removed "
                  << display_text(dir.string()) << "/" << certs::kPreviousCaKeyFileName << " and "
                  << certs::kPreviousCaCertificateFileName << "\n"
                  << "agents drop it from their CA file at their next session's trust update\n";
    return kExitOk;
}

int run_ca_rotate(Context& context, const CommandArgs& args) {
    const bool reissue = args.has_flag("reissue-all");
    const bool finish = args.has_flag("finish");
    if (reissue && finish) {
        return context.fail(kExitUsage, "--reissue-all and --finish are separate steps: give one");
    }
    if (args.value("rate") && !reissue) {
        return context.fail(kExitUsage, "--rate goes with --reissue-all");
    }
    if (reissue) {
        return run_reissue_all(context, args);
    }
    auto dir = ca_dir(args);
    if (!dir) {
        return context.fail(kExitUsage, dir.error());
    }
    return finish ? run_finish(context, *dir) : run_rotate(context, *dir);
}

OptionsPtr ca_rotate_options() {
    auto options = command_options();
    options->add_options()(
        "ca-dir", text_value("DIR"), "the CA folder (ca.key, ca.crt); not with --reissue-all")(
        "reissue-all", "ask every server to renew now the certificates of the previous CA")(
        "rate", text_value("N"), "with --reissue-all: agents a second per server (default 10)")(
        "finish", "forget the previous CA, in the store and in --ca-dir; refused while it is still in use");
    return options;
}

}  // namespace

std::vector<Command> ca_rotate_commands() {
    return {
        {{"ca", "rotate"},
         "--ca-dir DIR | --reissue-all [--rate N] | --finish --ca-dir DIR",
         "replace the CA with a new one cross-signed by it, without downtime",
         "--ca-dir DIR: makes the new CA; the old one stays trusted (DIR/ca.previous.key, .crt) until "
         "--finish.\n"
         "Refused (exit 2) when DIR's CA is not the store's active CA or a rotation is in progress.\n"
         "--finish refuses (exit 1), listing them, while certificates of the previous CA are in use.",
         ca_rotate_options(),
         {},
         run_ca_rotate},
    };
}

}  // namespace agentlb::ctl
