#include "tests/lint/coroutine_rules.hpp"

#include <algorithm>
#include <cctype>

namespace agentlb::lint {

namespace {

bool is_word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

bool has_word(std::string_view text, std::string_view word) {
    for (auto at = text.find(word); at != std::string_view::npos; at = text.find(word, at + 1)) {
        const bool starts = at == 0 || !is_word_char(text[at - 1]);
        const auto end = at + word.size();
        const bool ends = end == text.size() || !is_word_char(text[end]);
        if (starts && ends) {
            return true;
        }
    }
    return false;
}

// Blanks [from, to) of `out`, keeping line breaks.
void blank(std::string& out, std::size_t from, std::size_t to) {
    for (auto i = from; i < to && i < out.size(); ++i) {
        if (out[i] != '\n') {
            out[i] = ' ';
        }
    }
}

}  // namespace

std::string blank_comments_and_literals(std::string_view source) {
    std::string out(source);
    std::size_t i = 0;
    while (i < out.size()) {
        const char c = out[i];
        const char next = i + 1 < out.size() ? out[i + 1] : '\0';
        if (c == '/' && next == '/') {
            const auto end = out.find('\n', i);
            const auto stop = end == std::string::npos ? out.size() : end;
            blank(out, i, stop);
            i = stop;
        } else if (c == '/' && next == '*') {
            const auto end = out.find("*/", i + 2);
            const auto stop = end == std::string::npos ? out.size() : end + 2;
            blank(out, i, stop);
            i = stop;
        } else if (c == 'R' && next == '"' &&
                   (i == 0 || !is_word_char(out[i - 1]) || out[i - 1] == 'u' || out[i - 1] == 'U' ||
                    out[i - 1] == 'L' || out[i - 1] == '8')) {
            const auto open = out.find('(', i + 2);
            if (open == std::string::npos) {
                ++i;
                continue;
            }
            const std::string closing = ")" + out.substr(i + 2, open - (i + 2)) + "\"";
            const auto end = out.find(closing, open + 1);
            const auto stop = end == std::string::npos ? out.size() : end + closing.size();
            blank(out, i + 1, stop);
            i = stop;
        } else if (c == '"' ||
                   (c == '\'' && (i == 0 || !std::isxdigit(static_cast<unsigned char>(out[i - 1]))))) {
            // A quote after a hex digit is a digit separator (1'000), not a literal.
            std::size_t j = i + 1;
            while (j < out.size() && out[j] != c && out[j] != '\n') {
                j += out[j] == '\\' ? 2 : 1;
            }
            const auto stop = j < out.size() ? j + 1 : out.size();
            blank(out, i, stop);
            i = stop;
        } else {
            ++i;
        }
    }
    return out;
}

namespace {

// The statements of `source` (split at `;`, `{` and `}`, comments and
// literals blanked) that `matches`.
template <class Matches>
std::vector<Finding> statements_where(std::string_view source, Matches matches) {
    const auto code = blank_comments_and_literals(source);
    std::vector<Finding> findings;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= code.size(); ++i) {
        if (i < code.size() && code[i] != ';' && code[i] != '{' && code[i] != '}') {
            continue;
        }
        const std::string_view statement(code.data() + start, i - start);
        if ((has_word(statement, "co_await") || has_word(statement, "co_yield")) && matches(statement)) {
            const auto at = start + statement.find("co_");
            const auto line =
                1 + std::count(code.begin(), code.begin() + static_cast<std::ptrdiff_t>(at), '\n');
            findings.push_back({static_cast<int>(line), std::string(source.substr(start, i - start))});
        }
        start = i + 1;
    }
    return findings;
}

}  // namespace

std::vector<Finding> await_with_conditional(std::string_view source) {
    return statements_where(
        source, [](std::string_view statement) { return statement.find('?') != std::string_view::npos; });
}

std::vector<Finding> await_in_loop_condition(std::string_view source) {
    return statements_where(source, [](std::string_view statement) {
        const auto first = statement.find_first_not_of(" \t\r\n");
        return first != std::string_view::npos && statement.substr(first, 5) == "while" &&
               (statement.size() == first + 5 ||
                !std::isalnum(static_cast<unsigned char>(statement[first + 5])));
    });
}

}  // namespace agentlb::lint
