#include "common/store/pg_handle.hpp"

#include "common/store/store_location.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <libpq-fe.h>

namespace agentlb::store {

namespace {

using namespace std::chrono_literals;

constexpr auto kFirstBackoff = std::chrono::milliseconds(500);
constexpr auto kMaxBackoff = std::chrono::milliseconds(10000);

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

std::string seconds_text(std::chrono::steady_clock::duration left) {
    const double seconds = std::chrono::duration<double>(left).count();
    char text[32];
    std::snprintf(text, sizeof text, seconds < 1.0 ? "%.1f s" : "%.0f s", seconds);
    return text;
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
        // libpq quotes the offending part of the string, which may be a
        // password: keep only its words before the first quote.
        std::string reason = error != nullptr ? error : "out of memory";
        PQfreemem(error);
        reason = pg_one_line(reason.substr(0, reason.find('"')), "");
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

// ---- PgResult ----

PgResult::PgResult(pg_result* result) : result_(result) {}

PgResult::~PgResult() {
    if (result_ != nullptr) {
        PQclear(result_);
    }
}

PgResult::PgResult(PgResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}

int PgResult::rows() const {
    return PQntuples(result_);
}

std::int64_t PgResult::affected() const {
    const char* count = PQcmdTuples(result_);
    std::int64_t value = 0;
    std::from_chars(count, count + std::char_traits<char>::length(count), value);
    return value;
}

bool PgResult::is_null(int row, int column) const {
    return PQgetisnull(result_, row, column) != 0;
}

std::string PgResult::text(int row, int column) const {
    return std::string(PQgetvalue(result_, row, column),
                       static_cast<std::size_t>(PQgetlength(result_, row, column)));
}

std::int64_t PgResult::int64(int row, int column) const {
    const char* value = PQgetvalue(result_, row, column);
    std::int64_t number = 0;
    std::from_chars(value, value + PQgetlength(result_, row, column), number);
    return number;
}

bool PgResult::boolean(int row, int column) const {
    return PQgetvalue(result_, row, column)[0] == 't';
}

std::optional<std::string> PgResult::optional_text(int row, int column) const {
    if (is_null(row, column)) {
        return std::nullopt;
    }
    return text(row, column);
}

std::optional<std::int64_t> PgResult::optional_int64(int row, int column) const {
    if (is_null(row, column)) {
        return std::nullopt;
    }
    return int64(row, column);
}

// ---- PgConnection ----

PgConnection::PgConnection(const std::string& db)
    : options_(pg_options(db)), shown_(shown_location(db)), backoff_(kFirstBackoff) {
    ensure_connected();
}

PgConnection::~PgConnection() {
    if (conn_ != nullptr) {
        PQfinish(conn_);
    }
}

void PgConnection::fail(std::string_view what, const std::string& reason) const {
    throw PgError("PostgreSQL store " + shown_ + ": " + std::string(what) + ": " + reason, "");
}

void PgConnection::ensure_connected() {
    if (conn_ != nullptr) {
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < next_attempt_) {
        // Fail at once: the caller's thread must not stall on every call
        // while the database is away.
        throw PgError("PostgreSQL store " + shown_ + ": unreachable (" + last_reason_ +
                          "); next attempt in " + seconds_text(next_attempt_ - now),
                      "");
    }
    std::string reason;
    auto conn = pg_connect(options_, reason);
    if (!conn) {
        last_reason_ = reason;
        next_attempt_ = std::chrono::steady_clock::now() + backoff_;
        const auto waited = backoff_;
        backoff_ = std::min(backoff_ * 2, kMaxBackoff);
        throw PgError("PostgreSQL store " + shown_ + ": unreachable (" + reason + "); next attempt in " +
                          seconds_text(waited),
                      "");
    }
    conn_ = conn.release();
    backoff_ = kFirstBackoff;
}

PgResult PgConnection::exec(std::string_view sql,
                            std::initializer_list<PgParam> params,
                            std::string_view what) {
    ensure_connected();
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& param : params) {
        values.push_back(param.value ? param.value->c_str() : nullptr);
    }
    const std::string statement(sql);
    // Without parameters PQexec, which also runs a script of several statements (migrations).
    PgResult result(values.empty() ? PQexec(conn_, statement.c_str())
                                   : PQexecParams(conn_,
                                                  statement.c_str(),
                                                  static_cast<int>(values.size()),
                                                  nullptr,
                                                  values.data(),
                                                  nullptr,
                                                  nullptr,
                                                  0));
    const pg_result* raw = result.raw();
    const ExecStatusType status = raw != nullptr ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        return result;
    }
    if (PQstatus(conn_) == CONNECTION_BAD) {
        last_reason_ = pg_one_line(PQerrorMessage(conn_), options_.password);
        PQfinish(conn_);
        conn_ = nullptr;
        // The first reconnect may come at once (a restarted server is back);
        // failed attempts then back off.
        next_attempt_ = {};
        fail(what, "connection lost (" + last_reason_ + ")");
    }
    std::string message;
    std::string sqlstate;
    if (raw != nullptr) {
        const char* primary = PQresultErrorField(raw, PG_DIAG_MESSAGE_PRIMARY);
        const char* detail = PQresultErrorField(raw, PG_DIAG_MESSAGE_DETAIL);
        const char* state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
        message = primary != nullptr ? primary : PQerrorMessage(conn_);
        if (detail != nullptr) {
            message += std::string(" (") + detail + ")";
        }
        sqlstate = state != nullptr ? state : "";
    } else {
        message = PQerrorMessage(conn_);
    }
    throw PgError("PostgreSQL store " + shown_ + ": " + std::string(what) + ": " +
                      pg_one_line(message, options_.password),
                  sqlstate);
}

// ---- PgTransaction ----

PgTransaction::PgTransaction(PgConnection& connection, std::string_view what, const char* begin)
    : connection_(connection), what_(what) {
    connection_.exec(begin, what_);
}

PgTransaction::~PgTransaction() {
    if (!open_) {
        return;
    }
    if (!connection_.connected()) {
        return;  // a lost connection has rolled back already
    }
    try {
        connection_.exec("ROLLBACK", what_);
    } catch (const StoreError&) {
        // A lost connection has rolled back already.
    }
}

void PgTransaction::lock(std::int64_t key) {
    connection_.exec("SELECT pg_advisory_xact_lock($1)", {key}, what_);
}

void PgTransaction::commit() {
    open_ = false;
    connection_.exec("COMMIT", what_);
}

}  // namespace agentlb::store
