/*
 * demangle.c - demangling of C++ symbol names (see demangle.h).
 *
 * libstdc++ exports __cxa_demangle, the demangler of the Itanium C++ ABI
 * (the one g++ and nvcc use for host and device code). It is a C++ runtime
 * function with C linkage, so C code declares it itself; the core library
 * links stdc++ for it. Its result is malloc'd, and ours to free.
 *
 * Every failure (not a mangled name, a malformed one, the demangler out of
 * memory) yields NULL: callers then show the name as it is, which is always
 * correct if less readable.
 *
 * Short names (nsys's shortName) come from the demangled signature by
 * scanning back from its end: the parameter list, then the template
 * arguments, then the scope, each matched with its brackets at nesting
 * depth 0, so that lambdas and casts inside template arguments
 * ("[lambda(int) (instance 1)]", "(unsigned long)4") do not mislead it.
 */
#include "trace/demangle.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status);

/* Demangles `name` when it starts with "_Z"; see demangle.h. The result is
 * the caller's. */
char *trace_demangle(const char *name)
{
	if (!name || strncmp(name, "_Z", 2) != 0)
		return NULL;
	int status = 0;
	char *d = __cxa_demangle(name, NULL, NULL, &status);
	if (status != 0) {
		free(d);
		return NULL;
	}
	return d;
}

/* Whether `c` may start a C++ identifier (or a destructor's name). */
static bool demangle_ident_start(char c)
{
	return c == '_' || c == '~' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (unsigned char)c >= 0x80;
}

/* Whether the `n` bytes of `s` end with the word `w` (after a non-identifier
 * byte or at the start). */
static bool demangle_ends_with_word(const char *s, size_t n, const char *w)
{
	size_t wl = strlen(w);
	if (n < wl || memcmp(s + n - wl, w, wl) != 0)
		return false;
	if (n == wl)
		return true;
	char c = s[n - wl - 1];
	return !(demangle_ident_start(c) || (c >= '0' && c <= '9'));
}

/* Length of `s` (`n` bytes, a signature) without trailing qualifiers of a
 * member function (" const", " volatile", " &", " &&", " noexcept"). */
static size_t demangle_trim_qualifiers(const char *s, size_t n)
{
	static const char *const quals[] = {"const", "volatile", "noexcept", "&&", "&"};
	for (;;) {
		while (n > 0 && s[n - 1] == ' ')
			n--;
		bool cut = false;
		for (size_t i = 0; i < sizeof(quals) / sizeof(quals[0]) && !cut; i++) {
			size_t ql = strlen(quals[i]);
			if (n > ql && memcmp(s + n - ql, quals[i], ql) == 0 &&
			    (s[n - ql - 1] == ' ' || s[n - ql - 1] == ')')) {
				n -= ql;
				cut = true;
			}
		}
		if (!cut)
			return n;
	}
}

/* Index of the bracket that opens the one closing at s[end - 1], scanning
 * back over nested (), [], {} and (outside those) <>; `angle` says whether
 * s[end - 1] is a '>' to match, else a ')'. SIZE_MAX when unbalanced. */
static size_t demangle_match_back(const char *s, size_t end, bool angle)
{
	int paren = 0, square = 0, brace = 0, angles = 0;
	for (size_t i = end; i-- > 0;) {
		switch (s[i]) {
		case ')':
			paren++;
			break;
		case '(':
			paren--;
			break;
		case ']':
			square++;
			break;
		case '[':
			square--;
			break;
		case '}':
			brace++;
			break;
		case '{':
			brace--;
			break;
		case '>':
			if (angle && paren == 0 && square == 0 && brace == 0)
				angles++;
			break;
		case '<':
			if (angle && paren == 0 && square == 0 && brace == 0)
				angles--;
			break;
		default:
			break;
		}
		if (paren < 0 || square < 0 || brace < 0 || angles < 0)
			return SIZE_MAX;
		if (paren == 0 && square == 0 && brace == 0 && angles == 0)
			return i;
	}
	return SIZE_MAX;
}

/* The short name of a demangled signature `d`; see trace_short_name. */
static char *demangle_short(const char *d)
{
	size_t end = demangle_trim_qualifiers(d, strlen(d));
	if (end == 0 || d[end - 1] != ')')
		return NULL;
	/* The parameter list: no space before it in a demangler's output. */
	size_t open = demangle_match_back(d, end, false);
	if (open == SIZE_MAX || open == 0 || d[open - 1] == ' ')
		return NULL;
	end = open;
	/* Template arguments, unless the '>' is an operator's own. */
	if (d[end - 1] == '>' && !demangle_ends_with_word(d, end, "operator>") &&
	    !demangle_ends_with_word(d, end, "operator->") &&
	    !demangle_ends_with_word(d, end, "operator>>")) {
		size_t lt = demangle_match_back(d, end, true);
		if (lt == SIZE_MAX || lt == 0)
			return NULL;
		end = lt;
		while (end > 0 && d[end - 1] == ' ') /* "operator< <T>" */
			end--;
	}
	/* The last component of the qualified name: after the last "::" or
	 * the return type's space at nesting depth 0. */
	size_t start = end;
	int depth = 0;
	while (start > 0) {
		char c = d[start - 1];
		if (c == ')' || c == ']' || c == '}' || (c == '>' && depth > 0))
			depth++;
		else if ((c == '(' || c == '[' || c == '{' || c == '<') && depth > 0)
			depth--;
		else if (depth == 0 && (c == ':' || c == ' '))
			break;
		start--;
	}
	/* "operator new", "operator delete[]", conversion operators. */
	if (start > 0 && d[start - 1] == ' ' && demangle_ends_with_word(d, start - 1, "operator"))
		start -= strlen("operator") + 1;
	if (start >= end || !demangle_ident_start(d[start]))
		return NULL;
	return xmemdup0(d + start, end - start);
}

/* The short name of a function's name; see demangle.h. The result is the
 * caller's. */
char *trace_short_name(const char *name)
{
	if (!name)
		return NULL;
	char *d = trace_demangle(name);
	char *out = demangle_short(d ? d : name);
	free(d);
	return out;
}
