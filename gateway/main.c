/*
 * main.c - the entry point of the taskgate binary: picks the subcommand.
 *
 * Nothing else lives here, so that unit tests can link every other object of
 * gateway/. Each subcommand parses its own options (see cli.h).
 */
#include <stdio.h>
#include <string.h>

#include "gateway/cli.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"serve", gw_cmd_serve, "run the gateway (API listener and task endpoint)"},
	{"policy", gw_cmd_policy, "validate, simulate and test IAM policies"},
	{"iam", gw_cmd_iam, "validate, apply and export the IAM file (roles, users, keys)"},
	{"audit", gw_cmd_audit, "verify, query and export the decision log; its signing key"},
	{"version", gw_cmd_version, "print the version"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: taskgate <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n`taskgate <command> --help` describes each command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return GW_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return GW_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0)
		return gw_cmd_version(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "taskgate: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return GW_EXIT_USAGE;
}
