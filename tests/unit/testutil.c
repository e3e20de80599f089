/* Helpers shared by the unit tests; see testutil.h. */
#include <string.h>

#include "testutil.h"

void tl_init(tlead *l)
{
    memset(l, 0, sizeof *l);
    l->lead.version = LEADROUTE_LEAD_VERSION;
    l->lead.id = "lead-1";
    l->lead.fields = l->f;
    l->lead.field_count = 0;
}

leadroute_value *tl_add(tlead *l, const char *name)
{
    assert_true(l->lead.field_count < TL_MAX);
    leadroute_field *f = &l->f[l->lead.field_count++];
    leadroute_value v = LEADROUTE_VALUE_INIT;
    f->name = name;
    f->value = v;
    return &f->value;
}

void tl_str(tlead *l, const char *name, const char *s)
{
    leadroute_value *v = tl_add(l, name);
    v->type = LEADROUTE_VALUE_STRING;
    v->string = s;
}

void tl_num(tlead *l, const char *name, double d)
{
    leadroute_value *v = tl_add(l, name);
    v->type = LEADROUTE_VALUE_NUMBER;
    v->number = d;
}

void tl_bool(tlead *l, const char *name, int b)
{
    leadroute_value *v = tl_add(l, name);
    v->type = LEADROUTE_VALUE_BOOL;
    v->boolean = b;
}

void tl_null(tlead *l, const char *name)
{
    (void)tl_add(l, name);
}

void tl_set(tlead *l, const char *name, const char *const *items, size_t n)
{
    leadroute_value *v = tl_add(l, name);
    v->type = LEADROUTE_VALUE_SET;
    v->items = items;
    v->item_count = n;
}

leadroute_table *parse_opts(const char *text, const leadroute_table_options *o)
{
    leadroute_table *t = NULL;
    int rc = leadroute_table_parse(&t, text, strlen(text), "t.csv", o);
    if (rc != LEADROUTE_OK)
        fail_msg("parse failed (%d): %s\n--- table ---\n%s", rc, leadroute_error_last()->message, text);
    assert_non_null(t);
    return t;
}

leadroute_table *parse_ok(const char *text)
{
    return parse_opts(text, NULL);
}

int parse_rc(const char *text)
{
    leadroute_table *t = NULL;
    leadroute_error_clear();
    int rc = leadroute_table_parse(&t, text, strlen(text), "t.csv", NULL);
    if (rc == LEADROUTE_OK) {
        leadroute_table_unref(t);
        return rc;
    }
    assert_null(t);
    assert_int_equal(leadroute_error_last()->code, rc);
    return rc;
}

static char hit_buf[4096];
const char *hits(const leadroute_table *t, const tlead *l)
{
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    int rc = leadroute_table_eval(t, &l->lead, r);
    if (rc != LEADROUTE_OK) {
        leadroute_result_free(r);
        fail_msg("eval failed (%d): %s", rc, leadroute_error_last()->message);
    }
    hit_buf[0] = '\0';
    size_t n = leadroute_result_count(r);
    for (size_t i = 0; i < n; i++) {
        const char *id = leadroute_result_rule_id(r, i);
        assert_non_null(id);
        if (i)
            strcat(hit_buf, ",");
        strcat(hit_buf, id);
    }
    leadroute_result_free(r);
    return hit_buf;
}

int eval_rc(const leadroute_table *t, const tlead *l)
{
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    leadroute_error_clear();
    int rc = leadroute_table_eval(t, &l->lead, r);
    if (rc != LEADROUTE_OK)
        assert_int_equal(leadroute_error_last()->code, rc);
    leadroute_result_free(r);
    return rc;
}

void expect_message_has(const char *needle)
{
    const char *m = leadroute_error_last()->message;
    assert_non_null(m);
    if (strstr(m, needle) == NULL)
        fail_msg("message '%s' lacks '%s'", m, needle);
}
