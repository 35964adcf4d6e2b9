/*
 * launch.c - finding libtstop-inject.so and starting the program with it
 * (see launch.h).
 *
 * Exec failures are reported through a close-on-exec pipe: the child writes
 * its errno there when execvpe fails, and the parent reads either that or
 * end-of-file (the exec succeeded and closed the pipe). So "cannot start"
 * is known before tstop records anything. Everything the child needs is
 * built before fork: between fork and exec it only calls async-signal-safe
 * functions.
 */
#include "capture/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/proto.h"
#include "util/xalloc.h"

extern char **environ;

/* Whether `path` is a regular file we can read. */
static bool launch_readable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/* Writes the absolute form of existing file `path` to `out`. */
static int launch_absolute(const char *path, char *out, size_t cap, struct err *e)
{
	char buf[PATH_MAX];
	if (!realpath(path, buf))
		return err_errno(e, errno, "%s", path);
	if (strlen(buf) >= cap)
		return err_fmt(e, "%s: path too long", path);
	memcpy(out, buf, strlen(buf) + 1);
	return 0;
}

/* Looks for the collector in the three places, in order. */
int capture_find_collector(char *out, size_t cap, struct err *e)
{
	const char *env = getenv(PROTO_ENV_LIBRARY);
	if (env && *env) {
		if (!launch_readable_file(env))
			return err_fmt(e, "%s=%s: no such readable file", PROTO_ENV_LIBRARY, env);
		return launch_absolute(env, out, cap, e);
	}
	char build[PATH_MAX];
	snprintf(build, sizeof(build), "%s/%s", TSTOP_INJECT_BUILD_DIR, CAPTURE_COLLECTOR_NAME);
	if (launch_readable_file(build))
		return launch_absolute(build, out, cap, e);
	char exe[PATH_MAX], installed[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		snprintf(installed, sizeof(installed), "%s/%s/%s", exe, TSTOP_INJECT_RELPATH,
		         CAPTURE_COLLECTOR_NAME);
		if (launch_readable_file(installed))
			return launch_absolute(installed, out, cap, e);
	} else {
		snprintf(installed, sizeof(installed), "<tstop's directory>/%s/%s", TSTOP_INJECT_RELPATH,
		         CAPTURE_COLLECTOR_NAME);
	}
	return err_fmt(e, "the collector library %s was not found (looked for %s and %s); set %s to its path",
	               CAPTURE_COLLECTOR_NAME, build, installed, PROTO_ENV_LIBRARY);
}

/* Whether environment entry `entry` sets variable `name`. */
static bool launch_env_is(const char *entry, const char *name)
{
	size_t n = strlen(name);
	return !strncmp(entry, name, n) && entry[n] == '=';
}

/* "NAME=VALUE", allocated. */
static char *launch_env_pair(const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char *p = xmalloc(len);
	snprintf(p, len, "%s=%s", name, value);
	return p;
}

/* Whether the LD_PRELOAD list `list` (colon- or space-separated) already
 * names `lib`. */
static bool launch_preload_has(const char *list, const char *lib)
{
	size_t n = strlen(lib);
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ": ");
		if (len == n && !strncmp(p, lib, n))
			return true;
		p += len;
		if (*p)
			p++;
	}
	return false;
}

/* Builds the program's environment: ours without the variables we set
 * (and, started dormant with an attach directory, without that one), then
 * those. The caller frees every entry and the array. */
static char **launch_environment(const struct capture_launch_options *o, size_t *count)
{
	static const char *const ours[] = {
	    PROTO_ENV_SOCKET,        PROTO_ENV_LIBRARY, "CUDA_INJECTION64_PATH",
	    "NVTX_INJECTION64_PATH", "LD_PRELOAD",      PROTO_ENV_ATTACH};
	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **env = xcalloc(n + 8, sizeof(*env));
	size_t k = 0;
	const char *preload = getenv("LD_PRELOAD");
	bool set_dir = o->dormant && o->attach_dir;
	for (size_t i = 0; i < n; i++) {
		bool skip = set_dir && launch_env_is(environ[i], PROTO_ENV_ATTACH_DIR);
		for (size_t j = 0; j < sizeof(ours) / sizeof(ours[0]); j++)
			skip = skip || launch_env_is(environ[i], ours[j]);
		if (!skip)
			env[k++] = xstrdup(environ[i]);
	}
	if (o->dormant) {
		env[k++] = launch_env_pair(PROTO_ENV_ATTACH, "1");
		if (set_dir)
			env[k++] = launch_env_pair(PROTO_ENV_ATTACH_DIR, o->attach_dir);
	} else {
		env[k++] = launch_env_pair(PROTO_ENV_SOCKET, o->socket_path);
	}
	env[k++] = launch_env_pair(PROTO_ENV_LIBRARY, o->library);
	env[k++] = launch_env_pair("CUDA_INJECTION64_PATH", o->library);
	env[k++] = launch_env_pair("NVTX_INJECTION64_PATH", o->library);
	if (preload && *preload && !launch_preload_has(preload, o->library)) {
		size_t len = strlen(preload) + strlen(o->library) + 2;
		char *list = xmalloc(len);
		snprintf(list, len, "%s:%s", preload, o->library);
		env[k++] = launch_env_pair("LD_PRELOAD", list);
		free(list);
	} else {
		env[k++] = launch_env_pair("LD_PRELOAD", preload && *preload ? preload : o->library);
	}
	env[k] = NULL;
	*count = k;
	return env;
}

/* Frees an environment from launch_environment. */
static void launch_free_env(char **env, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(env[i]);
	free(env);
}

/* In the child: resets the signals, execs, reports errno on `fd` if exec
 * fails. Never returns. */
static void launch_child(const struct capture_launch_options *o, char **env, int fd)
{
	if (o->reset) {
		for (int sig = 1; sig < NSIG; sig++) {
			if (sigismember(o->reset, sig) == 1)
				signal(sig, SIG_DFL);
		}
	}
	execvpe(o->argv[0], o->argv, env);
	int err = errno;
	ssize_t w = write(fd, &err, sizeof(err));
	(void)w;
	_exit(127);
}

/* Forks and execs; see launch.h. */
pid_t capture_launch(const struct capture_launch_options *o, struct err *e)
{
	if (!o->argv || !o->argv[0] || !o->argv[0][0])
		return err_fmt(e, "no program to run");
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_errno(e, errno, "pipe");
	size_t nenv;
	char **env = launch_environment(o, &nenv);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		launch_child(o, env, pfd[1]);
	}
	int fork_errno = errno;
	close(pfd[1]);
	launch_free_env(env, nenv);
	if (pid < 0) {
		close(pfd[0]);
		return err_errno(e, fork_errno, "cannot start %s: fork", o->argv[0]);
	}
	int child_errno = 0;
	ssize_t n;
	do {
		n = read(pfd[0], &child_errno, sizeof(child_errno));
	} while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n == 0)
		return pid;
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(child_errno))
		return err_fmt(e, "cannot start %s: the child failed before exec", o->argv[0]);
	if (child_errno == ENOENT)
		return err_fmt(e, "cannot start %s: program not found", o->argv[0]);
	return err_errno(e, child_errno, "cannot start %s", o->argv[0]);
}

/* Execs the program in this process; see launch.h. */
int capture_exec(const struct capture_launch_options *o, int *errnum, struct err *e)
{
	*errnum = EINVAL;
	if (!o->argv || !o->argv[0] || !o->argv[0][0])
		return err_fmt(e, "no program to run");
	size_t nenv;
	char **env = launch_environment(o, &nenv);
	execvpe(o->argv[0], o->argv, env);
	*errnum = errno;
	launch_free_env(env, nenv);
	if (*errnum == ENOENT)
		return err_fmt(e, "cannot start %s: program not found", o->argv[0]);
	return err_errno(e, *errnum, "cannot start %s", o->argv[0]);
}
