#include "common/wire/messages.hpp"

#include "client/agentlb_client.hpp"
#include "common/util/base64.hpp"
#include "common/util/text.hpp"
#include "common/wire/error.hpp"
#include "common/wire/field_reader.hpp"

#include <nlohmann/json.hpp>

#include <exception>
#include <limits>
#include <type_traits>
#include <utility>

namespace agentlb::wire {
namespace {

using detail::describe_json_type;
using detail::FieldReader;
using detail::Problem;
using nlohmann::json;

// --- encoding: one write() per message, fields only ("type"/"v" added once) ---

void write(json& j, const Hello& m) {
    j["name"] = m.name;
    j["zone"] = m.zone;
    j["list"] = m.list;
    j["interval"] = m.interval;
    j["version"] = m.version;
    if (!m.trusts.empty()) {
        j["trusts"] = m.trusts;
    }
    if (m.app) {
        j["app"] = true;
    }
}
void write(json& j, const Ping& m) {
    j["seq"] = m.seq;
    if (m.rtt_us) {
        j["rtt_us"] = *m.rtt_us;
    }
}
void write(json& j, const Pong& m) {
    j["seq"] = m.seq;
}
void write(json& j, const Ack& m) {
    j["seq"] = m.seq;
}
void write(json& j, const Renew& m) {
    j["csr"] = m.csr;
}
json renewal_json(const Renewal& r) {
    return json{
        {"key_type", r.key_type}, {"fraction_permille", r.fraction_permille}, {"automatic", r.automatic}};
}
void write(json& j, const MsList& m) {
    j["seq"] = m.seq;
    j["list"] = m.list;
    j["algorithm"] = m.algorithm;
    j["interval"] = m.interval;
    j["avoid"] = m.avoid;
    if (m.renewal) {
        j["renewal"] = renewal_json(*m.renewal);
    }
}
void write(json& j, const Welcome& m) {
    j["host_id"] = m.host_id;
    j["server"] = m.server;
    j["heartbeat_interval"] = m.heartbeat_interval;
    if (m.correction) {
        json correction = json::object();
        write(correction, *m.correction);
        j["correction"] = std::move(correction);
    }
    if (m.renewal) {
        j["renewal"] = renewal_json(*m.renewal);
    }
}
void write(json& j, const Migrate& m) {
    j["reason"] = m.reason;
    j["avoid"] = m.avoid;
    if (!m.to.empty()) {
        j["to"] = m.to;
    }
}
void write(json& j, const Certificate& m) {
    j["certificate"] = m.certificate;
    j["ca"] = m.ca;
    if (!m.chain.empty()) {
        j["chain"] = m.chain;
    }
}
void write(json& j, const Trust& m) {
    j["cas"] = m.cas;
}
void write(json&, const Reissue&) {}
void write(json& j, const Error& m) {
    j["code"] = m.code;
    j["message"] = m.message;
}
void write(json& j, const EnrollRequest& m) {
    j["token"] = m.token;
    j["csr"] = m.csr;
    j["name"] = m.name;
    j["zone"] = m.zone;
}
void write(json& j, const EnrollResponse& m) {
    j["host_id"] = m.host_id;
    j["name"] = m.name;
    j["zone"] = m.zone;
    j["certificate"] = m.certificate;
    j["ca"] = m.ca;
    if (!m.chain.empty()) {
        j["chain"] = m.chain;
    }
    j["list"] = m.list;
    j["algorithm"] = m.algorithm;
    j["interval"] = m.interval;
}
void write(json& j, const RenewExpired& m) {
    j["certificate"] = m.certificate;
    j["csr"] = m.csr;
    j["signature"] = m.signature;
}

void write(json& j, const App& m) {
    j["kind"] = m.kind;
    j["app"] = m.app;
    j["epoch"] = m.epoch;
    j["sequence"] = m.sequence;
    if (m.floor != 0) {
        j["floor"] = m.floor;
    }
    if (m.reply_to != 0) {
        j["reply_to"] = m.reply_to;
    }
    if (!m.content_type.empty()) {
        j["content_type"] = m.content_type;
    }
    if (!m.payload.empty()) {
        j["payload"] = util::base64_encode(m.payload);
    }
}

// --- decoding: one read() per message; FieldReader records the first problem ---

void read(FieldReader& f, Hello& m) {
    m.name = f.string("name");
    m.zone = f.string("zone");
    m.list = f.string("list");
    m.interval = f.non_negative("interval");
    m.version = f.optional_string("version");
    m.trusts = f.optional_strings("trusts");
    m.app = f.optional_boolean("app");
}
void read(FieldReader& f, Ping& m) {
    m.seq = f.non_negative("seq");
    m.rtt_us = f.optional_non_negative("rtt_us");
}
void read(FieldReader& f, Pong& m) {
    m.seq = f.non_negative("seq");
}
void read(FieldReader& f, Ack& m) {
    m.seq = f.non_negative("seq");
}
void read(FieldReader& f, Renew& m) {
    m.csr = f.string("csr");
}
std::optional<Renewal> read_renewal(FieldReader& f) {
    const auto* object = f.optional_object("renewal");
    if (object == nullptr) {
        return std::nullopt;
    }
    auto nested = f.nested(*object, "renewal");
    Renewal r;
    r.key_type = nested.string("key_type");
    r.fraction_permille = nested.non_negative("fraction_permille");
    r.automatic = nested.boolean("automatic");
    return r;
}
void read(FieldReader& f, MsList& m) {
    m.seq = f.non_negative("seq");
    m.list = f.strings("list");
    m.algorithm = f.string("algorithm");
    m.interval = f.non_negative("interval");
    m.avoid = f.strings("avoid");
    m.renewal = read_renewal(f);
}
void read(FieldReader& f, Welcome& m) {
    m.host_id = f.non_negative("host_id");
    m.server = f.string("server");
    m.heartbeat_interval = f.non_negative("heartbeat_interval");
    if (const auto* object = f.optional_object("correction")) {
        auto nested = f.nested(*object, "correction");
        MsList correction;
        read(nested, correction);
        m.correction = std::move(correction);
    }
    m.renewal = read_renewal(f);
}
void read(FieldReader& f, Migrate& m) {
    m.reason = f.string("reason");
    m.avoid = f.optional_strings("avoid");
    m.to = f.optional_strings("to");
}
void read(FieldReader& f, Certificate& m) {
    m.certificate = f.string("certificate");
    m.ca = f.string("ca");
    m.chain = f.optional_string("chain");
}
void read(FieldReader& f, Trust& m) {
    m.cas = f.strings("cas");
}
void read(FieldReader&, Reissue&) {}
void read(FieldReader& f, Error& m) {
    m.code = f.string("code");
    m.message = f.string("message");
}
void read(FieldReader& f, EnrollRequest& m) {
    m.token = f.string("token");
    m.csr = f.string("csr");
    m.name = f.string("name");
    m.zone = f.string("zone");
}
void read(FieldReader& f, EnrollResponse& m) {
    m.host_id = f.non_negative("host_id");
    m.name = f.string("name");
    m.zone = f.string("zone");
    m.certificate = f.string("certificate");
    m.ca = f.string("ca");
    m.chain = f.optional_string("chain");
    m.list = f.strings("list");
    m.algorithm = f.string("algorithm");
    m.interval = f.non_negative("interval");
}
void read(FieldReader& f, RenewExpired& m) {
    m.certificate = f.string("certificate");
    m.csr = f.string("csr");
    m.signature = f.string("signature");
}

void read(FieldReader& f, App& m) {
    m.kind = f.string("kind");
    m.app = f.string("app");
    m.epoch = f.non_negative("epoch");
    m.sequence = f.non_negative("sequence");
    m.floor = f.optional_non_negative("floor").value_or(0);
    m.reply_to = f.optional_non_negative("reply_to").value_or(0);
    m.content_type = f.optional_string("content_type");
    const std::string payload = f.optional_string("payload");
    if (!f.ok()) {
        return;
    }
    // The base64 text of the largest payload, before decoding anything longer.
    if (payload.size() > (client::kMaxPayload + 2) / 3 * 4) {
        f.invalid("payload",
                  "of " + std::to_string(payload.size()) + " base64 characters: at most " +
                      std::to_string(client::kMaxPayload) + " bytes once decoded");
        return;
    }
    auto bytes = util::base64_decode(payload);
    if (!bytes) {
        f.invalid("payload", "is not base64 (RFC 4648, padded)");
        return;
    }
    m.payload = std::move(*bytes);
    if (const auto problem = app_problem(m); !problem.empty()) {
        f.invalid_message(problem);
    }
}

void write(json& j, const Relay& m) {
    write(j, m.app);
    j["to"] = m.to;
    j["host"] = m.host;
}

void read(FieldReader& f, Relay& m) {
    m.to = f.string("to");
    m.host = f.string("host");
    if (!f.ok()) {
        return;
    }
    if (m.to != Relay::kToHost && m.to != Relay::kToApp) {
        f.invalid("to", "must be \"host\" or \"app\"");
        return;
    }
    if (const auto problem = client::name_problem("the name", m.host); !problem.empty()) {
        f.invalid("host", problem);
        return;
    }
    read(f, m.app);
}

// Tries each alternative of Message whose kType equals `type`; false when none does.
template <class T>
bool decode_if(std::string_view type, FieldReader& f, Message& out) {
    if (T::kType != type) {
        return false;
    }
    T message;
    read(f, message);
    if (f.ok()) {
        out = std::move(message);
    }
    return true;
}

template <std::size_t... I>
bool decode_known(std::string_view type, FieldReader& f, Message& out, std::index_sequence<I...>) {
    return (decode_if<std::variant_alternative_t<I, Message>>(type, f, out) || ...);
}

boost::system::error_code refuse(errc code, std::string text, std::string& detail) {
    detail = std::move(text);
    return code;
}

boost::system::error_code decode_object(const json& j, Message& out, std::string& detail) {
    const auto type_it = j.find("type");
    if (type_it == j.end()) {
        return refuse(errc::missing_field, "field \"type\": missing", detail);
    }
    if (!type_it->is_string()) {
        return refuse(errc::wrong_type,
                      "field \"type\": expected a string, got " + describe_json_type(*type_it),
                      detail);
    }
    const auto& type = type_it->get_ref<const std::string&>();

    const auto v_it = j.find("v");
    if (v_it == j.end()) {
        return refuse(errc::missing_field, "field \"v\": missing", detail);
    }
    if (v_it->is_number_unsigned()) {
        const auto v = v_it->get<std::uint64_t>();
        if (v != static_cast<std::uint64_t>(kProtocolVersion)) {
            return refuse(errc::unsupported_version,
                          "protocol version " + std::to_string(v) + " is not supported (this build speaks " +
                              std::to_string(kProtocolVersion) + ")",
                          detail);
        }
    } else if (v_it->is_number_integer()) {
        // Only negative values land here.
        return refuse(errc::unsupported_version,
                      "protocol version " + std::to_string(v_it->get<std::int64_t>()) + " is not supported",
                      detail);
    } else {
        return refuse(
            errc::wrong_type, "field \"v\": expected an integer, got " + describe_json_type(*v_it), detail);
    }

    Problem problem;
    FieldReader reader(j, type, problem);
    if (!decode_known(type, reader, out, std::make_index_sequence<std::variant_size_v<Message>>{})) {
        return refuse(errc::unknown_type,
                      "unknown message type " + util::peer_text(type, 64, util::Quoted::yes),
                      detail);
    }
    if (problem.ec) {
        detail = std::move(problem.detail);
        return problem.ec;
    }
    detail.clear();
    return {};
}

}  // namespace

std::optional<client::Frame> app_frame(const App& app) {
    client::Frame frame;
    if (app.kind == "message") {
        frame.kind = client::FrameKind::message;
    } else if (app.kind == "ack") {
        frame.kind = client::FrameKind::ack;
    } else if (app.kind == "undeliverable") {
        frame.kind = client::FrameKind::undeliverable;
    } else {
        return std::nullopt;
    }
    frame.epoch = static_cast<std::uint64_t>(app.epoch);
    frame.sequence = static_cast<std::uint64_t>(app.sequence);
    frame.floor = static_cast<std::uint64_t>(app.floor);
    frame.reply_to = static_cast<std::uint64_t>(app.reply_to);
    frame.peer = app.app;
    frame.content_type = app.content_type;
    frame.payload = app.payload;
    return frame;
}

std::optional<App> app_message(const client::Frame& frame) {
    App app;
    switch (frame.kind) {
        case client::FrameKind::message:
            app.kind = "message";
            break;
        case client::FrameKind::ack:
            app.kind = "ack";
            break;
        case client::FrameKind::undeliverable:
            app.kind = "undeliverable";
            break;
        default:
            return std::nullopt;
    }
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (frame.epoch > kMax || frame.sequence > kMax || frame.floor > kMax || frame.reply_to > kMax) {
        return std::nullopt;
    }
    app.epoch = static_cast<std::int64_t>(frame.epoch);
    app.sequence = static_cast<std::int64_t>(frame.sequence);
    app.floor = static_cast<std::int64_t>(frame.floor);
    app.reply_to = static_cast<std::int64_t>(frame.reply_to);
    app.app = frame.peer;
    app.content_type = frame.content_type;
    app.payload = frame.payload;
    return app;
}

std::string app_problem(const App& app) {
    const auto frame = app_frame(app);
    if (!frame) {
        return "kind " + util::peer_text(app.kind, 32, util::Quoted::yes) +
               " is not one of \"message\", \"ack\", \"undeliverable\"";
    }
    return client::frame_problem(*frame);
}

std::string_view message_type(const Message& message) noexcept {
    return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kType; }, message);
}

std::string encode_message(const Message& message) {
    json j = json::object();
    std::visit([&j](const auto& m) { write(j, m); }, message);
    j["type"] = message_type(message);
    j["v"] = kProtocolVersion;
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

boost::system::error_code decode_message(std::string_view payload, Message& out, std::string& detail) {
    try {
        json j;
        try {
            j = json::parse(payload);
        } catch (const json::parse_error& e) {
            // e.what() quotes the offending bytes: report only the position.
            return refuse(errc::malformed_json,
                          "payload is not valid JSON (error at byte " + std::to_string(e.byte) + ")",
                          detail);
        }
        if (!j.is_object()) {
            return refuse(errc::not_an_object,
                          "payload is " + describe_json_type(j) + ", expected a JSON object",
                          detail);
        }
        return decode_object(j, out, detail);
    } catch (const std::exception&) {
        // Not reachable by design (every access is type-checked first); a
        // peer must still never be able to throw through the session.
        return refuse(errc::malformed_json, "payload could not be decoded", detail);
    }
}

}  // namespace agentlb::wire
