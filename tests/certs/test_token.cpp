#include "certs/token.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace agentlb::certs;

TEST_CASE("join tokens are 43 base64url characters without padding") {
    for (int i = 0; i < 50; ++i) {
        const std::string token = generate_join_token();
        CHECK(token.size() == kJoinTokenLength);
        CHECK(token.size() * 6 >= 256);
        CHECK(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
              std::string::npos);
        CHECK(is_well_formed_join_token(token));
    }
}

TEST_CASE("join tokens do not repeat") {
    std::set<std::string> tokens;
    for (int i = 0; i < 1000; ++i) {
        tokens.insert(generate_join_token());
    }
    CHECK(tokens.size() == 1000);
}

TEST_CASE("is_well_formed_join_token refuses wrong lengths and characters") {
    const std::string token = generate_join_token();
    CHECK_FALSE(is_well_formed_join_token(""));
    CHECK_FALSE(is_well_formed_join_token(token.substr(1)));
    CHECK_FALSE(is_well_formed_join_token(token + "A"));
    CHECK_FALSE(is_well_formed_join_token(token.substr(1) + "="));
    CHECK_FALSE(is_well_formed_join_token(token.substr(1) + "+"));
}

TEST_CASE("hash_token is deterministic lowercase hex SHA-256") {
    CHECK(hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hash_token("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const std::string token = generate_join_token();
    const std::string hash = hash_token(token);
    CHECK(hash.size() == 64);
    CHECK(hash.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(hash_token(token) == hash);
    CHECK(hash_token(generate_join_token()) != hash);
}
