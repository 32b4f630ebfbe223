#include "common/store/pg_change_feed.hpp"

#include "common/store/pg_handle.hpp"
#include "common/store/postgres_store.hpp"
#include "common/store/store_location.hpp"

#include <cerrno>
#include <cstring>
#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace agentlb::store {

namespace {

using Clock = std::chrono::steady_clock;

class PgChangeFeed final : public ChangeFeed {
public:
    explicit PgChangeFeed(const std::string& db)
        : options_(pg_options(db)), shown_(shown_location(db)), conn_(nullptr, &PQfinish) {
        wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (wake_ < 0) {
            throw StoreError("PostgreSQL store " + shown_ +
                             ": change feed: eventfd: " + std::strerror(errno));
        }
        try {
            connect("cannot connect");
        } catch (...) {
            ::close(wake_);
            throw;
        }
    }

    ~PgChangeFeed() override { ::close(wake_); }

    bool wait(std::chrono::milliseconds timeout) override {
        const auto deadline = Clock::now() + timeout;
        if (take_wake()) {
            return false;
        }
        if (!conn_) {
            // Not sooner than the backoff: a caller that loops on errors must not spin.
            if (Clock::now() < next_attempt_ && !sleep_until(std::min(deadline, next_attempt_))) {
                return false;
            }
            if (Clock::now() < next_attempt_) {
                return false;
            }
            connect("unreachable");
        }
        // Announcements may have come in with an earlier reply.
        if (take_notifications()) {
            return true;
        }
        for (;;) {
            pollfd fds[2] = {{PQsocket(conn_.get()), POLLIN, 0}, {wake_, POLLIN, 0}};
            const int n = ::poll(fds, 2, remaining_ms(deadline));
            if (n < 0 && errno != EINTR) {
                lost(std::string("poll: ") + std::strerror(errno));
            }
            if (n > 0 && fds[1].revents != 0) {
                take_wake();
                return false;
            }
            if (n > 0 && fds[0].revents != 0) {
                if (PQconsumeInput(conn_.get()) == 0) {
                    lost(pg_one_line(PQerrorMessage(conn_.get()), options_.password));
                }
                if (take_notifications()) {
                    return true;
                }
                if (PQstatus(conn_.get()) == CONNECTION_BAD) {
                    lost(pg_one_line(PQerrorMessage(conn_.get()), options_.password));
                }
            }
            if (Clock::now() >= deadline) {
                return false;
            }
        }
    }

    void interrupt() override {
        const std::uint64_t one = 1;
        // Only fails if the counter would overflow: it is already signalled then.
        [[maybe_unused]] const auto written = ::write(wake_, &one, sizeof one);
    }

private:
    static int remaining_ms(Clock::time_point deadline) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        return static_cast<int>(std::clamp<std::int64_t>(left, 0, 1 << 30));
    }

    bool take_wake() {
        std::uint64_t count = 0;
        return ::read(wake_, &count, sizeof count) == static_cast<ssize_t>(sizeof count);
    }

    // False if interrupted.
    bool sleep_until(Clock::time_point until) {
        pollfd fd{wake_, POLLIN, 0};
        if (::poll(&fd, 1, remaining_ms(until)) > 0) {
            take_wake();
            return false;
        }
        return true;
    }

    bool take_notifications() {
        bool any = false;
        while (PGnotify* notify = PQnotifies(conn_.get())) {
            any = true;
            PQfreemem(notify);
        }
        return any;
    }

    void connect(const char* failure) {
        std::string reason;
        auto conn = pg_connect(options_, reason);
        if (conn) {
            PGresult* listen = PQexec(conn.get(), (std::string("LISTEN ") + kGenerationChannel).c_str());
            const bool listening = PQresultStatus(listen) == PGRES_COMMAND_OK;
            PQclear(listen);
            if (listening) {
                conn_ = std::move(conn);
                backoff_ = kPgFirstBackoff;
                return;
            }
            reason = "LISTEN failed: " + pg_one_line(PQerrorMessage(conn.get()), options_.password);
        }
        next_attempt_ = Clock::now() + backoff_;
        backoff_ = std::min(backoff_ * 2, kPgMaxBackoff);
        throw StoreError("PostgreSQL store " + shown_ + ": change feed: " + failure + " (" + reason + ")");
    }

    [[noreturn]] void lost(const std::string& reason) {
        conn_.reset();
        next_attempt_ = {};
        throw StoreError("PostgreSQL store " + shown_ + ": change feed: connection lost (" + reason + ")");
    }

    PgOptions options_;
    std::string shown_;
    std::unique_ptr<pg_conn, void (*)(pg_conn*)> conn_;
    int wake_ = -1;
    Clock::time_point next_attempt_{};
    std::chrono::milliseconds backoff_ = kPgFirstBackoff;
};

}  // namespace

std::unique_ptr<ChangeFeed> open_pg_change_feed(const std::string& db) {
    return std::make_unique<PgChangeFeed>(db);
}

}  // namespace agentlb::store
