// libFuzzer target: bytes as they arrive on the enrollment port after the TLS
// handshake, through the server's protocol machine (frame intake, message
// decoder, the store-free checks: common/protocol/enroll_server_machine.hpp)
// into the redeem step (mgmt/enroll_request.hpp) with a real SQLite store and
// a real CA. Each input gets a fresh in-memory store holding the same tokens
// and one host, so every run starts from the same state.
//
// Checked on every input: the answer is `enrolled` or `error`, frames and
// decodes back to itself; an `enrolled` carries a certificate for the stored
// name issued by the CA; a refusal leaves the store as it was.
//
// Seeds: tests/fuzz/corpus/enroll_request/ (their tokens are the ones below).

#include "certs/ca.hpp"
#include "certs/inspect.hpp"
#include "certs/pem.hpp"
#include "certs/token.hpp"
#include "common/protocol/enroll_server_machine.hpp"
#include "common/store/store.hpp"
#include "common/util/host_name.hpp"
#include "common/wire/error_code.hpp"
#include "common/wire/frame.hpp"
#include "common/wire/messages.hpp"
#include "mgmt/cluster_state.hpp"
#include "mgmt/enroll_request.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

using namespace agentlb;

namespace {

constexpr std::int64_t kNow = 1'800'000'000;

// Well-formed tokens (43 characters of base64url) the seeds use.
std::string fixed_token(const std::string& stem) {
    return stem + std::string(certs::kJoinTokenLength - stem.size(), '0');
}

[[noreturn]] void broken(const std::string& what) {
    std::fprintf(stderr, "fuzz_enroll_request: invariant broken: %s\n", what.c_str());
    std::abort();
}

// The CA, made once: key generation is the slow part.
const certs::CertificateAuthority& fuzz_ca() {
    static const certs::CertificateAuthority* ca = [] {
        std::string pattern = (std::filesystem::temp_directory_path() / "agentlb-fuzz-ca-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            broken("mkdtemp");
        }
        const std::filesystem::path dir = pattern;
        if (auto created = certs::create_ca(dir / "ca", "agentlb fuzz CA"); !created) {
            broken("create_ca: " + created.error());
        }
        auto loaded = certs::CertificateAuthority::load(dir / "ca");
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
        if (!loaded) {
            broken("load CA: " + loaded.error());
        }
        return new certs::CertificateAuthority(std::move(loaded).value());
    }();
    return *ca;
}

const mgmt::ClusterSnapshot& fuzz_snapshot() {
    static const mgmt::ClusterSnapshot snapshot = [] {
        auto made = mgmt::make_snapshot(
            1, lb::LbSettings{{"ms1:8250", "ms2:8250"}, "roundrobin", 60}, {{"default", {1}}}, {});
        if (!made) {
            broken("snapshot: " + made.error());
        }
        return std::move(made).value();
    }();
    return snapshot;
}

// plain: any name, any zone; zoned: zone z1; named: only kvm1 (re-enrolment);
// expired; used. Host kvm1 is registered.
std::unique_ptr<store::Store> fresh_store() {
    auto store = store::open_sqlite_store(":memory:", store::OpenMode::create);
    const auto token = [&](const std::string& stem,
                           std::optional<std::string> zone,
                           std::optional<std::string> name,
                           std::int64_t expires_at) {
        store->create_token(store::TokenSpec{
            certs::hash_token(fixed_token(stem)), std::move(zone), std::move(name), expires_at, kNow - 10});
    };
    token("plain", std::nullopt, std::nullopt, kNow + 3600);
    token("zoned", std::string("z1"), std::nullopt, kNow + 3600);
    token("named", std::nullopt, std::string("kvm1"), kNow + 3600);
    token("expired", std::nullopt, std::nullopt, kNow - 1);
    token("used", std::nullopt, std::nullopt, kNow + 3600);
    token("setup", std::nullopt, std::nullopt, kNow + 3600);
    auto dummy = [](const store::HostRecord& host) -> Result<store::IssuedCertificate> {
        return store::IssuedCertificate{"setup", "serial-" + host.name, kNow + 1000};
    };
    if (!store->redeem_token(store::RedeemRequest{certs::hash_token(fixed_token("setup")), "kvm1", {}, kNow},
                             dummy)) {
        broken("setup enrolment");
    }
    if (!store->redeem_token(store::RedeemRequest{certs::hash_token(fixed_token("used")), "old", {}, kNow},
                             dummy)) {
        broken("setup of the used token");
    }
    return store;
}

void check_reply(const mgmt::EnrollExchange& reply, store::Store& store, std::int64_t generation_before) {
    if (!reply.answer || !reply.close) {
        broken("a complete frame without an answer and a close");
    }
    const wire::Message& message = *reply.answer;
    const std::string result(protocol::enroll_result_label(*reply.close));
    if (!reply.close->flush_first) {
        broken("an answer that is not flushed");
    }
    auto frame = wire::encode_frame(wire::encode_message(message));
    if (!frame) {
        broken("the answer does not fit a frame: " + frame.error());
    }
    wire::FrameDecoder decoder;
    decoder.feed(frame->data(), frame->size());
    boost::system::error_code ec;
    auto payload = decoder.next(ec);
    wire::Message back;
    std::string detail;
    if (ec || !payload || wire::decode_message(*payload, back, detail) || !(back == message)) {
        broken("the answer does not decode back to itself");
    }
    if (const auto* error = std::get_if<wire::Error>(&message)) {
        if (!wire::error_code_from_text(error->code) || error->message.empty() || result == "ok") {
            broken("an error without a known code or a message, or counted as ok");
        }
        if (store.generation() != generation_before) {
            broken("a refusal changed the store");
        }
        return;
    }
    const auto* enrolled = std::get_if<wire::EnrollResponse>(&message);
    if (enrolled == nullptr || result != "ok") {
        broken("neither enrolled nor error");
    }
    if (!util::check_host_name(enrolled->name)) {
        broken("enrolled a name that is not a host name");
    }
    auto certificate = certs::parse_certificate_pem(enrolled->certificate);
    if (!certificate || certs::common_name_of(certificate->get()) != enrolled->name) {
        broken("the certificate does not name the enrolled host");
    }
    auto host = store.find_host(enrolled->name);
    if (!host || host->id != enrolled->host_id || host->name != enrolled->name) {
        broken("the enrolled host is not in the store as answered");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto& ca = fuzz_ca();
    const auto& snapshot = fuzz_snapshot();

    wire::FrameDecoder decoder;
    decoder.feed(data, size);
    boost::system::error_code ec;
    auto payload = decoder.next(ec);
    if (!ec && !payload) {
        return 0;  // the server would wait for more bytes, then time out
    }
    auto store = fresh_store();
    const auto generation = store->generation();
    // A fixed exporter value: renew_expired requests reach the signature check.
    static const std::string exporter(wire::kRenewExpiredExporterLength, 'F');
    const auto reply = mgmt::answer_enroll_bytes(
        std::string_view(reinterpret_cast<const char*>(data), size), *store, ca, snapshot, kNow, exporter);
    check_reply(reply, *store, generation);
    // AGENTLB_FUZZ_VERBOSE=1: one line per input, to see what the seeds reach.
    static const bool verbose = std::getenv("AGENTLB_FUZZ_VERBOSE") != nullptr;
    if (verbose) {
        const auto* error = std::get_if<wire::Error>(&*reply.answer);
        std::fprintf(stderr,
                     "%s %s\n",
                     std::string(protocol::enroll_result_label(*reply.close)).c_str(),
                     error != nullptr ? (error->code + ": " + error->message).c_str() : "");
    }
    return 0;
}
