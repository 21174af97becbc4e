/*
 * cli.h - the subcommands of the taskgate binary (private to gateway/).
 *
 * main.c dispatches `taskgate <command> ...` to one of these. Each takes the
 * arguments after the command name (argv[0] is the command) and returns the
 * process exit status: 0 success, 1 the command's own failure (invalid policy,
 * failed check, unreachable store), 2 a usage error (unknown option, missing
 * argument), as documented in docs/cli.md.
 */
#ifndef TASKGATE_GATEWAY_CLI_H
#define TASKGATE_GATEWAY_CLI_H

#define GW_EXIT_OK 0
#define GW_EXIT_FAIL 1
#define GW_EXIT_USAGE 2

int gw_cmd_serve(int argc, char **argv);
int gw_cmd_version(int argc, char **argv);
int gw_cmd_policy(int argc, char **argv);
int gw_cmd_iam(int argc, char **argv);
int gw_cmd_audit(int argc, char **argv);

#endif
