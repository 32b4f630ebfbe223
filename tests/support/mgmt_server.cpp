#include "tests/support/mgmt_server.hpp"

#include "tests/support/ports.hpp"
#include "tests/support/wait.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <stdexcept>

#ifndef AGENTLB_MGMT_BIN
#error "AGENTLB_MGMT_BIN must be set by CMake ($<TARGET_FILE:agentlb-mgmt>)"
#endif

namespace agentlb::test {

std::string mgmt_binary() {
    return AGENTLB_MGMT_BIN;
}

std::vector<std::string> mgmt_command_line(const CaFixture& fixture,
                                           const std::string& name,
                                           const std::string& listen,
                                           const std::string& enroll_listen,
                                           const std::string& admin_listen) {
    return {mgmt_binary(),
            "--name",
            name,
            "--db",
            fixture.db_path(),
            "--ca-dir",
            fixture.ca_dir().string(),
            "--state-dir",
            (fixture.dir() / ("state-" + name)).string(),
            "--listen",
            listen,
            "--enroll-listen",
            enroll_listen,
            "--admin-listen",
            admin_listen,
            "--log-level",
            "debug"};
}

MgmtServer::MgmtServer(const CaFixture& fixture, std::string name, std::vector<std::string> extra_args)
    : name_(std::move(name)) {
    // A port picked free may be taken before the server binds it: the
    // server then exits 2 at once and we try other ports.
    for (int attempt = 0; attempt < 3; ++attempt) {
        port_ = free_port();
        enroll_port_ = free_port();
        admin_port_ = free_port();
        if (port_ == enroll_port_ || port_ == admin_port_ || enroll_port_ == admin_port_) {
            continue;
        }
        auto argv =
            mgmt_command_line(fixture, name_, loopback(port_), loopback(enroll_port_), loopback(admin_port_));
        // A --db among the extra arguments replaces the fixture's (a store
        // reached another way, e.g. as another PostgreSQL role).
        if (std::find(extra_args.begin(), extra_args.end(), std::string("--db")) != extra_args.end()) {
            const auto fixture_db = std::find(argv.begin(), argv.end(), std::string("--db"));
            argv.erase(fixture_db, fixture_db + 2);
        }
        argv.insert(argv.end(), extra_args.begin(), extra_args.end());
        process_ = std::make_unique<Process>(argv, fixture.dir() / (name_ + ".log"));
        const bool up = wait_until(
            [this] {
                return !process_->is_running() || http_get(admin_port_, "/healthz", 500ms).status == 200;
            },
            std::chrono::seconds(10),
            std::chrono::milliseconds(20));
        if (up && process_->is_running()) {
            return;
        }
        const auto code = process_->wait(std::chrono::seconds(1));
        if (!(code && *code == 2 && process_->log().find("Address already in use") != std::string::npos)) {
            throw std::runtime_error("agentlb-mgmt " + name_ + " did not start; its log:\n" +
                                     process_->log());
        }
    }
    throw std::runtime_error("agentlb-mgmt " + name_ + ": no free ports after 3 attempts");
}

MgmtServer::~MgmtServer() {
    if (!process_) {
        return;
    }
    const bool was_running = process_->is_running();
    std::optional<int> code;
    if (was_running) {
        // A server that still holds agents while another is up drains them
        // at SIGTERM (test agents do not move): a second SIGTERM ends it.
        code = stop(std::chrono::milliseconds(300));
        if (!code) {
            code = stop();
        }
    }
    if ((was_running && code != std::optional<int>(0)) || !sanitizer_clean()) {
        std::fprintf(stderr,
                     "agentlb-mgmt %s did not stop cleanly (exit %d); its log:\n%s\n",
                     name_.c_str(),
                     code.value_or(-1),
                     process_->log().c_str());
    }
}

std::optional<int> MgmtServer::stop(std::chrono::milliseconds timeout) {
    process_->kill(SIGTERM);
    return process_->wait(timeout);
}

bool MgmtServer::sanitizer_clean() const {
    const auto text = process_->log();
    return text.find("Sanitizer") == std::string::npos && text.find("runtime error:") == std::string::npos;
}

std::string MgmtServer::address() const {
    return loopback(port_);
}
std::string MgmtServer::enroll_address() const {
    return loopback(enroll_port_);
}

std::string MgmtServer::metrics() const {
    return http_get(admin_port_, "/metrics").body;
}

double MgmtServer::metric(const std::string& sample) const {
    return metric_value(metrics(), sample).value_or(0.0);
}

nlohmann::json MgmtServer::status() const {
    const auto response = http_get(admin_port_, "/v1/status");
    if (response.status != 200) {
        return nlohmann::json();
    }
    return nlohmann::json::parse(response.body, nullptr, false);
}

}  // namespace agentlb::test
