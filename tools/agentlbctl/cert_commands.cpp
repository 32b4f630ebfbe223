#include "tools/agentlbctl/cert_commands.hpp"

#include "certs/token.hpp"
#include "common/util/clock.hpp"
#include "common/util/rfc3339.hpp"
#include "tools/agentlbctl/output.hpp"
#include "tools/agentlbctl/time_format.hpp"
#include "tools/agentlbctl/token_commands.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

namespace agentlb::ctl {
namespace {

constexpr std::int64_t kSecondsPerDay = 86400;
constexpr std::int64_t kMaxExpiringDays = 36500;

// "sha256:" and the first 16 hex digits: enough to tell CAs apart in a table.
std::string short_fingerprint(const std::string& fingerprint) {
    constexpr std::size_t kShown = 7 + 16;
    if (fingerprint.empty()) {
        return "-";
    }
    return fingerprint.size() > kShown ? fingerprint.substr(0, kShown) + "..." : fingerprint;
}

std::string state_of(const store::CertificateRecord& record, std::int64_t now) {
    if (record.revoked) {
        return "revoked";
    }
    if (record.not_after < now) {
        return "expired";
    }
    return record.superseded ? "superseded" : "valid";
}

Json certificate_json(const store::CertificateRecord& record, std::int64_t now) {
    const bool server = record.kind == store::kCertificateServer;
    return Json{
        {"serial", record.serial},
        {"kind", record.kind},
        {"subject", record.subject},
        {"host_id", server ? Json(nullptr) : Json(record.host_id)},
        {"host_name", record.host_name},
        {"issuer", record.issuer.empty() ? Json(nullptr) : Json(record.issuer)},
        {"issued_at", record.issued_at != 0 ? Json(util::format_rfc3339(record.issued_at)) : Json(nullptr)},
        {"not_after", util::format_rfc3339(record.not_after)},
        {"revoked", record.revoked},
        {"revoked_at", record.revoked_at ? Json(util::format_rfc3339(*record.revoked_at)) : Json(nullptr)},
        {"superseded", record.superseded},
        {"state", state_of(record, now)}};
}

// What an operator may paste: "3a0f", "3A:0F" (openssl x509 -text), "0x3a0f";
// the store keeps lowercase hex without leading zeros (certs::serial_of).
Result<std::string> normalize_serial(std::string_view text) {
    std::string digits;
    std::string_view rest = text;
    if (rest.size() > 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X')) {
        rest.remove_prefix(2);
    }
    for (char c : rest) {
        if (c == ':') {
            continue;
        }
        if (!std::isxdigit(static_cast<unsigned char>(c))) {
            return fail(
                "SERIAL: " + quote(text) +
                " is not a certificate serial (hexadecimal digits, as `agentlbctl cert list` shows them)");
        }
        digits += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    const auto first = digits.find_first_not_of('0');
    if (digits.empty()) {
        return fail("SERIAL: the value is empty");
    }
    return first == std::string::npos ? std::string("0") : digits.substr(first);
}

Result<std::int64_t> parse_days(const std::string& text) {
    if (text == "0") {
        return std::int64_t{0};
    }
    return parse_positive_integer("--expiring", text, kMaxExpiringDays);
}

int run_cert_list(Context& context, const CommandArgs& args) {
    store::CertificateFilter filter;
    const std::int64_t now = util::unix_now();
    std::optional<std::int64_t> days;
    if (auto text = args.value("expiring")) {
        auto parsed = parse_days(*text);
        if (!parsed) {
            return context.fail(kExitUsage, parsed.error());
        }
        days = *parsed;
        // Coming expiries of what is in use: revoked and replaced ones expire harmlessly.
        filter.expiring_before = now + *parsed * kSecondsPerDay;
        filter.include_revoked = false;
        filter.include_superseded = false;
    }
    const auto host = args.value("host");
    if (host && host->empty()) {
        return context.fail(kExitUsage, "--host: the value is empty");
    }
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    if (host) {
        // A registered host by its stored spelling (names ignore case); else a
        // server's or a removed host's name as given.
        const auto found = (*store)->find_host(*host);
        filter.host = found ? found->name : *host;
        if (!found && (*store)->list_certificates(store::CertificateFilter{filter.host}).empty()) {
            return context.fail(kExitUsage,
                                "no host named " + quote(*host) +
                                    " is registered, and no certificate names it (`agentlbctl host list`, "
                                    "`agentlbctl mgmt list`)");
        }
    }
    const auto records = (*store)->list_certificates(filter);
    if (context.json()) {
        Json list = Json::array();
        for (const auto& record : records) {
            list.push_back(certificate_json(record, now));
        }
        print_json(context.out(), list);
        return kExitOk;
    }
    if (records.empty()) {
        context.out() << (days ? "no certificate in use expires within " + std::to_string(*days) + " days\n"
                               : std::string("no certificate is recorded\n"));
        return kExitOk;
    }
    Table table({"SERIAL", "KIND", "SUBJECT", "HOST ID", "ISSUER", "NOT AFTER", "STATE"});
    for (const auto& record : records) {
        const bool server = record.kind == store::kCertificateServer;
        table.add_row({record.serial,
                       record.kind,
                       record.subject.empty() ? "-" : record.subject,
                       server ? "-" : std::to_string(record.host_id),
                       short_fingerprint(record.issuer),
                       util::format_rfc3339(record.not_after),
                       state_of(record, now)});
    }
    context.out() << table.render();
    return kExitOk;
}

std::string owner_text(const store::CertificateRecord& record) {
    if (record.kind == store::kCertificateServer) {
        return "server " + display_text(record.host_name);
    }
    if (record.host_name.empty()) {
        return "a removed host (id " + std::to_string(record.host_id) + ")";
    }
    return "host " + display_text(record.host_name) + " (id " + std::to_string(record.host_id) + ")";
}

int run_cert_revoke(Context& context, const CommandArgs& args) {
    auto serial = normalize_serial(args.positionals.at(0));
    if (!serial) {
        return context.fail(kExitUsage, serial.error());
    }
    auto store = context.open_store(StoreAccess::existing_only);
    if (!store) {
        return context.fail(kExitFailure, store.error());
    }
    const bool already = (*store)->is_revoked(*serial);
    auto revoked = (*store)->revoke_certificate(*serial, util::unix_now());
    if (!revoked) {
        return context.fail(kExitUsage, revoked.error());
    }
    const bool server = revoked->kind == store::kCertificateServer;
    if (context.json()) {
        Json result = certificate_json(*revoked, util::unix_now());
        result["already_revoked"] = already;
        print_json(context.out(), result);
        return kExitOk;
    }
    if (already) {
        context.out() << "certificate " << revoked->serial << " of " << owner_text(*revoked)
                      << " was already revoked"
                      << (revoked->revoked_at ? " on " + util::format_rfc3339(*revoked->revoked_at) : "")
                      << "; nothing changed\n";
        return kExitOk;
    }
    context.out() << "revoked certificate " << revoked->serial << " of " << owner_text(*revoked) << "\n";
    if (server) {
        context.out() << "server " << display_text(revoked->host_name)
                      << " replaces it with a new certificate; `agentlbctl cert list --host "
                      << display_text(revoked->host_name) << "` shows it\n";
    } else if (!revoked->host_name.empty()) {
        context.out() << "every server refuses it from now on; the session using it closes within seconds\n"
                      << "the host keeps its id: give it a new certificate with `agentlbctl cert reissue "
                      << display_text(revoked->host_name) << "`\n";
    }
    return kExitOk;
}

OptionsPtr cert_list_options() {
    auto options = command_options();
    // clang-format off
    options->add_options()
        ("host", text_value("NAME"), "only the certificates of this host (case ignored) or server")
        ("expiring", text_value("DAYS"), "only certificates in use (not revoked, not replaced by a newer one) that "
                                         "expire within DAYS days, expired ones included; 0..36500");
    // clang-format on
    return options;
}

int run_cert_reissue(Context& context, const CommandArgs& args) {
    const std::string& name = args.positionals.at(0);
    const auto ttl_or_refusal = token_ttl(args);
    if (!ttl_or_refusal) {
        return context.fail(kExitUsage, ttl_or_refusal.error());
    }
    const std::int64_t ttl = *ttl_or_refusal;
    auto opened = open_store_with_ca(context, "run `agentlbctl ca init --ca-dir DIR` first");
    if (!opened) {
        return context.fail(kExitFailure, opened.error());
    }
    const auto host = opened->store->find_host(name);
    if (!host) {
        return context.fail(
            kExitUsage,
            "no host named " + quote(name) +
                " is registered; a new host enrols with a token from `agentlbctl token create`");
    }
    const std::string token = certs::generate_join_token();
    const std::int64_t now = util::unix_now();
    store::TokenSpec spec{certs::hash_token(token), std::nullopt, host->name, now + ttl, now};
    spec.host_id = host->id;
    opened->store->create_token(spec);

    const std::string& fingerprint = opened->ca_fingerprint;
    if (context.json()) {
        print_json(context.out(),
                   Json{{"token", token},
                        {"ca_fingerprint", fingerprint},
                        {"expires_at", util::format_rfc3339(now + ttl)},
                        {"name", host->name},
                        {"host_id", host->id}});
        return kExitOk;
    }
    context.out() << "token " << token << "\n"
                  << "ca_fingerprint " << fingerprint << "\n"
                  << "expires_at " << util::format_rfc3339(now + ttl) << "\n"
                  << "name " << display_text(host->name) << "\n"
                  << "host_id " << host->id << "\n";
    return kExitOk;
}

OptionsPtr cert_reissue_options() {
    auto options = command_options();
    options->add_options()("ttl", text_value("SECONDS"), "lifetime, 1..31536000 (default 3600)");
    return options;
}

}  // namespace

std::vector<Command> cert_commands() {
    return {
        {{"cert", "list"},
         "[--host NAME] [--expiring DAYS]",
         "list the certificates the store recorded, agents' and servers', in issue order",
         "STATE: valid, superseded (the host or server holds a newer one), expired or revoked.\n"
         "ISSUER: the fingerprint of the CA that signed it (shortened; --json shows it whole).",
         cert_list_options(),
         {},
         run_cert_list},
        {{"cert", "revoke"},
         "SERIAL",
         "revoke one certificate: every server refuses it and closes the session using it",
         "SERIAL as `cert list` shows it (also accepted: upper case, ':' between bytes, 0x).\n"
         "The host keeps its id and its place; `cert reissue HOST` gives it a new certificate.\n"
         "A revoked server certificate is replaced by its server. Already revoked: nothing changes.",
         nullptr,
         {"SERIAL"},
         run_cert_revoke},
        {{"cert", "reissue"},
         "HOST [--ttl SECONDS]",
         "create a one-time token that re-enrols this host only, keeping its id",
         "Prints the token and the CA fingerprint, like `token create --name HOST`, but the token\n"
         "is also bound to the host's id: a host removed and enrolled again under the same name is\n"
         "refused. The host's certificates stay valid until the token is redeemed (they are then\n"
         "revoked); to cut the host off at once, `cert revoke SERIAL` as well.",
         cert_reissue_options(),
         {"HOST"},
         run_cert_reissue},
    };
}

}  // namespace agentlb::ctl
