/*
 * Unit tests for manifests/yfast: for every input, ytree built from yfast
 * (with libyaml for the documents yfast leaves) must see exactly the
 * events, errors and diagnostics that libyaml alone gives. Fixed cases,
 * every manifest in the tree, and random YAML (SF_YAML_SEED picks another
 * sequence; SF_YAML_CASES another count), part of it damaged.
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "manifests/yfast.h"
#include "manifests/ytree.h"
#include "tests/unit/rnd.h"

/* same: both ways give the same trace; the input and both traces are
 * printed when not. */
static bool
same(const char *data, size_t len)
{
	char *fast = ytree_trace(data, len, true);
	char *slow = ytree_trace(data, len, false);
	bool ok = strcmp(fast, slow) == 0;

	if (!ok)
		print_message("input:\n%.*s\n-- yfast:\n%s-- libyaml:\n%s",
		              (int)len, data, fast, slow);
	free(fast);
	free(slow);
	return ok;
}

/* read_docs: the documents yfast reads before it stops (or the end). */
static int
read_docs(const char *data, bool *to_end)
{
	struct yfast f;
	int r, n = 0;

	yfast_init(&f, data, strlen(data), yfast_untaken(data, strlen(data)));
	while ((r = yfast_next(&f)) > 0)
		n++;
	yfast_free(&f);
	*to_end = r == 0;
	return n;
}

static void
test_read(void **state)
{
	/* read whole by yfast */
	static const char *const fast[] = {
		"a: 1\n",
		"a: 1",
		"apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  "
		"name: "
		"x\n  labels: {team: t, 'b': \"c d\"}\nspec:\n  image: "
		"registry:5000/a:b  # tag\n  env:\n  - name: A\n    value: "
		"'x y'\n  -  b\n  - [1, -2, {k: v}]\n",
		"---\na: b\n---  # two\n\nc:   d  \n# end\n",
		"# head\n\n---\nk:\n    - a\n    - b: c\n      d: e\n    - f\n",
		"{a: b, c: [d, e]}\n---\n[x, y]\n---\n- a\n- b\n",
		"key  : v\nk2: a b  c\nk3: a:b\nk4: x#y\nk5: '  s '\n",
		"a:\n  b:\n    c: d\n  e: f\ng: h\n",
		"x: .5\ny: -1\nz: ~\nw: \"\"\nv: ''\n",
		"",
		"# only a comment\n\n",
	};
	/* left to libyaml from the first document */
	static const char *const slow[] = {
		"a:\n",             /* empty value */
		"a: b\n  c\n",      /* a value over two lines */
		"a: &x 1\n",        /* anchor */
		"a: !!str 1\n",     /* tag */
		"a: |\n  x\n",      /* block scalar */
		"a: 'it''s'\n",     /* escaped quote */
		"a: \"\\n\"\n",     /* escape */
		"a:\tb\n",          /* tab */
		"a: b\r\n",         /* CR */
		"a: caf\xc3\xa9\n", /* past ASCII */
		"%YAML 1.1\n---\na: b\n",
		"a: [b,\n  c]\n", /* a flow list over two lines */
		"- - a\n",
		"  a: b\n", /* an indented root */
		"a: {b: c,}\n",
		"a: b: c\n",
		"? a\n: b\n",
		"a: b\n...\n",
		"--- a\n",
		"a: [b:c]\n",
		"---\n---\na: 1\n", /* an empty document */
		"plain\n",
	};
	size_t i;
	bool to_end;

	(void)state;
	for (i = 0; i < sizeof(fast) / sizeof(fast[0]); i++) {
		assert_true(same(fast[i], strlen(fast[i])));
		read_docs(fast[i], &to_end);
		if (!to_end)
			fail_msg("yfast stopped at case %zu: %s", i, fast[i]);
	}
	for (i = 0; i < sizeof(slow) / sizeof(slow[0]); i++) {
		assert_true(same(slow[i], strlen(slow[i])));
		if (read_docs(slow[i], &to_end) != 0 || to_end)
			fail_msg("yfast read slow case %zu: %s", i, slow[i]);
	}
}

/* A document yfast reads, then one it does not, then one it does: the
 * middle one and the rest go to libyaml, at the right lines. */
static void
test_handover(void **state)
{
	static const char *const cases[] = {
		"a: 1\n---\nb: &x 2\nc: *x\n---\nd: 3\n",
		"a: 1\n---\nb: [\n---\nd: 3\n",       /* a syntax error */
		"a: 1\n---\nb: 2\n  c: 3\n",          /* libyaml's error */
		"a: 1\n# x\n\n---\nb: caf\xc3\xa9\n", /* a byte past ASCII */
		"a: 1\n---\nb: 2\n---\n", /* an empty last document */
		"x: 1\n---\n%YAML 1.1\n---\ny: 2\n",
		"x: 1\n---\n\x01\n",
	};
	size_t i;
	bool to_end;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(same(cases[i], strlen(cases[i])));
		assert_true(read_docs(cases[i], &to_end) >= 1);
		assert_false(to_end);
	}
}

/* Every manifest of the tree (examples, test fixtures). */
static void
same_dir(const char *dir, unsigned *files)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	struct buf b = BUF_INIT;
	FILE *fp;
	size_t n;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR) {
			same_dir(path, files);
			continue;
		}
		n = strlen(e->d_name);
		if (n < 5 || (strcmp(e->d_name + n - 5, ".yaml") != 0 &&
		              strcmp(e->d_name + n - 4, ".yml") != 0))
			continue;
		fp = fopen(path, "rb");
		assert_non_null(fp);
		buf_reset(&b);
		do {
			buf_reserve(&b, 1 << 16);
			n = fread(b.data + b.len, 1, b.cap - b.len, fp);
			b.len += n;
		} while (n > 0);
		fclose(fp);
		if (!same(b.data, b.len))
			fail_msg("%s", path);
		(*files)++;
	}
	closedir(d);
	buf_free(&b);
}

static void
test_tree_files(void **state)
{
	const char *src = getenv("SF_SRCDIR");
	char dir[4096];
	unsigned files = 0;

	(void)state;
	if (src == NULL)
		src = ".";
	snprintf(dir, sizeof(dir), "%s/examples", src);
	same_dir(dir, &files);
	snprintf(dir, sizeof(dir), "%s/tests/fixtures", src);
	same_dir(dir, &files);
	assert_true(files >= 10);
}

/* --- random YAML --- */

static void
rnd_spaces(struct buf *b, unsigned max)
{
	unsigned n = rnd(max + 1);

	while (n-- > 0)
		buf_addch(b, ' ');
}

static void
rnd_indent(struct buf *b, size_t n)
{
	while (n-- > 0)
		buf_addch(b, ' ');
}

/* Words yfast reads anywhere, words it reads only in block context, and
 * words it leaves to libyaml (or that are not plain scalars at all). */
static const char *const words[] = {
	"a",  "name", "image",  "b-1",   "x y",  "-1",      ".5",
	"~",  "null", "c d  e", "a\\b",  "a'b",  "a\"b",    "=",
	"<<", "(p)",  "$v",     "1.5e3", "true", "label_1", "/p/q",
};
static const char *const block_words[] = {
	"a:b", "x#y", "a,b", "[x]", "{y}", "http://h:80/p", "r:5000/i:t",
};
static const char *const odd_words[] = {
	"-",  "?x", "..", "--", "%x",   "@x",   "&a", "*a",
	"!t", "|",  ">",  "`x", "a: b", "x #y", ":x", "- a",
};

#define PICK(v) (v)[rnd(sizeof(v) / sizeof((v)[0]))]

static void
rnd_plain(struct buf *b)
{
	unsigned r = rnd(40);

	if (r == 0)
		buf_addstr(b, PICK(odd_words));
	else if (r < 5)
		buf_addstr(b, PICK(block_words));
	else
		buf_addstr(b, PICK(words));
}

static void
rnd_scalar(struct buf *b)
{
	switch (rnd(8)) {
	case 0:
		buf_addch(b, '\'');
		rnd_plain(b);
		if (rnd(4) == 0)
			buf_addstr(b, "  ");
		buf_addch(b, '\'');
		break;
	case 1:
		buf_addch(b, '"');
		if (rnd(3) != 0)
			rnd_plain(b);
		buf_addch(b, '"');
		break;
	default:
		rnd_plain(b);
	}
}

static void
rnd_comment(struct buf *b)
{
	if (rnd(5) == 0) {
		rnd_spaces(b, 2);
		buf_addstr(b, rnd(2) ? " # note" : "#x");
	}
	if (rnd(6) == 0)
		buf_addch(b, ' ');
}

static void
rnd_flow(struct buf *b, unsigned depth)
{
	bool map = rnd(2) == 0;
	unsigned n = rnd(4), i;

	buf_addch(b, map ? '{' : '[');
	rnd_spaces(b, 1);
	for (i = 0; i < n; i++) {
		if (i > 0) {
			buf_addch(b, ',');
			rnd_spaces(b, 2);
		}
		if (map) {
			rnd_scalar(b);
			rnd_spaces(b, 1);
			buf_addstr(b, ": ");
		}
		if (depth < 3 && rnd(4) == 0)
			rnd_flow(b, depth + 1);
		else
			rnd_scalar(b);
	}
	rnd_spaces(b, 1);
	buf_addch(b, map ? '}' : ']');
}

static void rnd_block_map(struct buf *b, size_t n, unsigned depth,
                          bool first_inline);

static void
rnd_junk_lines(struct buf *b)
{
	while (rnd(6) == 0) {
		if (rnd(2))
			rnd_spaces(b, 6);
		if (rnd(2))
			buf_addstr(b, "# c");
		buf_addch(b, '\n');
	}
}

static void
rnd_block_seq(struct buf *b, size_t m, unsigned depth, bool first_inline)
{
	unsigned n = 1 + rnd(3), i;
	size_t col;

	for (i = 0; i < n; i++) {
		if (i > 0 || !first_inline)
			rnd_indent(b, m);
		buf_addstr(b, "- ");
		col = m + 2;
		if (rnd(4) == 0) {
			buf_addch(b, ' ');
			col++;
		}
		if (depth < 4 && rnd(3) == 0) {
			rnd_block_map(b, col, depth + 1, true);
			continue;
		}
		if (rnd(5) == 0)
			rnd_flow(b, 0);
		else
			rnd_scalar(b);
		rnd_comment(b);
		buf_addch(b, '\n');
		rnd_junk_lines(b);
	}
}

static void
rnd_block_map(struct buf *b, size_t n, unsigned depth, bool first_inline)
{
	unsigned k = 1 + rnd(4), i;
	size_t step;

	for (i = 0; i < k; i++) {
		if (i > 0 || !first_inline)
			rnd_indent(b, n);
		rnd_scalar(b);
		if (rnd(8) == 0)
			buf_addch(b, ' ');
		buf_addch(b, ':');
		switch (depth < 4 ? rnd(6) : 0) {
		case 0:
		case 1:
			buf_addch(b, ' ');
			rnd_spaces(b, 2);
			rnd_scalar(b);
			break;
		case 2:
			buf_addch(b, ' ');
			rnd_flow(b, 0);
			break;
		case 3:
			rnd_comment(b);
			buf_addch(b, '\n');
			rnd_junk_lines(b);
			step = 1 + rnd(4);
			rnd_block_map(b, n + step, depth + 1, false);
			continue;
		case 4:
			rnd_comment(b);
			buf_addch(b, '\n');
			rnd_block_seq(b, rnd(2) ? n : n + 2, depth + 1, false);
			continue;
		default:
			if (rnd(4) == 0)
				break; /* an empty value */
			buf_addch(b, ' ');
			rnd_scalar(b);
		}
		rnd_comment(b);
		buf_addch(b, '\n');
		rnd_junk_lines(b);
	}
}

static void
rnd_stream(struct buf *b)
{
	unsigned docs = 1 + rnd(3), i;

	rnd_junk_lines(b);
	for (i = 0; i < docs; i++) {
		if (i > 0 || rnd(2) == 0) {
			buf_addstr(b, "---");
			rnd_comment(b);
			buf_addch(b, '\n');
			rnd_junk_lines(b);
		}
		switch (rnd(6)) {
		case 0:
			rnd_flow(b, 0);
			buf_addch(b, '\n');
			break;
		case 1:
			rnd_block_seq(b, 0, 0, false);
			break;
		default:
			rnd_block_map(b, 0, 0, false);
		}
	}
	if (rnd(6) == 0 && b->len > 0)
		b->len--; /* no LF at the end */
}

/* damage: a few bytes YAML cares about put in, taken out or changed. */
static void
damage(struct buf *b)
{
	static const char chars[] = " :-#{}[],'\"\n\t?&*!|>%@`.\\\r\x01\xc3";
	unsigned n = 1 + rnd(3), at;

	while (n-- > 0 && b->len > 0) {
		at = rnd((unsigned)b->len);
		switch (rnd(3)) {
		case 0:
			buf_reserve(b, b->len + 1);
			memmove(b->data + at + 1, b->data + at, b->len - at);
			b->data[at] = chars[rnd(sizeof(chars) - 1)];
			b->len++;
			break;
		case 1:
			memmove(b->data + at, b->data + at + 1,
			        b->len - at - 1);
			b->len--;
			break;
		default:
			b->data[at] = chars[rnd(sizeof(chars) - 1)];
		}
	}
}

static void
test_random(void **state)
{
	const char *count;
	struct buf b = BUF_INIT;
	unsigned i, cases = 20000, whole = 0, clean = 0;
	struct yfast f;
	int r;

	(void)state;
	count = getenv("SF_YAML_CASES");
	if (count != NULL)
		cases = (unsigned)strtoul(count, NULL, 10);
	rnd_seed("SF_YAML_SEED", 0x9e3779b97f4a7c15ULL);
	for (i = 0; i < cases; i++) {
		buf_reset(&b);
		rnd_stream(&b);
		if (i % 3 == 2)
			damage(&b);
		else
			clean++;
		buf_addch(&b, '\0');
		b.len--;
		if (!same(b.data, b.len))
			fail_msg("case %u differs", i);
		yfast_init(&f, b.data, b.len, yfast_untaken(b.data, b.len));
		while ((r = yfast_next(&f)) > 0)
			;
		yfast_free(&f);
		if (r == 0 && i % 3 != 2)
			whole++;
	}
	buf_free(&b);
	print_message("yfast read %u of %u undamaged streams to the end\n",
	              whole, clean);
	/* the generator must reach yfast, not only libyaml */
	if (whole * 5 < clean)
		fail_msg("yfast read only %u of %u undamaged streams", whole,
		         clean);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_handover),
		cmocka_unit_test(test_tree_files),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
