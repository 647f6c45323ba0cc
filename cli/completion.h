/*
 * completion: bash and zsh completion scripts made from the command table
 * (commands.c) and each command's option table, so that a new command or
 * option completes without anyone editing a script. `sandform completion
 * bash|zsh` prints one (a command not listed in --help); `make install`
 * installs both.
 */
#ifndef SF_CLI_COMPLETION_H
#define SF_CLI_COMPLETION_H

#include <stdio.h>

/* completion_print: the script for shell ("bash" or "zsh") on fp. 0, or
 * -1 for another shell (nothing printed). */
int completion_print(FILE *fp, const char *shell);

#endif
