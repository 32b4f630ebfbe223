#include "common/store/store_location.hpp"

#include <cctype>

namespace agentlb::store {

namespace {

constexpr std::string_view kHidden = "***";

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) {
            return false;
        }
    }
    return true;
}

bool is_uri(std::string_view db) {
    return starts_with_nocase(db, "postgresql://") || starts_with_nocase(db, "postgres://");
}

bool is_space(char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}

bool is_keyword_char(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// "word =" at the start, as libpq's conninfo grammar begins.
bool is_key_value(std::string_view db) {
    std::size_t i = 0;
    while (i < db.size() && is_space(db[i])) {
        ++i;
    }
    const std::size_t word = i;
    while (i < db.size() && is_keyword_char(db[i])) {
        ++i;
    }
    if (i == word) {
        return false;
    }
    while (i < db.size() && is_space(db[i])) {
        ++i;
    }
    return i < db.size() && db[i] == '=';
}

// The URI's userinfo password (user:password@) and any password= parameter.
std::string shown_uri(std::string_view db) {
    const std::size_t scheme_end = db.find("://") + 3;
    std::size_t authority_end = db.find_first_of("/?#", scheme_end);
    if (authority_end == std::string_view::npos) {
        authority_end = db.size();
    }
    std::string shown(db.substr(0, scheme_end));
    const std::string_view authority = db.substr(scheme_end, authority_end - scheme_end);
    const std::size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
        const std::string_view userinfo = authority.substr(0, at);
        const std::size_t colon = userinfo.find(':');
        if (colon != std::string_view::npos) {
            shown += userinfo.substr(0, colon + 1);
            shown += kHidden;
            shown += authority.substr(at);
        } else {
            shown += authority;
        }
    } else {
        shown += authority;
    }
    std::string_view rest = db.substr(authority_end);
    const std::size_t query = rest.find('?');
    if (query == std::string_view::npos) {
        shown += rest;
        return shown;
    }
    shown += rest.substr(0, query + 1);
    rest.remove_prefix(query + 1);
    bool first = true;
    while (!rest.empty()) {
        const std::size_t amp = rest.find('&');
        const std::string_view parameter = rest.substr(0, amp);
        shown += first ? "" : "&";
        first = false;
        if (starts_with_nocase(parameter, "password=")) {
            shown += parameter.substr(0, 9);
            shown += kHidden;
        } else {
            shown += parameter;
        }
        if (amp == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(amp + 1);
    }
    return shown;
}

// libpq's grammar: keyword = value, the value bare (up to a space) or in
// single quotes with \' and \\ escapes.
std::string shown_key_value(std::string_view db) {
    std::string shown;
    bool after_password = false;
    std::size_t i = 0;
    while (i < db.size()) {
        const std::size_t start = i;
        while (i < db.size() && is_space(db[i])) {
            ++i;
        }
        const std::size_t key_begin = i;
        while (i < db.size() && is_keyword_char(db[i])) {
            ++i;
        }
        const std::string_view key = db.substr(key_begin, i - key_begin);
        while (i < db.size() && is_space(db[i])) {
            ++i;
        }
        if (key.empty() || i >= db.size() || db[i] != '=') {
            // Not the grammar: show nothing from here on that could be a password.
            // "password=sec ret" leaves "ret" here: a password's rest, maybe.
            const std::string_view tail = db.substr(start);
            if (after_password || tail.find("password") != std::string_view::npos) {
                shown += " ";
                shown += kHidden;
                return shown;
            }
            shown += tail;
            return shown;
        }
        ++i;
        while (i < db.size() && is_space(db[i])) {
            ++i;
        }
        const std::size_t value_begin = i;
        if (i < db.size() && db[i] == '\'') {
            ++i;
            while (i < db.size() && db[i] != '\'') {
                i += (db[i] == '\\' && i + 1 < db.size()) ? 2 : 1;
            }
            if (i >= db.size()) {
                shown += db.substr(start, value_begin - start);
                shown += key == "password" ? kHidden : std::string_view("'...");
                return shown;
            }
            ++i;
        } else {
            while (i < db.size() && !is_space(db[i])) {
                ++i;
            }
        }
        shown += db.substr(start, value_begin - start);
        shown += key == "password" ? kHidden : db.substr(value_begin, i - value_begin);
        after_password = key == "password";
    }
    return shown;
}

}  // namespace

Backend backend_of(std::string_view db) {
    return is_uri(db) || is_key_value(db) ? Backend::postgresql : Backend::sqlite;
}

std::string shown_location(std::string_view db) {
    if (is_uri(db)) {
        return shown_uri(db);
    }
    if (is_key_value(db)) {
        return shown_key_value(db);
    }
    return std::string(db);
}

}  // namespace agentlb::store
