#pragma once

// Shared by the unit tests of the agent's properties file (test_agent_state,
// test_list_push): writing a file and loading it as the agent's state.

#include "agent/agent_state.hpp"
#include "common/util/atomic_file.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string_view>
#include <utility>

namespace agentlb::agent::test {

inline void write_text(const std::filesystem::path& path, std::string_view text) {
    REQUIRE(util::write_file_atomically(path, text).ok());
}

// The state in `path`, which must load.
inline AgentStateFile load_ok(const std::filesystem::path& path) {
    auto state = AgentStateFile::load(path);
    REQUIRE(state.ok());
    return std::move(state).value();
}

// Writes `text` to `path` and loads it.
inline AgentStateFile write_and_load(const std::filesystem::path& path, std::string_view text) {
    write_text(path, text);
    return load_ok(path);
}

}  // namespace agentlb::agent::test
