/* imap-thread.c: THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256),
 * without recursion. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap-thread.h"
#include "mem.h"

struct node {
	const char *id;		/* Message-ID (in the owned ids), or NULL */
	struct imap_sort_msg *msg;	/* NULL: a dummy */
	/* children in a doubly linked list (child first, last last), so
	 * that linking and unlinking cost O(1) even under a root set of
	 * thousands of threads */
	struct node *parent, *child, *last, *next, *prev;
	struct node *hnext;	/* hash chain */
	size_t hash;		/* of id */
};

/* Nodes are carved from blocks of this many (one allocation each, and
 * siblings close in memory). */
#define NODE_BLOCK 1024

struct tree {
	struct node root;	/* the root set is root.child */
	struct node **nodes;
	size_t count, size;
	struct node **blocks;	/* NODE_BLOCK nodes each */
	size_t block_count, block_used;
	struct node **buckets;
	size_t nbuckets;
	char **ids;		/* owned Message-ID copies */
	size_t id_count, id_size;
};

int imap_thread_algorithm_parse(const char *name,
				enum imap_thread_algorithm *algo_r)
{
	if (strcasecmp(name, "ORDEREDSUBJECT") == 0) {
		*algo_r = IMAP_THREAD_ORDEREDSUBJECT;
		return 0;
	}
	if (strcasecmp(name, "REFERENCES") == 0) {
		*algo_r = IMAP_THREAD_REFERENCES;
		return 0;
	}
	return -1;
}

static struct node *node_new(struct tree *t, struct imap_sort_msg *msg)
{
	struct node *n;

	if (t->block_count == 0 || t->block_used == NODE_BLOCK) {
		t->blocks = xreallocarray(t->blocks, t->block_count + 1,
					  sizeof(*t->blocks));
		t->blocks[t->block_count++] =
			xreallocarray(NULL, NODE_BLOCK, sizeof(struct node));
		t->block_used = 0;
	}
	n = &t->blocks[t->block_count - 1][t->block_used++];
	memset(n, 0, sizeof(*n));
	n->msg = msg;
	if (t->count == t->size) {
		t->size = t->size == 0 ? 64 : t->size * 2;
		t->nodes = xreallocarray(t->nodes, t->size, sizeof(*t->nodes));
	}
	t->nodes[t->count++] = n;
	return n;
}

static void tree_free(struct tree *t)
{
	for (size_t i = 0; i < t->block_count; i++)
		free(t->blocks[i]);
	free(t->blocks);
	free(t->nodes);
	free(t->buckets);
	for (size_t i = 0; i < t->id_count; i++)
		free(t->ids[i]);
	free(t->ids);
}

static size_t hash_str(const char *s)
{
	size_t h = 5381;

	for (; *s != '\0'; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

static struct node *id_lookup(struct tree *t, const char *id, size_t h)
{
	for (struct node *n = t->buckets[h % t->nbuckets]; n != NULL;
	     n = n->hnext)
		if (n->hash == h && strcmp(n->id, id) == 0)
			return n;
	return NULL;
}

/* The container of id, created (a dummy) when there is none; id is
 * consumed (kept by the tree or freed). */
static struct node *id_get(struct tree *t, char *id)
{
	size_t h = hash_str(id);
	struct node *n = id_lookup(t, id, h);

	if (n != NULL) {
		free(id);
		return n;
	}
	if (t->id_count == t->id_size) {
		t->id_size = t->id_size == 0 ? 64 : t->id_size * 2;
		t->ids = xreallocarray(t->ids, t->id_size, sizeof(*t->ids));
	}
	t->ids[t->id_count] = id;
	n = node_new(t, NULL);
	n->id = t->ids[t->id_count++];
	n->hash = h;
	n->hnext = t->buckets[h % t->nbuckets];
	t->buckets[h % t->nbuckets] = n;
	return n;
}

static void unlink_node(struct node *n)
{
	struct node *parent = n->parent;

	if (parent == NULL)
		return;
	if (n->prev != NULL)
		n->prev->next = n->next;
	else
		parent->child = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
	else
		parent->last = n->prev;
	n->parent = NULL;
	n->next = NULL;
	n->prev = NULL;
}

static void link_child(struct node *parent, struct node *child)
{
	child->prev = parent->last;
	child->next = NULL;
	if (parent->last != NULL)
		parent->last->next = child;
	else
		parent->child = child;
	parent->last = child;
	child->parent = parent;
}

/* Sets the prev links and last pointer of parent's children after the
 * list was rebuilt through the next links. */
static void relink(struct node *parent)
{
	struct node *prev = NULL;

	for (struct node *c = parent->child; c != NULL; c = c->next) {
		c->prev = prev;
		prev = c;
	}
	parent->last = prev;
}

/* True when making child a child of parent would make a loop. */
static bool would_loop(const struct node *parent, const struct node *child)
{
	if (child->child == NULL)
		return parent == child;	/* a leaf is nobody's ancestor */
	for (const struct node *p = parent; p != NULL; p = p->parent)
		if (p == child)
			return true;
	return false;
}

/* The Message-IDs ("<...>") in s, at most max (the last ones when
 * keep_last, else the first ones); returns the count, *ids_r caller frees
 * (the strings too). */
static size_t parse_ids(const char *s, size_t max, bool keep_last,
			char ***ids_r)
{
	char **ids = NULL;
	size_t count = 0, size = 0;

	while (s != NULL && (s = strchr(s, '<')) != NULL) {
		const char *end = strchr(s + 1, '>');
		const char *lt = strchr(s + 1, '<');

		if (end == NULL)
			break;
		if (lt != NULL && lt < end) {
			s = lt;
			continue;
		}
		if (end > s + 1) {
			struct str id;

			/* folding whitespace inside an id is dropped */
			str_init(&id, (size_t)(end - s));
			for (const char *p = s + 1; p < end; p++)
				if (*p != ' ' && *p != '\t' && *p != '\r' &&
				    *p != '\n')
					str_append_c(&id, *p);
			if (str_len(&id) == 0 || max == 0 ||
			    (count == max && !keep_last)) {
				str_free(&id);
			} else {
				if (count == max) {
					free(ids[0]);
					memmove(ids, ids + 1,
						(count - 1) * sizeof(*ids));
					count--;
				}
				if (count == size) {
					size = size == 0 ? 8 : size * 2;
					ids = xreallocarray(ids, size,
							    sizeof(*ids));
				}
				ids[count++] = str_steal(&id);
			}
		}
		s = end + 1;
	}
	*ids_r = ids;
	return count;
}

static void free_ids(char **ids, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(ids[i]);
	free(ids);
}

/* The message a container sorts and groups by: its own, or a dummy's
 * first child's. */
static const struct imap_sort_msg *node_msg(const struct node *n)
{
	while (n != NULL && n->msg == NULL)
		n = n->child;
	return n != NULL ? n->msg : NULL;
}

/* A sibling being sorted: the date and sequence number of the message
 * it sorts by (worked out once, not at each comparison). */
struct sib {
	int64_t date;
	uint32_t seq;
	bool none;		/* no message under it: last */
	struct node *node;
};

static int sib_cmp(const void *pa, const void *pb)
{
	const struct sib *a = pa, *b = pb;

	if (a->none || b->none)
		return a->none == b->none ? 0 : a->none ? 1 : -1;
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq ? 1 : 0;
}

static void sort_children(struct node *parent, struct sib **buf,
			  size_t *buf_size)
{
	size_t n = 0;
	bool sorted = true;

	for (struct node *c = parent->child; c != NULL; c = c->next)
		n++;
	if (n < 2)
		return;
	if (n > *buf_size) {
		*buf = xreallocarray(*buf, n, sizeof(**buf));
		*buf_size = n;
	}
	n = 0;
	for (struct node *c = parent->child; c != NULL; c = c->next) {
		const struct imap_sort_msg *m = node_msg(c);
		struct sib *e = &(*buf)[n++];

		e->node = c;
		e->none = m == NULL;
		e->date = m != NULL ? m->date : 0;
		e->seq = m != NULL ? m->seq : 0;
		if (n > 1 && sorted && sib_cmp(e - 1, e) > 0)
			sorted = false;
	}
	if (sorted)
		return;
	qsort(*buf, n, sizeof(**buf), sib_cmp);
	parent->child = (*buf)[0].node;
	for (size_t i = 0; i < n; i++)
		(*buf)[i].node->next = i + 1 < n ? (*buf)[i + 1].node : NULL;
	relink(parent);
}

/* The nodes under t->root (t->root first) in pre-order; *count_r. */
static struct node **preorder(struct tree *t, size_t *count_r)
{
	struct node **out = xreallocarray(NULL, t->count + 1, sizeof(*out));
	struct node **stack = xreallocarray(NULL, t->count + 1,
					    sizeof(*stack));
	size_t n = 0, sp = 0;

	stack[sp++] = &t->root;
	while (sp > 0) {
		struct node *x = stack[--sp];

		out[n++] = x;
		for (struct node *c = x->child; c != NULL; c = c->next)
			stack[sp++] = c;
	}
	free(stack);
	*count_r = n;
	return out;
}

/* Sorts every set of siblings, the deepest first (RFC 5256 step 6). */
static void sort_all(struct tree *t)
{
	size_t n, buf_size = 0;
	struct node **order = preorder(t, &n);
	struct sib *buf = NULL;

	for (size_t i = n; i > 0; i--)
		sort_children(order[i - 1], &buf, &buf_size);
	free(buf);
	free(order);
}

/* Step 3: dummies without children go; a dummy's children take its place
 * unless that would put several of them at the root. */
static void prune(struct tree *t)
{
	size_t n;
	struct node **order = preorder(t, &n);

	for (size_t i = n; i > 0; i--) {
		struct node *x = order[i - 1], *c = x->child, *list = NULL,
			    **tail = &list;

		while (c != NULL) {
			struct node *next = c->next;

			if (c->msg == NULL &&
			    (c->child == NULL || x != &t->root ||
			     c->child->next == NULL)) {
				/* promote the children (or none) */
				for (struct node *g = c->child; g != NULL;
				     g = g->next) {
					g->parent = x;
					*tail = g;
					tail = &g->next;
				}
				c->child = NULL;
				c->last = NULL;
				c->parent = NULL;
			} else {
				*tail = c;
				tail = &c->next;
			}
			c = next;
		}
		*tail = NULL;
		x->child = list;
		relink(x);
	}
	free(order);
}

struct subj_entry {
	const char *subject;
	struct node *node;
	struct subj_entry *next;
};

static struct subj_entry **subj_slot(struct subj_entry **buckets,
				     size_t nbuckets, const char *subject)
{
	size_t h = 5381;

	for (const char *s = subject; *s != '\0'; s++) {
		char c = *s >= 'a' && *s <= 'z' ? (char)(*s - 32) : *s;
		h = h * 33 + (unsigned char)c;
	}
	struct subj_entry **p = &buckets[h % nbuckets];
	while (*p != NULL && imap_sort_casecmp((*p)->subject, subject) != 0)
		p = &(*p)->next;
	return p;
}

static bool is_reply(const struct node *n)
{
	return n->msg != NULL && n->msg->subject_reply;
}

/* Step 5: roots with the same base subject are gathered. */
static void group_by_subject(struct tree *t)
{
	size_t n = 0;

	for (struct node *c = t->root.child; c != NULL; c = c->next)
		n++;
	if (n < 2)
		return;
	struct node **roots = xreallocarray(NULL, n, sizeof(*roots));
	size_t nb = n * 2;
	struct subj_entry **buckets = xcalloc(nb, sizeof(*buckets));
	struct subj_entry *entries = xcalloc(n, sizeof(*entries));
	size_t used = 0;

	n = 0;
	for (struct node *c = t->root.child; c != NULL; c = c->next)
		roots[n++] = c;
	for (size_t i = 0; i < n; i++) {
		struct node *c = roots[i];
		const struct imap_sort_msg *m = node_msg(c);

		if (m == NULL || m->subject[0] == '\0')
			continue;
		struct subj_entry **p = subj_slot(buckets, nb, m->subject);
		if (*p == NULL) {
			struct subj_entry *e = &entries[used++];

			e->subject = m->subject;
			e->node = c;
			*p = e;
		} else if ((c->msg == NULL && (*p)->node->msg != NULL) ||
			   ((*p)->node->msg != NULL && is_reply((*p)->node) &&
			    c->msg != NULL && !is_reply(c))) {
			(*p)->node = c;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct node *c = roots[i];
		const struct imap_sort_msg *m = node_msg(c);

		if (c->parent != &t->root || m == NULL ||
		    m->subject[0] == '\0')
			continue;
		struct subj_entry *e = *subj_slot(buckets, nb, m->subject);
		struct node *tc = e->node;

		if (tc == c)
			continue;
		if (tc->msg == NULL && c->msg == NULL) {
			while (c->child != NULL) {
				struct node *g = c->child;

				unlink_node(g);
				link_child(tc, g);
			}
			unlink_node(c);
		} else if (tc->msg == NULL) {
			unlink_node(c);
			link_child(tc, c);
		} else if (c->msg == NULL) {
			unlink_node(tc);
			link_child(c, tc);
			e->node = c;
		} else if (!is_reply(tc) && is_reply(c)) {
			unlink_node(c);
			link_child(tc, c);
		} else if (is_reply(tc) && !is_reply(c)) {
			unlink_node(tc);
			link_child(c, tc);
			e->node = c;
		} else {
			struct node *d = node_new(t, NULL);

			unlink_node(tc);
			unlink_node(c);
			link_child(&t->root, d);
			link_child(d, tc);
			link_child(d, c);
			e->node = d;
		}
	}
	free(entries);
	free(buckets);
	free(roots);
}

static int seq_cmp(const void *pa, const void *pb)
{
	const struct imap_sort_msg *a = *(struct imap_sort_msg *const *)pa;
	const struct imap_sort_msg *b = *(struct imap_sort_msg *const *)pb;

	return a->seq < b->seq ? -1 : a->seq > b->seq ? 1 : 0;
}

static void thread_references(struct tree *t, struct imap_sort_msg **msgs,
			      size_t count)
{
	qsort(msgs, count, sizeof(*msgs), seq_cmp);
	for (size_t i = 0; i < count; i++) {
		struct imap_sort_msg *m = msgs[i];
		char **refs, **own;
		size_t nrefs = parse_ids(m->references,
					 IMAP_THREAD_MAX_REFERENCES, true,
					 &refs);

		if (nrefs == 0) {
			free_ids(refs, 0);
			nrefs = parse_ids(m->in_reply_to, 1, false, &refs);
		}
		/* (A) link the references in order */
		struct node *prev = NULL;
		for (size_t r = 0; r < nrefs; r++) {
			struct node *c = id_get(t, refs[r]);

			refs[r] = NULL;

			if (prev != NULL && c->parent == NULL &&
			    !would_loop(prev, c))
				link_child(prev, c);
			prev = c;
		}
		/* (B) the message's own container */
		struct node *self = NULL;
		size_t nown = parse_ids(m->message_id, 1, false, &own);
		if (nown > 0) {
			self = id_get(t, own[0]);
			own[0] = NULL;
			if (self->msg != NULL)
				self = NULL;	/* a duplicate: unique */
		}
		free_ids(own, nown);
		if (self == NULL)
			self = node_new(t, NULL);
		self->msg = m;
		/* (C) its parent is the last reference */
		if (prev == NULL) {
			unlink_node(self);
		} else if (!would_loop(prev, self)) {
			unlink_node(self);
			link_child(prev, self);
		}
		free_ids(refs, nrefs);
	}
	/* 2: the root set */
	for (size_t i = 0; i < t->count; i++)
		if (t->nodes[i]->parent == NULL)
			link_child(&t->root, t->nodes[i]);
	prune(t);
	sort_all(t);
	group_by_subject(t);
	sort_all(t);
}

static int subject_cmp(const void *pa, const void *pb)
{
	const struct imap_sort_msg *a = *(struct imap_sort_msg *const *)pa;
	const struct imap_sort_msg *b = *(struct imap_sort_msg *const *)pb;
	int r = imap_sort_casecmp(a->subject, b->subject);

	if (r != 0)
		return r;
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq ? 1 : 0;
}

static void thread_orderedsubject(struct tree *t, struct imap_sort_msg **msgs,
				  size_t count)
{
	struct node *first = NULL;

	qsort(msgs, count, sizeof(*msgs), subject_cmp);
	for (size_t i = 0; i < count; i++) {
		struct node *n = node_new(t, msgs[i]);

		if (first != NULL &&
		    imap_sort_casecmp(first->msg->subject,
				      msgs[i]->subject) == 0) {
			link_child(first, n);
		} else {
			link_child(&t->root, n);
			first = n;
		}
	}
	/* threads by the date of their first message */
	size_t buf_size = 0;
	struct sib *buf = NULL;
	sort_children(&t->root, &buf, &buf_size);
	free(buf);
}

static void append_num(struct str *out, uint32_t v)
{
	char buf[10];
	size_t i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	str_append_n(out, buf + i, sizeof(buf) - i);
}

/* Writes one thread: "(n n (n)(n n))", without recursion. */
static void write_thread(const struct node *top, bool uid, struct str *out,
			 const struct node ***stack, size_t *stack_size)
{
	size_t sp = 0;
	const struct node *cur = top;
	bool space = false;

	str_append_c(out, '(');
	for (;;) {
		if (cur != NULL) {
			if (cur->msg != NULL) {
				if (space)
					str_append_c(out, ' ');
				append_num(out, uid ? cur->msg->uid :
						      cur->msg->seq);
				space = true;
			}
			const struct node *kids = cur->child;
			if (kids == NULL) {
				cur = NULL;
			} else if (kids->next == NULL) {
				cur = kids;
			} else {
				if (space)
					str_append_c(out, ' ');
				str_append_c(out, '(');
				if (sp == *stack_size) {
					*stack_size = *stack_size == 0 ?
							      16 :
							      *stack_size * 2;
					*stack = xreallocarray(
						*stack, *stack_size,
						sizeof(**stack));
				}
				(*stack)[sp++] = kids->next;
				cur = kids;
				space = false;
			}
			continue;
		}
		if (sp == 0)
			break;
		str_append_c(out, ')');
		if ((*stack)[sp - 1] != NULL) {
			cur = (*stack)[sp - 1];
			(*stack)[sp - 1] = cur->next;
			str_append_c(out, '(');
			space = false;
		} else {
			sp--;
		}
	}
	str_append_c(out, ')');
}

void imap_thread(struct imap_sort_msg *const *msgs, size_t count,
		 enum imap_thread_algorithm algo, bool uid, struct str *out)
{
	struct tree t;
	struct imap_sort_msg **copy;

	if (count == 0)
		return;
	memset(&t, 0, sizeof(t));
	t.nbuckets = count * 4 + 1;
	t.buckets = xcalloc(t.nbuckets, sizeof(*t.buckets));
	copy = xreallocarray(NULL, count, sizeof(*copy));
	memcpy(copy, msgs, count * sizeof(*copy));
	if (algo == IMAP_THREAD_REFERENCES)
		thread_references(&t, copy, count);
	else
		thread_orderedsubject(&t, copy, count);

	const struct node **stack = NULL;
	size_t stack_size = 0;
	for (const struct node *c = t.root.child; c != NULL; c = c->next)
		write_thread(c, uid, out, &stack, &stack_size);
	free(stack);
	free(copy);
	tree_free(&t);
}
