#ifndef CRM_SQLITE_PROCESS_SETTINGS_H
#define CRM_SQLITE_PROCESS_SETTINGS_H

/// SQLite settings of the whole process, which SQLite accepts only before it is first used
/// (`sqlite3_config`, which Swift cannot call: it is variadic). A constructor makes them when the
/// program is loaded, before any Swift code runs, in every executable and test that links
/// ServiceRuntime.
///
/// The one setting: memory statistics off (`SQLITE_CONFIG_MEMSTATUS`). The system's SQLite counts
/// every allocation under one process-wide mutex, so the store's reader threads and writers waited
/// on each other in every `sqlite3_malloc` and `sqlite3_free` (the history of docs/BENCHMARKS.md, "A fresh one-run
/// comparison"). Nothing here reads those statistics (`sqlite3_memory_used`, the heap limits).
///
/// Returns SQLite's result code of turning them off: 0 (SQLITE_OK) when done.
int crm_sqlite_memory_statistics_off_result(void);

#endif
