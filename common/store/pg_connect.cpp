// Connection options and connecting, shared by the store and the change feed.

#include "common/store/pg_handle.hpp"
#include "common/store/store_location.hpp"

#include <algorithm>
#include <cctype>
#include <libpq-fe.h>

namespace agentlb::store {

namespace {

// Unless the operator's string sets them: a cut network fails a call within
// about ten seconds (keepalives after 5 s idle, 3 probes 2 s apart; unacked
// data after 10 s) instead of the kernel's minutes.
constexpr std::pair<const char*, const char*> kDefaults[] = {
    {"connect_timeout", "5"},
    {"keepalives", "1"},
    {"keepalives_idle", "5"},
    {"keepalives_interval", "2"},
    {"keepalives_count", "3"},
    {"tcp_user_timeout", "10000"},
    {"application_name", "agentlb"},
};

// libpq quotes the parts of the string it could not parse, which may be the
// password: a quoted echo longer than one character ("=" is kept) becomes "…".
std::string without_echoes(const std::string& message) {
    std::string kept;
    std::size_t at = 0;
    while (at < message.size()) {
        const std::size_t open = message.find('"', at);
        const std::size_t close = open == std::string::npos ? open : message.find('"', open + 1);
        if (close == std::string::npos) {
            kept += message.substr(at);
            break;
        }
        kept += message.substr(at, open - at);
        kept += close - open - 1 <= 1 ? message.substr(open, close - open + 1) : std::string("\"…\"");
        at = close + 1;
    }
    return kept;
}

}  // namespace

std::string pg_one_line(std::string_view message, const std::string& password) {
    std::string line;
    bool space = false;
    for (char c : message) {
        if (std::isspace(static_cast<unsigned char>(c)) != 0) {
            space = !line.empty();
            continue;
        }
        if (space) {
            line += ' ';
            space = false;
        }
        line += c;
    }
    if (!password.empty()) {
        for (std::size_t at = line.find(password); at != std::string::npos; at = line.find(password, at)) {
            line.replace(at, password.size(), "***");
            at += 3;
        }
    }
    return line;
}

PgOptions pg_options(const std::string& db) {
    char* error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(db.c_str(), &error);
    if (parsed == nullptr) {
        std::string reason = error != nullptr ? error : "out of memory";
        PQfreemem(error);
        reason = pg_one_line(without_echoes(reason), "");
        throw PgError(
            "PostgreSQL store " + shown_location(db) + ": not a valid connection string (" + reason + ")",
            "");
    }
    PgOptions options;
    for (const PQconninfoOption* option = parsed; option->keyword != nullptr; ++option) {
        if (option->val == nullptr) {
            continue;
        }
        options.keywords.emplace_back(option->keyword);
        options.values.emplace_back(option->val);
        if (std::string_view(option->keyword) == "password") {
            options.password = option->val;
        }
    }
    PQconninfoFree(parsed);
    for (const auto& [keyword, value] : kDefaults) {
        if (std::find(options.keywords.begin(), options.keywords.end(), keyword) == options.keywords.end()) {
            options.keywords.emplace_back(keyword);
            options.values.emplace_back(value);
        }
    }
    return options;
}

std::unique_ptr<pg_conn, void (*)(pg_conn*)> pg_connect(const PgOptions& options, std::string& reason) {
    std::vector<const char*> keywords;
    std::vector<const char*> values;
    for (std::size_t i = 0; i < options.keywords.size(); ++i) {
        keywords.push_back(options.keywords[i].c_str());
        values.push_back(options.values[i].c_str());
    }
    keywords.push_back(nullptr);
    values.push_back(nullptr);
    std::unique_ptr<pg_conn, void (*)(pg_conn*)> conn(PQconnectdbParams(keywords.data(), values.data(), 0),
                                                      &PQfinish);
    if (!conn) {
        reason = "out of memory";
        return conn;
    }
    if (PQstatus(conn.get()) != CONNECTION_OK) {
        reason = pg_one_line(PQerrorMessage(conn.get()), options.password);
        conn.reset();
        return conn;
    }
    // Notices (e.g. "relation already exists, skipping") are not for our logs.
    PQsetNoticeProcessor(
        conn.get(), [](void*, const char*) {}, nullptr);
    return conn;
}

}  // namespace agentlb::store
