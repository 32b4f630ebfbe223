#pragma once

// The first steps of a child between fork and exec, shared by everything that
// starts agentlb processes (test support, agentlb-bench). Header-only so that
// it adds no library that tools would have to link from tests.

#include <csignal>
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace agentlb {

// In a child just forked from `parent`: dies with the parent (exits 127 at
// once when the parent is already gone), reads /dev/null, writes stdout to
// `out_fd` and stderr to `err_fd`, and unblocks every signal, whatever the
// parent's runner had blocked. Only async-signal-safe calls.
inline void prepare_forked_child(pid_t parent, int out_fd, int err_fd) noexcept {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
        ::_exit(127);
    }
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) {
        ::dup2(null_fd, 0);
    }
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace agentlb
