#include "agent/agent_state.hpp"

#include "agent/printable.hpp"
#include "common/lb/algorithm.hpp"
#include "common/lb/config_keys.hpp"
#include "common/util/host_name.hpp"
#include "common/util/text.hpp"
#include "common/util/zone_name.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sys/stat.h>

namespace agentlb::agent {

namespace fs = std::filesystem;

namespace {

Result<std::int64_t> parse_non_negative(std::string_view text) {
    std::int64_t value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || value < 0) {
        // The value comes from a file anyone may have edited: shown escaped.
        return fail("expected a whole number of 0 or more, got " +
                    util::peer_text(text, util::kShownTextBytes, util::Quoted::yes));
    }
    return value;
}

fs::path resolve_beside(const props::PropertiesFile& file,
                        std::string_view key,
                        std::string_view default_name,
                        const fs::path& properties_path) {
    const fs::path folder = properties_path.parent_path();
    auto value = file.get(key);
    const fs::path chosen = value && !value->empty() ? fs::path(*value) : fs::path(default_name);
    return chosen.is_absolute() ? chosen : folder / chosen;
}

}  // namespace

std::string AgentSettings::held_list() const {
    if (hosts.empty()) {
        return "";
    }
    return lb::format_agent_host_value({hosts, algorithm});
}

Result<AgentSettings> settings_from_properties(const props::PropertiesFile& file,
                                               const fs::path& properties_path) {
    const std::string where = printable_path(properties_path) + ": ";
    AgentSettings settings;
    if (auto host = file.get(kHostProperty); host && !host->empty()) {
        auto parsed = lb::parse_agent_host_value(*host);
        if (!parsed) {
            return fail(where + std::string(kHostProperty) + ": " + parsed.error());
        }
        settings.hosts = std::move(parsed->hosts);
        settings.algorithm = std::move(parsed->algorithm);
    }
    if (auto interval = file.get(kCheckIntervalProperty); interval && !interval->empty()) {
        // The same bounds as `agentlbctl config set` and the servers.
        auto parsed = lb::parse_check_interval(*interval);
        if (!parsed) {
            return fail(where + std::string(kCheckIntervalProperty) + ": " + parsed.error());
        }
        settings.check_interval = *parsed;
    }
    if (auto id = file.get(kIdProperty); id && !id->empty()) {
        auto parsed = parse_non_negative(*id);
        if (!parsed) {
            return fail(where + std::string(kIdProperty) + ": " + parsed.error());
        }
        settings.id = *parsed;
    }
    // Both travel in every hello: a value no enrolment could have written
    // (a hand edit) would make every hello fail to encode. Empty: not yet
    // enrolled.
    // Only what any build ever enrolled: a name enrolled before the RFC 1123
    // rule (`kvm_1`) keeps working, a hand edit that breaks hello does not.
    settings.name = file.get(kNameProperty).value_or("");
    if (settings.name.size() > util::kMaxHostNameLength || util::contains_space_or_control(settings.name)) {
        return fail(where + std::string(kNameProperty) + ": " +
                    util::peer_text(settings.name, util::kMaxHostNameLength, util::Quoted::yes) +
                    " is not a host name (at most " + std::to_string(util::kMaxHostNameLength) +
                    " characters, no space or control character)");
    }
    settings.zone = file.get(kZoneProperty).value_or("");
    if (!settings.zone.empty()) {
        if (auto valid = util::check_zone(settings.zone); !valid) {
            return fail(where + std::string(kZoneProperty) + ": " + valid.error());
        }
    }
    if (auto port = file.get(kEnrollPortProperty); port && !port->empty()) {
        auto parsed = parse_non_negative(*port);
        if (!parsed || *parsed < 1 || *parsed > 65535) {
            return fail(where + std::string(kEnrollPortProperty) + ": " +
                        util::peer_text(*port, util::kShownTextBytes, util::Quoted::yes) +
                        " is not a port (1 to 65535)");
        }
        settings.enroll_port = static_cast<std::uint16_t>(*parsed);
    }
    settings.key_file = resolve_beside(file, kKeyFileProperty, kDefaultKeyFile, properties_path);
    settings.cert_file = resolve_beside(file, kCertFileProperty, kDefaultCertFile, properties_path);
    settings.ca_file = resolve_beside(file, kCaFileProperty, kDefaultCaFile, properties_path);
    return settings;
}

Status validate_list_update(const ListUpdate& update) {
    if (update.value.hosts.empty()) {
        return fail("the list is empty");
    }
    // Any name is stored, known to this build or not (a newer server's
    // algorithm): the agent only needs the list, and settings_from_properties()
    // reads such a name back. Text that is not a name is refused: it could not.
    if (!lb::is_algorithm_name(update.value.algorithm)) {
        return fail("algorithm " +
                    util::peer_text(update.value.algorithm, util::kShownTextBytes, util::Quoted::yes) +
                    " is not a name (letters, digits, '_', '-'; at most 64)");
    }
    if (update.check_interval < 0 || update.check_interval > lb::kMaxCheckInterval) {
        return fail("check interval " + std::to_string(update.check_interval) + " s is out of range (0 to " +
                    std::to_string(lb::kMaxCheckInterval) + ")");
    }
    // The list must read back exactly as sent, or the next hello reports something else.
    auto hosts = lb::parse_host_list(lb::join_host_list(update.value.hosts));
    if (!hosts) {
        return fail("list: " + hosts.error());
    }
    if (*hosts != update.value.hosts) {
        return fail("list: entries carry surrounding spaces");
    }
    return success();
}

void put_list(props::PropertiesFile& file, const ListUpdate& update) {
    if (update.value.hosts.empty()) {
        file.erase(kHostProperty);
    } else {
        file.set(kHostProperty, lb::format_agent_host_value(update.value));
    }
    file.set(kCheckIntervalProperty, std::to_string(update.check_interval));
}

void put_enrollment(props::PropertiesFile& file, const EnrollmentRecord& record) {
    file.set(kIdProperty, std::to_string(record.host_id));
    file.set(kNameProperty, record.name);
    file.set(kZoneProperty, record.zone);
    put_list(file, record.list);
}

int remove_stale_temp_files(const fs::path& path) {
    const std::string prefix = "." + path.filename().string() + ".tmp-";
    const fs::path folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    std::error_code ec;
    int removed = 0;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        std::error_code remove_ec;
        if (name.rfind(prefix, 0) == 0 && it->is_regular_file(remove_ec) &&
            fs::remove(it->path(), remove_ec)) {
            ++removed;
        }
    }
    return removed;
}

AgentStateFile::AgentStateFile(fs::path path, props::PropertiesFile file, AgentSettings settings)
    : path_(std::move(path)), file_(std::move(file)), settings_(std::move(settings)) {}

Result<AgentStateFile> AgentStateFile::load(const fs::path& path) {
    props::PropertiesFile file;
    std::error_code ec;
    if (fs::exists(path, ec)) {
        auto loaded = props::PropertiesFile::load(path);
        if (!loaded) {
            return fail(loaded.error());
        }
        file = std::move(*loaded);
    } else if (ec) {
        return fail("cannot read " + printable_path(path) + ": " + ec.message());
    }
    auto settings = settings_from_properties(file, path);
    if (!settings) {
        return fail(settings.error());
    }
    return AgentStateFile(path, std::move(file), std::move(*settings));
}

Status AgentStateFile::save_list(const ListUpdate& update) {
    if (auto valid = validate_list_update(update); !valid) {
        return valid;
    }
    props::PropertiesFile updated = file_;
    put_list(updated, update);
    return save(std::move(updated));
}

Status AgentStateFile::save_enrollment(const EnrollmentRecord& record) {
    if (!record.list.value.hosts.empty()) {
        if (auto valid = validate_list_update(record.list); !valid) {
            return valid;
        }
    }
    if (record.name.empty() || record.name.find_first_of("\r\n") != std::string::npos ||
        record.zone.find_first_of("\r\n") != std::string::npos) {
        return fail("the server sent an unusable name or zone");
    }
    props::PropertiesFile updated = file_;
    try {
        put_enrollment(updated, record);
    } catch (const std::invalid_argument& e) {
        return fail(std::string("cannot store the enrolment: ") + e.what());
    }
    return save(std::move(updated));
}

Status AgentStateFile::save(props::PropertiesFile updated) {
    auto settings = settings_from_properties(updated, path_);
    if (!settings) {
        return fail(settings.error());
    }
    // Keep the file's permissions if an operator chose them.
    ::mode_t mode = 0644;
    struct ::stat st {};
    if (::stat(path_.c_str(), &st) == 0) {
        mode = st.st_mode & 07777;
    }
    if (auto saved = util::write_file_atomically(path_, updated.serialize(), mode, hooks_); !saved) {
        return saved;
    }
    file_ = std::move(updated);
    settings_ = std::move(*settings);
    return success();
}

}  // namespace agentlb::agent
