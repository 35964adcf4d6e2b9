/*
 * symbolize.c - stack frames to function, file and line with elfutils'
 * libdwfl (see symbolize.h for what is resolved, how addresses map, and
 * what is trusted).
 *
 * A symbolizer holds two tables, each an array plus an open-addressing hash
 * index: modules by path, and frames by (module, offset). A module entry
 * holds its state, the identity noted at first use, the ELF address of its
 * load base, and while open one Dwfl with that single module reported at
 * its link addresses (dwfl_report_elf with base 0 and add_p_vaddr, so
 * libdwfl's addresses are the file's own, plus the bias libdwfl reports).
 * A frame entry holds the result of its one lookup, found or not, with
 * private copies of the strings.
 *
 * Files are examined by this file before libdwfl sees them: opened
 * O_NONBLOCK (a FIFO or device never blocks us and is refused by fstat),
 * read with ELF_C_READ (no mapping, so a file truncated meanwhile gives read
 * errors, not SIGBUS), and handed to libdwfl as a duplicate of the checked
 * descriptor, so libdwfl reads the very file that was checked. libdwfl maps
 * the module while it is open; one truncated in place while open is the
 * case left (its own process would fault on it too). Separate debug files
 * are looked up by build-id only (dwfl_build_id_find_debuginfo), never with
 * dwfl_standard_find_debuginfo, which may ask a debuginfod server over the
 * network when DEBUGINFOD_URLS is set.
 */
#include "capture/symbolize.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/proto.h"
#include "util/xalloc.h"

#if TSTOP_HAVE_LIBDW
#include <dwarf.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#endif

#define SYM_NOTES_MAX 8u /* module notes per symbolizer; then one more saying so */

/* Whether `len` bytes at `path` are an absolute path without NULs: the
 * only module names a lookup tries. */
static bool sym_path_ok(const char *path, size_t len)
{
	return len > 1 && len < 4096 && path[0] == '/' && !memchr(path, '\0', len);
}

#if !TSTOP_HAVE_LIBDW

struct symbolize {
	bool noted;
};

/* This build has no libdw. */
bool symbolize_available(void)
{
	return false;
}

/* A symbolizer that only remembers whether it said so. */
struct symbolize *symbolize_new(void)
{
	return xcalloc(1, sizeof(struct symbolize));
}

/* Frees `sy`. */
void symbolize_delete(struct symbolize *sy)
{
	free(sy);
}

/* Resolves nothing; the first frame with a module path gets the note. */
int symbolize_frame(struct symbolize *sy, const char *module, size_t len, uint64_t module_offset,
                    struct symbolize_result *out, struct err *note)
{
	memset(out, 0, sizeof(*out));
	if (note)
		note->msg[0] = '\0';
	if (!sy->noted && sym_path_ok(module, len)) {
		sy->noted = true;
		if (note)
			err_fmt(note, "call stacks: this tstop was built without elfutils libdw: frames show "
			              "module and dynamic symbol only (no static functions, no file:line)");
	}
	return 0;
}

#else

#define SYM_BUILD_ID_MAX  64u
#define SYM_DIE_DEPTH_MAX 64u /* DIE nesting followed when looking for a function */
#define SYM_NONE          UINT32_MAX

#if UINTPTR_MAX > 0xffffffffu
#define SYM_CLASS ELFCLASS64
#else
#define SYM_CLASS ELFCLASS32
#endif
#if defined(__x86_64__)
#define SYM_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define SYM_MACHINE EM_AARCH64
#elif defined(__powerpc64__)
#define SYM_MACHINE EM_PPC64
#else
#define SYM_MACHINE EM_NONE /* not checked */
#endif

enum sym_state {
	SYM_UNREAD,   /* no frame asked yet */
	SYM_READY,    /* examined and usable (open or closed) */
	SYM_UNUSABLE, /* cannot be read, or not a usable ELF file */
	SYM_REPLACED, /* changed on disk since first use */
};

/* What is noted of a module file: build-id, and where and how big it is. */
struct sym_identity {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	unsigned char build_id[SYM_BUILD_ID_MAX];
	size_t build_id_len; /* 0: none */
};

struct sym_module {
	char *path; /* NUL-terminated copy */
	size_t len;
	uint32_t hash;
	enum sym_state state;
	struct sym_identity id;
	uint64_t base;     /* ELF address of the load base: first PT_LOAD p_vaddr, page-aligned */
	Dwfl *dwfl;        /* NULL while closed */
	Dwfl_Module *mod;  /* the one module of `dwfl` */
	uint64_t last_use; /* symbolizer clock, for closing the least recently used */
};

struct sym_frame {
	uint32_t module;
	uint32_t hash;
	uint64_t offset;
	bool found;
	char *function; /* NULL: unknown */
	uint64_t function_offset;
	char *file; /* NULL: no line */
	uint32_t line;
};

/* An index slot: item index + 1 (0: empty) and its hash. */
struct sym_slot {
	uint32_t item;
	uint32_t hash;
};

struct sym_index {
	struct sym_slot *slots;
	size_t cap; /* 0 or a power of two */
	size_t count;
};

struct symbolize {
	struct sym_module *modules;
	size_t nmodules, modules_cap;
	struct sym_frame *frames;
	size_t nframes, frames_cap;
	struct sym_index module_index, frame_index;
	size_t open;    /* modules with a Dwfl */
	uint64_t clock; /* lookups so far */
	uint64_t page;  /* page size */
	unsigned notes; /* module notes given */
};

/* No main file is ever looked for (each module is reported with its file);
 * separate debug files by build-id only (see the file comment). */
static int sym_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                        char **file_name, Elf **elfp)
{
	return -1;
}

static const Dwfl_Callbacks sym_callbacks = {
    .find_elf = sym_find_elf,
    .find_debuginfo = dwfl_build_id_find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

/* This build has libdw. */
bool symbolize_available(void)
{
	return true;
}

/* Creates an empty symbolizer. */
struct symbolize *symbolize_new(void)
{
	struct symbolize *sy = xcalloc(1, sizeof(*sy));
	long page = sysconf(_SC_PAGESIZE);
	sy->page = page > 0 && (page & (page - 1)) == 0 ? (uint64_t)page : 4096u;
	elf_version(EV_CURRENT);
	return sy;
}

/* Closes module `m`'s Dwfl, if open. */
static void sym_close(struct symbolize *sy, struct sym_module *m)
{
	if (!m->dwfl)
		return;
	dwfl_end(m->dwfl);
	m->dwfl = NULL;
	m->mod = NULL;
	sy->open--;
}

/* Closes every module and frees everything `sy` owns. */
void symbolize_delete(struct symbolize *sy)
{
	if (!sy)
		return;
	for (size_t i = 0; i < sy->nmodules; i++) {
		sym_close(sy, &sy->modules[i]);
		free(sy->modules[i].path);
	}
	for (size_t i = 0; i < sy->nframes; i++) {
		free(sy->frames[i].function);
		free(sy->frames[i].file);
	}
	free(sy->modules);
	free(sy->frames);
	free(sy->module_index.slots);
	free(sy->frame_index.slots);
	free(sy);
}

/* --- hash indexes ---------------------------------------------------------------- */

/* FNV-1a of `len` bytes, folded to 32 bits. */
static uint32_t sym_hash_bytes(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3u;
	}
	return (uint32_t)(h ^ (h >> 32));
}

/* Mix of (module, offset) (splitmix64's finalizer), folded to 32 bits. */
static uint32_t sym_hash_frame(uint32_t module, uint64_t offset)
{
	uint64_t h = offset ^ ((uint64_t)module << 40) ^ module;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9u;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebu;
	h ^= h >> 31;
	return (uint32_t)(h ^ (h >> 32));
}

/* Puts `s` in the first free slot of its probe sequence in `slots`. */
static void sym_index_place(struct sym_slot *slots, size_t cap, struct sym_slot s)
{
	size_t i = s.hash & (cap - 1);
	while (slots[i].item)
		i = (i + 1) & (cap - 1);
	slots[i] = s;
}

/* Adds item `item` with `hash` to `ix`, growing it to stay at most half full. */
static void sym_index_insert(struct sym_index *ix, uint32_t hash, uint32_t item)
{
	if ((ix->count + 1) * 2 > ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 64;
		struct sym_slot *slots = xcalloc(cap, sizeof(*slots));
		for (size_t i = 0; i < ix->cap; i++)
			if (ix->slots[i].item)
				sym_index_place(slots, cap, ix->slots[i]);
		free(ix->slots);
		ix->slots = slots;
		ix->cap = cap;
	}
	sym_index_place(ix->slots, ix->cap, (struct sym_slot){.item = item + 1, .hash = hash});
	ix->count++;
}

/* The module named by `len` bytes at `path` (hash `h`), or SYM_NONE. */
static uint32_t sym_module_find(const struct symbolize *sy, uint32_t h, const char *path, size_t len)
{
	const struct sym_index *ix = &sy->module_index;
	if (!ix->cap)
		return SYM_NONE;
	for (size_t i = h & (ix->cap - 1); ix->slots[i].item; i = (i + 1) & (ix->cap - 1)) {
		if (ix->slots[i].hash != h)
			continue;
		const struct sym_module *m = &sy->modules[ix->slots[i].item - 1];
		if (m->len == len && !memcmp(m->path, path, len))
			return ix->slots[i].item - 1;
	}
	return SYM_NONE;
}

/* The frame (module, offset) with hash `h`, or SYM_NONE. */
static uint32_t sym_frame_find(const struct symbolize *sy, uint32_t h, uint32_t module, uint64_t offset)
{
	const struct sym_index *ix = &sy->frame_index;
	if (!ix->cap)
		return SYM_NONE;
	for (size_t i = h & (ix->cap - 1); ix->slots[i].item; i = (i + 1) & (ix->cap - 1)) {
		const struct sym_frame *f = &sy->frames[ix->slots[i].item - 1];
		if (ix->slots[i].hash == h && f->module == module && f->offset == offset)
			return ix->slots[i].item - 1;
	}
	return SYM_NONE;
}

/* --- modules ---------------------------------------------------------------------- */

/* Fills `note` (when not NULL) with a message about module `m`, within the
 * symbolizer's quota of module notes. */
static void sym_note(struct symbolize *sy, const struct sym_module *m, struct err *note, const char *what)
{
	if (sy->notes > SYM_NOTES_MAX)
		return;
	sy->notes++;
	if (!note)
		return;
	if (sy->notes > SYM_NOTES_MAX)
		err_fmt(note, "call stacks: more modules could not be symbolized; they are not listed");
	else
		err_fmt(note,
		        "call stacks: %s: %s; its frames keep only what the collector found (module, "
		        "dynamic symbol)",
		        m->path, what);
}

/* Opens `path` and checks that it is a usable ELF file (a regular file, an
 * executable or shared library of this machine with a loadable segment);
 * fills `id` and `*base`. Returns the open descriptor, which the caller
 * closes, or -1 with `why` filled. */
static int sym_examine(const struct symbolize *sy, const char *path, struct sym_identity *id, uint64_t *base,
                       struct err *why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		err_errno(why, errno, "cannot open it");
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		err_errno(why, errno, "cannot stat it");
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err_fmt(why, "not a regular file");
		goto fail;
	}
	memset(id, 0, sizeof(*id));
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime = st.st_mtim;
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	GElf_Ehdr eh;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		err_fmt(why, "not an ELF file");
		goto fail_elf;
	}
	if (gelf_getclass(elf) != SYM_CLASS || (SYM_MACHINE != EM_NONE && eh.e_machine != SYM_MACHINE) ||
	    (eh.e_type != ET_DYN && eh.e_type != ET_EXEC)) {
		err_fmt(why, "not an executable or shared library of this machine");
		goto fail_elf;
	}
	size_t phnum;
	bool loadable = false;
	if (elf_getphdrnum(elf, &phnum) == 0) {
		for (size_t i = 0; i < phnum && !loadable; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(elf, (int)i, &ph))
				break;
			if (ph.p_type == PT_LOAD) {
				*base = ph.p_vaddr & ~(sy->page - 1);
				loadable = true;
			}
		}
	}
	if (!loadable) {
		err_fmt(why, "no loadable segment (a damaged ELF file?)");
		goto fail_elf;
	}
	const void *bits;
	ssize_t n = dwelf_elf_gnu_build_id(elf, &bits);
	if (n > 0 && (size_t)n <= SYM_BUILD_ID_MAX) {
		memcpy(id->build_id, bits, (size_t)n);
		id->build_id_len = (size_t)n;
	}
	elf_end(elf);
	return fd;
fail_elf:
	elf_end(elf);
fail:
	close(fd);
	return -1;
}

/* Whether `now` is the file noted as `was`: the same build-id when both
 * have one, else the same device, inode, size and modification time. */
static bool sym_same(const struct sym_identity *was, const struct sym_identity *now)
{
	if (was->build_id_len || now->build_id_len)
		return was->build_id_len == now->build_id_len &&
		       !memcmp(was->build_id, now->build_id, was->build_id_len);
	return was->dev == now->dev && was->ino == now->ino && was->size == now->size &&
	       was->mtime.tv_sec == now->mtime.tv_sec && was->mtime.tv_nsec == now->mtime.tv_nsec;
}

/* Reports module `m` to a new Dwfl from `fd` (examined; stays the
 * caller's), closing the least recently used module first when
 * SYMBOLIZE_OPEN_MAX are open. Returns 0, or -1 with `why` filled. */
static int sym_attach(struct symbolize *sy, struct sym_module *m, int fd, struct err *why)
{
	if (sy->open >= SYMBOLIZE_OPEN_MAX) {
		struct sym_module *lru = NULL;
		for (size_t i = 0; i < sy->nmodules; i++) {
			struct sym_module *o = &sy->modules[i];
			if (o->dwfl && (!lru || o->last_use < lru->last_use))
				lru = o;
		}
		if (lru)
			sym_close(sy, lru);
	}
	Dwfl *dwfl = dwfl_begin(&sym_callbacks);
	if (!dwfl)
		return err_fmt(why, "libdw: %s", dwfl_errmsg(-1));
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dfd < 0) {
		dwfl_end(dwfl);
		return err_errno(why, errno, "cannot duplicate its descriptor");
	}
	dwfl_report_begin(dwfl);
	/* Ownership of dfd passes to libdwfl when a module comes back. */
	Dwfl_Module *mod = dwfl_report_elf(dwfl, m->path, m->path, dfd, 0, true);
	if (!mod) {
		close(dfd);
		err_fmt(why, "libdw cannot use it: %s", dwfl_errmsg(-1));
		dwfl_end(dwfl);
		return -1;
	}
	if (dwfl_report_end(dwfl, NULL, NULL) != 0) {
		err_fmt(why, "libdw cannot use it: %s", dwfl_errmsg(-1));
		dwfl_end(dwfl);
		return -1;
	}
	m->dwfl = dwfl;
	m->mod = mod;
	sy->open++;
	return 0;
}

/* The first frame of module `m`: examines the file, notes its identity and
 * opens it; READY or UNUSABLE (with a note) afterwards. */
static void sym_module_first(struct symbolize *sy, struct sym_module *m, struct err *note)
{
	struct err why;
	int fd = sym_examine(sy, m->path, &m->id, &m->base, &why);
	if (fd >= 0 && sym_attach(sy, m, fd, &why) == 0)
		m->state = SYM_READY;
	else
		m->state = SYM_UNUSABLE;
	if (fd >= 0)
		close(fd);
	if (m->state == SYM_UNUSABLE)
		sym_note(sy, m, note, why.msg);
}

/* Marks `m` replaced (closing it) and says why. */
static void sym_replaced(struct symbolize *sy, struct sym_module *m, struct err *note, const char *why)
{
	sym_close(sy, m);
	m->state = SYM_REPLACED;
	char what[ERR_MSG_MAX];
	/* `why` may fill a whole message: keep the sentence whole, cut `why` */
	snprintf(what, sizeof(what), "changed on disk during the recording (%.*s)", ERR_MSG_MAX - 64, why);
	sym_note(sy, m, note, what);
}

/* A later frame of READY module `m`: checks that its file is still the one
 * noted (see symbolize.h), leaving it READY or marking it REPLACED. A file
 * that vanished while the module is open is still read from the open copy. */
static void sym_module_check(struct symbolize *sy, struct sym_module *m, struct err *note)
{
	struct stat st;
	if (stat(m->path, &st) < 0) {
		if (!m->dwfl)
			sym_replaced(sy, m, note, strerror(errno));
		return;
	}
	if (st.st_dev == m->id.dev && st.st_ino == m->id.ino && st.st_size == m->id.size &&
	    st.st_mtim.tv_sec == m->id.mtime.tv_sec && st.st_mtim.tv_nsec == m->id.mtime.tv_nsec)
		return;
	struct sym_identity now;
	struct err why;
	uint64_t base;
	int fd = sym_examine(sy, m->path, &now, &base, &why);
	if (fd < 0) {
		sym_replaced(sy, m, note, why.msg);
		return;
	}
	close(fd);
	if (!sym_same(&m->id, &now) || base != m->base) {
		sym_replaced(sy, m, note,
		             m->id.build_id_len && now.build_id_len ? "another build-id"
		             : m->id.build_id_len || now.build_id_len
		                 ? "a build-id appeared or went"
		                 : "no build-id, and its inode, size or time changed");
		return;
	}
	/* The same build in another file: later checks compare with that. */
	m->id = now;
}

/* Opens READY module `m` again after it was closed to make room; REPLACED
 * when the file is no longer the one noted. Returns whether it is open. */
static bool sym_module_reopen(struct symbolize *sy, struct sym_module *m, struct err *note)
{
	struct sym_identity now;
	struct err why;
	uint64_t base;
	int fd = sym_examine(sy, m->path, &now, &base, &why);
	if (fd < 0) {
		sym_replaced(sy, m, note, why.msg);
		return false;
	}
	if (!sym_same(&m->id, &now) || base != m->base) {
		close(fd);
		sym_replaced(sy, m, note, "it is not the file first read");
		return false;
	}
	int rc = sym_attach(sy, m, fd, &why);
	close(fd);
	if (rc < 0) {
		m->state = SYM_UNUSABLE;
		sym_note(sy, m, note, why.msg);
		return false;
	}
	return true;
}

/* --- lookups ---------------------------------------------------------------------- */

/* A private copy of `s`, cut at PROTO_STRING_MAX bytes. */
static char *sym_copy(const char *s)
{
	return xmemdup0(s, strnlen(s, PROTO_STRING_MAX));
}

/* The name of function DIE `die`: its linkage name (mangled, as symbol
 * tables spell it) or else its name, from the DIE or from its abstract
 * origin or specification. NULL when it has neither. */
static const char *sym_die_name(Dwarf_Die *die)
{
	static const unsigned attrs[] = {DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name};
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		Dwarf_Attribute a;
		const char *name;
		if (dwarf_attr_integrate(die, attrs[i], &a) && (name = dwarf_formstring(&a)) && *name)
			return name;
	}
	return NULL;
}

/* Finds among the children of `parent` (`depth` levels below the unit) the
 * innermost function or inlined function whose ranges hold DWARF address
 * `pc`: through lexical blocks that hold it, and through namespaces,
 * classes, structures, unions and modules (which have no ranges). Returns
 * true with *out set. (dwarf_getscopes would do, but leaks its array when
 * it meets damaged DWARF.) Each DIE is visited at most once, and libdw
 * checks that sibling links only go forward. */
static bool sym_scope(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *out, unsigned depth)
{
	Dwarf_Die child;
	if (depth >= SYM_DIE_DEPTH_MAX || dwarf_child(parent, &child) != 0)
		return false;
	do {
		switch (dwarf_tag(&child)) {
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine:
			if (dwarf_haspc(&child, pc) == 1) {
				*out = child;
				sym_scope(&child, pc, out, depth + 1);
				return true;
			}
			break;
		case DW_TAG_lexical_block:
			if (dwarf_haspc(&child, pc) == 1)
				return sym_scope(&child, pc, out, depth + 1);
			break;
		case DW_TAG_namespace:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_module:
			if (sym_scope(&child, pc, out, depth + 1))
				return true;
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

/* Resolves frame `f` (its module, READY and open, and offset set): address
 * pc - 1 in the module (see symbolize.h), then the symbol table, DWARF's
 * innermost function and the line table. Sets f->found when a function or
 * a line came out. */
static void sym_resolve(struct sym_module *m, struct sym_frame *f)
{
	Dwarf_Addr bias = 0, low = 0, high = 0;
	if (f->offset == 0 || !dwfl_module_getelf(m->mod, &bias))
		return;
	dwfl_module_info(m->mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	uint64_t addr;
	if (__builtin_add_overflow(m->base, f->offset - 1, &addr) ||
	    __builtin_add_overflow(addr, bias, &addr) || addr < low || addr >= high)
		return;

	GElf_Off soff = 0;
	GElf_Sym sym;
	const char *name = dwfl_module_addrinfo(m->mod, addr, &soff, &sym, NULL, NULL, NULL);
	bool have_start = name != NULL && soff <= addr;
	uint64_t start = have_start ? addr - soff : 0;

	Dwarf_Addr dbias = 0;
	Dwarf_Die *cu = dwfl_module_addrdie(m->mod, addr, &dbias);
	Dwarf_Die fn;
	const char *dname;
	if (cu && addr >= dbias && sym_scope(cu, addr - dbias, &fn, 0) && (dname = sym_die_name(&fn))) {
		Dwarf_Addr entry;
		name = dname;
		have_start = dwarf_entrypc(&fn, &entry) == 0 && entry <= addr - dbias;
		start = have_start ? entry + dbias : 0;
	}
	if (name && *name) {
		f->function = sym_copy(name);
		f->function_offset = have_start ? addr + 1 - start : 0;
		f->found = true;
	}

	Dwfl_Line *ln = dwfl_module_getsrc(m->mod, addr);
	int line = 0;
	const char *file = ln ? dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL) : NULL;
	if (file && *file && line > 0) {
		f->file = sym_copy(file);
		f->line = (uint32_t)line;
		f->found = true;
	}
}

/* Resolves (module, offset) (see symbolize.h). */
int symbolize_frame(struct symbolize *sy, const char *module, size_t len, uint64_t module_offset,
                    struct symbolize_result *out, struct err *note)
{
	memset(out, 0, sizeof(*out));
	if (note)
		note->msg[0] = '\0';
	if (!sym_path_ok(module, len))
		return 0;
	uint32_t h = sym_hash_bytes(module, len);
	uint32_t mi = sym_module_find(sy, h, module, len);
	if (mi == SYM_NONE) {
		if (sy->nmodules >= SYMBOLIZE_MODULES_MAX) {
			if (sy->notes <= SYM_NOTES_MAX && note) {
				sy->notes = SYM_NOTES_MAX + 1;
				err_fmt(note,
				        "call stacks: more than %u modules; frames in the others keep only "
				        "what the collector found",
				        SYMBOLIZE_MODULES_MAX);
			}
			return 0;
		}
		sy->modules = xgrow(sy->modules, &sy->modules_cap, sy->nmodules + 1, sizeof(*sy->modules));
		mi = (uint32_t)sy->nmodules++;
		struct sym_module *m = &sy->modules[mi];
		memset(m, 0, sizeof(*m));
		m->path = xmemdup0(module, len);
		m->len = len;
		m->hash = h;
		m->state = SYM_UNREAD;
		sym_index_insert(&sy->module_index, h, mi);
	}
	struct sym_module *m = &sy->modules[mi];
	m->last_use = ++sy->clock;
	if (m->state == SYM_UNREAD)
		sym_module_first(sy, m, note);
	else if (m->state == SYM_READY)
		sym_module_check(sy, m, note);
	if (m->state != SYM_READY)
		return 0;

	uint32_t fh = sym_hash_frame(mi, module_offset);
	uint32_t fi = sym_frame_find(sy, fh, mi, module_offset);
	if (fi == SYM_NONE) {
		if (sy->nframes >= SYM_NONE - 1)
			return 0;
		if (!m->dwfl && !sym_module_reopen(sy, m, note))
			return 0;
		sy->frames = xgrow(sy->frames, &sy->frames_cap, sy->nframes + 1, sizeof(*sy->frames));
		fi = (uint32_t)sy->nframes++;
		struct sym_frame *f = &sy->frames[fi];
		memset(f, 0, sizeof(*f));
		f->module = mi;
		f->hash = fh;
		f->offset = module_offset;
		sym_resolve(m, f);
		sym_index_insert(&sy->frame_index, fh, fi);
	}
	const struct sym_frame *f = &sy->frames[fi];
	if (!f->found)
		return 0;
	out->function = f->function;
	out->offset = f->function ? f->function_offset : 0;
	out->file = f->file;
	out->line = f->line;
	return 1;
}

#endif
