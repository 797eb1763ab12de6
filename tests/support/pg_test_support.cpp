#include "pg_test_support.hpp"

#include <algorithm>
#include <cctype>

namespace ssehub::test {

void PostgresTest::SetUp() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  db_ = std::string(info->test_suite_name()) + "_" + info->name();
  std::transform(db_.begin(), db_.end(), db_.begin(), [](unsigned char c) {
    return std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '_';
  });
  db_ = db_.substr(0, 60);
  url_ = pg().create_database(db_);
}

Env PostgresTest::pg_env(Env extra) const {
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
