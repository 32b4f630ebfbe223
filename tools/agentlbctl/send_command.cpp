#include "tools/agentlbctl/send_command.hpp"

#include "client/agentlb_client.hpp"
#include "tools/agentlbctl/output.hpp"

#include <chrono>
#include <unistd.h>

namespace agentlb::ctl {
namespace {

using namespace std::chrono_literals;

// Waits for the host's acknowledgement of `sequence`: "" once it came, else why not.
std::string wait_delivered(client::Client& app, std::uint64_t sequence, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        for (const auto& event : app.poll(std::max(left, 1ms))) {
            if (event.kind == client::Event::Kind::delivered && event.sequence >= sequence) {
                return "";
            }
            if (event.kind == client::Event::Kind::given_up && event.sequence == sequence) {
                return event.payload;
            }
        }
    }
    return "not acknowledged within " + std::to_string(timeout.count()) + " ms" +
           (app.connected() ? "" : " (" + app.last_error() + ")");
}

int run_send(Context& context, const CommandArgs& args) {
    const std::string host = args.positionals.at(0);
    const std::string socket = args.value("socket").value_or(kDefaultMgmtAppSocket);
    const std::string content_type = args.value("content-type").value_or("text/plain");
    std::int64_t seconds = 10;
    if (auto timeout = args.value("timeout")) {
        auto parsed = parse_positive_integer("--timeout", *timeout, 3600);
        if (!parsed) {
            return context.fail(kExitUsage, parsed.error());
        }
        seconds = *parsed;
    }
    const std::chrono::milliseconds timeout = std::chrono::seconds(seconds);
    const auto data = args.value("data");
    if (!data) {
        return context.fail(kExitUsage, "--data is required: the text to send");
    }

    client::ClientSettings settings;
    settings.ttl = timeout;
    // Unique among concurrent invocations: each is its own stream at the host.
    client::Client app(socket, "agentlbctl-" + std::to_string(::getpid()), settings);
    std::optional<std::uint64_t> sequence;
    try {
        if (args.has_flag("wait")) {
            std::string why;
            const auto answer = app.request(host, *data, content_type, timeout, &why);
            if (!answer) {
                return context.fail(kExitFailure, "no answer from " + host + ": " + why);
            }
            if (context.json()) {
                print_json(context.out(),
                           Json{{"host", host},
                                {"answer", answer->payload},
                                {"content_type", answer->content_type},
                                {"reply_to", answer->reply_to}});
            } else {
                context.out() << answer->payload << "\n";
            }
            return kExitOk;
        }
        sequence = app.send(host, *data, content_type);
    } catch (const client::ConnectionError& e) {
        return context.fail(kExitUsage, e.what());
    }
    const std::string why = wait_delivered(app, *sequence, timeout);
    if (!why.empty()) {
        return context.fail(kExitFailure, "not delivered to " + host + ": " + why);
    }
    if (context.json()) {
        print_json(context.out(), Json{{"host", host}, {"sequence", *sequence}, {"delivered", true}});
    } else {
        context.out() << "delivered to " << host << " (message " << *sequence << ")\n";
    }
    return kExitOk;
}

OptionsPtr send_options() {
    auto options = command_options();
    options->add_options()                                                                        //
        ("data", boost::program_options::value<std::string>(), "the text to send (required)")     //
        ("wait", "wait for the host's answer (a message that replies to this one) and print it")  //
        ("socket",
         boost::program_options::value<std::string>(),
         "the management server's --app-socket (default /run/agentlb/mgmt-app.sock)")  //
        ("content-type",
         boost::program_options::value<std::string>(),
         "the message's content type (default text/plain)")  //
        ("timeout",
         boost::program_options::value<std::string>(),
         "seconds to wait for the acknowledgement, or with --wait the answer, 1..3600 (default 10)");
    return options;
}

}  // namespace

std::vector<Command> send_commands() {
    return {
        {{"send"},
         "HOST --data TEXT [--wait]",
         "send a message to a host's own agent software through a server's --app-socket",
         "Exits 0 once the host acknowledged it (with --wait: once it answered; the answer is printed),\n"
         "1 when that did not happen in time, with the last reason a server gave. Run it on a\n"
         "management node, as a member of the socket's group. --json: {\"host\", \"sequence\",\n"
         "\"delivered\"}, or with --wait {\"host\", \"answer\", \"content_type\", \"reply_to\"}.",
         send_options(),
         {"HOST"},
         run_send},
    };
}

}  // namespace agentlb::ctl
