#pragma once

// The PostgreSQL ChangeFeed: LISTEN agentlb_generation on a connection of its own.

#include "common/store/store.hpp"

namespace agentlb::store {

// Connects and listens at once; throws StoreError if that fails.
std::unique_ptr<ChangeFeed> open_pg_change_feed(const std::string& db);

}  // namespace agentlb::store
