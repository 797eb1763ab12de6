#pragma once
// Helpers for tests of the Postgres store: a fresh database per test on the
// process's shared PostgresServer, and the daemon environment that points at it.

#include <gtest/gtest.h>

#include <string>

#include "postgres_server.hpp"
#include "test_support.hpp"

namespace ssehub::test {

// Creates a database named after the running test on PostgresServer::shared(); returns
// its URL. `name`, if given, gets the database's name.
std::string create_test_database(std::string* name = nullptr);

class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override;
  PostgresServer& pg() { return PostgresServer::shared(); }
  // The daemon's environment for store.kind postgres on this test's database.
  Env pg_env(const Env& extra = {}) const;
  // First column of the first row of `sql` on this test's database.
  std::string scalar(const std::string& sql);

  std::string db_;
  std::string url_;
};

// A stream that must open with `ready`; returns false (with a failure) otherwise.
bool open_ready(SseStream& s);

}  // namespace ssehub::test
