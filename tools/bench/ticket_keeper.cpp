#include "tools/bench/ticket_keeper.hpp"

#include "tools/bench/sim_agent.hpp"

#include <stdexcept>

namespace agentlb::bench {

namespace {

int agent_index() {
    static const int index = [] {
        const int i = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
        if (i < 0) {
            throw std::runtime_error("OpenSSL: cannot register SSL ex_data index");
        }
        return i;
    }();
    return index;
}

int on_new_session(SSL* ssl, SSL_SESSION* session) {
    if (auto* agent = static_cast<SimAgent*>(SSL_get_ex_data(ssl, agent_index()))) {
        agent->keep_ticket(session);
    }
    return 0;  // the agent keeps a copy, not this reference
}

}  // namespace

void install_ticket_keeper(SSL_CTX* ctx) {
    (void)agent_index();
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
}

void attach_agent(SSL* ssl, SimAgent* agent) {
    SSL_set_ex_data(ssl, agent_index(), agent);
}

}  // namespace agentlb::bench
