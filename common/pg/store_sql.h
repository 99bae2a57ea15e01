// SQL helpers shared by the store's files (store.cc, store_actions.cc,
// store_outbox.cc); not for use outside common/.
#ifndef SHAREPLANE_COMMON_PG_STORE_SQL_H_
#define SHAREPLANE_COMMON_PG_STORE_SQL_H_

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace shareplane::store_sql {

inline std::string Str(const pqxx::field& f) {
  return f.is_null() ? std::string() : f.as<std::string>();
}

// Postgres text[] literal: every element quoted, so commas, quotes,
// braces, spaces or a NULL name stay text.
inline std::string ArrayLiteral(const std::vector<std::string>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : v[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

inline std::vector<std::string> ParseArray(const std::string& literal) {
  absl::string_view s = literal;
  if (s.size() >= 2) s = s.substr(1, s.size() - 2);
  return absl::StrSplit(s, ',', absl::SkipEmpty());
}

// Runs `sql` as the prepared statement `name` (prepared on first use on each
// connection; libpqxx treats a repeated identical prepare as a no-op).
template <typename... Args>
pqxx::result Prepared(pqxx::transaction_base& w, const char* name,
                      const std::string& sql, Args&&... args) {
  w.conn().prepare(name, sql);
  return w.exec_prepared(name, std::forward<Args>(args)...);
}

// Runs `sql` with parameters as a prepared statement named after the text's
// hash: every query of this file is parsed and planned once per connection,
// which is most of PostgreSQL's work on the short workflow statements.
template <typename... Args>
pqxx::result Exec(pqxx::transaction_base& w, const std::string& sql,
                  Args&&... args) {
  const std::string name =
      absl::StrCat("q", absl::Hex(std::hash<std::string>{}(sql)));
  return Prepared(w, name.c_str(), sql, std::forward<Args>(args)...);
}

// SQL rendering a timestamptz column as Nova does: 2013-09-23T13:37:00Z.
inline std::string Iso(const std::string& column) {
  return "to_char(" + column +
         " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";
}

// Nova's naive datetimes (launched_at, instance actions and events):
// 2018-04-25T01:26:36.341290, no zone.
inline std::string IsoMicros(const std::string& column) {
  return "to_char(" + column +
         " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')";
}

}  // namespace shareplane::store_sql

#endif  // SHAREPLANE_COMMON_PG_STORE_SQL_H_
