#include "common/core/config.h"

#include <catch2/catch.hpp>

using shareplane::Config;

TEST_CASE("config reads nova-style INI sections", "[unit]") {
  Config c;
  REQUIRE(c.ParseIni("# comment\n[DEFAULT]\ndebug = true\n\n[database]\n"
                     "connection = postgresql://x@h/db\n; other\n"
                     "[manila]\ntimeout=7\n",
                     "test.conf")
              .ok());
  CHECK(c.GetBool("DEFAULT", "debug", false));
  CHECK(c.GetString("database", "connection", "") == "postgresql://x@h/db");
  CHECK(c.GetInt("manila", "timeout", 0) == 7);
  CHECK(c.GetInt("manila", "missing", 3) == 3);
}

TEST_CASE("config errors name the file and line", "[unit]") {
  Config c;
  absl::Status s = c.ParseIni("[api]\nlisten_port 8774\n", "api.conf");
  REQUIRE(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(s.message()).find("api.conf:2") != std::string::npos);
  CHECK_FALSE(c.ParseIni("[broken\n", "x").ok());
}

TEST_CASE("command-line flags override config files", "[unit]") {
  char prog[] = "prog", a[] = "--api.listen_port=9999", b[] = "--debug",
       d[] = "--manila.endpoint=http://m/v2";
  char* argv[] = {prog, a, b, d};
  auto c = Config::FromArgs(4, argv, {});
  REQUIRE(c.ok());
  CHECK(c->GetInt("api", "listen_port", 0) == 9999);
  CHECK(c->GetBool("DEFAULT", "debug", false));
  CHECK(c->GetString("manila", "endpoint", "") == "http://m/v2");
}

TEST_CASE("a missing --config-file is an error", "[unit]") {
  char prog[] = "prog", a[] = "--config-file", b[] = "/nonexistent.conf";
  char* argv[] = {prog, a, b};
  CHECK(Config::FromArgs(3, argv, {}).status().code() ==
        absl::StatusCode::kNotFound);
}
