#pragma once

// An SQLite store taken away under running servers and put back: its
// `generation`, `hosts` and `servers` tables renamed, so that every read a
// server makes (the generation poll, a hello's lookup, heartbeats, records,
// enrollment) fails at once, as a stopped PostgreSQL's refused connections
// do, rather than after the busy timeout of a held lock.

#include <string>

namespace agentlb::test {

class StoreAway {
public:
    // Takes the store at `path` away now. Throws std::runtime_error.
    explicit StoreAway(std::string path);
    // Puts it back if restore() was not called (never throws).
    ~StoreAway();
    StoreAway(const StoreAway&) = delete;
    StoreAway& operator=(const StoreAway&) = delete;

    // Puts the tables back. Throws std::runtime_error.
    void restore();

private:
    std::string path_;
    bool away_ = false;
};

// Runs `sql` on its own connection to the SQLite store at `path` (5 s busy
// timeout). Throws std::runtime_error naming the statement and SQLite's text.
void sqlite_exec(const std::string& path, const std::string& sql);

}  // namespace agentlb::test
