/*
 * leadroute: the command-line front end to libleadroute.
 *
 * Uses only the public API (<leadroute/leadroute.h>), so it doubles as an
 * example of loading a table, reading leads, evaluating and routing them;
 * ../sqlite_store.c (or, when --state is a connection string,
 * ../pg_store.c) is the host store that keeps the routing state from one
 * run to the next.
 * SPDX-License-Identifier: MIT
 */
#include "cli.h"

#include <signal.h>
#include <string.h>

static const char USAGE[] =
    "usage: leadroute [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "Route sales leads to reps with a decision table (docs/table-format.md)\n"
    "and a roster of reps and pools (docs/router.md).\n"
    "\n"
    "commands:\n"
    "  check TABLE               parse, compile and lint a table\n"
    "  eval TABLE LEADS.csv      evaluate every lead against the table\n"
    "  route --table TABLE --reps REPS.csv LEADS.csv\n"
    "                            assign every lead to a rep; the state persists\n"
    "                            in " CLI_DEFAULT_STATE " (or --state FILE, or\n"
    "                            --state postgresql://... for PostgreSQL)\n"
    "  tick --table TABLE --reps REPS.csv\n"
    "                            move the leads whose follow-up deadline passed\n"
    "  ack --table TABLE --reps REPS.csv KEY...\n"
    "                            record that reps followed these leads up\n"
    "  close --table TABLE --reps REPS.csv KEY...\n"
    "                            record that these leads are closed: their\n"
    "                            reps' open leads go down\n"
    "  simulate --table TABLE --reps REPS.csv LEADS.csv [--html REPORT.html]\n"
    "                            what-if routing on a copy of the state, with a\n"
    "                            summary and an HTML report\n"
    "  explain LEAD...           the recorded decisions of past leads\n"
    "  bench TABLE LEADS.csv     measure evaluation speed\n"
    "\n"
    "Records go to stdout as CSV or JSON lines (--format csv|jsonl), messages\n"
    "to stderr, one line each. '-' as a file name reads standard input (for\n"
    "one of the files). A table, roster or leads file is read whole, at most\n"
    "256 MiB of it: a larger one (or an endless one such as /dev/zero) is\n"
    "refused with exit status 2. Run 'leadroute COMMAND --help' for details.\n"
    "\n"
    "exit status: 0 clean, 1 findings (lint findings, leads skipped or\n"
    "unrouted; tick reports the rows of --leads it skips and still exits 0),\n"
    "2 bad usage or a file that could not be read or written\n";

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command COMMANDS[] = {
    { "check", cmd_check },       { "eval", cmd_eval },         { "bench", cmd_bench },
    { "route", cmd_route },       { "tick", cmd_tick },         { "ack", cmd_ack },
    { "close", cmd_close },       { "simulate", cmd_simulate }, { "explain", cmd_explain },
};

int main(int argc, char **argv)
{
#ifdef SIGPIPE
    /* A reader that goes away (| head) makes a write fail with EPIPE, which
     * the commands report and stop at, after the batch being printed is
     * committed; the signal would end the run with no word instead. */
    signal(SIGPIPE, SIG_IGN);
#endif
    if (argc < 2)
        return cli_usage_error(NULL, "%s", "missing command");
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0)
        return cli_print_usage(USAGE);
    if (strcmp(name, "--version") == 0) {
        printf("leadroute %s (libleadroute %s)\n", LEADROUTE_VERSION_STRING, leadroute_version_string());
        return cli_finish_output(EXIT_CLEAN);
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
        if (strcmp(name, COMMANDS[i].name) == 0)
            return COMMANDS[i].run(argc - 2, argv + 2);
    if (name[0] == '-')
        return cli_usage_error(NULL, "unknown option '%s'", name);
    return cli_usage_error(NULL, "unknown command '%s'", name);
}
