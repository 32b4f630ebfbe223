#include "common/props/properties_file.hpp"

#include "common/util/atomic_file.hpp"
#include "common/util/text.hpp"

#include <stdexcept>
#include <unordered_map>

namespace agentlb::props {

namespace {

// java.util.Properties' whitespace.
constexpr std::string_view kBlank = " \t\f";

std::string_view trim(std::string_view s) {
    return util::trim(s, kBlank);
}

// The offending line for an error message: control characters escaped (the
// message goes to a terminal or a log), long lines cut.
std::string quote(std::string_view line) {
    constexpr std::size_t kMaxShown = 80;
    return util::peer_text(line, kMaxShown, util::Quoted::yes);
}

bool has_line_break_or_nul(std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) != s.npos;
}

bool has_surrounding_blank(std::string_view s) {
    return !s.empty() && trim(s).size() != s.size();
}

}  // namespace

Result<PropertiesFile> PropertiesFile::load(const std::filesystem::path& path) {
    auto text = util::read_file(path);
    if (!text) {
        return fail(text.error());
    }
    return parse(*text, path.string());
}

Result<PropertiesFile> PropertiesFile::parse(std::string_view text, std::string_view source_name) {
    PropertiesFile file;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        std::size_t end = text.find('\n');
        std::string_view raw = text.substr(0, end);
        text = end == text.npos ? std::string_view{} : text.substr(end + 1);
        // Every CR before the LF ends the line, as in Java: a value kept with
        // a trailing CR would be written back as "...\r\n" and read as less.
        while (!raw.empty() && raw.back() == '\r') {
            raw.remove_suffix(1);
        }

        Line line;
        line.text = std::string(raw);
        std::string_view content = trim(raw);
        if (content.empty() || content.front() == '#' || content.front() == '!') {
            file.lines_.push_back(std::move(line));
            continue;
        }

        std::size_t eq = raw.find('=');
        if (eq == raw.npos) {
            return fail(std::string(source_name) + " line " + std::to_string(line_no) +
                        ": expected key=value, got " + quote(raw));
        }
        std::string_view key = trim(raw.substr(0, eq));
        if (key.empty()) {
            return fail(std::string(source_name) + " line " + std::to_string(line_no) +
                        ": empty key before '=', got " + quote(raw));
        }
        std::size_t value_start = raw.find_first_not_of(kBlank, eq + 1);
        if (value_start == raw.npos) {
            value_start = eq + 1;
        }
        line.is_entry = true;
        line.key = std::string(key);
        line.value = std::string(trim(raw.substr(eq + 1)));
        line.value_offset = value_start;
        file.lines_.push_back(std::move(line));
    }
    return file;
}

PropertiesFile::Line* PropertiesFile::find_last(std::string_view key) {
    for (auto it = lines_.rbegin(); it != lines_.rend(); ++it) {
        if (it->is_entry && it->key == key) {
            return &*it;
        }
    }
    return nullptr;
}

const PropertiesFile::Line* PropertiesFile::find_last(std::string_view key) const {
    return const_cast<PropertiesFile*>(this)->find_last(key);
}

std::optional<std::string> PropertiesFile::get(std::string_view key) const {
    const Line* line = find_last(key);
    if (line == nullptr) {
        return std::nullopt;
    }
    return line->value;
}

void PropertiesFile::set(std::string_view key, std::string_view value) {
    // A value with a line break would let a caller inject other keys; anything
    // else here would read back differently. Callers validate before this.
    if (key.empty() || key.find('=') != key.npos || has_line_break_or_nul(key) ||
        has_surrounding_blank(key) || key.front() == '#' || key.front() == '!') {
        throw std::invalid_argument("PropertiesFile::set: invalid key " + quote(key));
    }
    if (has_line_break_or_nul(value) || has_surrounding_blank(value)) {
        throw std::invalid_argument("PropertiesFile::set: invalid value for " + std::string(key) + ": " +
                                    quote(value));
    }

    if (Line* line = find_last(key)) {
        line->text.resize(line->value_offset);
        line->text += value;
        line->value = std::string(value);
        return;
    }
    Line line;
    line.is_entry = true;
    line.key = std::string(key);
    line.value = std::string(value);
    line.text = line.key + "=";
    line.value_offset = line.text.size();
    line.text += value;
    lines_.push_back(std::move(line));
}

bool PropertiesFile::erase(std::string_view key) {
    return std::erase_if(lines_, [&](const Line& line) { return line.is_entry && line.key == key; }) > 0;
}

std::vector<std::pair<std::string, std::string>> PropertiesFile::entries() const {
    std::vector<std::pair<std::string, std::string>> out;
    std::unordered_map<std::string_view, std::size_t> index;  // key -> position in out
    for (const Line& line : lines_) {
        if (!line.is_entry) {
            continue;
        }
        auto [it, inserted] = index.try_emplace(line.key, out.size());
        if (inserted) {
            out.emplace_back(line.key, line.value);
        } else {
            out[it->second].second = line.value;  // later lines win
        }
    }
    return out;
}

std::string PropertiesFile::serialize() const {
    std::string out;
    for (const Line& line : lines_) {
        out += line.text;
        out += '\n';
    }
    return out;
}

Status PropertiesFile::save(const std::filesystem::path& path, ::mode_t mode) const {
    return util::write_file_atomically(path, serialize(), mode);
}

}  // namespace agentlb::props
