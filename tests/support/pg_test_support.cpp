#include "pg_test_support.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>

namespace ssehub::test {

std::string create_test_database(std::string* name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string db = std::string(info->test_suite_name()) + "_" + info->name();
  std::transform(db.begin(), db.end(), db.begin(), [](unsigned char c) {
    return std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '_';
  });
  if (db.size() > 60) {
    // Cut to Postgres's limit; the hash keeps names that differ only at the end
    // (the parameter of a parameterised test) apart.
    char hash[12];
    std::snprintf(hash, sizeof hash, "_%08zx", std::hash<std::string>{}(db)&0xffffffffu);
    db = db.substr(0, 51) + hash;
  }
  if (name) *name = db;
  return PostgresServer::shared().create_database(db);
}

void PostgresTest::SetUp() {
  url_ = create_test_database(&db_);
}

Env PostgresTest::pg_env(const Env& extra) const {
  Env env{{"SSEHUB_STORE_KIND", "postgres"},
          {"SSEHUB_STORE_POSTGRES_URL", url_},
          {"SSEHUB_STREAM_HEARTBEAT_MS", "200"}};
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

std::string PostgresTest::scalar(const std::string& sql) {
  auto rows = pg().query(db_, sql);
  if (rows.empty() || rows[0].empty()) return "";
  return rows[0][0];
}

bool open_ready(SseStream& s) {
  int status = s.read_head();
  EXPECT_EQ(status, 200);
  if (status != 200) return false;
  auto ready = s.next_non_heartbeat();
  EXPECT_TRUE(ready && ready->type == "ready");
  return ready && ready->type == "ready";
}

}  // namespace ssehub::test
