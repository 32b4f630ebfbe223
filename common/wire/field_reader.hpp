#pragma once

// Internal to the message codec: reads typed fields out of a JSON object and
// records the first problem (error code + a sentence naming the field).
// Later reads after a problem return defaults and change nothing, so a
// decoder reads every field unconditionally and checks ok() once.

#include <boost/system/error_code.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::wire::detail {

struct Problem {
    boost::system::error_code ec;
    std::string detail;
};

class FieldReader {
public:
    // `prefix` names the enclosing field for nested objects ("correction.").
    FieldReader(const nlohmann::json& object,
                std::string_view message_type,
                Problem& problem,
                std::string prefix = {});

    bool ok() const noexcept { return !problem_.ec; }

    std::string string(const char* name);
    std::string optional_string(const char* name);  // "" when absent or null
    std::int64_t non_negative(const char* name);
    bool boolean(const char* name);
    std::optional<std::int64_t> optional_non_negative(const char* name);  // nothing when absent or null
    std::vector<std::string> strings(const char* name);
    std::vector<std::string> optional_strings(const char* name);  // empty when absent or null
    // nullptr when absent or null (or after a problem); a reader for it is nested(..).
    const nlohmann::json* optional_object(const char* name);
    FieldReader nested(const nlohmann::json& object, const char* name) const;
    bool optional_boolean(const char* name);  // false when absent or null
    // Records that field `name` holds a value the message cannot take
    // (errc::invalid_value); `what` says why, e.g. "is not base64".
    void invalid(const char* name, const std::string& what);
    // Records that the fields together make no valid message
    // (errc::invalid_value): `"type": what`.
    void invalid_message(const std::string& what);

private:
    // nullptr when absent (recording missing_field if `required`) or after a problem.
    const nlohmann::json* find(const char* name, bool required);
    void report(boost::system::error_code ec, const char* name, const std::string& what);

    const nlohmann::json& object_;
    std::string_view type_;
    Problem& problem_;
    std::string prefix_;
};

// "a JSON string", "a JSON array", ... for messages.
std::string describe_json_type(const nlohmann::json& value);

}  // namespace agentlb::wire::detail
