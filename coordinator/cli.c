/* cli.c: shared command-line helpers for the subcommands (see cli.h). */
#include "coordinator/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coordinator/policy_cli.h"

static volatile sig_atomic_t g_stop = 0;
static const char *g_argv0 = "swan";

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

void swan_cli_init(const char *argv0) {
    if (argv0 && *argv0) g_argv0 = argv0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed pipe or socket is an error return, not a death */
}

volatile sig_atomic_t *swan_cli_stop_flag(void) {
    return &g_stop;
}

const char *swan_cli_argv0(void) {
    return g_argv0;
}

/* The one printer of both: `swan CMD: [warning: ]MESSAGE`, and for a refusal the hint
 * line after it. */
static void say(const char *cmd, bool refusal, const char *fmt, va_list ap) {
    fprintf(stderr, "swan %s: %s", cmd, refusal ? "" : "warning: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    if (refusal) fprintf(stderr, "try 'swan %s --help'\n", cmd);
}

int swan_cli_refuse(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    say(cmd, true, fmt, ap);
    va_end(ap);
    return SWAN_EXIT_REFUSED;
}

void swan_cli_warn(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    say(cmd, false, fmt, ap);
    va_end(ap);
}

int swan_cli_bad_value(const char *cmd, const char *flag, const char *expected, const char *value) {
    return swan_cli_refuse(cmd, "%s: expected %s, got '%s'", flag, expected, value);
}

int swan_cli_next(const char *cmd, int argc, char **argv, const char *shortopts,
                  const struct option *longopts) {
    /* "-" returns positionals in order (GNU and BSD), ":" makes a missing value come
     * back as ':' instead of getopt printing its own multi-format message. */
    char spec[128];
    if (snprintf(spec, sizeof spec, "-:%s", shortopts) >= (int)sizeof spec) return -1;
    opterr = 0;
    int c = getopt_long(argc, argv, spec, longopts, NULL);
    if (c != '?' && c != ':') return c;
    /* The offending word: the last one getopt consumed, or for a short option inside
     * a cluster (-qx), the letter itself. */
    const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
    char shortname[3] = {'-', (char)optopt, 0};
    bool is_long = word[0] == '-' && word[1] == '-';
    const char *flag = (!is_long && optopt) ? shortname : word;
    char longname[64];
    if (is_long) { /* --name=value: name only */
        size_t n = strcspn(word, "=");
        if (n >= sizeof longname) n = sizeof longname - 1;
        memcpy(longname, word, n);
        longname[n] = '\0';
        flag = longname;
    }
    if (c == ':')
        swan_cli_refuse(cmd, "%s: expected a value after it, got nothing", flag);
    else if (is_long && strchr(word, '='))
        swan_cli_refuse(cmd, "%s: unknown option, or one that takes no value", flag);
    else
        swan_cli_refuse(cmd, "%s: unknown option", flag);
    return SWAN_CLI_BAD;
}

int swan_cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
    if (!s || *s < '0' || *s > '9') return -1; /* no sign, no blank, not empty */
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE || *end || v < min || v > max) return -1;
    *out = (uint64_t)v;
    return 0;
}

int swan_cli_parse_double(const char *s, double min, double max, double *out) {
    if (!s || !*s || *s == ' ' || *s == '\t') return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v) || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int swan_cli_flag_u64(const char *cmd, const char *flag, const char *s, uint64_t min,
                      uint64_t max, uint64_t *out) {
    if (swan_cli_parse_u64(s, min, max, out) == 0) return 0;
    char expected[80];
    if (max == UINT64_MAX)
        snprintf(expected, sizeof expected, "a whole number >= %llu", (unsigned long long)min);
    else
        snprintf(expected, sizeof expected, "a whole number %llu..%llu", (unsigned long long)min,
                 (unsigned long long)max);
    swan_cli_bad_value(cmd, flag, expected, s);
    return -1;
}

int swan_cli_flag_int(const char *cmd, const char *flag, const char *s, int min, int max,
                      int *out) {
    uint64_t v;
    if (swan_cli_flag_u64(cmd, flag, s, (uint64_t)(min < 0 ? 0 : min), (uint64_t)max, &v)) return -1;
    *out = (int)v;
    return 0;
}

int swan_cli_flag_double(const char *cmd, const char *flag, const char *s, double min, double max,
                         double *out) {
    if (swan_cli_parse_double(s, min, max, out) == 0) return 0;
    char expected[80];
    snprintf(expected, sizeof expected, "a number %g..%g", min, max);
    swan_cli_bad_value(cmd, flag, expected, s);
    return -1;
}

int swan_cli_print(const char *text) {
    fputs(text, stdout); /* a failure stays in the stream's error flag for swan_cli_finish */
    return 0;
}

int swan_cli_finish(int status) {
    /* fflush then fclose: a close reports errors (NFS, full disk) a flush can miss;
     * the error flag also catches a failure of an earlier, unchecked write. */
    errno = 0;
    int bad = fflush(stdout) != 0 || ferror(stdout);
    int saved = errno;
    if (fclose(stdout) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    if (bad && status == SWAN_EXIT_OK) {
        fprintf(stderr, "swan: cannot write to standard output: %s\n",
                saved ? strerror(saved) : "write error");
        return SWAN_EXIT_FAILED;
    }
    return status;
}

int swan_cli_check_out_dir(const char *cmd, const char *flag, const char *path) {
    if (!*path) {
        swan_cli_bad_value(cmd, flag, "a folder name", path);
        return -1;
    }
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return 0;
        swan_cli_refuse(cmd, "%s: '%s' exists and is not a folder", flag, path);
        return -1;
    }
    if (errno == ENOTDIR) {
        swan_cli_refuse(cmd, "%s: '%s': a part of the path is not a folder", flag, path);
        return -1;
    }
    return 0; /* absent: created by the run, after the input is validated */
}

int swan_cli_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void swan_cli_warn_jobs(const char *cmd, int jobs) {
    int cores = swan_cli_cores();
    if (jobs > 2 * cores)
        swan_cli_warn(cmd, "-j %d is far above the %d online core%s: workers will share cores "
                           "(no faster, more memory)",
                      jobs, cores, cores == 1 ? "" : "s");
}

int swan_cli_quiet_flag(void *ctx, int c, const char *arg) {
    (void)arg;
    if (c != 'q') return -1;
    *(bool *)ctx = true;
    return 0;
}

/* One more positional argument; -1 after refusing it when there are enough already. */
static int take_arg(const swan_cli_spec *spec, const char *arg, const char **args, int *nargs) {
    if (*nargs < spec->max_args) {
        args[(*nargs)++] = arg;
        return 0;
    }
    if (spec->args_hint)
        swan_cli_refuse(spec->cmd, "unexpected argument '%s' (%s)", arg, spec->args_hint);
    else
        swan_cli_refuse(spec->cmd, "unexpected argument '%s'", arg);
    return -1;
}

static int print_help(const swan_cli_spec *spec) {
    if (!spec->policy) return swan_cli_print(spec->help);
    printf(spec->help, swan_policy_cli_help); /* errors: see swan_cli_finish */
    return SWAN_EXIT_OK;
}

int swan_cli_parse(const swan_cli_spec *spec, int argc, char **argv, const char **args, int *nargs) {
    *nargs = 0;
    int c;
    while ((c = swan_cli_next(spec->cmd, argc, argv, spec->shortopts, spec->longopts)) != -1) {
        if (c == SWAN_CLI_BAD) return SWAN_EXIT_REFUSED;
        if (c == 'h') return print_help(spec);
        int rc;
        if (c == SWAN_CLI_POSITIONAL)
            rc = take_arg(spec, optarg, args, nargs);
        else if (spec->policy && swan_is_policy_opt(c)) {
            rc = swan_policy_cli_flag(spec->cmd, spec->policy, c, optarg);
            if (spec->policy_given) *spec->policy_given = true;
        } else
            rc = spec->flag ? spec->flag(spec->ctx, c, optarg) : -1;
        if (rc) return SWAN_EXIT_REFUSED;
    }
    for (; optind < argc; optind++) /* after "--" */
        if (take_arg(spec, argv[optind], args, nargs)) return SWAN_EXIT_REFUSED;
    if (*nargs < spec->min_args) return swan_cli_refuse(spec->cmd, "%s", spec->args_missing);
    for (int i = 0; i < *nargs && i < 2; i++)
        if (spec->arg_names[i] && !*args[i])
            return swan_cli_refuse(spec->cmd, "%s: expected a folder, got ''", spec->arg_names[i]);
    return SWAN_CLI_GO;
}
