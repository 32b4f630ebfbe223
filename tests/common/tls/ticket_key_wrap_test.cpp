// Unit tests of how ticket keys are kept in the store: wrapped under a key
// derived from the CA's private key, readable only with that CA key, bound
// to their name, and holding no plain key material.

#include "common/tls/ticket_key_wrap.hpp"

#include "certs/ca.hpp"
#include "tls_test_support.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace agentlb;
using namespace agentlb::tls;
using namespace agentlb::tls::test;

namespace {

certs::CertificateAuthority load_ca(const std::filesystem::path& dir) {
    auto ca = certs::CertificateAuthority::load(dir);
    REQUIRE(ca.ok());
    return std::move(ca).value();
}

certs::CertificateAuthority new_ca(const std::filesystem::path& dir, const std::string& name) {
    REQUIRE(certs::create_ca(dir / name, name + " CA").ok());
    return load_ca(dir / name);
}

std::array<unsigned char, 32> secret_of(const certs::CertificateAuthority& ca) {
    auto secret = ca.derive_secret(kTicketKeyWrapInfo);
    REQUIRE(secret.ok());
    return secret.value();
}

TicketKey wrapped_test_key() {
    auto key = random_ticket_key();
    REQUIRE(key.ok());
    return key.value();
}

std::string text(const unsigned char* data, std::size_t size) {
    return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace

TEST_CASE("every holder of the CA key derives the same wrapping key and another CA key or label another one") {
    TempDir dir;
    const auto ca = new_ca(dir.path(), "main");
    const auto same_files = load_ca(dir.path() / "main");  // another server with the same --ca-dir
    const auto other = new_ca(dir.path(), "other");
    CHECK(secret_of(ca) == secret_of(same_files));
    CHECK(secret_of(ca) != secret_of(other));
    auto other_label = ca.derive_secret("agentlb something else");
    REQUIRE(other_label.ok());
    CHECK(*other_label != secret_of(ca));
}

TEST_CASE("a wrapped ticket key unwraps with the same CA key and name, and with nothing else") {
    TempDir dir;
    const auto ca = new_ca(dir.path(), "main");
    const auto same_files = load_ca(dir.path() / "main");
    const TicketKeyWrapper wrapper(secret_of(ca));
    const TicketKeyWrapper other_server(secret_of(same_files));
    const TicketKeyWrapper other_ca(secret_of(new_ca(dir.path(), "other")));
    const TicketKey key = wrapped_test_key();
    const std::string name = text(key.name.data(), key.name.size());

    auto wrapped = wrapper.wrap(key);
    REQUIRE(wrapped.ok());
    auto unwrapped = other_server.unwrap(name, *wrapped);
    REQUIRE(unwrapped);
    CHECK(unwrapped->name == key.name);
    CHECK(unwrapped->aes_key == key.aes_key);
    CHECK(unwrapped->hmac_key == key.hmac_key);

    CHECK_FALSE(other_ca.unwrap(name, *wrapped));
    std::string renamed = name;
    renamed[0] = static_cast<char>(renamed[0] ^ 1);
    CHECK_FALSE(wrapper.unwrap(renamed, *wrapped));  // moved under another name
    for (std::size_t at : {std::size_t{0}, std::size_t{5}, wrapped->size() / 2, wrapped->size() - 1}) {
        std::string damaged = *wrapped;
        damaged[at] = static_cast<char>(damaged[at] ^ 0x40);
        CHECK_FALSE(wrapper.unwrap(name, damaged));
    }
    CHECK_FALSE(wrapper.unwrap(name, wrapped->substr(0, wrapped->size() - 1)));
    CHECK_FALSE(wrapper.unwrap(name, ""));
}

TEST_CASE("the wrapped form holds neither key in the clear, and two wraps of one key differ") {
    TempDir dir;
    const TicketKeyWrapper wrapper(secret_of(new_ca(dir.path(), "main")));
    const TicketKey key = wrapped_test_key();
    auto first = wrapper.wrap(key);
    auto second = wrapper.wrap(key);
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    CHECK(*first != *second);  // a fresh nonce each time
    for (const std::string& wrapped : {*first, *second}) {
        CHECK(wrapped.find(text(key.aes_key.data(), 8)) == std::string::npos);
        CHECK(wrapped.find(text(key.hmac_key.data(), 8)) == std::string::npos);
    }
}
