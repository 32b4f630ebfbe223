// agent.properties parsing and rewriting (common/props).
//
// Input: the file's text, optionally followed by "\0\0" and "key=value" to
// set. Properties: a refusal names the source and shows no raw control
// bytes; a parsed file serialises to text that parses to the same entries
// and serialises identically; get() agrees with entries(); a set() the
// contract allows reads back after serialise + parse, and leaves the other
// keys alone; erase() removes the key and nothing else.

#include "common/props/properties_file.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

using agentlb::props::PropertiesFile;

namespace {

PropertiesFile reparse(const PropertiesFile& file, const char* what) {
    auto again = PropertiesFile::parse(file.serialize(), "again");
    FUZZ_CHECK(again.ok(), what);
    return std::move(*again);
}

void check_entries_agree(const PropertiesFile& file) {
    for (const auto& [key, value] : file.entries()) {
        auto got = file.get(key);
        FUZZ_CHECK(got && *got == value, "get() returns the value entries() lists");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto split = input.find(std::string_view("\0\0", 2));
    const std::string_view text = input.substr(0, split);
    auto parsed = PropertiesFile::parse(text, "fuzz.properties");
    if (!parsed) {
        FUZZ_CHECK(parsed.error().rfind("fuzz.properties line ", 0) == 0, "a refusal names source and line");
        FUZZ_CHECK(agentlb::fuzz::free_of_control_bytes(parsed.error()), "a refusal is safe to print");
        return 0;
    }
    PropertiesFile& file = *parsed;
    check_entries_agree(file);
    const std::string serialized = file.serialize();
    const PropertiesFile again = reparse(file, "a serialised file parses");
    FUZZ_CHECK(again.entries() == file.entries(), "serialise + parse keeps every entry");
    FUZZ_CHECK(again.serialize() == serialized, "serialising is stable");

    if (split == std::string_view::npos) {
        return 0;
    }
    const std::string_view pair = input.substr(split + 2);
    const auto eq = pair.find('=');
    const std::string key(pair.substr(0, eq));
    const std::string value(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    const auto before = file.entries();
    try {
        file.set(key, value);
    } catch (const std::invalid_argument&) {
        return 0;  // the documented refusal of a pair that would not read back
    }
    const PropertiesFile after = reparse(file, "a file after set() parses");
    FUZZ_CHECK(after.get(key) == value, "a set() value reads back");
    for (const auto& [k, v] : before) {
        if (k != key) {
            FUZZ_CHECK(after.get(k) == v, "set() leaves the other keys alone");
        }
    }
    PropertiesFile erased = after;
    FUZZ_CHECK(erased.erase(key), "erase() finds the key just set");
    const PropertiesFile reread = reparse(erased, "a file after erase() parses");
    FUZZ_CHECK(!reread.get(key), "erase() removes every line of the key");
    for (const auto& [k, v] : before) {
        if (k != key) {
            FUZZ_CHECK(reread.get(k) == v, "erase() leaves the other keys alone");
        }
    }
    return 0;
}
