#pragma once

// CloudStack's agent.properties format, edited without losing what we don't
// understand.
//
// Format: one `key=value` per line. Blank lines and lines whose first non-blank
// character is '#' or '!' are comments. The key is everything before the first
// '=', the value everything after it, both trimmed of surrounding whitespace
// (space, tab, form feed). CRLF line endings are accepted (every CR right before
// the LF, or before the end of the text, is part of the line ending); serialize() writes LF.
//
// Unlike java.util.Properties there is NO escape processing: no backslash
// escapes, no `\` line continuation, no ':' or whitespace as separator, no
// \uXXXX. A value is taken byte for byte. Files written by agentlb only contain
// plain values (host lists, names, paths), where both readings agree.
//
// A key may appear more than once (as Java allows): get() returns the last
// occurrence, set() changes the last occurrence, serialize() keeps every line.
//
// Round trip: serialize() reproduces comments, blank lines, unknown keys and
// their order. set() of an existing key rewrites only that line's value; set()
// of a new key appends `key=value`; erase() removes the key's lines.

#include "common/util/result.hpp"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace agentlb::props {

class PropertiesFile {
public:
    // An empty file: no lines, no entries.
    PropertiesFile() = default;

    // Reads and parses `path`; errors name the path (and the line for syntax
    // errors). An empty file is valid. Blocks on the disk.
    static Result<PropertiesFile> load(const std::filesystem::path& path);

    // `source_name` only labels errors: "SOURCE line N: expected key=value, got \"...\"".
    static Result<PropertiesFile> parse(std::string_view text, std::string_view source_name);

    // Value of the last line holding `key`.
    std::optional<std::string> get(std::string_view key) const;

    // Sets the value of the last line holding `key` in place (keeping the text
    // before the value, e.g. "host = "), or appends `key=value`.
    // Throws std::invalid_argument (a caller bug: validate first) when the pair
    // would not read back the same: empty key; key with '=', CR, LF, NUL or
    // surrounding whitespace, or starting with '#' or '!'; value with CR, LF, NUL
    // or surrounding whitespace.
    void set(std::string_view key, std::string_view value);

    // Removes every line holding `key`; false if there was none.
    bool erase(std::string_view key);

    // One pair per distinct key, in order of the key's first line, with the
    // value get() returns.
    std::vector<std::pair<std::string, std::string>> entries() const;

    // The file's text: one LF-terminated line per line kept; "" when empty.
    std::string serialize() const;

    // serialize() written with util::write_file_atomically(path, ..., mode).
    Status save(const std::filesystem::path& path, ::mode_t mode = 0644) const;

private:
    struct Line {
        std::string text;  // as read, without the line ending; rewritten by set()
        bool is_entry = false;
        std::string key;    // entries only
        std::string value;  // entries only, trimmed
        // Length of the text before the value ("host = "), kept by set().
        std::size_t value_offset = 0;
    };

    Line* find_last(std::string_view key);
    const Line* find_last(std::string_view key) const;

    std::vector<Line> lines_;
};

}  // namespace agentlb::props
