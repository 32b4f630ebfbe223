// The one RFC 3339 formatter (certificates' dates, agentlbctl's tables and
// JSON, the admin API): UTC, whole seconds, a Z.

#include "common/util/rfc3339.hpp"

#include <catch2/catch.hpp>

using agentlb::util::days_from_civil;
using agentlb::util::format_rfc3339;

TEST_CASE("format_rfc3339 prints UTC with a Z") {
    CHECK(format_rfc3339(0) == "1970-01-01T00:00:00Z");
    CHECK(format_rfc3339(1'700'000'000) == "2023-11-14T22:13:20Z");
    CHECK(format_rfc3339(951'782'400) == "2000-02-29T00:00:00Z");
    CHECK(format_rfc3339(1'740'830'400) == "2025-03-01T12:00:00Z");
    CHECK(format_rfc3339(4'102'444'799) == "2099-12-31T23:59:59Z");
    CHECK(format_rfc3339(4'102'444'800) == "2100-01-01T00:00:00Z");
    CHECK(format_rfc3339(-1) == "1969-12-31T23:59:59Z");
    CHECK(days_from_civil(2000, 3, 1) == 11'017);
}
