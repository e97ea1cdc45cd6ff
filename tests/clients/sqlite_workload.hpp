// The sqlite3 workload that the client tests (clients_test.cpp) and the client benchmark
// (bench/client_bench.cpp) both run, so that what is timed is what is checked.
#pragma once

#include <string>

namespace mmiotrace::clients {

// sqlite3's script for `rows` rows: in WAL mode, with the database and its WAL index mapped
// (mmap_size), a table filled by one INSERT (one transaction), an index, an update, a delete, a
// checkpoint, a few rows, the integrity check and the database's hash, read through the mapping
// once the checkpoint has put the pages there.
inline std::string sqlite_create_script(int rows) {
  return "PRAGMA journal_mode=WAL;\n"
         "PRAGMA mmap_size=268435456;\n"
         "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, value REAL);\n"
         "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<" +
         std::to_string(rows) +
         ")\n"
         "  INSERT INTO t SELECT x, printf('name-%d', x), x*1.5 FROM c;\n"
         "CREATE INDEX t_name ON t(name);\n"
         "UPDATE t SET value = value * 2 WHERE id % 7 = 0;\n"
         "DELETE FROM t WHERE id % 11 = 0;\n"
         "SELECT count(*), sum(value), min(name), max(name) FROM t;\n"
         "PRAGMA wal_checkpoint(TRUNCATE);\n"
         "SELECT name FROM t WHERE id BETWEEN 100 AND 105;\n"
         "PRAGMA integrity_check;\n"
         ".sha3sum\n";
}

}  // namespace mmiotrace::clients
