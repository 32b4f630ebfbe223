#pragma once

// RAII wrappers for libpq, internal to the store: a result, a connection that
// reconnects with a backoff, and a transaction.
//
// Every failure throws StoreError naming the store only as shown_location()
// shows it, what was being done and PostgreSQL's own text; a password never
// appears (libpq's text is scrubbed of it too).

#include "common/store/store.hpp"

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace agentlb::store {

// Reconnecting to PostgreSQL (a query's connection and the change feed's)
// waits this long after the first failure, doubling up to the most.
inline constexpr std::chrono::milliseconds kPgFirstBackoff{500};
inline constexpr std::chrono::milliseconds kPgMaxBackoff{10000};

// A StoreError that carries PostgreSQL's SQLSTATE ("" when the connection failed).
class PgError : public StoreError {
public:
    PgError(const std::string& message, std::string sqlstate)
        : StoreError(message), sqlstate_(std::move(sqlstate)) {}
    const std::string& sqlstate() const { return sqlstate_; }
    // Serialization failure or deadlock: the transaction may simply run again.
    bool retryable() const { return sqlstate_ == "40001" || sqlstate_ == "40P01"; }

private:
    std::string sqlstate_;
};

// One query parameter in text form; nullopt is SQL NULL.
struct PgParam {
    std::optional<std::string> value;
    PgParam(std::int64_t number) : value(std::to_string(number)) {}
    PgParam(int number) : value(std::to_string(number)) {}
    PgParam(std::string_view text) : value(std::string(text)) {}
    PgParam(const std::string& text) : value(text) {}
    PgParam(const char* text) : value(std::string(text)) {}
    PgParam(const std::optional<std::string>& text) : value(text) {}
    PgParam(const std::optional<std::int64_t>& number) {
        if (number) {
            value = std::to_string(*number);
        }
    }
};

class PgResult {
public:
    explicit PgResult(pg_result* result);
    ~PgResult();
    PgResult(PgResult&& other) noexcept;
    PgResult& operator=(PgResult&&) = delete;
    PgResult(const PgResult&) = delete;

    int rows() const;
    // Rows an INSERT/UPDATE/DELETE touched.
    std::int64_t affected() const;
    bool is_null(int row, int column) const;
    std::string text(int row, int column) const;
    std::int64_t int64(int row, int column) const;
    bool boolean(int row, int column) const;  // 't' / 'f'
    std::optional<std::string> optional_text(int row, int column) const;
    std::optional<std::int64_t> optional_int64(int row, int column) const;
    const pg_result* raw() const { return result_; }

private:
    pg_result* result_;
};

// The libpq connection options for `db` with agentlb's defaults added where the
// operator set none (connect timeout, TCP keepalives, user timeout,
// application_name). Throws StoreError if `db` does not parse.
struct PgOptions {
    std::vector<std::string> keywords;
    std::vector<std::string> values;
    std::string password;  // to scrub from libpq's messages
};
PgOptions pg_options(const std::string& db);

// Connects once (blocking, up to connect_timeout). Returns the connection or,
// through `reason`, libpq's complaint on one line without the password.
std::unique_ptr<pg_conn, void (*)(pg_conn*)> pg_connect(const PgOptions& options, std::string& reason);

// libpq's message on one line (its text spans several), without the password.
std::string pg_one_line(std::string_view message, const std::string& password);

class PgConnection {
public:
    // Connects at once; throws StoreError if that fails.
    explicit PgConnection(const std::string& db);
    ~PgConnection();
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    // Runs one statement (parameters $1, $2, ...). Throws PgError. A lost
    // connection is dropped; the next call connects again, but no sooner
    // than the backoff allows (calls in between fail at once).
    PgResult exec(std::string_view sql, std::initializer_list<PgParam> params, std::string_view what);
    PgResult exec(std::string_view sql, std::string_view what) { return exec(sql, {}, what); }

    const std::string& shown() const { return shown_; }
    bool connected() const { return conn_ != nullptr; }
    // A transaction is open on the connection (a call made inside another's).
    bool in_transaction() const;
    [[noreturn]] void fail(std::string_view what, const std::string& reason) const;

    // Runs `body` as a transaction again when PostgreSQL reports a
    // serialization failure or a deadlock (a few times, then the error).
    // Each rerun waits a few random milliseconds first: a victim that runs
    // again at once can take the row its survivor was waking up to lock and
    // deadlock with it again, round after round on a loaded machine.
    template <class Body>
    auto retrying(Body&& body) -> decltype(body()) {
        for (int attempt = 1;; ++attempt) {
            try {
                return body();
            } catch (const PgError& e) {
                if (!e.retryable() || attempt >= kAttempts) {
                    throw;
                }
            }
            pause_before_rerun(attempt);
        }
    }

private:
    static constexpr int kAttempts = 4;
    void ensure_connected();
    // Sleeps 1..10 x attempt ms, at random (the store's own thread).
    static void pause_before_rerun(int attempt);

    PgOptions options_;
    std::string shown_;
    pg_conn* conn_ = nullptr;
    // Reconnect backoff: after a failed attempt, no new one before next_attempt_.
    std::chrono::steady_clock::time_point next_attempt_{};
    std::chrono::milliseconds backoff_;
    std::string last_reason_;
};

// BEGIN ... COMMIT (READ COMMITTED; writers lock the rows they change).
// Rolls back if not committed.
class PgTransaction {
public:
    // begin: "BEGIN", or e.g. "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" for one snapshot.
    PgTransaction(PgConnection& connection, std::string_view what, const char* begin = "BEGIN");
    ~PgTransaction();
    PgTransaction(const PgTransaction&) = delete;
    PgTransaction& operator=(const PgTransaction&) = delete;

    // Serializes this transaction with every other one taking the same key
    // (released at commit or rollback): for the rare writes that span many rows.
    void lock(std::int64_t key);
    void commit();

private:
    PgConnection& connection_;
    std::string_view what_;
    bool open_ = true;
};

// Advisory lock keys (transaction-scoped; one namespace with the migration's).
inline constexpr std::int64_t kLockMigration = 0x6167656e746c6201;  // "agentlb" 1
inline constexpr std::int64_t kLockEnrollment = 0x6167656e746c6202;
inline constexpr std::int64_t kLockServers = 0x6167656e746c6203;
inline constexpr std::int64_t kLockTicketKeys = 0x6167656e746c6204;

}  // namespace agentlb::store
