/*
 * ops_commands.h - the operations commands of `samverka`: export, the
 * directory form of import, and backup (docs/operations.md).  Kept out of
 * main.c; each returns the process exit code.
 */
#ifndef SV_OPS_COMMANDS_H
#define SV_OPS_COMMANDS_H

#include <stdbool.h>

extern const char sv_usage_export[];
extern const char sv_usage_backup[];

/* True when the arguments of `samverka import` name one export directory. */
bool sv_cmd_import_is_dump(int n, char **rest);

int sv_cmd_export(const char *db_uri, int n, char **rest);
int sv_cmd_import_dump(const char *db_uri, const char *dir);
int sv_cmd_backup(const char *db_uri, int n, char **rest);

#endif
