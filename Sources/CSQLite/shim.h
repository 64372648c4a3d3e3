#ifndef CVAULT_CSQLITE_SHIM_H
#define CVAULT_CSQLITE_SHIM_H
#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro Swift cannot import: it tells SQLite to copy bound bytes at once.
static inline sqlite3_destructor_type cvault_sqlite_transient(void) { return SQLITE_TRANSIENT; }
#endif
