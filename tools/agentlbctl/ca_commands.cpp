#include "tools/agentlbctl/ca_commands.hpp"

#include "certs/ca.hpp"
#include "certs/ca_chain.hpp"
#include "certs/ca_import.hpp"
#include "common/util/clock.hpp"
#include "tools/agentlbctl/ca_show.hpp"
#include "tools/agentlbctl/output.hpp"

#include <filesystem>
#include <initializer_list>
#include <string_view>
#include <system_error>

namespace agentlb::ctl {
namespace {

// Refused before anything is created: neither a store file nor CA files are
// left behind by a refused command, and an existing CA is never overwritten.
Status check_no_ca_files(const std::filesystem::path& dir, std::initializer_list<std::string_view> files) {
    for (std::string_view file : files) {
        const std::filesystem::path path = dir / file;
        std::error_code ec;
        const auto type = std::filesystem::symlink_status(path, ec).type();
        if (!ec && type != std::filesystem::file_type::not_found) {
            return fail(path.string() + " already exists; refusing to overwrite an existing CA");
        }
    }
    return success();
}

int run_ca_init(Context& context, const CommandArgs& args) {
    const auto dir = args.value("ca-dir");
    if (!dir || dir->empty()) {
        return context.fail(kExitUsage, "--ca-dir DIR is required (the folder for ca.key and ca.crt)");
    }
    // Refusals come before anything is created: neither a store file nor CA
    // files are left behind by a refused `ca init`. create_ca checks again.
    if (auto free = check_no_ca_files(*dir, {certs::kCaKeyFileName, certs::kCaCertificateFileName}); !free) {
        return context.fail(kExitFailure, free.error());
    }
    auto store = context.open_store(StoreAccess::create_if_missing);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    // Agents pin the fingerprint in the store: replacing it would lock every
    // enrolled agent out, so it is never done silently.
    if (auto existing = (*store)->ca_certificate()) {
        return context.fail(kExitFailure,
                            store_phrase(context.db()) + " already holds a CA (" + existing->second +
                                "); refusing to replace it");
    }
    if (auto created = certs::create_ca(*dir); !created) {
        return context.fail(kExitFailure, created.error());
    }
    auto ca = certs::CertificateAuthority::load(*dir);
    if (!ca) {
        return context.fail(kExitFailure,
                            "the new CA in " + quote(*dir) + " cannot be read back: " + ca.error());
    }
    (*store)->put_ca_certificate(ca->certificate_pem(), ca->fingerprint());
    if (context.json()) {
        print_json(context.out(), Json{{"ca_fingerprint", ca->fingerprint()}, {"ca_dir", *dir}});
    } else {
        context.out() << "created " << display_text(*dir) << "/" << certs::kCaKeyFileName << " and "
                      << display_text(*dir) << "/" << certs::kCaCertificateFileName << "\n"
                      << "ca_fingerprint " << ca->fingerprint() << "\n";
    }
    return kExitOk;
}

int run_ca_import(Context& context, const CommandArgs& args) {
    const auto dir = args.value("ca-dir");
    const auto cert = args.value("cert");
    const auto key = args.value("key");
    const auto chain = args.value("chain");
    if (!dir || dir->empty()) {
        return context.fail(kExitUsage,
                            "--ca-dir DIR is required (the folder for ca.key, ca.crt and ca-chain.crt)");
    }
    if (!cert || cert->empty() || !key || key->empty()) {
        return context.fail(kExitUsage,
                            "--cert FILE and --key FILE are required (the CA to import and its key)");
    }
    if (chain && chain->empty()) {
        return context.fail(kExitUsage,
                            "--chain needs a FILE (the CA's issuers, nearest first, the root last)");
    }
    // Refusals come before the store is touched, as for `ca init`; import_ca checks again.
    if (auto free = check_no_ca_files(
            *dir, {certs::kCaKeyFileName, certs::kCaCertificateFileName, certs::kCaChainFileName});
        !free) {
        return context.fail(kExitFailure, free.error());
    }
    auto store = context.open_store(StoreAccess::create_if_missing);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    // Agents pin the CA in the store: moving to another one is a rotation.
    if (auto existing = (*store)->ca_certificate()) {
        return context.fail(
            kExitFailure,
            store_phrase(context.db()) + " already holds a CA (" + existing->second +
                "); `ca import` is for a new cluster: an existing cluster keeps its CA and renews it "
                "with `agentlbctl ca rotate`");
    }
    certs::CaImportFiles files{*cert, *key, std::nullopt};
    if (chain) {
        files.chain = *chain;
    }
    if (auto imported = certs::import_ca(*dir, files, util::unix_now()); !imported) {
        return context.fail(kExitFailure, imported.error());
    }
    auto ca = certs::CertificateAuthority::load(*dir);
    if (!ca) {
        return context.fail(kExitFailure,
                            "the imported CA in " + quote(*dir) + " cannot be read back: " + ca.error());
    }
    (*store)->put_ca_with_chain(ca->certificate_pem(), ca->fingerprint(), ca->chain_pem());
    if (context.json()) {
        print_json(context.out(),
                   Json{{"ca_fingerprint", ca->trust_anchor_fingerprint()},
                        {"issuing_ca_fingerprint", ca->fingerprint()},
                        {"ca_dir", *dir}});
    } else {
        context.out() << "imported " << display_text(*dir) << "/" << certs::kCaKeyFileName << ", "
                      << display_text(*dir) << "/" << certs::kCaCertificateFileName;
        if (!ca->chain_pem().empty()) {
            context.out() << " and " << display_text(*dir) << "/" << certs::kCaChainFileName;
        }
        context.out() << "\n"
                      << "ca_fingerprint " << ca->trust_anchor_fingerprint() << "\n"
                      << "issuing_ca_fingerprint " << ca->fingerprint() << "\n";
    }
    return kExitOk;
}

OptionsPtr ca_init_options() {
    auto options = command_options();
    options->add_options()("ca-dir",
                           text_value("DIR"),
                           "folder for the CA files, made if missing; existing files are never overwritten");
    return options;
}

OptionsPtr ca_import_options() {
    auto options = command_options();
    // clang-format off
    options->add_options()
        ("ca-dir", text_value("DIR"), "folder for the CA files, made if missing; existing files are never "
                                      "overwritten")
        ("cert", text_value("FILE"), "the CA certificate to issue from (PEM): CA:TRUE with keyUsage keyCertSign")
        ("key", text_value("FILE"), "its private key (unencrypted PEM); copied to DIR/ca.key with mode 0600")
        ("chain", text_value("FILE"), "the CA's issuers (PEM): intermediates nearest first, then the "
                                      "organisation's self-signed root; not needed when --cert is a root");
    // clang-format on
    return options;
}

}  // namespace

std::vector<Command> ca_commands() {
    return {
        {{"ca", "init"},
         "--ca-dir DIR",
         "create the root CA (DIR/ca.key, DIR/ca.crt) and record its certificate in the store",
         "Prints the CA fingerprint that agents pin at enrollment. Refuses (exit 1) when DIR already\n"
         "holds ca.key or ca.crt, or when the store already holds a CA.",
         ca_init_options(),
         {},
         run_ca_init},
        {{"ca", "import"},
         "--ca-dir DIR --cert FILE --key FILE [--chain FILE]",
         "bring your own CA: issue from a CA of the organisation's PKI, trusted up to its root",
         "Checks that the certificate is a CA allowed to sign certificates, that the key is its key,\n"
         "and that the chain leads to a self-signed root (a certificate it issues must verify there);\n"
         "writes DIR/ca.key, DIR/ca.crt and DIR/ca-chain.crt and records the CA and chain in the store.\n"
         "Prints ca_fingerprint: the root's, which agents pin at enrollment. Refuses (exit 1) when DIR\n"
         "already holds CA files or the store already holds a CA (an existing cluster's CA is renewed\n"
         "with `ca rotate`; moving it to an imported CA is not supported).",
         ca_import_options(),
         {},
         run_ca_import},
        {{"ca", "show"},
         "",
         "print the CA certificate recorded in the store: fingerprint, subject, validity and PEM",
         "The fingerprint is the one agents pin at enrollment (`agentlb-agent --ca-fingerprint`): for an\n"
         "imported CA, its chain's root; issuing_ca_fingerprint then names the CA that signs.",
         nullptr,
         {},
         run_ca_show},
    };
}

}  // namespace agentlb::ctl
