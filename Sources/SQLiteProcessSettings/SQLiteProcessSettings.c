#include <sqlite3.h>
#include "SQLiteProcessSettings.h"

static int memory_statistics_off_result = -1;

// Runs when the program is loaded: SQLite refuses sqlite3_config (SQLITE_MISUSE) once a
// connection has been opened.
__attribute__((constructor)) static void crm_sqlite_process_settings(void) {
    memory_statistics_off_result = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int crm_sqlite_memory_statistics_off_result(void) {
    return memory_statistics_off_result;
}
