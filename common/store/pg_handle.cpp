#include "common/store/pg_handle.hpp"

#include "common/store/store_location.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <libpq-fe.h>
#include <random>
#include <thread>

namespace agentlb::store {

namespace {

using namespace std::chrono_literals;

std::string seconds_text(std::chrono::steady_clock::duration left) {
    const double seconds = std::chrono::duration<double>(left).count();
    char text[32];
    std::snprintf(text, sizeof text, seconds < 1.0 ? "%.1f s" : "%.0f s", seconds);
    return text;
}

}  // namespace

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
    : options_(pg_options(db)), shown_(shown_location(db)), backoff_(kPgFirstBackoff) {
    std::string reason;
    auto conn = pg_connect(options_, reason);
    if (!conn) {
        throw PgError("PostgreSQL store " + shown_ + ": cannot connect (" + reason + ")", "");
    }
    conn_ = conn.release();
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
        backoff_ = std::min(backoff_ * 2, kPgMaxBackoff);
        throw PgError("PostgreSQL store " + shown_ + ": unreachable (" + reason + "); next attempt in " +
                          seconds_text(waited),
                      "");
    }
    conn_ = conn.release();
    backoff_ = kPgFirstBackoff;
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

void PgConnection::pause_before_rerun(int attempt) {
    thread_local std::minstd_rand random(std::random_device{}());
    std::uniform_int_distribution<int> milliseconds(1, 10 * attempt);
    std::this_thread::sleep_for(std::chrono::milliseconds(milliseconds(random)));
}

// ---- PgTransaction ----

bool PgConnection::in_transaction() const {
    return conn_ != nullptr && PQtransactionStatus(conn_) != PQTRANS_IDLE;
}

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
