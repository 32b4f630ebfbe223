#include "common/wire/field_reader.hpp"

#include "common/wire/error.hpp"

#include <limits>
#include <utility>

namespace agentlb::wire::detail {

FieldReader::FieldReader(const nlohmann::json& object,
                         std::string_view message_type,
                         Problem& problem,
                         std::string prefix)
    : object_(object), type_(message_type), problem_(problem), prefix_(std::move(prefix)) {}

std::string FieldReader::string(const char* name) {
    const auto* value = find(name, true);
    if (value == nullptr) {
        return {};
    }
    if (!value->is_string()) {
        report(errc::wrong_type, name, "expected a string, got " + describe_json_type(*value));
        return {};
    }
    return value->get<std::string>();
}

std::string FieldReader::optional_string(const char* name) {
    const auto* value = find(name, false);
    if (value == nullptr || value->is_null()) {
        return {};
    }
    return string(name);
}

std::optional<std::int64_t> FieldReader::optional_non_negative(const char* name) {
    const auto* value = find(name, false);
    if (value == nullptr || value->is_null()) {
        return std::nullopt;
    }
    return non_negative(name);
}

bool FieldReader::boolean(const char* name) {
    const auto* value = find(name, true);
    if (value == nullptr) {
        return false;
    }
    if (!value->is_boolean()) {
        report(errc::wrong_type, name, "expected true or false, got " + describe_json_type(*value));
        return false;
    }
    return value->get<bool>();
}

std::int64_t FieldReader::non_negative(const char* name) {
    const auto* value = find(name, true);
    if (value == nullptr) {
        return 0;
    }
    // nlohmann stores non-negative literals as unsigned, negative ones as
    // signed, and anything beyond uint64 (or with a fraction/exponent) as float.
    if (value->is_number_unsigned()) {
        const auto u = value->get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            report(errc::invalid_value, name, "integer " + std::to_string(u) + " is out of range");
            return 0;
        }
        return static_cast<std::int64_t>(u);
    }
    if (value->is_number_integer()) {
        const auto i = value->get<std::int64_t>();
        if (i < 0) {
            report(errc::invalid_value, name, "must not be negative, got " + std::to_string(i));
            return 0;
        }
        return i;
    }
    report(errc::wrong_type, name, "expected an integer, got " + describe_json_type(*value));
    return 0;
}

std::vector<std::string> FieldReader::strings(const char* name) {
    const auto* value = find(name, true);
    if (value == nullptr) {
        return {};
    }
    if (!value->is_array()) {
        report(errc::wrong_type, name, "expected an array of strings, got " + describe_json_type(*value));
        return {};
    }
    std::vector<std::string> out;
    out.reserve(value->size());
    for (std::size_t i = 0; i < value->size(); ++i) {
        const auto& element = (*value)[i];
        if (!element.is_string()) {
            report(errc::wrong_type,
                   name,
                   "expected an array of strings, element " + std::to_string(i) + " is " +
                       describe_json_type(element));
            return {};
        }
        out.push_back(element.get<std::string>());
    }
    return out;
}

std::vector<std::string> FieldReader::optional_strings(const char* name) {
    const auto* value = find(name, false);
    if (value == nullptr || value->is_null()) {
        return {};
    }
    return strings(name);
}

const nlohmann::json* FieldReader::optional_object(const char* name) {
    const auto* value = find(name, false);
    if (value == nullptr || value->is_null()) {
        return nullptr;
    }
    if (!value->is_object()) {
        report(errc::wrong_type, name, "expected an object, got " + describe_json_type(*value));
        return nullptr;
    }
    return value;
}

FieldReader FieldReader::nested(const nlohmann::json& object, const char* name) const {
    return FieldReader(object, type_, problem_, prefix_ + name + ".");
}

const nlohmann::json* FieldReader::find(const char* name, bool required) {
    if (!ok()) {
        return nullptr;
    }
    const auto it = object_.find(name);
    if (it == object_.end()) {
        if (required) {
            report(errc::missing_field, name, "missing");
        }
        return nullptr;
    }
    return &*it;
}

void FieldReader::report(boost::system::error_code ec, const char* name, const std::string& what) {
    if (!ok()) {
        return;
    }
    problem_.ec = ec;
    problem_.detail = "field \"" + prefix_ + name + "\" of \"" + std::string(type_) + "\": " + what;
}

bool FieldReader::optional_boolean(const char* name) {
    const auto* value = find(name, false);
    if (value == nullptr || value->is_null()) {
        return false;
    }
    return boolean(name);
}

void FieldReader::invalid(const char* name, const std::string& what) {
    report(errc::invalid_value, name, what);
}

void FieldReader::invalid_message(const std::string& what) {
    if (!ok()) {
        return;
    }
    problem_.ec = errc::invalid_value;
    problem_.detail = "\"" + std::string(type_) + "\": " + what;
}

std::string describe_json_type(const nlohmann::json& value) {
    switch (value.type()) {
        case nlohmann::json::value_t::null:
            return "null";
        case nlohmann::json::value_t::object:
            return "an object";
        case nlohmann::json::value_t::array:
            return "an array";
        case nlohmann::json::value_t::string:
            return "a string";
        case nlohmann::json::value_t::boolean:
            return "a boolean";
        case nlohmann::json::value_t::number_integer:
        case nlohmann::json::value_t::number_unsigned:
            return "an integer";
        case nlohmann::json::value_t::number_float:
            return "a non-integer number";
        default:
            return "an unexpected JSON value";
    }
}

}  // namespace agentlb::wire::detail
