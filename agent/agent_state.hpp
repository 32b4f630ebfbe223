#pragma once

// The agent's properties file (CloudStack's agent.properties) and the typed
// settings read from it.
//
// Keys: host=a,b,c@algo, host.lb.check.interval=N, zone=, name=, id=,
// tls.key.file / tls.cert.file / tls.ca.file (default agent.key, agent.crt,
// ca.crt; relative paths are taken from the properties file's folder),
// enroll.port= (8251).
// Everything else in the file (unknown keys, comments) is kept on rewrite.
//
// All functions here block on the disk: the agent calls them from its file
// worker thread, never from the I/O thread.

#include "common/lb/host_list.hpp"
#include "common/props/properties_file.hpp"
#include "common/util/atomic_file.hpp"
#include "common/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace agentlb::agent {

inline constexpr std::string_view kHostProperty = "host";
inline constexpr std::string_view kCheckIntervalProperty = "host.lb.check.interval";
inline constexpr std::string_view kZoneProperty = "zone";
inline constexpr std::string_view kNameProperty = "name";
inline constexpr std::string_view kIdProperty = "id";
inline constexpr std::string_view kKeyFileProperty = "tls.key.file";
inline constexpr std::string_view kCertFileProperty = "tls.cert.file";
inline constexpr std::string_view kCaFileProperty = "tls.ca.file";
// The enrollment port of the servers in `host` (8251 when absent): where an
// agent whose certificate expired asks for a new one (renew_expired).
inline constexpr std::string_view kEnrollPortProperty = "enroll.port";
inline constexpr std::uint16_t kDefaultEnrollPortProperty = 8251;

inline constexpr std::string_view kDefaultKeyFile = "agent.key";
inline constexpr std::string_view kDefaultCertFile = "agent.crt";
inline constexpr std::string_view kDefaultCaFile = "ca.crt";

struct AgentSettings {
    std::vector<std::string> hosts;  // empty before enrolment
    std::string algorithm;           // empty when no list is held, or the file's `host` names none
    std::int64_t check_interval = 0;
    std::string name;
    std::string zone;
    std::optional<std::int64_t> id;
    std::filesystem::path key_file;
    std::filesystem::path cert_file;
    std::filesystem::path ca_file;
    std::uint16_t enroll_port = kDefaultEnrollPortProperty;

    bool has_list() const { return !hosts.empty(); }
    // What `hello` reports: "a,b,c@algo", or "" when nothing is held.
    std::string held_list() const;
};

// Typed settings from a parsed file. `properties_path` locates the default
// key/cert/CA files. Errors name the file, the key and the problem.
Result<AgentSettings> settings_from_properties(const props::PropertiesFile& file,
                                               const std::filesystem::path& properties_path);

// A list the servers sent (welcome correction, ms_list, enrollment).
struct ListUpdate {
    lb::AgentHostValue value;
    std::int64_t check_interval = 0;
};

// Refuses a list the agent could not read back from its own file (empty,
// malformed entry, duplicate, empty or odd algorithm, negative interval).
Status validate_list_update(const ListUpdate& update);

// What enrolment stores.
struct EnrollmentRecord {
    std::int64_t host_id = 0;
    std::string name;
    std::string zone;
    ListUpdate list;  // hosts may be empty: the servers have no `host` yet
};

void put_list(props::PropertiesFile& file, const ListUpdate& update);
void put_enrollment(props::PropertiesFile& file, const EnrollmentRecord& record);

// Removes ".NAME.tmp-*" beside `path`: what an atomic write leaves when the
// process is killed mid-write. Only safe while no write is running (start-up).
// Returns how many were removed.
int remove_stale_temp_files(const std::filesystem::path& path);

// The properties file on disk plus its parsed settings. Saves go through a
// copy, so a failed write leaves both the file and this object unchanged.
class AgentStateFile {
public:
    // A missing or empty file is valid (nothing enrolled yet).
    static Result<AgentStateFile> load(const std::filesystem::path& path);

    const std::filesystem::path& path() const { return path_; }
    const AgentSettings& settings() const { return settings_; }
    const props::PropertiesFile& properties() const { return file_; }

    Status save_list(const ListUpdate& update);
    Status save_enrollment(const EnrollmentRecord& record);

    // Test seam: make a step of the atomic write fail.
    void set_write_hooks(util::AtomicWriteHooks hooks) { hooks_ = std::move(hooks); }

private:
    AgentStateFile(std::filesystem::path path, props::PropertiesFile file, AgentSettings settings);
    Status save(props::PropertiesFile updated);

    std::filesystem::path path_;
    props::PropertiesFile file_;
    AgentSettings settings_;
    util::AtomicWriteHooks hooks_;
};

}  // namespace agentlb::agent
