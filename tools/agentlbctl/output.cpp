#include "tools/agentlbctl/output.hpp"

#include "common/util/text.hpp"

#include <algorithm>
#include <stdexcept>

namespace agentlb::ctl {

std::string display_text(std::string_view text) {
    return util::peer_text(text, text.size());
}

std::string quote(std::string_view text) {
    return util::peer_text(text, text.size(), util::Quoted::yes);
}

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::add_row(std::vector<std::string> cells) {
    if (cells.size() > headers_.size()) {
        throw std::logic_error("table row has more cells than the table has columns");
    }
    cells.resize(headers_.size());
    for (std::string& cell : cells) {
        cell = display_text(cell);
    }
    rows_.push_back(std::move(cells));
}

std::string Table::render() const {
    std::vector<std::size_t> widths(headers_.size(), 0);
    auto measure = [&widths](const std::vector<std::string>& cells) {
        for (std::size_t i = 0; i < cells.size(); ++i) {
            widths[i] = std::max(widths[i], cells[i].size());
        }
    };
    measure(headers_);
    for (const auto& row : rows_) {
        measure(row);
    }
    std::string out;
    auto emit = [&](const std::vector<std::string>& cells) {
        std::string line;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            line += cells[i];
            if (i + 1 < cells.size()) {
                line.append(widths[i] - cells[i].size() + 2, ' ');
            }
        }
        // An empty last cell would leave the padding of the one before it.
        while (!line.empty() && line.back() == ' ') {
            line.pop_back();
        }
        out += line;
        out += '\n';
    };
    emit(headers_);
    for (const auto& row : rows_) {
        emit(row);
    }
    return out;
}

void print_json(std::ostream& out, const Json& value) {
    out << value.dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
}

}  // namespace agentlb::ctl
