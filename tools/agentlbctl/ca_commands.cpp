#include "tools/agentlbctl/ca_commands.hpp"

#include "certs/ca.hpp"
#include "tools/agentlbctl/ca_show.hpp"
#include "tools/agentlbctl/output.hpp"

#include <filesystem>
#include <system_error>

namespace agentlb::ctl {
namespace {

int run_ca_init(Context& context, const CommandArgs& args) {
    const auto dir = args.value("ca-dir");
    if (!dir || dir->empty()) {
        return context.fail(kExitUsage, "--ca-dir DIR is required (the folder for ca.key and ca.crt)");
    }
    // Refusals come before anything is created: neither a store file nor CA
    // files are left behind by a refused `ca init`. create_ca checks again.
    for (std::string_view file : {certs::kCaKeyFileName, certs::kCaCertificateFileName}) {
        const std::filesystem::path path = std::filesystem::path(*dir) / file;
        std::error_code ec;
        const auto type = std::filesystem::symlink_status(path, ec).type();
        if (!ec && type != std::filesystem::file_type::not_found) {
            return context.fail(kExitFailure,
                                path.string() + " already exists; refusing to overwrite an existing CA");
        }
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

OptionsPtr ca_init_options() {
    auto options = command_options();
    options->add_options()("ca-dir",
                           text_value("DIR"),
                           "folder for the CA files, made if missing; existing files are never overwritten");
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
        {{"ca", "show"},
         "",
         "print the CA certificate recorded in the store: fingerprint, subject, validity and PEM",
         "The fingerprint is the one agents pin at enrollment (`agentlb-agent --ca-fingerprint`).",
         nullptr,
         {},
         run_ca_show},
    };
}

}  // namespace agentlb::ctl
