#include "certs/revocation.hpp"

#include <algorithm>

namespace agentlb::certs {
namespace {

std::string normalize(std::string_view serial) {
    const auto first = serial.find_first_not_of('0');
    serial = first == std::string_view::npos ? std::string_view("0") : serial.substr(first);
    std::string text(serial);
    std::transform(text.begin(), text.end(), text.begin(), [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return text;
}

bool is_normalized(std::string_view serial) {
    if (serial.empty() || (serial.front() == '0' && serial.size() > 1)) {
        return false;
    }
    return std::none_of(serial.begin(), serial.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

RevocationList::RevocationList() : snapshot_(std::make_shared<const Snapshot>()) {}

void RevocationList::replace(std::vector<std::string> serials) {
    for (auto& serial : serials) {
        serial = normalize(serial);
    }
    std::sort(serials.begin(), serials.end());
    serials.erase(std::unique(serials.begin(), serials.end()), serials.end());
    std::lock_guard writer(writer_mutex_);
    publish(std::make_shared<const Snapshot>(std::move(serials)));
}

void RevocationList::add(std::string_view serial) {
    std::string normalized = normalize(serial);
    std::lock_guard writer(writer_mutex_);
    auto current = snapshot();
    auto position = std::lower_bound(current->begin(), current->end(), normalized);
    if (position != current->end() && *position == normalized) {
        return;
    }
    Snapshot next;
    next.reserve(current->size() + 1);
    next.insert(next.end(), current->begin(), position);
    next.push_back(std::move(normalized));
    next.insert(next.end(), position, current->end());
    publish(std::make_shared<const Snapshot>(std::move(next)));
}

bool RevocationList::is_revoked(std::string_view serial) const {
    auto current = snapshot();
    if (is_normalized(serial)) {
        return std::binary_search(current->begin(), current->end(), serial, std::less<>());
    }
    return std::binary_search(current->begin(), current->end(), normalize(serial), std::less<>());
}

std::size_t RevocationList::size() const {
    return snapshot()->size();
}

std::shared_ptr<const RevocationList::Snapshot> RevocationList::snapshot() const {
    std::lock_guard lock(pointer_mutex_);
    return snapshot_;
}

void RevocationList::publish(std::shared_ptr<const Snapshot> next) {
    std::lock_guard lock(pointer_mutex_);
    snapshot_.swap(next);
    // The old snapshot is released here, after the lock, by `next`'s destructor.
}

}  // namespace agentlb::certs
