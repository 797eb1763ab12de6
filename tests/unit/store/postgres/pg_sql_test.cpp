#include "store/postgres/pg_sql.hpp"

#include <gtest/gtest.h>

namespace ssehub::pg {
namespace {

TEST(PgTextArray, QuotesEveryElementAndEscapesQuotesAndBackslashes) {
  EXPECT_EQ(text_array({}), "{}");
  EXPECT_EQ(text_array({"a"}), R"({"a"})");
  EXPECT_EQ(text_array({"a,b", "{x}", "NULL", ""}), R"({"a,b","{x}","NULL",""})");
  EXPECT_EQ(text_array({R"(say "hi")", R"(c:\dir)"}), R"({"say \"hi\"","c:\\dir"})");
  EXPECT_EQ(text_array({"{\"k\": [1, 2]}"}), R"({"{\"k\": [1, 2]}"})");
}

TEST(PgConnectTimeout, AddedOnceInEitherSyntax) {
  EXPECT_EQ(with_connect_timeout("postgresql://u@h:5432/db", 2),
            "postgresql://u@h:5432/db?connect_timeout=2");
  EXPECT_EQ(with_connect_timeout("postgres://h/db?sslmode=disable", 3),
            "postgres://h/db?sslmode=disable&connect_timeout=3");
  EXPECT_EQ(with_connect_timeout("host=h dbname=d", 2), "host=h dbname=d connect_timeout=2");
  EXPECT_EQ(with_connect_timeout("postgresql://h/db?connect_timeout=9", 2),
            "postgresql://h/db?connect_timeout=9");
}

TEST(PgSql, ConnectionDefaultsAddKeepalivesUnlessSet) {
  EXPECT_EQ(with_connection_defaults("postgresql://h/db?tcp_user_timeout=500"),
            "postgresql://h/db?tcp_user_timeout=500&connect_timeout=2&keepalives=1&"
            "keepalives_idle=10&keepalives_interval=5&keepalives_count=3");
  EXPECT_EQ(with_connection_defaults("host=h"),
            "host=h connect_timeout=2 keepalives=1 keepalives_idle=10 keepalives_interval=5 "
            "keepalives_count=3 tcp_user_timeout=10000");
}

TEST(PgFailureClass, MapsSqlstateAndConnectionState) {
  EXPECT_EQ(classify_failure("57014", false, false), FailureReason::timeout);
  EXPECT_EQ(classify_failure("", true, true), FailureReason::timeout);
  EXPECT_EQ(classify_failure("", true, false), FailureReason::unavailable);
  EXPECT_EQ(classify_failure("08006", false, false), FailureReason::unavailable);
  EXPECT_EQ(classify_failure("57P01", false, false), FailureReason::unavailable);
  EXPECT_EQ(classify_failure("57P03", false, false), FailureReason::unavailable);
  EXPECT_EQ(classify_failure("22P02", false, false), FailureReason::error);
  EXPECT_EQ(classify_failure("", false, false), FailureReason::error);
}

}  // namespace
}  // namespace ssehub::pg
