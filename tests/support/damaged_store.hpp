#pragma once

// A real store with damaged pages, for start-up checks: SQLite can open it
// (page 1, the header and the schema, is intact) but PRAGMA quick_check
// finds the damage.

#include <string>

namespace agentlb::test {

// Creates a store at `path` (which must not exist) holding the CA and enough
// join tokens to span dozens of pages, closes it so every page is in the
// main file (no WAL left), then overwrites two whole pages of the join
// tokens (three quarters into the file) with a byte pattern. Throws std::runtime_error if the file comes
// out too small to damage safely.
void write_damaged_store(const std::string& path,
                         const std::string& ca_pem,
                         const std::string& ca_fingerprint);

}  // namespace agentlb::test
