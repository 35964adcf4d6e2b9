/*
 * inject_window.c - capture ranges and the on/off history of capture
 * windows, pure (see inject_window.h).
 */
#include "capture/inject/inject_window.h"

#include <string.h>

/* Reads and checks a capture range (inject_window.h). */
bool inj_range_parse(struct inj_range *r, const void *note, size_t len)
{
	struct proto_control c;
	memset(r, 0, sizeof(*r));
	if (len != sizeof(c))
		return false;
	memcpy(&c, note, sizeof(c));
	if (c.magic != PROTO_MAGIC || c.version != PROTO_VERSION)
		return false;
	if (c.range_end != PROTO_RANGE_REPEAT && c.range_end != PROTO_RANGE_STOP)
		return false;
	if (c.range_domain > PROTO_RANGE_ANY || c.name_len == 0 || c.name_len > PROTO_RANGE_NAME_MAX ||
	    c.domain_len > PROTO_RANGE_DOMAIN_MAX)
		return false;
	if ((c.range_domain == PROTO_RANGE_NAMED) != (c.domain_len > 0))
		return false;
	if (memchr(c.name, '\0', c.name_len) || memchr(c.domain, '\0', c.domain_len))
		return false;
	r->end = c.range_end;
	r->domain = c.range_domain;
	r->name_len = c.name_len;
	r->domain_len = c.domain_len;
	memcpy(r->name, c.name, c.name_len);
	memcpy(r->domain_name, c.domain, c.domain_len);
	return true;
}

/* Whether the domain of a range is the capture range's. */
static bool inj_range_domain_is(const struct inj_range *r, const char *domain, size_t domain_len)
{
	switch (r->domain) {
	case PROTO_RANGE_ANY:
		return true;
	case PROTO_RANGE_NAMED:
		return domain && domain_len == r->domain_len &&
		       memcmp(domain, r->domain_name, domain_len) == 0;
	default:
		return !domain;
	}
}

/* Whether a range of `len` bytes of message is the capture range's. */
bool inj_range_match(const struct inj_range *r, const char *name, size_t len, const char *domain,
                     size_t domain_len)
{
	return len == r->name_len && name && memcmp(name, r->name, len) == 0 &&
	       inj_range_domain_is(r, domain, domain_len);
}

/* The same for a NUL-terminated message. strncmp stops at the first
 * difference or at the message's NUL, and the range's name holds no NUL,
 * so no byte past the message's end is read. */
bool inj_range_match_cstr(const struct inj_range *r, const char *name, const char *domain, size_t domain_len)
{
	return name && strncmp(name, r->name, r->name_len) == 0 && name[r->name_len] == '\0' &&
	       inj_range_domain_is(r, domain, domain_len);
}

/* Starts a history (inject_window.h). */
void inj_winlog_reset(struct inj_winlog *l, bool on)
{
	l->initial = on;
	l->n = 0;
}

/* The current state (inject_window.h). */
bool inj_winlog_on(const struct inj_winlog *l)
{
	return l->n ? l->on[l->n - 1] : l->initial;
}

/* Notes a change (inject_window.h). */
void inj_winlog_note(struct inj_winlog *l, int64_t t, bool on)
{
	if (inj_winlog_on(l) == on)
		return;
	if (l->n && t < l->at[l->n - 1])
		t = l->at[l->n - 1];
	if (l->n == INJ_WINLOG_MAX) {
		l->initial = l->on[0];
		memmove(l->at, l->at + 1, (INJ_WINLOG_MAX - 1) * sizeof(l->at[0]));
		memmove(l->on, l->on + 1, (INJ_WINLOG_MAX - 1) * sizeof(l->on[0]));
		l->n--;
	}
	l->at[l->n] = t;
	l->on[l->n] = on;
	l->n++;
}

/* The state at time t (inject_window.h): binary search for the last change
 * at or before t. */
bool inj_winlog_on_at(const struct inj_winlog *l, int64_t t)
{
	uint32_t lo = 0, hi = l->n; /* changes [0, lo) are at or before t */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (l->at[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? l->on[lo - 1] : l->initial;
}
