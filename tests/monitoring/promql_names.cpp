#include "tests/monitoring/promql_names.hpp"

#include <cctype>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace agentlb::test {

namespace {

const std::set<std::string> kKeywords{"by",
                                      "without",
                                      "on",
                                      "ignoring",
                                      "group_left",
                                      "group_right",
                                      "bool",
                                      "and",
                                      "or",
                                      "unless",
                                      "offset",
                                      "inf",
                                      "nan",
                                      "Inf",
                                      "NaN",
                                      "atan2"};

// Removes the text from `open` to the matching `close` (not nested: PromQL's
// strings, label matchers and ranges do not nest).
std::string drop_enclosed(const std::string& text, char open, char close) {
    std::string out;
    bool inside = false;
    for (const char c : text) {
        if (!inside && c == open) {
            inside = true;
            out += ' ';
        } else if (inside && c == close) {
            inside = false;
        } else if (!inside) {
            out += c;
        }
    }
    return out;
}

std::string drop_strings(const std::string& text) {
    std::string out;
    char quote = 0;
    bool escaped = false;
    for (const char c : text) {
        if (quote != 0) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == quote) {
                quote = 0;
            }
            continue;
        }
        if (c == '"' || c == '\'' || c == '`') {
            quote = c;
            out += " \"\" ";
            continue;
        }
        out += c;
    }
    return out;
}

}  // namespace

std::set<std::string> metric_names_in(const std::string& expr) {
    std::string text = drop_strings(expr);
    text = drop_enclosed(text, '{', '}');
    text = drop_enclosed(text, '[', ']');
    // Label lists of grouping and vector matching.
    text = std::regex_replace(
        text, std::regex(R"(\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\))"), " ");
    std::set<std::string> names;
    static const std::regex token(R"(([0-9][0-9A-Za-z_.]*)|([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?)");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), token); it != std::sregex_iterator();
         ++it) {
        const auto& match = *it;
        if (match[1].matched || match[3].matched) {
            continue;  // a number or duration; a function or aggregation
        }
        const std::string word = match[2].str();
        if (kKeywords.count(word) == 0) {
            names.insert(word);
        }
    }
    return names;
}

std::map<std::string, std::string> read_metric_names(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    std::map<std::string, std::string> known;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty() || line.front() == '#') {
            continue;
        }
        std::istringstream fields(line);
        std::string name;
        std::string type;
        std::string extra;
        fields >> name >> type;
        if (name.empty() || (type != "gauge" && type != "counter" && type != "histogram") ||
            (fields >> extra)) {
            throw std::runtime_error(path + ":" + std::to_string(number) +
                                     ": expected \"NAME gauge|counter|histogram\"");
        }
        known[name] = type;
    }
    return known;
}

bool is_known_metric(const std::map<std::string, std::string>& known, const std::string& name) {
    if (known.count(name) != 0) {
        return true;
    }
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            const auto found = known.find(name.substr(0, name.size() - suffix.size()));
            if (found != known.end() && found->second == "histogram") {
                return true;
            }
        }
    }
    return false;
}

}  // namespace agentlb::test
