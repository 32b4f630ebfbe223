#pragma once

// Output for people (aligned tables, escaped text) and for programs (JSON).
//
// Names in the store come from agents' certificates and enrollment requests:
// they are shown escaped so a control character cannot rewrite the screen.

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace agentlb::ctl {

// JSON objects keep their keys in the order they were written, so the output
// reads in the documented order ({"token": ..., "ca_fingerprint": ...}).
using Json = nlohmann::ordered_json;

// util::peer_text, whole: control bytes, bytes that are not UTF-8 and backslashes
// escaped (\x1b, \\); everything else as it is.
std::string display_text(std::string_view text);

// display_text in double quotes, with '"' escaped too: for echoing operator
// input in messages.
std::string quote(std::string_view text);

// Columns separated by two spaces, each as wide as its widest cell; the last
// column is not padded, so lines carry no trailing spaces. Cells are escaped
// with display_text.
class Table {
public:
    explicit Table(std::vector<std::string> headers);

    // A row with fewer cells than headers is padded with empty cells; more is a bug.
    void add_row(std::vector<std::string> cells);
    std::size_t rows() const { return rows_.size(); }
    std::string render() const;

private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
};

// Indented by two, with invalid UTF-8 replaced (never throws on odd names),
// followed by a newline.
void print_json(std::ostream& out, const Json& value);

}  // namespace agentlb::ctl
