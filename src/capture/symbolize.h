/*
 * symbolize.h - stack frames to function, source file and line, in tstop.
 *
 * The collector sends each unique frame once, with what dladdr told it
 * cheaply (capture/proto.h, struct proto_frame): the path of the module and
 * the pc's offset from the module's load base (dli_fbase). The drain asks
 * this symbolizer to resolve (module path, offset) from the module's file
 * on disk with elfutils' libdwfl: the function (the innermost function or
 * inlined function at the call from DWARF, else the ELF symbol table,
 * .symtab before .dynsym, so static functions resolve too) and, where debug
 * information exists (in the module, or in a separate debug file found by
 * build-id under /usr/lib/debug; never fetched over the network), the
 * source file and line.
 *
 * Return addresses. A frame's pc is where a call returns to: the
 * instruction after the call, which may belong to the next line or, after
 * a call that never returns, to the next function. The lookup uses pc - 1,
 * which lies inside the call instruction, so function and line are the
 * call's. (The offset reported is still from the pc itself.)
 *
 * Addresses. dladdr's dli_fbase is the lowest page mapped from the module
 * (glibc's l_map_start): the load bias plus the first PT_LOAD segment's
 * p_vaddr rounded down to the page size. So a frame's address as the
 * module's symbols and DWARF give it is module_offset plus that rounded
 * p_vaddr: the offset itself for PIE executables and shared libraries
 * (first segment at 0), the pc for a non-PIE executable (loaded at its
 * link address).
 *
 * Caches. Nothing is read before a frame asks. Each module is opened once,
 * at its first frame (and again only when it was closed to keep at most
 * SYMBOLIZE_OPEN_MAX modules open), and each (module, offset) is resolved
 * once; a repeat is a hash lookup and one stat of the module.
 *
 * Trust. Module paths come from the target. Only absolute paths of regular
 * files are opened (never a FIFO or a device, never blocking), only ELF
 * files of this machine's class and architecture with a loadable segment
 * are used, names are capped at PROTO_STRING_MAX bytes, and libelf and
 * libdw check what they read. A module that cannot be read or is not such
 * a file resolves nothing: its frames keep what dladdr said.
 *
 * Changed modules. At first use the module's identity is noted: its GNU
 * build-id when it has one, and its device, inode, size and modification
 * time. Each later lookup checks the path again; when the file changed and
 * its build-id differs from the noted one (or the module has none), the
 * module counts as replaced: from then on its frames resolve nothing and
 * keep what dladdr said (the frame may come from a process running the
 * old file or the new one; the path cannot tell). A file replaced before
 * its first frame reached tstop cannot be told from the one the target
 * loaded.
 *
 * Built without libdw (TSTOP_HAVE_LIBDW 0), nothing resolves and the first
 * lookup of a frame with a module path says why.
 *
 * Thread safety: none; one symbolizer per thread (the drain's).
 */
#ifndef TSTOP_CAPTURE_SYMBOLIZE_H
#define TSTOP_CAPTURE_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define SYMBOLIZE_OPEN_MAX    64u   /* modules held open (file descriptors, mappings) */
#define SYMBOLIZE_MODULES_MAX 4096u /* distinct module paths looked at; more resolve nothing */

struct symbolize;

/* What a lookup found. The strings belong to the symbolizer and stay valid
 * until symbolize_delete. */
struct symbolize_result {
	const char *function; /* NULL: unknown */
	uint64_t offset;      /* pc - start of `function` (0 when unknown) */
	const char *file;     /* source file, NULL: no line information */
	uint32_t line;        /* 0 when `file` is NULL */
};

/* Whether this build can symbolize (it found libdw). */
bool symbolize_available(void);

/* Creates an empty symbolizer; nothing is opened yet. Never NULL. Free with
 * symbolize_delete. */
struct symbolize *symbolize_new(void);

/* Closes every module and frees the symbolizer and every string it handed
 * out. NULL is a no-op. */
void symbolize_delete(struct symbolize *sy);

/* Resolves the frame whose return address lies `module_offset` bytes past
 * the load base (dli_fbase) of the module at `module` (`len` bytes, any
 * bytes: a path that is not absolute or holds a NUL resolves nothing).
 * Returns 1 with `out` filled when a function or a source line was found,
 * 0 with `out` cleared otherwise. `note`, when not NULL, gets a message for
 * the user the first time something keeps a module from resolving (cannot
 * be read, not a usable ELF file, replaced, too many modules, no libdw),
 * else an empty message. */
int symbolize_frame(struct symbolize *sy, const char *module, size_t len, uint64_t module_offset,
                    struct symbolize_result *out, struct err *note);

#endif
