// The ceiling and floor scenarios: what the crypto and OpenSSL alone allow,
// measured without servers.

#include "tools/bench/report.hpp"
#include "tools/bench/scenario_support.hpp"
#include "tools/bench/scenarios.hpp"

#include <fmt/format.h>

namespace agentlb::bench {

using nlohmann::json;

namespace {

Rows ceiling_rows(const CryptoCeiling& c) {
    return {
        {"ECDSA P-256 sign/s (1 core)", fixed(c.speeds.sign_per_s, 0)},
        {"ECDSA P-256 verify/s (1 core)", fixed(c.speeds.verify_per_s, 0)},
        {"X25519 keygen/s (1 core)", fixed(c.speeds.keygen_per_s, 0)},
        {"X25519 derive/s (1 core)", fixed(c.speeds.derive_per_s, 0)},
        {"crypto per full handshake", fixed(c.cost_s * 1e6, 1) + " us (1 sign + 2 verify + keygen + derive)"},
        {"ceiling per core", fixed(c.per_core, 0) + " handshakes/s"},
        {"ceiling on " + std::to_string(c.cores) + " cores", fixed(c.ceiling, 0) + " handshakes/s"},
        {"simple model per core",
         fixed(c.simple_per_core, 0) + " handshakes/s (1 sign + 1 verify + 1 derive)"}};
}

Rows floor_rows(const FloorResult& f) {
    return {{"sessions (server side, socketpairs)", std::to_string(f.sessions)},
            {"server CPU per full handshake",
             fixed(f.server_handshake_us, 1) + " us (OpenSSL alone: " +
                 fixed(f.server_handshake_us > 0 ? 1e6 / f.server_handshake_us : 0, 0) +
                 " handshakes/s per core)"},
            {"the same with one session ticket", fixed(f.server_handshake_us_with_ticket, 1) + " us"},
            {"the same with one ticket after it", fixed(f.server_handshake_us_ticket_after, 1) + " us"},
            {"server CPU per resumed handshake", fixed(f.server_resumed_handshake_us, 1) + " us"},
            {"heap per session, RELEASE_BUFFERS", bytes_text(f.release_buffers.heap_per_session)},
            {"RSS per session, RELEASE_BUFFERS", bytes_text(f.release_buffers.rss_per_session)},
            {"heap per session, buffers kept", bytes_text(f.kept_buffers.heap_per_session)},
            {"RSS per session, buffers kept", bytes_text(f.kept_buffers.rss_per_session)},
            {"heap per session, a ticket sent after", bytes_text(f.ticket_after_handshake.heap_per_session)},
            {"RSS per session, a ticket sent after", bytes_text(f.ticket_after_handshake.rss_per_session)},
            {"heap, a ticket sent after, buffers kept",
             bytes_text(f.ticket_after_handshake_buffers_kept.heap_per_session)}};
}

}  // namespace

Status run_ceiling(RunContext& run) {
    auto c = run.ceiling();
    if (!c) {
        return fail(c.error());
    }
    json summary = common_summary(run, "ceiling");
    summary.update(ceiling_json(*c));
    emit(summary, "ceiling: full handshakes/s the crypto allows", ceiling_rows(*c));
    return success();
}

Status run_floor(RunContext& run) {
    auto f = run.floor();
    if (!f) {
        return fail(f.error());
    }
    json summary = common_summary(run, "floor");
    summary.update(floor_json(*f));
    emit(summary, "floor: OpenSSL's own memory per idle server session", floor_rows(*f));
    return success();
}

}  // namespace agentlb::bench
