#include "tests/support/damaged_store.hpp"

#include "common/store/store.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace agentlb::test {

namespace {

// The database header stores the page size big-endian at offset 16; 1 means 65536.
std::uint32_t page_size_of(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    unsigned char header[18] = {};
    if (!in.read(reinterpret_cast<char*>(header), sizeof header)) {
        throw std::runtime_error("cannot read the header of " + path);
    }
    const std::uint32_t size = (static_cast<std::uint32_t>(header[16]) << 8) | header[17];
    return size == 1 ? 65536 : size;
}

}  // namespace

void write_damaged_store(const std::string& path,
                         const std::string& ca_pem,
                         const std::string& ca_fingerprint) {
    {
        auto store = store::open_sqlite_store(path, store::OpenMode::create);
        store->put_ca_certificate(ca_pem, ca_fingerprint);
        const std::string zone(400, 'z');
        for (int i = 0; i < 200; ++i) {
            store->create_token(
                store::TokenSpec{"token-hash-" + std::to_string(i), zone, std::nullopt, 100, 1});
        }
    }  // the last connection closes: SQLite checkpoints and removes the WAL
    if (std::filesystem::exists(path + "-wal")) {
        throw std::runtime_error(path + "-wal is still there after closing the store");
    }
    const std::uint32_t page = page_size_of(path);
    const auto pages = std::filesystem::file_size(path) / page;
    if (pages < 8) {
        throw std::runtime_error(path + " has only " + std::to_string(pages) + " pages");
    }
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    // Three quarters in: the join tokens' pages. The schema outgrew page 1
    // (schema v7), and its other pages lie before the tokens.
    file.seekp(static_cast<std::streamoff>((pages * 3 / 4) * page));
    const std::vector<char> garbage(2 * page, static_cast<char>(0xA5));
    if (!file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()))) {
        throw std::runtime_error("cannot overwrite pages of " + path);
    }
}

}  // namespace agentlb::test
