/*
 * cupti_paths.c - the list of places libcupti is looked for (see cupti_paths.h).
 *
 * Runs once per process, when the CUDA driver initializes the collector:
 * a few string builds and at most a dozen glob() calls, no dlopen (the
 * loader in cupti.c tries the list).
 */
#include "capture/inject/cupti_paths.h"

#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/xalloc.h"

/* True when `s` is a non-empty string. */
static int paths_set(const char *s)
{
	return s && *s;
}

/* Appends a copy of `path` to `p` unless it is already there. O(n). */
static void paths_add(struct cupti_paths *p, const char *path)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->path[i], path))
			return;
	p->path = xgrow(p->path, &p->cap, p->n + 1, sizeof(*p->path));
	p->path[p->n++] = xstrdup(path);
}

/* Appends the printf-formatted path, or nothing when it does not fit in
 * 4096 bytes (no library can be opened by a longer path). */
static void paths_addf(struct cupti_paths *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void paths_addf(struct cupti_paths *p, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	int len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len > 0 && (size_t)len < sizeof(buf))
		paths_add(p, buf);
}

/* Appends dir/libcupti.so.<major> and dir/libcupti.so. */
static void paths_add_dir(struct cupti_paths *p, const char *dir, unsigned major)
{
	paths_addf(p, "%s/libcupti.so.%u", dir, major);
	paths_addf(p, "%s/libcupti.so", dir);
}

/* Appends every existing file matching the glob pattern, in glob's order. */
static void paths_add_glob(struct cupti_paths *p, const char *pattern)
{
	glob_t g;

	memset(&g, 0, sizeof(g));
	if (glob(pattern, 0, NULL, &g) == 0)
		for (size_t i = 0; i < g.gl_pathc; i++)
			paths_add(p, g.gl_pathv[i]);
	globfree(&g);
}

/* Appends the glob pattern formatted from `fmt` (skipped when too long). */
static void paths_add_globf(struct cupti_paths *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void paths_add_globf(struct cupti_paths *p, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	int len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len > 0 && (size_t)len < sizeof(buf))
		paths_add_glob(p, buf);
}

/* Appends the CUPTI libraries of the Python site folder `site` (a glob
 * pattern itself when it holds python3*): CUDA 13 wheels put every library
 * in nvidia/cu<major>/lib, CUDA 12 wheels CUPTI in nvidia/cuda_cupti/lib. */
static void paths_add_site(struct cupti_paths *p, const char *site, unsigned major)
{
	paths_add_globf(p, "%s/nvidia/cu%u/lib/libcupti.so.%u", site, major, major);
	paths_add_globf(p, "%s/nvidia/cuda_cupti/lib/libcupti.so.%u", site, major);
}

/* Appends the site folders of a Python installation or environment at
 * `prefix` (lib/python3.X/site-packages or dist-packages). */
static void paths_add_prefix(struct cupti_paths *p, const char *prefix, unsigned major)
{
	static const char *const kinds[] = {"site-packages", "dist-packages"};
	char site[4096];

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int len = snprintf(site, sizeof(site), "%s/lib/python3*/%s", prefix, kinds[i]);
		if (len > 0 && (size_t)len < sizeof(site))
			paths_add_site(p, site, major);
	}
}

void cupti_paths_env_from_process(struct cupti_paths_env *env, unsigned major, const char *build_libdir)
{
	memset(env, 0, sizeof(*env));
	env->explicit_path = getenv("TSTOP_CUPTI_LIBRARY");
	env->build_libdir = build_libdir;
	env->major = major;
	env->virtual_env = getenv("VIRTUAL_ENV");
	env->conda_prefix = getenv("CONDA_PREFIX");
	env->pythonpath = getenv("PYTHONPATH");
	env->home = getenv("HOME");
	env->root = "";
}

void cupti_paths_build(const struct cupti_paths_env *env, struct cupti_paths *out)
{
	const char *root = env->root ? env->root : "";
	unsigned major = env->major;
	char buf[4096];
	struct stat sb;

	/* 1. What the user named: a file, or a folder holding the library. */
	if (paths_set(env->explicit_path)) {
		if (stat(env->explicit_path, &sb) == 0 && S_ISDIR(sb.st_mode))
			paths_add_dir(out, env->explicit_path, major);
		else
			paths_add(out, env->explicit_path);
	}

	/* 2. The toolkit tstop was built against. */
	if (paths_set(env->build_libdir))
		paths_add_dir(out, env->build_libdir, major);

	/* 3. The dynamic linker's search: bare names. */
	paths_addf(out, "libcupti.so.%u", major);
	paths_add(out, "libcupti.so");

	/* 4. Toolkit places: the /usr/local/cuda link, then versioned
	 * toolkits of this major version (the link may point elsewhere). */
	static const char *const toolkit_dirs[] = {"lib64", "lib", "extras/CUPTI/lib64"};
	for (size_t i = 0; i < sizeof(toolkit_dirs) / sizeof(toolkit_dirs[0]); i++) {
		int len = snprintf(buf, sizeof(buf), "%s/usr/local/cuda/%s", root, toolkit_dirs[i]);
		if (len > 0 && (size_t)len < sizeof(buf))
			paths_add_dir(out, buf, major);
	}
	paths_add_globf(out, "%s/usr/local/cuda/targets/*/lib/libcupti.so.%u", root, major);
	for (size_t i = 0; i < sizeof(toolkit_dirs) / sizeof(toolkit_dirs[0]); i++)
		paths_add_globf(out, "%s/usr/local/cuda-%u*/%s/libcupti.so.%u", root, major, toolkit_dirs[i],
		                major);
	paths_add_globf(out, "%s/usr/local/cuda-%u*/targets/*/lib/libcupti.so.%u", root, major, major);

	/* 5. Python environments, the active ones first. */
	if (paths_set(env->virtual_env))
		paths_add_prefix(out, env->virtual_env, major);
	if (paths_set(env->conda_prefix))
		paths_add_prefix(out, env->conda_prefix, major);
	if (paths_set(env->pythonpath)) {
		const char *s = env->pythonpath;
		while (*s) {
			size_t len = strcspn(s, ":");
			if (len > 0 && len < sizeof(buf)) {
				memcpy(buf, s, len);
				buf[len] = '\0';
				paths_add_site(out, buf, major);
			}
			s += len;
			if (*s == ':')
				s++;
		}
	}
	if (paths_set(env->home)) {
		int len = snprintf(buf, sizeof(buf), "%s/.local", env->home);
		if (len > 0 && (size_t)len < sizeof(buf))
			paths_add_prefix(out, buf, major);
	}
	static const char *const prefixes[] = {"/usr/local", "/usr", "/opt/conda"};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		int len = snprintf(buf, sizeof(buf), "%s%s", root, prefixes[i]);
		if (len > 0 && (size_t)len < sizeof(buf))
			paths_add_prefix(out, buf, major);
	}
	/* Debian's own Python packages. */
	snprintf(buf, sizeof(buf), "%s/usr/lib/python3/dist-packages", root);
	paths_add_site(out, buf, major);
}

void cupti_paths_free(struct cupti_paths *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->path[i]);
	free(p->path);
	p->path = NULL;
	p->n = p->cap = 0;
}
