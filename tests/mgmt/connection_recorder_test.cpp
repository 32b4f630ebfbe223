#include "mgmt/connection_recorder.hpp"

#include "tests/support/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <functional>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace agentlb;
using namespace agentlb::mgmt;
namespace asio = boost::asio;
using Kind = store::ConnectionChange::Kind;

namespace {

struct Fixture {
    test::TempDir dir;
    std::string path = (dir / "s.db").string();
    StoreWorker worker;
    // A second connection, for reading what the worker's committed.
    std::unique_ptr<store::Store> reader;
    std::vector<std::int64_t> ids;
    std::promise<void> release;

    Fixture() {
        worker.open([path = path] { return store::open_sqlite_store(path, store::OpenMode::create); });
        ids = worker.call_sync([](store::Store& s) {
            std::vector<std::int64_t> made;
            for (int i = 0; i < 5; ++i) {
                const std::string name = "h" + std::to_string(i);
                s.create_token(store::TokenSpec{"token-" + name, std::nullopt, std::nullopt, 100, 1});
                auto issue = [](const store::HostRecord& host) -> Result<store::IssuedCertificate> {
                    return store::IssuedCertificate{"PEM", host.name + "-serial", 1000};
                };
                auto redeemed =
                    s.redeem_token(store::RedeemRequest{"token-" + name, name, std::nullopt, 10}, issue);
                if (!redeemed) {
                    throw std::runtime_error(redeemed.error());
                }
                made.push_back(redeemed->host.id);
            }
            return made;
        });
        reader = store::open_sqlite_store(path, store::OpenMode::existing);
    }

    // Holds the store thread until release is set: what the sessions queue meanwhile forms one group.
    void hold_store_thread() {
        auto gate = release.get_future().share();
        REQUIRE(worker.post([gate](store::Store*) { gate.wait(); }));
    }

    std::optional<std::string> connected_to(std::int64_t id) {
        return reader->find_host_by_id(id)->connected_to;
    }
};

// Applies `change`, then calls after(error text or "").
// A plain function: a coroutine lambda's captures die with the lambda object.
asio::awaitable<void> apply_then(ConnectionRecorder& recorder,
                                 store::ConnectionChange change,
                                 std::function<void(std::string)> after) {
    std::string error;
    try {
        co_await recorder.apply(change);
    } catch (const std::exception& e) {
        error = e.what();
    }
    after(error);
}

}  // namespace

TEST_CASE("queued connection changes are committed in one transaction before each caller resumes") {
    Fixture f;
    f.worker.call_sync([&f](store::Store& s) { s.set_connected(f.ids[4], "ms1", 5); });
    // h4 has a session here again when its clear comes up: the clear is dropped.
    ConnectionRecorder recorder(
        f.worker,
        "ms1",
        [&f](const store::ConnectionChange& change) { return change.host_id != f.ids[4]; },
        [] { return std::int64_t{40}; });
    f.hold_store_thread();

    asio::io_context io;
    std::vector<std::optional<std::string>> seen_at_resume(5);
    int resumed = 0;
    for (int i = 0; i < 5; ++i) {
        const store::ConnectionChange change{i == 4 ? Kind::clear : Kind::connect, f.ids[i]};
        asio::co_spawn(io,
                       apply_then(recorder,
                                  change,
                                  [&, i](const std::string&) {
                                      // What the agent would hear `welcome` after: already committed.
                                      seen_at_resume[i] = f.connected_to(f.ids[i]);
                                      ++resumed;
                                  }),
                       asio::detached);
    }
    io.poll();
    CHECK(resumed == 0);  // all five wait behind the held store thread
    f.release.set_value();
    io.run_for(std::chrono::seconds(5));

    CHECK(resumed == 5);
    CHECK(recorder.commits() == 1);
    for (int i = 0; i < 4; ++i) {
        CHECK(seen_at_resume[i] == std::optional<std::string>("ms1"));
        CHECK(f.reader->find_host_by_id(f.ids[i])->last_seen == 40);
    }
    CHECK(seen_at_resume[4] == std::optional<std::string>("ms1"));  // not cleared

    // Alone (the store thread idle), a change is committed at once, by itself.
    bool done = false;
    io.restart();
    const store::ConnectionChange clear{Kind::clear, f.ids[0]};
    asio::co_spawn(
        io, apply_then(recorder, clear, [&done](const std::string&) { done = true; }), asio::detached);
    io.run_for(std::chrono::seconds(5));
    CHECK(done);
    CHECK(recorder.commits() == 2);
    CHECK_FALSE(f.connected_to(f.ids[0]).has_value());
}

TEST_CASE("a failed group is retried change by change: each caller gets its own outcome") {
    Fixture f;
    // The store refuses any write of h1's row (a stand-in for a change that fails).
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(f.path.c_str(), &db) == SQLITE_OK);
    const std::string trigger =
        "CREATE TRIGGER refuse_h1 BEFORE UPDATE ON hosts WHEN NEW.id = " + std::to_string(f.ids[1]) +
        " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;";
    REQUIRE(sqlite3_exec(db, trigger.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);

    ConnectionRecorder recorder(f.worker, "ms1", nullptr, [] { return std::int64_t{40}; });
    f.hold_store_thread();
    asio::io_context io;
    std::vector<std::string> outcome(3);
    for (int i = 0; i < 3; ++i) {
        const store::ConnectionChange change{Kind::connect, f.ids[i]};
        asio::co_spawn(io,
                       apply_then(recorder,
                                  change,
                                  [&outcome, i](std::string error) {
                                      outcome[i] = error.empty() ? "ok" : std::move(error);
                                  }),
                       asio::detached);
    }
    io.poll();
    f.release.set_value();
    io.run_for(std::chrono::seconds(5));

    CHECK(outcome[0] == "ok");
    CHECK_THAT(outcome[1], Catch::Contains("refused by the test"));
    CHECK(outcome[2] == "ok");
    CHECK(f.connected_to(f.ids[0]) == std::optional<std::string>("ms1"));
    CHECK_FALSE(f.connected_to(f.ids[1]).has_value());
    CHECK(f.connected_to(f.ids[2]) == std::optional<std::string>("ms1"));
    CHECK(recorder.commits() == 2);  // the failed group, then h0 and h2 each alone
}
