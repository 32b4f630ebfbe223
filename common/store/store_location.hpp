#pragma once

// What a --db value names, and how it may be shown. A value is never logged,
// printed or put in an error as given: it may carry a password.

#include <string>
#include <string_view>

namespace agentlb::store {

enum class Backend { sqlite, postgresql };

// PostgreSQL for a `postgresql://` or `postgres://` URI, or for a libpq
// key=value string (it starts with a word and `=`, as in "host=db1
// dbname=agentlb"); anything else is the path of an SQLite file. A file whose
// name starts that way is written as ./name.
Backend backend_of(std::string_view db);

// `db` with every password replaced by "***": the URI's user:password@ and
// password= query parameter, or a key=value string's password value. Kept
// otherwise as given, so an operator recognises it. A key=value string that
// does not parse is not shown past its first password keyword.
std::string shown_location(std::string_view db);

}  // namespace agentlb::store
