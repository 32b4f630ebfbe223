#include "mgmt/io_pool.hpp"

#include <spdlog/spdlog.h>

namespace agentlb::mgmt {

IoPool::IoPool(int threads) {
    const int count = threads < 1 ? 1 : threads;
    for (int i = 0; i < count; ++i) {
        // Concurrency hint 1: each context is run by exactly one thread.
        contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
        guards_.emplace_back(contexts_.back()->get_executor());
    }
}

IoPool::~IoPool() {
    stop();
}

boost::asio::io_context& IoPool::next() {
    return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoPool::run() {
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < contexts_.size(); ++i) {
        threads.emplace_back([context = contexts_[i].get()] { context->run(); });
    }
    contexts_.front()->run();
    // main() ends only through stop(), which stops the others too.
    for (auto& thread : threads) {
        thread.join();
    }
}

void IoPool::stop() {
    for (auto& context : contexts_) {
        context->stop();
    }
}

}  // namespace agentlb::mgmt
