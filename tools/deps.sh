# Debian packages agentlb needs to build, and those its tests need too;
# sourced by test.sh, fuzz.sh and quickstart.sh. `agentlb_install_deps`
# installs what building needs, `agentlb_install_deps test` that and what the
# tests run (Chromium, promtool, HAProxy...). Installs only what is missing,
# with sudo when not root.

AGENTLB_BUILD_DEPS=(
    cmake ninja-build g++ pkg-config
    libboost1.74-dev libboost-program-options1.74-dev
    libssl-dev openssl libsqlite3-dev sqlite3
    nlohmann-json3-dev libspdlog-dev catch2
    procps iproute2 curl dpkg-dev
    libpq-dev postgresql-15 postgresql-client-15
    help2man
)

AGENTLB_TEST_DEPS=(
    man-db groff-base bash-completion
    chromium fonts-liberation python3
    prometheus
    haproxy
)

agentlb_install_deps() {
    local missing=()
    local pkg
    local wanted=("${AGENTLB_BUILD_DEPS[@]}")
    if [[ "${1:-}" == test ]]; then
        wanted+=("${AGENTLB_TEST_DEPS[@]}")
    fi
    for pkg in "${wanted[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    echo "installing Debian packages: ${missing[*]}"
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
