#pragma once

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it when
// the object goes away.

#include <filesystem>
#include <string>

namespace agentlb::test {

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

}  // namespace agentlb::test
