/* Rosters: the CSV format (fields, defaults, every syntax error with its
 * location), loading files, and the checks of leadroute_roster_new(). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "router/internal.h"
#include "testutil.h"

/* ---- a counting allocator that can fail on demand -------------------------- */

typedef struct counter {
    size_t live;        /* blocks not freed yet */
    size_t calls;       /* allocations asked for */
    size_t fail_at;     /* the allocation (1-based) that fails, 0 = none */
} counter;

static counter counts;

static void *count_alloc(void *ud, size_t size)
{
    counter *c = ud;
    c->calls++;
    if (c->fail_at && c->calls == c->fail_at)
        return NULL;
    void *p = malloc(size);
    if (p)
        c->live++;
    return p;
}

static void count_free(void *ud, void *ptr)
{
    counter *c = ud;
    if (ptr) {
        c->live--;
        free(ptr);
    }
}

static const leadroute_allocator *counting(size_t fail_at)
{
    static leadroute_allocator a = LEADROUTE_ALLOCATOR_INIT;
    a.alloc = count_alloc;
    a.free = count_free;
    a.user_data = &counts;
    counts.live = 0;
    counts.calls = 0;
    counts.fail_at = fail_at;
    return &a;
}

/* ---- helpers --------------------------------------------------------------- */

#define EXAMPLE \
    "# comment lines start with '#'\n" \
    "#! pools\n" \
    "id,strategy,fallback,on_empty,default_owner,queue,owner_first,filters,tiers\n" \
    "enterprise,weighted,smb,queue,,enterprise-queue,yes,\"language=languages; products=products\",\">=80:2; >=50:1\"\n" \
    "smb,round_robin,,default_owner,alice,,no,,\n" \
    "#! reps\n" \
    "id,name,pools,weight,capacity,tier,active,languages,products\n" \
    "alice,Alice Smith,\"enterprise, smb\",2,50,2,yes,\"en, de\",\"crm, cpq\"\n" \
    "bob,Bob Jones,smb,1,,0,yes,en,\n"

static leadroute_roster *roster_ok(const char *text)
{
    leadroute_roster *ro = NULL;
    leadroute_error_clear();
    int rc = leadroute_roster_parse(&ro, text, strlen(text), "r.csv", NULL);
    if (rc != LEADROUTE_OK)
        fail_msg("parse failed (%d): %s", rc, leadroute_error_last()->message);
    assert_non_null(ro);
    return ro;
}

/* Parse text that must fail with `code` at r.csv:line:col; the message must
 * start with that location and contain `needle`. Nothing may leak. */
static void roster_err(const char *text, int code, uint32_t line, uint32_t col, const char *needle)
{
    leadroute_roster *ro = (leadroute_roster *)1;
    const leadroute_allocator *a = counting(0);
    leadroute_error_clear();
    int rc = leadroute_roster_parse(&ro, text, strlen(text), "r.csv", a);
    const leadroute_error *e = leadroute_error_last();
    if (rc != code)
        fail_msg("expected %d, got %d (%s) for:\n%s", code, rc, e->message, text);
    assert_null(ro);
    assert_int_equal(e->code, code);
    assert_non_null(e->file);
    assert_string_equal(e->file, "r.csv");
    char prefix[64];
    snprintf(prefix, sizeof prefix, "r.csv:%u:%u: ", line, col);
    if (e->line != line || e->column != col || strncmp(e->message, prefix, strlen(prefix)) != 0)
        fail_msg("expected the error at %u:%u, got %u:%u: %s", line, col, e->line, e->column, e->message);
    expect_message_has(needle);
    assert_int_equal(counts.live, 0);
}

static const lr__rep *rep_of(const leadroute_roster *ro, const char *id)
{
    uint32_t i = lr__roster_rep(ro, id);
    if (i == LR_NONE)
        fail_msg("no rep '%s'", id);
    return &ro->reps[i];
}

static const lr__pool *pool_of(const leadroute_roster *ro, const char *id)
{
    uint32_t i = lr__roster_pool(ro, id);
    if (i == LR_NONE)
        fail_msg("no pool '%s'", id);
    return &ro->pools[i];
}

static const lr__skill *skill_of(const lr__rep *rep, const char *name)
{
    for (uint32_t i = 0; i < rep->nskills; i++)
        if (strcmp(rep->skills[i].name, name) == 0)
            return &rep->skills[i];
    fail_msg("rep '%s' has no skill set '%s'", rep->id, name);
    return NULL;
}

/* Does the rep belong to the pool, as seen from both sides? */
static int member(const leadroute_roster *ro, const char *rep_id, const char *pool_id)
{
    uint32_t r = lr__roster_rep(ro, rep_id), p = lr__roster_pool(ro, pool_id), i;
    int in_rep = 0, in_pool = 0;
    for (i = 0; i < ro->reps[r].npools; i++)
        in_rep |= ro->reps[r].pools[i] == p;
    for (i = 0; i < ro->pools[p].nmembers; i++)
        in_pool |= ro->pools[p].members[i] == r;
    assert_int_equal(in_rep, in_pool);
    return in_rep;
}

static void check_example(const leadroute_roster *ro)
{
    assert_int_equal(leadroute_roster_rep_count(ro), 2);
    assert_string_equal(leadroute_roster_rep_id(ro, 0), "alice");
    assert_string_equal(leadroute_roster_rep_id(ro, 1), "bob");
    assert_null(leadroute_roster_rep_id(ro, 2));
    assert_int_equal(leadroute_roster_pool_count(ro), 2);
    assert_string_equal(leadroute_roster_pool_id(ro, 0), "enterprise");
    assert_string_equal(leadroute_roster_pool_id(ro, 1), "smb");
    assert_null(leadroute_roster_pool_id(ro, 2));

    const lr__rep *alice = rep_of(ro, "alice"), *bob = rep_of(ro, "bob");
    assert_string_equal(alice->name, "Alice Smith");
    assert_int_equal(alice->npools, 2);
    assert_true(member(ro, "alice", "enterprise"));
    assert_true(member(ro, "alice", "smb"));
    assert_true(alice->weight == 2.0);
    assert_int_equal(alice->capacity, 50);
    assert_int_equal(alice->tier, 2);
    assert_int_equal(alice->active, 1);
    assert_int_equal(alice->nskills, 2);
    const lr__skill *langs = skill_of(alice, "languages"), *prods = skill_of(alice, "products");
    assert_int_equal(langs->nitems, 2);
    assert_string_equal(langs->items[0], "de");
    assert_string_equal(langs->items[1], "en");
    assert_int_equal(prods->nitems, 2);
    assert_string_equal(prods->items[0], "cpq");
    assert_string_equal(prods->items[1], "crm");
    assert_true(lr__rep_has_skill(alice, "languages", "EN"));
    assert_false(lr__rep_has_skill(alice, "languages", "fr"));

    assert_string_equal(bob->name, "Bob Jones");
    assert_int_equal(bob->npools, 1);
    assert_false(member(ro, "bob", "enterprise"));
    assert_true(member(ro, "bob", "smb"));
    assert_true(bob->weight == 1.0);
    assert_int_equal(bob->capacity, 0);
    assert_int_equal(bob->tier, 0);
    assert_int_equal(bob->active, 1);
    /* an empty skill cell: the rep lacks the set */
    assert_int_equal(bob->nskills, 1);
    langs = skill_of(bob, "languages");
    assert_int_equal(langs->nitems, 1);
    assert_string_equal(langs->items[0], "en");
    assert_false(lr__rep_has_skill(bob, "products", "crm"));

    const lr__pool *ent = pool_of(ro, "enterprise"), *smb = pool_of(ro, "smb");
    assert_int_equal(ent->strategy, LEADROUTE_STRATEGY_WEIGHTED);
    assert_int_equal(ent->nfilters, 2);
    assert_string_equal(ent->filters[0].field, "language");
    assert_string_equal(ent->filters[0].skill, "languages");
    assert_string_equal(ent->filters[1].field, "products");
    assert_string_equal(ent->filters[1].skill, "products");
    assert_int_equal(ent->ntiers, 2);
    assert_true(ent->tiers[0].min_score == 80.0);
    assert_int_equal(ent->tiers[0].min_tier, 2);
    assert_true(ent->tiers[1].min_score == 50.0);
    assert_int_equal(ent->tiers[1].min_tier, 1);
    assert_true(ent->score_field == NULL || strcmp(ent->score_field, "score") == 0);
    assert_int_equal(ent->fallback, lr__roster_pool(ro, "smb"));
    assert_int_equal(ent->on_empty, LEADROUTE_EMPTY_QUEUE);
    assert_int_equal(ent->default_owner, LR_NONE);
    assert_string_equal(ent->queue, "enterprise-queue");
    assert_int_equal(ent->owner_first, 1);
    assert_int_equal(ent->nmembers, 1);
    assert_int_equal(ent->members[0], lr__roster_rep(ro, "alice"));

    assert_int_equal(smb->strategy, LEADROUTE_STRATEGY_ROUND_ROBIN);
    assert_int_equal(smb->nfilters, 0);
    assert_int_equal(smb->ntiers, 0);
    assert_int_equal(smb->fallback, LR_NONE);
    assert_int_equal(smb->on_empty, LEADROUTE_EMPTY_DEFAULT_OWNER);
    assert_int_equal(smb->default_owner, lr__roster_rep(ro, "alice"));
    assert_null(smb->queue);
    assert_int_equal(smb->owner_first, 0);
    assert_int_equal(smb->nmembers, 2);
    assert_int_equal(smb->members[0], lr__roster_rep(ro, "alice"));
    assert_int_equal(smb->members[1], lr__roster_rep(ro, "bob"));
}

static const char *data_path(const char *name)
{
    static char path[1024];
    const char *dir = getenv("LEADROUTE_TEST_DATA");
    if (dir == NULL)
        fail_msg("LEADROUTE_TEST_DATA is not set");
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* ---- the format ------------------------------------------------------------ */

static void test_example(void **state)
{
    (void)state;
    leadroute_roster *ro = NULL;
    const char *text = EXAMPLE;
    const leadroute_allocator *a = counting(0);
    int rc = leadroute_roster_parse(&ro, text, strlen(text), "r.csv", a);
    if (rc != LEADROUTE_OK)
        fail_msg("parse: %s", leadroute_error_last()->message);
    check_example(ro);
    /* the parser's scratch is gone: only the roster's own memory is left */
    assert_true(counts.live > 0);
    assert_ptr_equal(leadroute_roster_ref(ro), ro);
    leadroute_roster_unref(ro);
    assert_true(counts.live > 0);
    leadroute_roster_unref(ro);
    assert_int_equal(counts.live, 0);
}

/* Sections swapped, no trailing newline, text not NUL-terminated. */
static void test_sections_any_order(void **state)
{
    (void)state;
    const char *text = "#! reps\n"
                       "id,name,pools,weight,capacity,tier,active,languages,products\n"
                       "alice,Alice Smith,\"enterprise, smb\",2,50,2,yes,\"en, de\",\"crm, cpq\"\n"
                       "bob,Bob Jones,smb,1,,0,yes,en,\n"
                       "# the pools come last here\n"
                       "#! pools\n"
                       "id,strategy,fallback,on_empty,default_owner,queue,owner_first,filters,tiers\n"
                       "enterprise,weighted,smb,queue,,enterprise-queue,yes,\"language=languages; "
                       "products=products\",\">=50:1;>=80:2;\"\n"
                       "smb,round_robin,,default_owner,alice,,no,,";
    size_t n = strlen(text);
    char *buf = malloc(n + 8);
    assert_non_null(buf);
    memcpy(buf, text, n);
    memcpy(buf + n, ",x,y\n\"", 6); /* past `length`: must not be read */
    leadroute_roster *ro = NULL;
    int rc = leadroute_roster_parse(&ro, buf, n, NULL, NULL);
    if (rc != LEADROUTE_OK)
        fail_msg("parse: %s", leadroute_error_last()->message);
    check_example(ro);
    leadroute_roster_unref(ro);
    free(buf);
}

/* Header names in any case and order, blanks, aliases, padding, CRLF, a
 * byte-order mark, a directive in a quoted cell, defaults for empty cells
 * and absent columns, and a pool defined only by a rep naming it. */
static void test_flexible_text(void **state)
{
    (void)state;
    const char *text = "\xEF\xBB\xBF# roster\r\n"
                       "#! REPS,,,\r\n"
                       "Pools , ID ,Active,Weight,Skills , Tier,,\r\n"
                       "\" a , b ,, \", carol , No , 0.5 , \"X, y,x\" , 3,,\r\n"
                       "\r\n"
                       ",dave,,,,\r\n"
                       "\" \t#! pools\",,\r\n"
                       "STRATEGY,id,Owner_First,ON_EMPTY,queue,Score_Field\r\n"
                       "wrr,a,TRUE,Queue,qa,lead_score\r\n"
                       "LEAST_LOADED,c,0,,,\r\n"
                       "RR,d,false,Unassigned,,\r\n"
                       "Round_Robin,e,1,default_owner,,\r\n";
    /* e's default_owner policy has no owner: the roster says so */
    leadroute_roster *ro = NULL;
    leadroute_error_clear();
    int rc = leadroute_roster_parse(&ro, text, strlen(text), "r.csv", NULL);
    assert_int_not_equal(rc, LEADROUTE_OK);
    assert_int_not_equal(rc, LEADROUTE_EPARSE);
    assert_null(ro);
    expect_message_has("'e'");

    char fixed[1024];
    snprintf(fixed, sizeof fixed, "%.*s", (int)(strstr(text, "Round_Robin") - text), text);
    ro = roster_ok(fixed);
    assert_int_equal(leadroute_roster_rep_count(ro), 2);
    assert_int_equal(leadroute_roster_pool_count(ro), 4);
    assert_string_equal(leadroute_roster_pool_id(ro, 0), "a");
    assert_string_equal(leadroute_roster_pool_id(ro, 1), "b");
    assert_string_equal(leadroute_roster_pool_id(ro, 2), "c");
    assert_string_equal(leadroute_roster_pool_id(ro, 3), "d");

    const lr__rep *carol = rep_of(ro, "carol"), *dave = rep_of(ro, "dave");
    assert_string_equal(carol->name, "carol");
    assert_int_equal(carol->active, 0);
    assert_true(carol->weight == 0.5);
    assert_int_equal(carol->tier, 3);
    assert_int_equal(carol->capacity, 0);
    assert_int_equal(carol->npools, 2);
    assert_true(member(ro, "carol", "a"));
    assert_true(member(ro, "carol", "b"));
    assert_int_equal(carol->nskills, 1);
    const lr__skill *sk = skill_of(carol, "Skills");
    assert_int_equal(sk->nitems, 2);
    assert_string_equal(sk->items[0], "x");
    assert_string_equal(sk->items[1], "y");

    assert_string_equal(dave->name, "dave");
    assert_int_equal(dave->active, 1);
    assert_true(dave->weight == 1.0);
    assert_int_equal(dave->npools, 0);
    assert_int_equal(dave->nskills, 0);

    const lr__pool *a = pool_of(ro, "a"), *b = pool_of(ro, "b"), *c = pool_of(ro, "c"), *d = pool_of(ro, "d");
    assert_int_equal(a->strategy, LEADROUTE_STRATEGY_WEIGHTED);
    assert_int_equal(a->owner_first, 1);
    assert_int_equal(a->on_empty, LEADROUTE_EMPTY_QUEUE);
    assert_string_equal(a->queue, "qa");
    assert_string_equal(a->score_field, "lead_score");
    /* b is named by carol only: defaults */
    assert_int_equal(b->strategy, LEADROUTE_STRATEGY_ROUND_ROBIN);
    assert_int_equal(b->fallback, LR_NONE);
    assert_int_equal(b->on_empty, LEADROUTE_EMPTY_UNASSIGNED);
    assert_int_equal(b->owner_first, 0);
    assert_int_equal(b->nfilters, 0);
    assert_int_equal(b->ntiers, 0);
    assert_int_equal(b->nmembers, 1);
    assert_int_equal(c->strategy, LEADROUTE_STRATEGY_LEAST_LOADED);
    assert_int_equal(c->owner_first, 0);
    assert_int_equal(c->on_empty, LEADROUTE_EMPTY_UNASSIGNED);
    assert_int_equal(c->nmembers, 0);
    assert_int_equal(d->strategy, LEADROUTE_STRATEGY_ROUND_ROBIN);
    assert_int_equal(d->on_empty, LEADROUTE_EMPTY_UNASSIGNED);
    leadroute_roster_unref(ro);
}

/* Without a pools section every pool comes from the reps; a reps section
 * with only its header is an empty roster. */
static void test_reps_only(void **state)
{
    (void)state;
    leadroute_roster *ro = roster_ok("#! reps\nid,pools\nx,\"p2, p1, p2\"\ny,p1\n");
    assert_int_equal(leadroute_roster_pool_count(ro), 2);
    assert_string_equal(leadroute_roster_pool_id(ro, 0), "p1");
    assert_string_equal(leadroute_roster_pool_id(ro, 1), "p2");
    assert_true(member(ro, "x", "p1"));
    assert_true(member(ro, "x", "p2"));
    assert_true(member(ro, "y", "p1"));
    assert_false(member(ro, "y", "p2"));
    leadroute_roster_unref(ro);

    ro = roster_ok("#! reps\nid\n");
    assert_int_equal(leadroute_roster_rep_count(ro), 0);
    assert_int_equal(leadroute_roster_pool_count(ro), 0);
    leadroute_roster_unref(ro);
}

static void test_numbers(void **state)
{
    (void)state;
    leadroute_roster *ro =
        roster_ok("#! reps\nid,weight,capacity,tier\na,1e-3,4294967295,4294967295\nb,+2.5,007,0\n");
    assert_true(rep_of(ro, "a")->weight == 1e-3);
    assert_int_equal(rep_of(ro, "a")->capacity, UINT32_MAX);
    assert_int_equal(rep_of(ro, "a")->tier, UINT32_MAX);
    assert_true(rep_of(ro, "b")->weight == 2.5);
    assert_int_equal(rep_of(ro, "b")->capacity, 7);
    leadroute_roster_unref(ro);

    ro = roster_ok("#! pools\nid,tiers\np,\" >= -1.5 : 0 ;; >=1e2:7 \"\n#! reps\nid\n");
    const lr__pool *p = pool_of(ro, "p");
    assert_int_equal(p->ntiers, 2);
    assert_true(p->tiers[0].min_score == 100.0);
    assert_int_equal(p->tiers[0].min_tier, 7);
    assert_true(p->tiers[1].min_score == -1.5);
    assert_int_equal(p->tiers[1].min_tier, 0);
    leadroute_roster_unref(ro);
}

/* ---- caps, deadlines, escalation, value balancing ------------------------- */

#define CAPS_EXAMPLE \
    "#! pools\n" \
    "id,strategy,cap_day,sla_minutes,max_hops,escalation_pool,calibration,value_field,value_window_days\n" \
    "deals,value_balanced,200,30,1,managers,catch_up,amount,7\n" \
    "managers,round_robin,,60,,,,,\n" \
    "#! reps\n" \
    "id,pools,cap_24h,cap_7d,cap_30d\n" \
    "carol,deals,20,,300\n" \
    "dave,\"deals, managers\",0,,\n"

static void expect_caps(const uint32_t *caps, uint32_t day, uint32_t week, uint32_t month)
{
    assert_int_equal(caps[0], day);
    assert_int_equal(caps[1], week);
    assert_int_equal(caps[2], month);
}

/* A pool's value field: the roster may keep NULL or spell out the default. */
static void expect_value_field(const lr__pool *p, const char *want)
{
    if (want)
        assert_string_equal(p->value_field, want);
    else
        assert_true(p->value_field == NULL || strcmp(p->value_field, "deal_value") == 0);
}

/* The example in the format's documentation (also tests/unit/data/roster-caps.csv). */
static void check_caps_example(const leadroute_roster *ro)
{
    const lr__pool *deals = pool_of(ro, "deals"), *managers = pool_of(ro, "managers");
    assert_int_equal(deals->strategy, LEADROUTE_STRATEGY_VALUE_BALANCED);
    expect_caps(deals->caps, 200, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP);
    assert_true(deals->sla_minutes == 30.0);
    assert_int_equal(deals->max_hops, 1);
    assert_int_equal(deals->escalation_pool, lr__roster_pool(ro, "managers"));
    assert_int_equal(deals->escalation_owner, LR_NONE);
    assert_int_equal(deals->calibration, LEADROUTE_CALIBRATE_CATCH_UP);
    expect_value_field(deals, "amount");
    assert_int_equal(deals->value_window_days, 7);

    assert_int_equal(managers->strategy, LEADROUTE_STRATEGY_ROUND_ROBIN);
    expect_caps(managers->caps, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP);
    assert_true(managers->sla_minutes == 60.0);
    assert_int_equal(managers->max_hops, 2);
    assert_int_equal(managers->escalation_pool, LR_NONE);
    assert_int_equal(managers->escalation_owner, LR_NONE);
    assert_int_equal(managers->calibration, LEADROUTE_CALIBRATE_JOIN);
    expect_value_field(managers, NULL);
    assert_int_equal(managers->value_window_days, 30);

    const lr__rep *carol = rep_of(ro, "carol"), *dave = rep_of(ro, "dave");
    expect_caps(carol->caps, 20, LEADROUTE_NO_CAP, 300);
    /* a cap of 0: paused, not "no cap" */
    expect_caps(dave->caps, 0, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP);
    /* cap columns are not skill sets */
    assert_int_equal(carol->nskills, 0);
    assert_int_equal(dave->nskills, 0);
    assert_true(member(ro, "dave", "managers"));
}

static void test_caps_example(void **state)
{
    (void)state;
    leadroute_roster *ro = roster_ok(CAPS_EXAMPLE);
    check_caps_example(ro);
    leadroute_roster_unref(ro);

    ro = NULL;
    int rc = leadroute_roster_load(&ro, data_path("roster-caps.csv"), counting(0));
    if (rc != LEADROUTE_OK)
        fail_msg("load: %s", leadroute_error_last()->message);
    check_caps_example(ro);
    leadroute_roster_unref(ro);
    assert_int_equal(counts.live, 0);
}

/* Rep caps: every column, both spellings in any case, 0, the largest count,
 * empty cells and absent columns. */
static void test_rep_caps(void **state)
{
    (void)state;
    leadroute_roster *ro = roster_ok("#! reps\n"
                                     "id, Cap_Day ,cap_week,CAP_MONTH,languages\n"
                                     "a,5,10,40,en\n"
                                     "b,0,0,0,\n"
                                     "c,,,,\n"
                                     "d,4294967294, 007 ,,\n");
    expect_caps(rep_of(ro, "a")->caps, 5, 10, 40);
    expect_caps(rep_of(ro, "b")->caps, 0, 0, 0);
    expect_caps(rep_of(ro, "c")->caps, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP);
    expect_caps(rep_of(ro, "d")->caps, 4294967294u, 7, LEADROUTE_NO_CAP);
    /* the one skill column is still a skill set */
    assert_int_equal(rep_of(ro, "a")->nskills, 1);
    assert_true(lr__rep_has_skill(rep_of(ro, "a"), "languages", "en"));
    leadroute_roster_unref(ro);

    ro = roster_ok("#! reps\nCAP_30D,id,cap_24h,Cap_7d\n30,a,1,7\n,b,0,\n");
    expect_caps(rep_of(ro, "a")->caps, 1, 7, 30);
    expect_caps(rep_of(ro, "b")->caps, 0, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP);
    assert_int_equal(rep_of(ro, "a")->nskills, 0);
    leadroute_roster_unref(ro);

    /* no cap columns: no caps */
    ro = roster_ok("#! reps\nid,weight\na,2\n");
    expect_caps(rep_of(ro, "a")->caps, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP);
    leadroute_roster_unref(ro);
}

/* Every new pool column with a value, empty, and absent; the strategy's new
 * spellings; pools named only by reps get the same defaults. */
static void test_pool_columns(void **state)
{
    (void)state;
    leadroute_roster *ro = roster_ok(
        "#! pools\n"
        "id,strategy,cap_24h,CAP_7D,cap_30d,sla_minutes,max_hops,escalation_pool,escalation_owner,calibration,"
        "value_field,value_window_days\n"
        "a,value_balanced,0,100,400,0.5,0,b,zoe,CATCH_UP,deal_amount,1\n"
        "b,VALUE,,,,,,,zoe,join,,31\n"
        "c,Value_Balanced,3,,,-0,7,,,,,\n"
        "d,rr,,,,1e3,4294967295,a,,,,\n"
        "#! reps\n"
        "id,pools\n"
        "zoe,\"a, b, e\"\n");
    const lr__pool *a = pool_of(ro, "a"), *b = pool_of(ro, "b"), *c = pool_of(ro, "c"), *d = pool_of(ro, "d"),
                   *e = pool_of(ro, "e");
    const uint32_t zoe = lr__roster_rep(ro, "zoe");

    assert_int_equal(a->strategy, LEADROUTE_STRATEGY_VALUE_BALANCED);
    expect_caps(a->caps, 0, 100, 400);
    assert_true(a->sla_minutes == 0.5);
    assert_int_equal(a->max_hops, 0);
    assert_int_equal(a->escalation_pool, lr__roster_pool(ro, "b"));
    assert_int_equal(a->escalation_owner, zoe);
    assert_int_equal(a->calibration, LEADROUTE_CALIBRATE_CATCH_UP);
    expect_value_field(a, "deal_amount");
    assert_int_equal(a->value_window_days, 1);

    assert_int_equal(b->strategy, LEADROUTE_STRATEGY_VALUE_BALANCED);
    expect_caps(b->caps, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP);
    assert_true(b->sla_minutes == 0.0);
    assert_int_equal(b->max_hops, 2);
    assert_int_equal(b->escalation_pool, LR_NONE);
    assert_int_equal(b->escalation_owner, zoe);
    assert_int_equal(b->calibration, LEADROUTE_CALIBRATE_JOIN);
    expect_value_field(b, NULL);
    assert_int_equal(b->value_window_days, 31);

    assert_int_equal(c->strategy, LEADROUTE_STRATEGY_VALUE_BALANCED);
    expect_caps(c->caps, 3, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP);
    /* "-0" is no deadline, stored as plain 0 */
    assert_true(c->sla_minutes == 0.0);
    assert_false(signbit(c->sla_minutes));
    assert_int_equal(c->max_hops, 7);
    assert_int_equal(c->calibration, LEADROUTE_CALIBRATE_JOIN);
    assert_int_equal(c->value_window_days, 30);
    assert_int_equal(c->nmembers, 0);

    assert_int_equal(d->strategy, LEADROUTE_STRATEGY_ROUND_ROBIN);
    assert_true(d->sla_minutes == 1000.0);
    assert_int_equal(d->max_hops, UINT32_MAX);
    assert_int_equal(d->escalation_pool, lr__roster_pool(ro, "a"));
    assert_int_equal(d->escalation_owner, LR_NONE);

    /* e is named by zoe only */
    assert_int_equal(e->strategy, LEADROUTE_STRATEGY_ROUND_ROBIN);
    expect_caps(e->caps, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP);
    assert_true(e->sla_minutes == 0.0);
    assert_int_equal(e->max_hops, 2);
    assert_int_equal(e->escalation_pool, LR_NONE);
    assert_int_equal(e->escalation_owner, LR_NONE);
    assert_int_equal(e->calibration, LEADROUTE_CALIBRATE_JOIN);
    expect_value_field(e, NULL);
    assert_int_equal(e->value_window_days, 30);
    leadroute_roster_unref(ro);

    /* none of the new columns: the same defaults */
    ro = roster_ok("#! pools\nid,strategy\np,least_loaded\n#! reps\nid\n");
    const lr__pool *p = pool_of(ro, "p");
    expect_caps(p->caps, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP);
    assert_true(p->sla_minutes == 0.0);
    assert_int_equal(p->max_hops, 2);
    assert_int_equal(p->escalation_pool, LR_NONE);
    assert_int_equal(p->escalation_owner, LR_NONE);
    assert_int_equal(p->calibration, LEADROUTE_CALIBRATE_JOIN);
    expect_value_field(p, NULL);
    assert_int_equal(p->value_window_days, 30);
    leadroute_roster_unref(ro);
}

/* ---- syntax errors, each at its cell --------------------------------------- */

static void test_structure_errors(void **state)
{
    (void)state;
    roster_err("", LEADROUTE_EPARSE, 1, 1, "empty roster");
    roster_err("\n \n", LEADROUTE_EPARSE, 1, 1, "empty roster");
    roster_err("# just a comment\n\n", LEADROUTE_EPARSE, 1, 1, "no '#! reps' section");
    roster_err("#! pools\nid\nsmb\n", LEADROUTE_EPARSE, 3, 1, "no '#! reps' section");
    roster_err("# c\nid,name\n", LEADROUTE_EPARSE, 2, 1, "row before any section");
    roster_err("#! people\n", LEADROUTE_EPARSE, 1, 1, "unknown directive '#! people'");
    roster_err("#! reps\nid\na\n#! Reps\nid\n", LEADROUTE_EPARSE, 4, 1, "appears twice (first at line 1)");
    roster_err("#! pools\n#! reps\nid\na\n", LEADROUTE_EPARSE, 1, 1, "'#! pools' section has no header row");
    roster_err("#! reps\n# only a comment\n", LEADROUTE_EPARSE, 1, 1, "'#! reps' section has no header row");
    /* a header of one cell holding the separator a spreadsheet used instead */
    roster_err("#! reps\nid;pools\na;p\n", LEADROUTE_EPARSE, 2, 3, "the file looks separated by semicolons");
    roster_err("#! pools\nid,strategy\np,round_robin\n#! reps\nid\tpools\na\tp\n", LEADROUTE_EPARSE, 5, 3,
               "the header is one cell with a tab in it");
    roster_err("\n#! pools\nid\np\n\n#! reps\n", LEADROUTE_EPARSE, 6, 1, "'#! reps' section has no header row");
}

static void test_header_errors(void **state)
{
    (void)state;
    roster_err("#! pools\nid,strategy,colour\n#! reps\nid\n", LEADROUTE_EPARSE, 2, 13,
               "unknown column 'colour' in the pools header (known: id, strategy, fallback, on_empty, "
               "default_owner, queue, owner_first, filters, tiers");
    roster_err("#! pools\nstrategy\n#! reps\nid\n", LEADROUTE_EPARSE, 2, 1, "header has no 'id' column");
    roster_err("#! reps\nname,pools\na,b\n", LEADROUTE_EPARSE, 2, 1, "'#! reps' header has no 'id' column");
    roster_err("#! reps\nid,ID\n", LEADROUTE_EPARSE, 2, 4, "column 'ID' appears twice");
    roster_err("#! reps\nid,langs, Langs \n", LEADROUTE_EPARSE, 2, 10, "column 'Langs' appears twice");
    roster_err("#! reps\nid,,name\n", LEADROUTE_EPARSE, 2, 4, "empty column name");
    /* a column name holding what no lead field name would (a skill column
     * that matched nothing, unseen), at its cell */
    roster_err("#! reps\nid,\xef\xbb\xbfpools\n", LEADROUTE_EPARSE, 2, 4,
               "column name '\\xef\\xbb\\xbfpools' holds a byte order mark (U+FEFF)");
    roster_err("#! reps\nid,pools,\"sk\xc2\x85ill\"\n", LEADROUTE_EPARSE, 2, 10,
               "column name 'sk\\xc2\\x85ill' holds a control character");
    /* a column and its alias are one column */
    roster_err("#! reps\nid,cap_day,cap_24h\n", LEADROUTE_EPARSE, 2, 12,
               "column 'cap_24h' appears twice in the header (also column 2, 'cap_day')");
    roster_err("#! pools\nCAP_7D,id, cap_week\n#! reps\nid\n", LEADROUTE_EPARSE, 2, 11,
               "column 'cap_week' appears twice in the header (also column 1, 'cap_7d')");
    roster_err("#! pools\nid,cap_30d,Cap_30D\n#! reps\nid\n", LEADROUTE_EPARSE, 2, 12,
               "column 'Cap_30D' appears twice in the header (also column 2)");
    /* in any case, beyond ASCII too, as skill items are compared */
    roster_err("#! reps\nid,\xc3\x84rea,\xc3\xa4rea\n", LEADROUTE_EPARSE, 2, 10,
               "column '\xc3\xa4rea' appears twice in the header (also column 2)");
    /* the new pool columns are listed among the known ones */
    roster_err("#! pools\nid,cap_year\n#! reps\nid\n", LEADROUTE_EPARSE, 2, 4,
               "unknown column 'cap_year' in the pools header (known: id, strategy, fallback, on_empty, "
               "default_owner, queue, owner_first, filters, tiers, score_field, cap_day, cap_week, cap_month, "
               "sla_minutes, max_hops, escalation_pool, escalation_owner, calibration, value_field, "
               "value_window_days)");
    /* a wide header is checked all the same (and in linear time) */
    {
        size_t cap = 200000, at;
        char *wide = malloc(cap);
        assert_non_null(wide);
        at = (size_t)snprintf(wide, cap, "#! reps\nid");
        for (int i = 0; i < 20000; i++)
            at += (size_t)snprintf(wide + at, cap - at, ",s%d", i);
        snprintf(wide + at, cap - at, ",S17\n");
        /* the column of S17: the line's length so far (at less "#! reps\n"), its comma, then it */
        roster_err(wide, LEADROUTE_EPARSE, 2, (uint32_t)(at - 8 + 2),
                   "column 'S17' appears twice in the header (also column 19)");
        free(wide);
    }
    /* only the pools section knows the pool-only columns: in reps, a skill set */
    leadroute_roster *ro = roster_ok("#! reps\nid,sla_minutes\nalice,30\n");
    assert_true(lr__rep_has_skill(rep_of(ro, "alice"), "sla_minutes", "30"));
    leadroute_roster_unref(ro);
}

static void test_row_width_errors(void **state)
{
    (void)state;
    roster_err("#! reps\nid,name,weight\nalice,Alice\n", LEADROUTE_EPARSE, 3, 1,
               "this row has 2 cells, the '#! reps' header has 3");
    roster_err("#! reps\nid,name,weight\nalice\n", LEADROUTE_EPARSE, 3, 1,
               "this row has 1 cell, the '#! reps' header has 3");
    roster_err("#! reps\nid,name\nalice,Alice,x\n", LEADROUTE_EPARSE, 3, 13,
               "this row has 3 cells, the '#! reps' header has 2");
    roster_err("#! pools\nid,strategy\np,rr,, wrr\n#! reps\nid\n", LEADROUTE_EPARSE, 3, 7,
               "this row has 4 cells, the '#! pools' header has 2");
    /* a skill cell of separators and blanks only is no skill set, as an empty cell */
    {
        leadroute_roster *sep = roster_ok("#! reps\nid,langs,regions\nalice,\" , ,\",emea\n");
        leadroute_rep rep = LEADROUTE_REP_INIT;
        assert_int_equal(leadroute_roster_rep(sep, 0, &rep), LEADROUTE_OK);
        assert_int_equal(rep.skill_count, 1);
        assert_string_equal(rep.skills[0].name, "regions");
        leadroute_roster_unref(sep);
    }
    /* empty cells past the header are padding, not cells */
    leadroute_roster *ro = roster_ok("#! reps\nid,name,,\nalice,Alice,,\nbob,Bob, ,,,\n");
    assert_int_equal(leadroute_roster_rep_count(ro), 2);
    leadroute_roster_unref(ro);
}

static void test_pool_value_errors(void **state)
{
    (void)state;
#define POOLS(header, row) "#! pools\n" header "\n" row "\n#! reps\nid\n"
    roster_err(POOLS("id,strategy", "p,fastest"), LEADROUTE_EPARSE, 3, 3, "unknown strategy 'fastest'");
    roster_err(POOLS("id,on_empty", "p,drop"), LEADROUTE_EPARSE, 3, 3, "unknown on_empty policy 'drop'");
    roster_err(POOLS("id,owner_first", "p,maybe"), LEADROUTE_EPARSE, 3, 3, "owner_first must be yes, no");
    roster_err(POOLS("id,filters", "p,\"language=languages; region\""), LEADROUTE_EPARSE, 3, 3,
               "filter 'region' must look like 'field=skill'");
    roster_err(POOLS("id,filters", "p, =languages"), LEADROUTE_EPARSE, 3, 3, "filter '=languages' needs");
    roster_err(POOLS("id,filters", "p,language="), LEADROUTE_EPARSE, 3, 3, "filter 'language=' needs");
    roster_err(POOLS("id,tiers", "p,80:2"), LEADROUTE_EPARSE, 3, 3, "tier rule '80:2' must look like '>=SCORE:TIER'");
    roster_err(POOLS("id,tiers", "p,>=80"), LEADROUTE_EPARSE, 3, 3, "tier rule '>=80' must look like");
    roster_err(POOLS("id,tiers", "p,\">=80:1; >50:1\""), LEADROUTE_EPARSE, 3, 3, "tier rule '>50:1' must look");
    roster_err(POOLS("id,tiers", "p,>=x:1"), LEADROUTE_EPARSE, 3, 3, "'x' is not a number");
    roster_err(POOLS("id,tiers", "p,>=nan:1"), LEADROUTE_EPARSE, 3, 3, "'nan' is not a number");
    roster_err(POOLS("id,tiers", "p,>=1e400:1"), LEADROUTE_EPARSE, 3, 3,
               "'1e400' is past the range of a double (not a finite number)");
    roster_err(POOLS("id,tiers", "p,>=80:-1"), LEADROUTE_EPARSE, 3, 3, "tier '-1' is not a whole number from 0 to 4294967295");
    roster_err(POOLS("id,tiers", "p,>=80:"), LEADROUTE_EPARSE, 3, 3, "tier '' is not a whole number from 0 to 4294967295");
    /* about the cell, so at the cell, not at the pool's id */
    roster_err(POOLS("id,tiers", "p,\">=80:1;>=80.0:2\""), LEADROUTE_EPARSE, 3, 3,
               "tier rule '>=80.0:2': a tier starts at score 80.0 already (rule 1)");
    roster_err(POOLS("id,tiers", "p,\">=0:1;>=-0:2\""), LEADROUTE_EPARSE, 3, 3, "a tier starts at score -0 already");
    /* lead field names, as long as a lead's may be */
    {
        char text[1024], name[LEADROUTE_MAX_NAME + 2];
        memset(name, 'f', sizeof name - 1);
        name[sizeof name - 1] = 0;
        snprintf(text, sizeof text, POOLS("id,strategy,score_field", "p,rr,%s"), name);
        roster_err(text, LEADROUTE_EPARSE, 3, 6, "score_field: a lead field name is at most 256 bytes");
        snprintf(text, sizeof text, POOLS("id,value_field", "p,%s"), name);
        roster_err(text, LEADROUTE_EPARSE, 3, 3, "value_field: a lead field name is at most 256 bytes");
    }
    roster_err(POOLS("strategy,id", "rr,  "), LEADROUTE_EPARSE, 3, 4, "empty pool id");
    /* a later cell of a quoted multi-line row: its own line and column */
    roster_err("#! pools\nid,queue,strategy\np,\"line one\nline two\",weighed\n#! reps\nid\n", LEADROUTE_EPARSE, 4,
               11, "unknown strategy 'weighed'");
#undef POOLS
}

static void test_rep_value_errors(void **state)
{
    (void)state;
    static const char *const bad_weights[] = { "0", "-1", "abc", "nan", "inf", "1e999", "0x10", "0.0", "1,5" };
    char text[256];
    for (size_t i = 0; i < sizeof bad_weights / sizeof *bad_weights; i++) {
        /* quoted so that "1,5" stays one cell; the column is the quote's */
        snprintf(text, sizeof text, "#! reps\nid,weight\nalice,\"%s\"\n", bad_weights[i]);
        roster_err(text, LEADROUTE_EPARSE, 3, 7, "weight must be a number > 0");
    }
    static const char *const bad_ints[] = { "-1", "1.5", "4294967296", "99999999999999999999", "x", "+1" };
    for (size_t i = 0; i < sizeof bad_ints / sizeof *bad_ints; i++) {
        snprintf(text, sizeof text, "#! reps\nid,capacity,tier\nalice,%s,0\n", bad_ints[i]);
        roster_err(text, LEADROUTE_EPARSE, 3, 7, "capacity must be a whole number from 0 to 4294967295");
        snprintf(text, sizeof text, "#! reps\nid,capacity,tier\nalice,0,%s\n", bad_ints[i]);
        roster_err(text, LEADROUTE_EPARSE, 3, 9, "tier must be a whole number from 0 to 4294967295");
    }
    roster_err("#! reps\nid,active\nalice,maybe\n", LEADROUTE_EPARSE, 3, 7, "active must be yes, no");
    roster_err("#! reps\nid,active\nalice,2\n", LEADROUTE_EPARSE, 3, 7, "active must be yes, no");
    roster_err("#! reps\nid,name\nalice,Alice\n ,Bob\n", LEADROUTE_EPARSE, 4, 1, "empty rep id");
    roster_err("#! reps\nname,id\nBob,\"\"\n", LEADROUTE_EPARSE, 3, 5, "empty rep id");
    /* a row starting with '#' is a comment, so no id starts so: quoted or
     * in a later column, it is refused, not read as an id */
    roster_err("#! reps\nid,name\n\"#x\",X\n", LEADROUTE_EPARSE, 3, 1, "rep id '#x' starts with '#'");
    roster_err("#! reps\nname,id\nX, #x\n", LEADROUTE_EPARSE, 3, 3, "rep id '#x' starts with '#'");
    roster_err("#! pools\nid,strategy\n\"#p\",rr\n#! reps\nid\na\n", LEADROUTE_EPARSE, 3, 1,
               "pool id '#p' starts with '#'");
    /* a byte order mark starting a later line: a file pasted after another */
    roster_err("#! pools\nid\np\n\xef\xbb\xbf#! reps\nid,pools\na,p\n", LEADROUTE_EPARSE, 4, 1,
               "the line starts with a byte order mark (U+FEFF), as a file pasted after another leaves");
    roster_err("#! reps\nid\na\n\xef\xbb\xbf" "b\n", LEADROUTE_EPARSE, 4, 1, "starts with a byte order mark");
    /* nor a pool named only by a rep, which no pools row could define */
    roster_err("#! pools\nid,fallback\np,#x\n#! reps\nid,pools\na,\"p, #x\"\n", LEADROUTE_EPARSE, 6, 3,
               "pool id '#x' starts with '#'");
    /* the weight cell starts on the second line of its row */
    roster_err("#! reps\nid,name,weight\nalice,\"Alice\nSmith\",0\n", LEADROUTE_EPARSE, 4, 8,
               "weight must be a number > 0, not '0'");
    /* the CSV reader's own errors come through with their location */
    roster_err("#! reps\nid,name\nalice,\"Alice\n", LEADROUTE_EPARSE, 3, 7, "unterminated quoted field");
    roster_err("#! reps\nid,name\nalice,\"Al\"ice\n", LEADROUTE_EPARSE, 3, 11, "unexpected text after closing");
    /* at the bad byte itself */
    roster_err("#! reps\nid,name\nalice,Al\xff" "ce\n", LEADROUTE_EPARSE, 3, 9,
               "invalid UTF-8: byte 0xFF after 'Al' starts no character (save the file as UTF-8)");
    /* a skill cell of more items than a set holds, at the cell */
    {
        char *many = malloc(8192);
        size_t at;
        assert_non_null(many);
        at = (size_t)snprintf(many, 8192, "#! reps\nid,name,lang\na,x,\"");
        for (int i = 0; i < LEADROUTE_MAX_SET_ITEMS + 1; i++)
            at += (size_t)snprintf(many + at, 8192 - at, "%sx%d", i ? "," : "", i);
        snprintf(many + at, 8192 - at, "\"\n");
        roster_err(many, LEADROUTE_EPARSE, 3, 5, "skill 'lang': 257 items, more than the 256 a set holds");
        free(many);
    }
}

/* Caps, in both sections and in every spelling: the cell's location and the
 * column as the header spells it. */
static void test_cap_errors(void **state)
{
    (void)state;
    static const char *const bad[] = { "-1", "1.5", "x", "4294967295", "4294967296", "+1", "1e3", "0x10", "none" };
    static const char *const rep_cols[] = { "cap_day", "cap_week", "cap_month", "cap_24h", "cap_7d", "cap_30d" };
    char text[256], needle[160];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        for (size_t c = 0; c < sizeof rep_cols / sizeof *rep_cols; c++) {
            /* the cap is the third cell: alice (col 1), 1 (col 7), the cap (col 9) */
            snprintf(text, sizeof text, "#! reps\nid,weight,%s\nalice,1,%s\n", rep_cols[c], bad[i]);
            snprintf(needle, sizeof needle,
                     "%s must be empty (no cap) or a whole number from 0 (paused) to 4294967294, not '%s'",
                     rep_cols[c], bad[i]);
            roster_err(text, LEADROUTE_EPARSE, 3, 9, needle);
            snprintf(text, sizeof text, "#! pools\nid,%s\npool-1,%s\n#! reps\nid\n", rep_cols[c], bad[i]);
            roster_err(text, LEADROUTE_EPARSE, 3, 8, needle);
        }
    }
    /* the header's own case is not kept in the message, the name is */
    roster_err("#! reps\nid,CAP_7D\nalice,-2\n", LEADROUTE_EPARSE, 3, 7, "cap_7d must be empty (no cap)");
    /* the first bad cap of a row is reported */
    roster_err("#! reps\nid,cap_month,cap_day\nalice,x,y\n", LEADROUTE_EPARSE, 3, 9, "cap_day must be");
}

static void test_pool_column_errors(void **state)
{
    (void)state;
    char text[256];
#define POOLS(header, row) "#! pools\n" header "\n" row "\n#! reps\nid\n"
    static const char *const bad_sla[] = { "-1", "-0.5", "nan", "inf", "-inf", "1e999", "x", "30m", "1,5" };
    for (size_t i = 0; i < sizeof bad_sla / sizeof *bad_sla; i++) {
        snprintf(text, sizeof text, POOLS("id,sla_minutes", "p,\"%s\""), bad_sla[i]);
        char needle[128];
        snprintf(needle, sizeof needle, "sla_minutes must be a number of minutes >= 0 (empty: no deadline), not '%s'",
                 bad_sla[i]);
        roster_err(text, LEADROUTE_EPARSE, 3, 3, needle);
    }
    static const char *const bad_hops[] = { "-1", "x", "2.5", "4294967296", "+1", "two" };
    for (size_t i = 0; i < sizeof bad_hops / sizeof *bad_hops; i++) {
        snprintf(text, sizeof text, POOLS("id,strategy,max_hops", "p,rr,%s"), bad_hops[i]);
        roster_err(text, LEADROUTE_EPARSE, 3, 6, "max_hops must be a whole number from 0 to 4294967295, not '");
    }
    static const char *const bad_days[] = { "0", "32", "-1", "1.5", "x", "4294967297" };
    for (size_t i = 0; i < sizeof bad_days / sizeof *bad_days; i++) {
        snprintf(text, sizeof text, POOLS("id,queue,value_window_days", "p,q,%s"), bad_days[i]);
        char needle[128];
        snprintf(needle, sizeof needle, "value_window_days must be a whole number of days from 1 to 31, not '%s'",
                 bad_days[i]);
        roster_err(text, LEADROUTE_EPARSE, 3, 5, needle);
    }
    roster_err(POOLS("id,calibration", "p,later"), LEADROUTE_EPARSE, 3, 3,
               "unknown calibration 'later' (expected join or catch_up)");
    roster_err(POOLS("id,calibration", "p,catch-up"), LEADROUTE_EPARSE, 3, 3, "unknown calibration 'catch-up'");
    {
        /* a filter or skill column name past the limit, at its cell */
        char longer[LEADROUTE_MAX_NAME + 2], big[2 * LEADROUTE_MAX_NAME + 128];
        memset(longer, 'f', sizeof longer - 1);
        longer[sizeof longer - 1] = 0;
        snprintf(big, sizeof big, "#! pools\nid,filters\np,%s=langs\n#! reps\nid,pools\nx,p\n", longer);
        roster_err(big, LEADROUTE_EPARSE, 3, 3, "its field name is longer than 256 bytes");
        snprintf(big, sizeof big, "#! pools\nid,filters\np,lang=%s\n#! reps\nid,pools\nx,p\n", longer);
        roster_err(big, LEADROUTE_EPARSE, 3, 3, "its skill name is longer than 256 bytes");
        snprintf(big, sizeof big, "#! reps\nid,pools,%s\nx,p,en\n", longer);
        roster_err(big, LEADROUTE_EPARSE, 2, 10, "skill set name longer than 256 bytes");
    }
    roster_err(POOLS("id,strategy", "p,valued"), LEADROUTE_EPARSE, 3, 3,
               "unknown strategy 'valued' (expected round_robin, weighted, least_loaded or value_balanced)");
    /* after a quoted multi-line cell: its own line and column */
    roster_err("#! pools\nid,queue,calibration\np,\"line one\nline two\",soon\n#! reps\nid\n", LEADROUTE_EPARSE, 4,
               11, "unknown calibration 'soon'");
#undef POOLS
}

/* Well-formed text that the roster rejects: its code and message come through. */
/* What leadroute_roster_new() finds wrong with the roster as a whole comes
 * back with its message, at the id cell of the rep or pool concerned. */
static void test_semantic_errors_pass_through(void **state)
{
    (void)state;
    static const struct {
        const char *text, *needle, *at;
        uint32_t line;
    } cases[] = {
        { "#! reps\nid\nalice\nbob\nalice\n", "rep id 'alice' is given twice (first at line 3)", "r.csv:5:1: ", 5 },
        { "#! pools\nid\np\np\n#! reps\nid\n", "pool id 'p' is given twice (first at line 3)", "r.csv:4:1: ", 4 },
        { "#! pools\nid,fallback\np,nowhere\n#! reps\nid\n", "'nowhere'", "r.csv:3:1: ", 3 },
        { "#! pools\nid,fallback\nb,a\nx,\na,b\n#! reps\nid\n", "pool 'a': its fallback chain loops", "r.csv:5:1: ", 5 },
        { "#! pools\nid,on_empty,default_owner\np,default_owner,zed\n#! reps\nid\nalice\n", "'zed'", "r.csv:3:1: ",
          3 },
        { "#! pools\nid,on_empty\np,queue\n#! reps\nid\n", "queue name", "r.csv:3:1: ", 3 },
        { "#! pools\nid,escalation_pool\nq,\np,nowhere\n#! reps\nid\n", "'nowhere'", "r.csv:4:1: ", 4 },
        { "#! pools\nid,escalation_owner\np,zed\n#! reps\nid\nalice\n", "'zed'", "r.csv:3:1: ", 3 },
        /* an escalation owner must be a rep, not a pool */
        { "#! pools\nid,escalation_owner\np,p\n#! reps\nid\n", "'p'", "r.csv:3:1: ", 3 },
        /* the id cell is where it is, and a rep is blamed at its own row */
        { "#! reps\nname,id\nAl,alice\nBo,bob\nAl,alice\n", "given twice (first at line 3)", "r.csv:5:4: ", 5 },
        { "#! reps\nid,pools\nalice,p\n\"b\x01\",p\n", "control character", "r.csv:4:1: ", 4 },
        { "#! reps\nid,langs,Langs2\nalice,en,\n", NULL, NULL, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        leadroute_roster *ro = (leadroute_roster *)1;
        const leadroute_allocator *a = counting(0);
        leadroute_error_clear();
        int rc = leadroute_roster_parse(&ro, cases[i].text, strlen(cases[i].text), "r.csv", a);
        if (!cases[i].needle) {
            /* distinct skill names are fine */
            assert_int_equal(rc, LEADROUTE_OK);
            leadroute_roster_unref(ro);
            assert_int_equal(counts.live, 0);
            continue;
        }
        if (rc != LEADROUTE_EINVAL && rc != LEADROUTE_ETABLE)
            fail_msg("case %zu: expected EINVAL or ETABLE, got %d: %s", i, rc, leadroute_error_last()->message);
        assert_null(ro);
        assert_int_equal(leadroute_error_last()->code, rc);
        expect_message_has(cases[i].needle);
        if (strncmp(leadroute_error_last()->message, cases[i].at, strlen(cases[i].at)) != 0)
            fail_msg("case %zu: '%s' does not start with '%s'", i, leadroute_error_last()->message, cases[i].at);
        assert_int_equal(leadroute_error_last()->line, cases[i].line);
        assert_string_equal(leadroute_error_last()->file, "r.csv");
        assert_int_equal(counts.live, 0);
    }
}

static void test_limits(void **state)
{
    (void)state;
    size_t cap = 4u << 20, len;
    char *text = malloc(cap);
    assert_non_null(text);

    /* 100000 reps are fine, one more is not */
    len = (size_t)snprintf(text, cap, "#! reps\nid\n");
    for (unsigned i = 0; i < 100000; i++)
        len += (size_t)snprintf(text + len, cap - len, "r%u\n", i);
    leadroute_roster *ro = NULL;
    assert_int_equal(leadroute_roster_parse(&ro, text, len, "r.csv", NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_roster_rep_count(ro), 100000);
    leadroute_roster_unref(ro);
    len += (size_t)snprintf(text + len, cap - len, "one-more\n");
    text[len] = '\0';
    roster_err(text, LEADROUTE_ELIMIT, 100003, 1, "more than 100000 reps");

    /* the same for pool rows */
    len = (size_t)snprintf(text, cap, "#! pools\nid\n");
    for (unsigned i = 0; i <= 100000; i++)
        len += (size_t)snprintf(text + len, cap - len, "p%u\n", i);
    len += (size_t)snprintf(text + len, cap - len, "#! reps\nid\n");
    roster_err(text, LEADROUTE_ELIMIT, 100003, 1, "more than 100000 pools");

    /* and for pools named only by reps: rep k brings pools 2k+1 and 2k+2, so
     * rep 50000 (line 50003) brings the 100001st */
    len = (size_t)snprintf(text, cap, "#! reps\nid,pools\n");
    for (unsigned i = 0; i <= 50000; i++)
        len += (size_t)snprintf(text + len, cap - len, "r%u,\"a%u, b%u\"\n", i, i, i);
    roster_err(text, LEADROUTE_ELIMIT, 50003, 8, "more than 100000 pools");
    free(text);
}

/* Every allocation may fail: the call reports ENOMEM and leaks nothing. */
static void test_allocation_failures(void **state)
{
    (void)state;
    static const char *const texts[] = { EXAMPLE, CAPS_EXAMPLE };
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
        size_t n;
        int rc = LEADROUTE_ENOMEM;
        for (n = 1; rc == LEADROUTE_ENOMEM; n++) {
            leadroute_roster *ro = (leadroute_roster *)1;
            const leadroute_allocator *a = counting(n);
            rc = leadroute_roster_parse(&ro, texts[t], strlen(texts[t]), "r.csv", a);
            if (rc == LEADROUTE_OK) {
                if (t == 0)
                    check_example(ro);
                else
                    check_caps_example(ro);
                leadroute_roster_unref(ro);
            } else {
                assert_int_equal(rc, LEADROUTE_ENOMEM);
                assert_null(ro);
            }
            assert_int_equal(counts.live, 0);
        }
        assert_true(n > 3);
    }
}

static void test_arguments(void **state)
{
    (void)state;
    leadroute_roster *ro = (leadroute_roster *)1;
    assert_int_equal(leadroute_roster_parse(NULL, "#! reps\nid\n", 11, NULL, NULL), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_roster_parse(&ro, NULL, 4, NULL, NULL), LEADROUTE_EINVAL);
    assert_null(ro);
    /* NULL text of length 0 is empty text; no file name gives "<roster>" */
    assert_int_equal(leadroute_roster_parse(&ro, NULL, 0, NULL, NULL), LEADROUTE_EPARSE);
    assert_string_equal(leadroute_error_last()->file, "<roster>");
    expect_message_has("<roster>:1:1: empty roster");

    leadroute_allocator bad = LEADROUTE_ALLOCATOR_INIT;
    bad.alloc = count_alloc;
    bad.free = count_free;
    bad.user_data = &counts;
    bad.version = 0;
    assert_int_equal(leadroute_roster_parse(&ro, "#! reps\nid\n", 11, NULL, &bad), LEADROUTE_EVERSION);
    bad.version = LEADROUTE_ALLOCATOR_VERSION;
    bad.free = NULL;
    assert_int_equal(leadroute_roster_parse(&ro, "#! reps\nid\n", 11, NULL, &bad), LEADROUTE_EINVAL);
    assert_null(ro);
    assert_int_equal(leadroute_roster_load(NULL, "x.csv", NULL), LEADROUTE_EINVAL);
    ro = (leadroute_roster *)1;
    assert_int_equal(leadroute_roster_load(&ro, NULL, NULL), LEADROUTE_EINVAL);
    assert_null(ro);
}

/* ---- files ----------------------------------------------------------------- */

static void test_load(void **state)
{
    (void)state;
    leadroute_roster *ro = NULL;
    const leadroute_allocator *a = counting(0);
    int rc = leadroute_roster_load(&ro, data_path("roster-example.csv"), a);
    if (rc != LEADROUTE_OK)
        fail_msg("load: %s", leadroute_error_last()->message);
    check_example(ro);
    leadroute_roster_unref(ro);
    assert_int_equal(counts.live, 0);

    /* an error in a file names the file */
    const char *bad = data_path("roster-bad.csv");
    ro = (leadroute_roster *)1;
    assert_int_equal(leadroute_roster_load(&ro, bad, counting(0)), LEADROUTE_EPARSE);
    assert_null(ro);
    assert_int_equal(counts.live, 0);
    const leadroute_error *e = leadroute_error_last();
    assert_string_equal(e->file, bad);
    assert_int_equal(e->line, 5);
    assert_int_equal(e->column, 9);
    char prefix[1100];
    snprintf(prefix, sizeof prefix, "%s:5:9: weight must be a number > 0", bad);
    if (strncmp(e->message, prefix, strlen(prefix)) != 0)
        fail_msg("message '%s' does not start with '%s'", e->message, prefix);
}

static void test_load_missing(void **state)
{
    (void)state;
    const char *path = data_path("roster-no-such-file.csv");
    leadroute_roster *ro = (leadroute_roster *)1;
    leadroute_error_clear();
    assert_int_equal(leadroute_roster_load(&ro, path, counting(0)), LEADROUTE_EIO);
    assert_null(ro);
    assert_int_equal(counts.live, 0);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EIO);
    expect_message_has(path);
    expect_message_has(strerror(ENOENT));

    /* a directory opens but does not read */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", data_path(""));
    ro = (leadroute_roster *)1;
    assert_int_equal(leadroute_roster_load(&ro, dir, counting(0)), LEADROUTE_EIO);
    assert_null(ro);
    assert_int_equal(counts.live, 0);
    expect_message_has(dir);
}

/* ---- leadroute_roster_new(): the struct API -------------------------------- */

/* A valid roster: alice in smb, bob in ent and smb; ent falls back to smb,
 * smb gives leads to alice when empty. Tests break one thing at a time. */
typedef struct fixture {
    const char *alice_pools[1], *bob_pools[2];
    leadroute_field skills[1];
    const char *langs[2];
    leadroute_rep reps[2];
    leadroute_skill_filter filters[1];
    leadroute_tier_rule tiers[2];
    leadroute_pool pools[2];
} fixture;

static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->alice_pools[0] = "smb";
    f->bob_pools[0] = "ent";
    f->bob_pools[1] = "smb";
    f->langs[0] = "en";
    f->langs[1] = "De ";
    f->skills[0].name = "languages";
    f->skills[0].value.version = LEADROUTE_VALUE_VERSION;
    f->skills[0].value.type = LEADROUTE_VALUE_SET;
    f->skills[0].value.items = f->langs;
    f->skills[0].value.item_count = 2;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(leadroute_rep_init(&f->reps[i], LEADROUTE_REP_VERSION), LEADROUTE_OK);
        assert_int_equal(leadroute_pool_init(&f->pools[i], LEADROUTE_POOL_VERSION), LEADROUTE_OK);
    }
    f->reps[0].id = "alice";
    f->reps[0].pools = f->alice_pools;
    f->reps[0].pool_count = 1;
    f->reps[0].skills = f->skills;
    f->reps[0].skill_count = 1;
    f->reps[1].id = "bob";
    f->reps[1].pools = f->bob_pools;
    f->reps[1].pool_count = 2;
    f->reps[1].weight = 3;
    f->filters[0].field = "language";
    f->filters[0].skill = "languages";
    f->tiers[0].min_score = 50;
    f->tiers[0].min_tier = 1;
    f->tiers[1].min_score = 80;
    f->tiers[1].min_tier = 2;
    f->pools[0].id = "ent";
    f->pools[0].strategy = LEADROUTE_STRATEGY_WEIGHTED;
    f->pools[0].fallback = "smb";
    f->pools[0].filters = f->filters;
    f->pools[0].filter_count = 1;
    f->pools[0].tiers = f->tiers;
    f->pools[0].tier_count = 2;
    f->pools[1].id = "smb";
    f->pools[1].on_empty = LEADROUTE_EMPTY_DEFAULT_OWNER;
    f->pools[1].default_owner = "alice";
}

/* leadroute_roster_new() must fail with `code` (or, for 0, with EINVAL or
 * ETABLE, which the contract leaves open), name `needle`, and leak nothing. */
static void new_err(const fixture *f, int code, const char *needle)
{
    leadroute_roster *ro = (leadroute_roster *)1;
    const leadroute_allocator *a = counting(0);
    leadroute_error_clear();
    int rc = leadroute_roster_new(&ro, f->reps, 2, f->pools, 2, a);
    const char *msg = leadroute_error_last()->message;
    if (code ? rc != code : (rc != LEADROUTE_EINVAL && rc != LEADROUTE_ETABLE))
        fail_msg("expected %d, got %d: %s", code, rc, msg);
    assert_null(ro);
    assert_int_equal(leadroute_error_last()->code, rc);
    if (needle)
        expect_message_has(needle);
    assert_int_equal(counts.live, 0);
}

static void test_new_valid(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    leadroute_roster *ro = NULL;
    char id[8] = "alice";
    f.reps[0].id = id;
    assert_int_equal(leadroute_roster_new(&ro, f.reps, 2, f.pools, 2, counting(0)), LEADROUTE_OK);
    /* copied: the caller's strings may change afterwards */
    strcpy(id, "zoe");
    f.langs[0] = "fr";
    assert_string_equal(leadroute_roster_rep_id(ro, 0), "alice");
    assert_string_equal(leadroute_roster_rep_id(ro, 1), "bob");
    const lr__rep *alice = rep_of(ro, "alice"), *bob = rep_of(ro, "bob");
    assert_string_equal(alice->name, "alice");
    assert_true(lr__rep_has_skill(alice, "languages", " EN"));
    assert_true(lr__rep_has_skill(alice, "languages", "de"));
    assert_false(lr__rep_has_skill(alice, "languages", "fr"));
    assert_true(bob->weight == 3.0);
    assert_true(member(ro, "bob", "ent"));
    assert_true(member(ro, "bob", "smb"));
    assert_false(member(ro, "alice", "ent"));
    const lr__pool *ent = pool_of(ro, "ent");
    assert_int_equal(ent->fallback, lr__roster_pool(ro, "smb"));
    assert_true(ent->tiers[0].min_score == 80.0); /* highest first */
    assert_int_equal(pool_of(ro, "smb")->default_owner, lr__roster_rep(ro, "alice"));
    leadroute_roster_unref(ro);
    assert_int_equal(counts.live, 0);

    /* an empty roster is a roster */
    assert_int_equal(leadroute_roster_new(&ro, NULL, 0, NULL, 0, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_roster_rep_count(ro), 0);
    leadroute_roster_unref(ro);
    assert_int_equal(leadroute_roster_rep_count(NULL), 0);
    assert_int_equal(leadroute_roster_pool_count(NULL), 0);
    assert_null(leadroute_roster_rep_id(NULL, 0));
    leadroute_roster_unref(NULL);
}

static void test_new_ids(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    f.reps[1].id = "alice";
    new_err(&f, 0, "'alice'");
    fixture_init(&f);
    f.pools[1].id = "ent";
    new_err(&f, 0, "'ent'");
    fixture_init(&f);
    f.reps[1].id = NULL;
    new_err(&f, LEADROUTE_EINVAL, NULL);
    fixture_init(&f);
    f.pools[0].id = NULL;
    new_err(&f, LEADROUTE_EINVAL, NULL);
    fixture_init(&f);
    f.reps[0].id = "";
    new_err(&f, LEADROUTE_EINVAL, "rep 0: id must be 1..256 bytes");
    fixture_init(&f);
    f.pools[1].id = "";
    new_err(&f, LEADROUTE_EINVAL, "pool 1: id must be 1..256 bytes");
    /* ids go into one-line pool state, CSV and JSON: no control characters */
    static const char *const controls[] = { "a\x1f" "b", "a\x7f" "b", "a\tb", "a\nb" };
    /* and the message shows the id on one line, its control character escaped */
    static const char *const shown[] = { "rep 'a\\x1fb': id", "rep 'a\\x7fb': id", "rep 'a\\x09b': id",
                                         "rep 'a\\x0ab': id" };
    for (size_t i = 0; i < sizeof controls / sizeof controls[0]; i++) {
        fixture_init(&f);
        f.reps[1].id = controls[i];
        new_err(&f, LEADROUTE_EINVAL, "id holds a control character");
        assert_non_null(strstr(leadroute_error_last()->message, shown[i]));
        fixture_init(&f);
        f.pools[0].id = controls[i];
        new_err(&f, LEADROUTE_EINVAL, "id holds a control character");
        assert_null(strchr(leadroute_error_last()->message, controls[i][1]));
    }
    /* C1 controls and the line and paragraph separators break lines too;
     * a no-break space (U+00A0, next to C1) and an ellipsis (U+2026, next
     * to the separators) are fine */
    static const struct { const char *id, *what, *shown; } breaks[] = {
        { "a\xc2\x80" "b", "id holds a control character", "rep 'a\\xc2\\x80b'" },
        { "a\xc2\x9f" "b", "id holds a control character", "rep 'a\\xc2\\x9fb'" },
        { "a\xe2\x80\xa8" "b", "id holds a line separator", "rep 'a\\xe2\\x80\\xa8b'" },
        { "a\xe2\x80\xa9" "b", "id holds a paragraph separator", "rep 'a\\xe2\\x80\\xa9b'" },
        { "a\xef\xbb\xbf" "b", "id holds a byte order mark (U+FEFF)", "rep 'a\\xef\\xbb\\xbfb'" },
    };
    for (size_t i = 0; i < sizeof breaks / sizeof breaks[0]; i++) {
        fixture_init(&f);
        f.reps[1].id = breaks[i].id;
        new_err(&f, LEADROUTE_EINVAL, breaks[i].what);
        assert_non_null(strstr(leadroute_error_last()->message, breaks[i].shown));
    }
    static const char *const fine[] = { "a\xc2\xa0" "b", "a\xe2\x80\xa6" "b", "a\xe2\x80\xa7" "b" };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        leadroute_roster *ro = NULL;
        fixture_init(&f);
        f.reps[1].id = fine[i];
        assert_int_equal(leadroute_roster_new(&ro, f.reps, 2, f.pools, 2, NULL), LEADROUTE_OK);
        leadroute_roster_unref(ro);
    }
    fixture_init(&f);
    f.reps[0].id = "a\x20" "b\x7e";   /* space and tilde are fine */
    f.pools[1].default_owner = f.reps[0].id;
    {
        leadroute_roster *ro = NULL;
        assert_int_equal(leadroute_roster_new(&ro, f.reps, 2, f.pools, 2, NULL), LEADROUTE_OK);
        leadroute_roster_unref(ro);
    }
    fixture_init(&f);
    f.reps[0].id = "al\xff" "ce";
    new_err(&f, LEADROUTE_EINVAL, "UTF-8");
    fixture_init(&f);
    f.pools[1].id = "sm\xc3\x28";
    new_err(&f, LEADROUTE_EINVAL, "UTF-8");
    fixture_init(&f);
    f.reps[0].id = "\xed\xa0\x80"; /* a surrogate */
    new_err(&f, LEADROUTE_EINVAL, "UTF-8");
}

static void test_new_references(void **state)
{
    (void)state;
    fixture f;
    const char *nowhere[1] = { "nowhere" };
    fixture_init(&f);
    f.reps[0].pools = nowhere;
    new_err(&f, 0, "'nowhere'");
    fixture_init(&f);
    f.pools[0].fallback = "nowhere";
    new_err(&f, 0, "'nowhere'");
    fixture_init(&f);
    f.pools[1].fallback = "ent"; /* ent -> smb -> ent */
    new_err(&f, 0, "fallback");
    fixture_init(&f);
    f.pools[0].fallback = "ent"; /* ent -> ent */
    new_err(&f, 0, "'ent'");
    fixture_init(&f);
    f.pools[1].default_owner = "zed";
    new_err(&f, 0, "'zed'");
    fixture_init(&f);
    f.pools[1].default_owner = "";
    new_err(&f, LEADROUTE_EINVAL, "pool 'smb': empty-pool policy 'default_owner' needs a default owner");
    f.pools[1].default_owner = NULL;
    new_err(&f, LEADROUTE_EINVAL, "needs a default owner");
    fixture_init(&f);
    f.pools[0].on_empty = LEADROUTE_EMPTY_QUEUE;
    new_err(&f, 0, "'ent'");
    f.pools[0].queue = "";
    new_err(&f, 0, "'ent'");
    f.pools[0].queue = " \t ";  /* blanks name no queue either */
    new_err(&f, LEADROUTE_EINVAL, "pool 'ent': empty-pool policy 'queue' needs a queue name");
    f.pools[0].queue = "ent-queue";
    leadroute_roster *ro = NULL;
    assert_int_equal(leadroute_roster_new(&ro, f.reps, 2, f.pools, 2, NULL), LEADROUTE_OK);
    leadroute_roster_unref(ro);
    fixture_init(&f);
    f.pools[0].escalation_pool = "nowhere";
    new_err(&f, 0, "'nowhere'");
    fixture_init(&f);
    f.pools[0].escalation_owner = "zed";
    new_err(&f, 0, "'zed'");
    /* both set, by id: resolved to indexes */
    fixture_init(&f);
    f.pools[0].escalation_pool = "smb";
    f.pools[0].escalation_owner = "bob";
    assert_int_equal(leadroute_roster_new(&ro, f.reps, 2, f.pools, 2, NULL), LEADROUTE_OK);
    assert_int_equal(pool_of(ro, "ent")->escalation_pool, lr__roster_pool(ro, "smb"));
    assert_int_equal(pool_of(ro, "ent")->escalation_owner, lr__roster_rep(ro, "bob"));
    assert_int_equal(pool_of(ro, "smb")->escalation_pool, LR_NONE);
    leadroute_roster_unref(ro);
}

static void test_new_values(void **state)
{
    (void)state;
    fixture f;
    const double bad_weights[] = { 0.0, -1.0, NAN, INFINITY, -0.0 };
    for (size_t i = 0; i < sizeof bad_weights / sizeof *bad_weights; i++) {
        fixture_init(&f);
        f.reps[1].weight = bad_weights[i];
        new_err(&f, LEADROUTE_EINVAL, "rep 'bob': weight must be a finite number > 0");
    }
    fixture_init(&f);
    f.pools[0].strategy = 0;
    new_err(&f, LEADROUTE_EINVAL, "pool 'ent': unknown strategy 0");
    f.pools[0].strategy = 99;
    new_err(&f, LEADROUTE_EINVAL, "pool 'ent': unknown strategy 99");
    f.pools[0].strategy = LEADROUTE_STRATEGY_VALUE_BALANCED + 1;
    new_err(&f, LEADROUTE_EINVAL, "pool 'ent': unknown strategy ");
    fixture_init(&f);
    f.pools[1].on_empty = 0;
    new_err(&f, LEADROUTE_EINVAL, "pool 'smb': unknown empty-pool policy 0");
    f.pools[1].on_empty = LEADROUTE_EMPTY_QUEUE + 1;
    new_err(&f, LEADROUTE_EINVAL, "pool 'smb': unknown empty-pool policy ");
    fixture_init(&f);
    f.tiers[1].min_score = NAN;
    new_err(&f, LEADROUTE_EINVAL, "pool 'ent': tier 1 has a score that is not finite");
    const double bad_sla[] = { -1.0, NAN, INFINITY };
    for (size_t i = 0; i < sizeof bad_sla / sizeof *bad_sla; i++) {
        fixture_init(&f);
        f.pools[1].sla_minutes = bad_sla[i];
        new_err(&f, LEADROUTE_EINVAL, "pool 'smb': sla_minutes must be a finite number >= 0");
    }
    fixture_init(&f);
    f.pools[0].calibration = LEADROUTE_CALIBRATE_CATCH_UP + 1;
    new_err(&f, LEADROUTE_EINVAL, "pool 'ent': unknown calibration ");
    fixture_init(&f);
    f.pools[0].value_window_days = 32;
    new_err(&f, 0, "'ent'");
    {
        /* the lead fields a pool reads are names a lead may have */
        static char long_field[LEADROUTE_MAX_NAME + 2];
        memset(long_field, 's', LEADROUTE_MAX_NAME + 1);
        fixture_init(&f);
        f.pools[0].score_field = long_field;
        new_err(&f, LEADROUTE_EINVAL, "pool 'ent': its score field name is longer than 256 bytes");
        fixture_init(&f);
        f.pools[1].value_field = "amount\xc3";
        new_err(&f, LEADROUTE_EINVAL, "pool 'smb': its value field name is not valid UTF-8");
        fixture_init(&f);
        long_field[LEADROUTE_MAX_NAME] = 0;
        f.pools[1].value_field = long_field;
        leadroute_roster *ro = NULL;
        assert_int_equal(leadroute_roster_new(&ro, f.reps, 2, f.pools, 2, NULL), LEADROUTE_OK);
        leadroute_roster_unref(ro);
    }

    /* skills: a name, once per rep */
    leadroute_field two[2];
    fixture_init(&f);
    f.skills[0].name = "";
    new_err(&f, LEADROUTE_EINVAL, "rep 'alice': skill 0 has no name");
    {
        /* names too long or not UTF-8 say so, for skills and filters */
        static char long_name[LEADROUTE_MAX_NAME + 2];
        memset(long_name, 'f', LEADROUTE_MAX_NAME + 1);
        static const struct {
            int what; /* 0 skill name, 1 filter field, 2 filter skill */
            const char *name, *message;
        } names[] = {
            { 0, long_name, "rep 'alice': the name of skill 0 is longer than 256 bytes" },
            { 0, "lang\xc3", "rep 'alice': the name of skill 0 is not valid UTF-8" },
            { 1, long_name, "pool 'ent': filter 0: its field name is longer than 256 bytes" },
            { 2, "\xff", "pool 'ent': filter 0: its skill name is not valid UTF-8" },
        };
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
            fixture_init(&f);
            *(names[i].what == 0 ? &f.skills[0].name : names[i].what == 1 ? &f.filters[0].field
                                                                           : &f.filters[0].skill) = names[i].name;
            new_err(&f, LEADROUTE_EINVAL, names[i].message);
        }
        /* two tiers from one score: which would a lead at that score need? */
        fixture_init(&f);
        f.tiers[1].min_score = f.tiers[0].min_score;
        new_err(&f, LEADROUTE_EINVAL, "pool 'ent': two tiers start at score");
    }
    fixture_init(&f);
    two[0] = f.skills[0];
    two[1] = f.skills[0];
    f.reps[0].skills = two;
    f.reps[0].skill_count = 2;
    new_err(&f, LEADROUTE_EINVAL, "rep 'alice': skill 'languages' is given twice");
    /* a skill's value: checked as a lead's, reported as the rep's */
    fixture_init(&f);
    f.skills[0].value.type = LEADROUTE_VALUE_STRING;
    f.skills[0].value.string = "e\xffn";
    new_err(&f, LEADROUTE_EINVAL, "rep 'alice': skill 'languages': string is not valid UTF-8");
    fixture_init(&f);
    f.skills[0].value.type = LEADROUTE_VALUE_STRING;
    f.skills[0].value.string = NULL;
    new_err(&f, LEADROUTE_EINVAL, "rep 'alice': skill 'languages': string is NULL");
    fixture_init(&f);
    f.skills[0].value.version = 9;
    new_err(&f, LEADROUTE_EVERSION, "rep 'alice': skill 'languages': leadroute_value version 9 is not supported");
}

/* More reps or pools than a roster holds: ELIMIT, before anything is read. */
/* A weighted pool whose members' weights span more than 1e10 is refused:
 * integral strides could not follow them. Weights that far apart in
 * another kind of pool, or in two weighted pools, are fine. */
static void test_weighted_weight_span(void **state)
{
    (void)state;
    roster_err("#! pools\nid,strategy\nrr,round_robin\nwt,weighted\n#! reps\nid,pools,weight\n"
               "a,\"rr, wt\",1e-5\nb,wt,1\nc,\"rr, wt\",2e5\n",
               LEADROUTE_EINVAL, 4, 1,
               "weighted pool 'wt': the weights of its members differ by more than a factor of 1e+10 "
               "(rep 'a' 1e-05, rep 'c' 200000)");
    /* 1e10 exactly is in range, and is kept: the strides follow it exactly */
    leadroute_roster *ro = roster_ok("#! pools\nid,strategy\nwt,weighted\nw2,weighted\nrr,round_robin\n"
                                     "#! reps\nid,pools,weight\na,\"wt, rr\",1e-3\nb,\"wt, w2\",1e7\n"
                                     "c,\"rr, w2\",1e13\n");
    const lr__pool *wt = pool_of(ro, "wt"), *w2 = pool_of(ro, "w2"), *rr = pool_of(ro, "rr");
    assert_int_equal(wt->nmembers, 2);
    assert_true(wt->strides[0] == UINT64_C(10000000000) * wt->strides[1]);
    assert_true(wt->strides[1] >= 100000);
    /* each pool has its own scale */
    assert_true(w2->strides[0] == 1000000 * w2->strides[1]);
    assert_null(rr->strides);
    leadroute_roster_unref(ro);
    /* through leadroute_roster_new() too, nothing allocated */
    fixture f;
    fixture_init(&f);
    f.pools[1].strategy = LEADROUTE_STRATEGY_WEIGHTED;
    f.reps[0].weight = 1e-300;
    f.reps[1].weight = 1e300;
    new_err(&f, LEADROUTE_EINVAL, "weighted pool 'smb'");
}

static void test_new_limits(void **state)
{
    (void)state;
    fixture f;
    leadroute_roster *ro = (leadroute_roster *)1;
    fixture_init(&f);
    assert_int_equal(leadroute_roster_new(&ro, f.reps, 100001, f.pools, 2, NULL), LEADROUTE_ELIMIT);
    assert_null(ro);
    expect_message_has("at most 100000 reps and 100000 pools");
    assert_int_equal(leadroute_roster_new(&ro, f.reps, 2, f.pools, 100001, NULL), LEADROUTE_ELIMIT);
    assert_null(ro);
}

static void test_new_versions(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    f.reps[1].version = 0;
    new_err(&f, LEADROUTE_EVERSION, NULL);
    f.reps[1].version = LEADROUTE_REP_VERSION + 1;
    new_err(&f, LEADROUTE_EVERSION, NULL);
    fixture_init(&f);
    f.pools[0].version = 0;
    new_err(&f, LEADROUTE_EVERSION, NULL);
    f.pools[0].version = LEADROUTE_POOL_VERSION + 1;
    new_err(&f, LEADROUTE_EVERSION, NULL);

    leadroute_rep rep;
    leadroute_pool pool;
    assert_int_equal(leadroute_rep_init(&rep, 0), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_rep_init(&rep, LEADROUTE_REP_VERSION + 1), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_rep_init(NULL, LEADROUTE_REP_VERSION), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_pool_init(&pool, 0), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_pool_init(NULL, LEADROUTE_POOL_VERSION), LEADROUTE_EINVAL);
    /* init gives the documented defaults */
    assert_int_equal(leadroute_rep_init(&rep, LEADROUTE_REP_VERSION), LEADROUTE_OK);
    assert_true(rep.weight == 1.0);
    assert_int_equal(rep.active, 1);
    assert_int_equal(leadroute_pool_init(&pool, LEADROUTE_POOL_VERSION), LEADROUTE_OK);
    assert_int_equal(pool.strategy, LEADROUTE_STRATEGY_ROUND_ROBIN);
    assert_int_equal(pool.on_empty, LEADROUTE_EMPTY_UNASSIGNED);
    /* and so do the INIT macros, which the parser uses */
    leadroute_rep rep_macro = LEADROUTE_REP_INIT;
    leadroute_pool pool_macro = LEADROUTE_POOL_INIT;
    assert_int_equal(rep_macro.cap_day, rep.cap_day);
    assert_int_equal(rep_macro.cap_month, rep.cap_month);
    assert_int_equal(rep.cap_day, LEADROUTE_NO_CAP);
    assert_int_equal(rep.cap_week, LEADROUTE_NO_CAP);
    assert_int_equal(rep.cap_month, LEADROUTE_NO_CAP);
    assert_int_equal(pool.cap_day, LEADROUTE_NO_CAP);
    assert_int_equal(pool.cap_week, LEADROUTE_NO_CAP);
    assert_int_equal(pool.cap_month, LEADROUTE_NO_CAP);
    assert_int_equal(pool.max_hops, 2);
    assert_int_equal(pool.calibration, LEADROUTE_CALIBRATE_JOIN);
    assert_true(pool.sla_minutes == 0.0);
    assert_null(pool.escalation_pool);
    assert_null(pool.escalation_owner);
    assert_null(pool.value_field);
    assert_int_equal(pool.value_window_days, 0);
    assert_int_equal(pool_macro.max_hops, pool.max_hops);
    assert_int_equal(pool_macro.cap_month, pool.cap_month);
    assert_int_equal(pool_macro.calibration, pool.calibration);
    assert_int_equal(pool_macro.value_window_days, pool.value_window_days);

    leadroute_roster *ro = (leadroute_roster *)1;
    fixture_init(&f);
    assert_int_equal(leadroute_roster_new(NULL, f.reps, 2, f.pools, 2, NULL), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_roster_new(&ro, NULL, 2, f.pools, 2, NULL), LEADROUTE_EINVAL);
    assert_null(ro);
    ro = (leadroute_roster *)1;
    assert_int_equal(leadroute_roster_new(&ro, f.reps, 2, NULL, 2, NULL), LEADROUTE_EINVAL);
    assert_null(ro);
}

/* ---- reading reps and pools back ------------------------------------------- */

static void expect_same_string(const char *want, const char *got, const char *what, const char *owner)
{
    if (want == NULL && got == NULL)
        return;
    if (want == NULL || got == NULL || strcmp(want, got) != 0)
        fail_msg("%s of '%s': expected %s%s%s, got %s%s%s", what, owner, want ? "'" : "", want ? want : "NULL",
                 want ? "'" : "", got ? "'" : "", got ? got : "NULL", got ? "'" : "");
}

/* Every field of two reps, strings and arrays by content. */
static void expect_same_rep(const leadroute_rep *want, const leadroute_rep *got)
{
    const char *id = want->id ? want->id : "(null)";
    assert_int_equal(got->version, want->version);
    expect_same_string(want->id, got->id, "id", id);
    expect_same_string(want->name, got->name, "name", id);
    if (got->pool_count != want->pool_count)
        fail_msg("rep '%s': %zu pools, expected %zu", id, got->pool_count, want->pool_count);
    assert_true(got->pool_count == 0 || got->pools != NULL);
    for (size_t i = 0; i < want->pool_count; i++)
        expect_same_string(want->pools[i], got->pools[i], "pool", id);
    if (got->weight != want->weight)
        fail_msg("rep '%s': weight %g, expected %g", id, got->weight, want->weight);
    assert_int_equal(got->capacity, want->capacity);
    assert_int_equal(got->tier, want->tier);
    assert_int_equal(got->active, want->active);
    assert_int_equal(got->cap_day, want->cap_day);
    assert_int_equal(got->cap_week, want->cap_week);
    assert_int_equal(got->cap_month, want->cap_month);
    if (got->skill_count != want->skill_count)
        fail_msg("rep '%s': %zu skill sets, expected %zu", id, got->skill_count, want->skill_count);
    assert_true(got->skill_count == 0 || got->skills != NULL);
    for (size_t i = 0; i < want->skill_count; i++) {
        const leadroute_field *w = &want->skills[i], *g = &got->skills[i];
        expect_same_string(w->name, g->name, "skill set", id);
        assert_int_equal(g->value.version, w->value.version);
        assert_int_equal(g->value.type, w->value.type);
        if (g->value.item_count != w->value.item_count)
            fail_msg("rep '%s', skill '%s': %zu items, expected %zu", id, w->name, g->value.item_count,
                     w->value.item_count);
        assert_true(g->value.item_count == 0 || g->value.items != NULL);
        for (size_t k = 0; k < w->value.item_count; k++)
            expect_same_string(w->value.items[k], g->value.items[k], "skill item", id);
    }
}

/* Every field of two pools. */
static void expect_same_pool(const leadroute_pool *want, const leadroute_pool *got)
{
    const char *id = want->id ? want->id : "(null)";
    assert_int_equal(got->version, want->version);
    expect_same_string(want->id, got->id, "id", id);
    assert_int_equal(got->strategy, want->strategy);
    if (got->filter_count != want->filter_count)
        fail_msg("pool '%s': %zu filters, expected %zu", id, got->filter_count, want->filter_count);
    assert_true(got->filter_count == 0 || got->filters != NULL);
    for (size_t i = 0; i < want->filter_count; i++) {
        expect_same_string(want->filters[i].field, got->filters[i].field, "filter field", id);
        expect_same_string(want->filters[i].skill, got->filters[i].skill, "filter skill", id);
    }
    expect_same_string(want->score_field, got->score_field, "score field", id);
    if (got->tier_count != want->tier_count)
        fail_msg("pool '%s': %zu tiers, expected %zu", id, got->tier_count, want->tier_count);
    assert_true(got->tier_count == 0 || got->tiers != NULL);
    for (size_t i = 0; i < want->tier_count; i++) {
        if (got->tiers[i].min_score != want->tiers[i].min_score)
            fail_msg("pool '%s': tier %zu score %g, expected %g", id, i, got->tiers[i].min_score,
                     want->tiers[i].min_score);
        assert_int_equal(got->tiers[i].min_tier, want->tiers[i].min_tier);
    }
    expect_same_string(want->fallback, got->fallback, "fallback", id);
    assert_int_equal(got->on_empty, want->on_empty);
    expect_same_string(want->default_owner, got->default_owner, "default owner", id);
    expect_same_string(want->queue, got->queue, "queue", id);
    assert_int_equal(got->owner_first, want->owner_first);
    assert_int_equal(got->cap_day, want->cap_day);
    assert_int_equal(got->cap_week, want->cap_week);
    assert_int_equal(got->cap_month, want->cap_month);
    if (got->sla_minutes != want->sla_minutes)
        fail_msg("pool '%s': sla_minutes %g, expected %g", id, got->sla_minutes, want->sla_minutes);
    assert_int_equal(got->max_hops, want->max_hops);
    expect_same_string(want->escalation_pool, got->escalation_pool, "escalation pool", id);
    expect_same_string(want->escalation_owner, got->escalation_owner, "escalation owner", id);
    assert_int_equal(got->calibration, want->calibration);
    expect_same_string(want->value_field, got->value_field, "value field", id);
    assert_int_equal(got->value_window_days, want->value_window_days);
}

/* Everything a roster holds, read back through the public API. */
typedef struct readback {
    leadroute_rep *reps;
    size_t nreps;
    leadroute_pool *pools;
    size_t npools;
} readback;

static void read_back(const leadroute_roster *ro, readback *rb)
{
    rb->nreps = leadroute_roster_rep_count(ro);
    rb->npools = leadroute_roster_pool_count(ro);
    rb->reps = calloc(rb->nreps + 1, sizeof *rb->reps);
    rb->pools = calloc(rb->npools + 1, sizeof *rb->pools);
    assert_non_null(rb->reps);
    assert_non_null(rb->pools);
    for (size_t i = 0; i < rb->nreps; i++) {
        /* start from garbage: every field must be written */
        memset(&rb->reps[i], 0xa5, sizeof rb->reps[i]);
        rb->reps[i].version = LEADROUTE_REP_VERSION;
        assert_int_equal(leadroute_roster_rep(ro, i, &rb->reps[i]), LEADROUTE_OK);
        assert_string_equal(rb->reps[i].id, leadroute_roster_rep_id(ro, i));
    }
    for (size_t i = 0; i < rb->npools; i++) {
        memset(&rb->pools[i], 0xa5, sizeof rb->pools[i]);
        rb->pools[i].version = LEADROUTE_POOL_VERSION;
        assert_int_equal(leadroute_roster_pool(ro, i, &rb->pools[i]), LEADROUTE_OK);
        assert_string_equal(rb->pools[i].id, leadroute_roster_pool_id(ro, i));
    }
}

static void readback_free(readback *rb)
{
    free(rb->reps);
    free(rb->pools);
}

/* A roster built from what `a` reads back equals `a`, field by field. */
static void expect_round_trip(const leadroute_roster *a)
{
    readback ra, rb;
    leadroute_roster *b = NULL;
    read_back(a, &ra);
    leadroute_error_clear();
    if (leadroute_roster_new(&b, ra.reps, ra.nreps, ra.pools, ra.npools, NULL) != LEADROUTE_OK)
        fail_msg("rebuilding the roster from what it reads back: %s", leadroute_error_last()->message);
    read_back(b, &rb);
    assert_int_equal(rb.nreps, ra.nreps);
    assert_int_equal(rb.npools, ra.npools);
    for (size_t i = 0; i < ra.nreps; i++)
        expect_same_rep(&ra.reps[i], &rb.reps[i]);
    for (size_t i = 0; i < ra.npools; i++)
        expect_same_pool(&ra.pools[i], &rb.pools[i]);
    readback_free(&ra);
    readback_free(&rb);
    leadroute_roster_unref(b);
}

/* Strings a test hands to leadroute_roster_new() and frees right after, so
 * that a view pointing into the input rather than the roster shows up
 * (under valgrind or ASan, and as changed text). */
static char *owned[64];
static size_t nowned;

static const char *dup_input(const char *s)
{
    assert_true(nowned < sizeof owned / sizeof *owned);
    char *d = strdup(s);
    assert_non_null(d);
    return owned[nowned++] = d;
}

static void free_inputs(void)
{
    for (size_t i = 0; i < nowned; i++) {
        memset(owned[i], 'x', strlen(owned[i]));
        free(owned[i]);
    }
    nowned = 0;
}

/* Every field set away from its default, inputs in no particular order. */
static void test_read_back_struct(void **state)
{
    (void)state;
    const char *zoe_pools[] = { dup_input("smb"), dup_input("ent"), dup_input("smb") };
    const char *amy_pools[] = { dup_input("ent") };
    const char *langs[] = { dup_input(" EN"), dup_input("de"), dup_input("Fran\xc3\x87" "ais "), dup_input("en"),
                            dup_input("") };
    leadroute_field zoe_skills[3];
    memset(zoe_skills, 0, sizeof zoe_skills);
    zoe_skills[0].name = dup_input("products");
    zoe_skills[0].value.version = LEADROUTE_VALUE_VERSION;
    zoe_skills[0].value.type = LEADROUTE_VALUE_STRING;
    zoe_skills[0].value.string = dup_input(" CRM ");
    zoe_skills[1].name = dup_input("languages");
    zoe_skills[1].value.version = LEADROUTE_VALUE_VERSION;
    zoe_skills[1].value.type = LEADROUTE_VALUE_SET;
    zoe_skills[1].value.items = langs;
    zoe_skills[1].value.item_count = 5;
    zoe_skills[2].name = dup_input("certs");
    zoe_skills[2].value.version = LEADROUTE_VALUE_VERSION;
    zoe_skills[2].value.type = LEADROUTE_VALUE_NULL;

    leadroute_rep reps[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(leadroute_rep_init(&reps[i], LEADROUTE_REP_VERSION), LEADROUTE_OK);
    reps[0].id = dup_input("zoe");
    reps[0].pools = zoe_pools;
    reps[0].pool_count = 3;
    reps[0].weight = 2.5;
    reps[0].capacity = 40;
    reps[0].tier = 3;
    reps[0].skills = zoe_skills;
    reps[0].skill_count = 3;
    reps[0].active = 0;
    reps[0].cap_day = 0;
    reps[0].cap_week = 70;
    reps[1].id = dup_input("amy");
    reps[1].name = dup_input("Amy Lee");
    reps[1].pools = amy_pools;
    reps[1].pool_count = 1;
    reps[1].active = 7;
    reps[1].cap_month = 500;

    leadroute_skill_filter filters[] = { { dup_input("language"), dup_input("languages") },
                                         { dup_input("product"), dup_input("products") } };
    leadroute_tier_rule tiers[] = { { 50, 1 }, { -5.5, 0 }, { 90, 3 } };
    leadroute_pool pools[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(leadroute_pool_init(&pools[i], LEADROUTE_POOL_VERSION), LEADROUTE_OK);
    pools[0].id = dup_input("smb");
    pools[0].on_empty = LEADROUTE_EMPTY_DEFAULT_OWNER;
    pools[0].default_owner = dup_input("amy");
    pools[0].queue = dup_input("");
    pools[0].fallback = dup_input("");
    pools[1].id = dup_input("ent");
    pools[1].strategy = LEADROUTE_STRATEGY_VALUE_BALANCED;
    pools[1].filters = filters;
    pools[1].filter_count = 2;
    pools[1].score_field = dup_input("fit");
    pools[1].tiers = tiers;
    pools[1].tier_count = 3;
    pools[1].fallback = dup_input("smb");
    pools[1].on_empty = LEADROUTE_EMPTY_QUEUE;
    pools[1].queue = dup_input("ent-queue");
    pools[1].owner_first = 9;
    pools[1].cap_day = 100;
    pools[1].cap_week = 0;
    pools[1].cap_month = 2000;
    pools[1].sla_minutes = 12.5;
    pools[1].max_hops = 0;
    pools[1].escalation_pool = dup_input("mgr");
    pools[1].escalation_owner = dup_input("zoe");
    pools[1].calibration = LEADROUTE_CALIBRATE_CATCH_UP;
    pools[1].value_field = dup_input("amount");
    pools[1].value_window_days = 7;
    pools[2].id = dup_input("mgr");
    pools[2].strategy = LEADROUTE_STRATEGY_LEAST_LOADED;
    pools[2].escalation_owner = dup_input("amy");

    leadroute_roster *ro = NULL;
    const leadroute_allocator *alloc = counting(0);
    if (leadroute_roster_new(&ro, reps, 2, pools, 3, alloc) != LEADROUTE_OK)
        fail_msg("roster_new: %s", leadroute_error_last()->message);
    free_inputs();

    /* What the roster holds: the inputs in id order, normalised as documented. */
    const char *want_zoe_pools[] = { "smb", "ent" };
    const char *want_amy_pools[] = { "ent" };
    const char *want_certs[] = { NULL };
    const char *want_langs[] = { "de", "en", ("fran\xc3\xa7" "ais") };
    const char *want_products[] = { "crm" };
    leadroute_field want_skills[3];
    memset(want_skills, 0, sizeof want_skills);
    const char *skill_names[] = { "certs", "languages", "products" };
    const char *const *skill_items[] = { want_certs, want_langs, want_products };
    const size_t skill_counts[] = { 0, 3, 1 };
    for (int i = 0; i < 3; i++) {
        want_skills[i].name = skill_names[i];
        want_skills[i].value.version = LEADROUTE_VALUE_VERSION;
        want_skills[i].value.type = LEADROUTE_VALUE_SET;
        want_skills[i].value.items = skill_items[i];
        want_skills[i].value.item_count = skill_counts[i];
    }
    leadroute_rep want_reps[2] = { LEADROUTE_REP_INIT, LEADROUTE_REP_INIT };
    want_reps[0].id = "amy";
    want_reps[0].name = "Amy Lee";
    want_reps[0].pools = want_amy_pools;
    want_reps[0].pool_count = 1;
    want_reps[0].cap_month = 500;
    want_reps[1].id = "zoe";
    want_reps[1].name = "zoe";
    want_reps[1].pools = want_zoe_pools;
    want_reps[1].pool_count = 2;
    want_reps[1].weight = 2.5;
    want_reps[1].capacity = 40;
    want_reps[1].tier = 3;
    want_reps[1].skills = want_skills;
    want_reps[1].skill_count = 3;
    want_reps[1].active = 0;
    want_reps[1].cap_day = 0;
    want_reps[1].cap_week = 70;

    leadroute_skill_filter want_filters[] = { { "language", "languages" }, { "product", "products" } };
    leadroute_tier_rule want_tiers[] = { { 90, 3 }, { 50, 1 }, { -5.5, 0 } };
    leadroute_pool want_pools[3] = { LEADROUTE_POOL_INIT, LEADROUTE_POOL_INIT, LEADROUTE_POOL_INIT };
    want_pools[0].id = "ent";
    want_pools[0].strategy = LEADROUTE_STRATEGY_VALUE_BALANCED;
    want_pools[0].filters = want_filters;
    want_pools[0].filter_count = 2;
    want_pools[0].score_field = "fit";
    want_pools[0].tiers = want_tiers;
    want_pools[0].tier_count = 3;
    want_pools[0].fallback = "smb";
    want_pools[0].on_empty = LEADROUTE_EMPTY_QUEUE;
    want_pools[0].queue = "ent-queue";
    want_pools[0].owner_first = 1;
    want_pools[0].cap_day = 100;
    want_pools[0].cap_week = 0;
    want_pools[0].cap_month = 2000;
    want_pools[0].sla_minutes = 12.5;
    want_pools[0].max_hops = 0;
    want_pools[0].escalation_pool = "mgr";
    want_pools[0].escalation_owner = "zoe";
    want_pools[0].calibration = LEADROUTE_CALIBRATE_CATCH_UP;
    want_pools[0].value_field = "amount";
    want_pools[0].value_window_days = 7;
    want_pools[1].id = "mgr";
    want_pools[1].strategy = LEADROUTE_STRATEGY_LEAST_LOADED;
    want_pools[1].score_field = "score";
    want_pools[1].escalation_owner = "amy";
    want_pools[1].value_field = "deal_value";
    want_pools[1].value_window_days = 30;
    want_pools[2].id = "smb";
    want_pools[2].score_field = "score";
    want_pools[2].on_empty = LEADROUTE_EMPTY_DEFAULT_OWNER;
    want_pools[2].default_owner = "amy";
    want_pools[2].value_field = "deal_value";
    want_pools[2].value_window_days = 30;

    readback rb;
    read_back(ro, &rb);
    assert_int_equal(rb.nreps, 2);
    assert_int_equal(rb.npools, 3);
    for (size_t i = 0; i < 2; i++)
        expect_same_rep(&want_reps[i], &rb.reps[i]);
    for (size_t i = 0; i < 3; i++)
        expect_same_pool(&want_pools[i], &rb.pools[i]);
    /* the views are the roster's own and made once: a second read gives the same pointers */
    leadroute_rep again = LEADROUTE_REP_INIT;
    assert_int_equal(leadroute_roster_rep(ro, 1, &again), LEADROUTE_OK);
    assert_ptr_equal(again.pools, rb.reps[1].pools);
    assert_ptr_equal(again.skills, rb.reps[1].skills);
    assert_ptr_equal(again.name, rb.reps[1].name);
    readback_free(&rb);

    expect_round_trip(ro);
    leadroute_roster_unref(ro);
    assert_int_equal(counts.live, 0);
}

/* Rosters from CSV, defaults and implicit pools included, read back and rebuilt. */
static void test_read_back_parsed(void **state)
{
    (void)state;
    leadroute_roster *ro = roster_ok(EXAMPLE);
    readback rb;
    read_back(ro, &rb);
    assert_int_equal(rb.nreps, 2);
    assert_int_equal(rb.npools, 2);

    const leadroute_rep *alice = &rb.reps[0], *bob = &rb.reps[1];
    assert_string_equal(alice->id, "alice");
    assert_string_equal(alice->name, "Alice Smith");
    assert_int_equal(alice->pool_count, 2);
    assert_string_equal(alice->pools[0], "enterprise");
    assert_string_equal(alice->pools[1], "smb");
    assert_true(alice->weight == 2.0);
    assert_int_equal(alice->capacity, 50);
    assert_int_equal(alice->tier, 2);
    assert_int_equal(alice->active, 1);
    assert_int_equal(alice->cap_day, LEADROUTE_NO_CAP);
    assert_int_equal(alice->skill_count, 2);
    assert_string_equal(alice->skills[0].name, "languages");
    assert_int_equal(alice->skills[0].value.type, LEADROUTE_VALUE_SET);
    assert_int_equal(alice->skills[0].value.item_count, 2);
    assert_string_equal(alice->skills[0].value.items[0], "de");
    assert_string_equal(alice->skills[0].value.items[1], "en");
    assert_string_equal(alice->skills[1].name, "products");
    assert_string_equal(alice->skills[1].value.items[0], "cpq");
    assert_string_equal(alice->skills[1].value.items[1], "crm");
    assert_string_equal(bob->name, "Bob Jones");
    assert_int_equal(bob->pool_count, 1);
    assert_string_equal(bob->pools[0], "smb");
    /* bob's empty products cell: he lacks the set */
    assert_int_equal(bob->skill_count, 1);
    assert_string_equal(bob->skills[0].name, "languages");
    assert_int_equal(bob->skills[0].value.item_count, 1);
    assert_string_equal(bob->skills[0].value.items[0], "en");

    const leadroute_pool *ent = &rb.pools[0], *smb = &rb.pools[1];
    assert_string_equal(ent->id, "enterprise");
    assert_int_equal(ent->strategy, LEADROUTE_STRATEGY_WEIGHTED);
    assert_int_equal(ent->filter_count, 2);
    assert_string_equal(ent->filters[1].field, "products");
    assert_string_equal(ent->filters[1].skill, "products");
    assert_int_equal(ent->tier_count, 2);
    assert_true(ent->tiers[0].min_score == 80.0);
    assert_int_equal(ent->tiers[0].min_tier, 2);
    assert_string_equal(ent->fallback, "smb");
    assert_int_equal(ent->on_empty, LEADROUTE_EMPTY_QUEUE);
    assert_null(ent->default_owner);
    assert_string_equal(ent->queue, "enterprise-queue");
    assert_int_equal(ent->owner_first, 1);
    assert_string_equal(ent->score_field, "score");
    assert_string_equal(smb->id, "smb");
    assert_null(smb->fallback);
    assert_int_equal(smb->on_empty, LEADROUTE_EMPTY_DEFAULT_OWNER);
    assert_string_equal(smb->default_owner, "alice");
    assert_null(smb->queue);
    assert_int_equal(smb->owner_first, 0);
    assert_int_equal(smb->filter_count, 0);
    assert_int_equal(smb->tier_count, 0);
    assert_null(smb->escalation_pool);
    assert_null(smb->escalation_owner);
    assert_int_equal(smb->max_hops, 2);
    readback_free(&rb);
    expect_round_trip(ro);
    leadroute_roster_unref(ro);

    ro = roster_ok(CAPS_EXAMPLE);
    read_back(ro, &rb);
    const leadroute_rep *carol = &rb.reps[0], *dave = &rb.reps[1];
    assert_string_equal(carol->id, "carol");
    assert_int_equal(carol->cap_day, 20);
    assert_int_equal(carol->cap_week, LEADROUTE_NO_CAP);
    assert_int_equal(carol->cap_month, 300);
    assert_string_equal(dave->id, "dave");
    assert_int_equal(dave->cap_day, 0);
    assert_int_equal(dave->pool_count, 2);
    assert_string_equal(dave->pools[0], "deals");
    assert_string_equal(dave->pools[1], "managers");
    const leadroute_pool *deals = &rb.pools[0], *managers = &rb.pools[1];
    assert_string_equal(deals->id, "deals");
    assert_int_equal(deals->strategy, LEADROUTE_STRATEGY_VALUE_BALANCED);
    assert_int_equal(deals->cap_day, 200);
    assert_int_equal(deals->cap_week, LEADROUTE_NO_CAP);
    assert_true(deals->sla_minutes == 30.0);
    assert_int_equal(deals->max_hops, 1);
    assert_string_equal(deals->escalation_pool, "managers");
    assert_null(deals->escalation_owner);
    assert_int_equal(deals->calibration, LEADROUTE_CALIBRATE_CATCH_UP);
    assert_string_equal(deals->value_field, "amount");
    assert_int_equal(deals->value_window_days, 7);
    assert_string_equal(managers->id, "managers");
    assert_true(managers->sla_minutes == 60.0);
    assert_string_equal(managers->value_field, "deal_value");
    assert_int_equal(managers->value_window_days, 30);
    readback_free(&rb);
    expect_round_trip(ro);
    leadroute_roster_unref(ro);

    /* a pool only a rep names is made with the defaults */
    ro = roster_ok("#! reps\nid,pools,skills\nx,\"inbound, inbound\",\" B ,a,b\"\n");
    read_back(ro, &rb);
    assert_int_equal(rb.npools, 1);
    leadroute_pool defaults = LEADROUTE_POOL_INIT;
    defaults.id = "inbound";
    defaults.score_field = "score";
    defaults.value_field = "deal_value";
    defaults.value_window_days = 30;
    expect_same_pool(&defaults, &rb.pools[0]);
    assert_int_equal(rb.reps[0].pool_count, 1);
    assert_string_equal(rb.reps[0].pools[0], "inbound");
    assert_int_equal(rb.reps[0].skill_count, 1);
    assert_int_equal(rb.reps[0].skills[0].value.item_count, 2);
    assert_string_equal(rb.reps[0].skills[0].value.items[0], "a");
    assert_string_equal(rb.reps[0].skills[0].value.items[1], "b");
    readback_free(&rb);
    expect_round_trip(ro);
    leadroute_roster_unref(ro);

    /* no reps, no pools: nothing to read */
    ro = roster_ok("#! reps\nid\n");
    leadroute_rep rep = LEADROUTE_REP_INIT;
    leadroute_pool pool = LEADROUTE_POOL_INIT;
    assert_int_equal(leadroute_roster_rep(ro, 0, &rep), LEADROUTE_ERANGE);
    assert_int_equal(leadroute_roster_pool(ro, 0, &pool), LEADROUTE_ERANGE);
    expect_round_trip(ro);
    leadroute_roster_unref(ro);
}

/* One failing call: its code, the last error, and `out` left byte for byte. */
static void rep_err(const leadroute_roster *ro, size_t index, uint32_t version, int code, const char *needle)
{
    leadroute_rep out, before;
    memset(&out, 0x5a, sizeof out);
    out.version = version;
    before = out;
    leadroute_error_clear();
    assert_int_equal(leadroute_roster_rep(ro, index, &out), code);
    assert_int_equal(leadroute_error_last()->code, code);
    expect_message_has(needle);
    assert_memory_equal(&out, &before, sizeof out);
}

static void pool_err(const leadroute_roster *ro, size_t index, uint32_t version, int code, const char *needle)
{
    leadroute_pool out, before;
    memset(&out, 0x5a, sizeof out);
    out.version = version;
    before = out;
    leadroute_error_clear();
    assert_int_equal(leadroute_roster_pool(ro, index, &out), code);
    assert_int_equal(leadroute_error_last()->code, code);
    expect_message_has(needle);
    assert_memory_equal(&out, &before, sizeof out);
}

static void test_read_back_errors(void **state)
{
    (void)state;
    leadroute_roster *ro = roster_ok(EXAMPLE);
    rep_err(NULL, 0, LEADROUTE_REP_VERSION, LEADROUTE_EINVAL, "NULL");
    pool_err(NULL, 0, LEADROUTE_POOL_VERSION, LEADROUTE_EINVAL, "NULL");
    leadroute_error_clear();
    assert_int_equal(leadroute_roster_rep(ro, 0, NULL), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EINVAL);
    leadroute_error_clear();
    assert_int_equal(leadroute_roster_pool(ro, 0, NULL), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EINVAL);

    rep_err(ro, 0, 0, LEADROUTE_EVERSION, "version 0");
    rep_err(ro, 0, LEADROUTE_REP_VERSION + 1, LEADROUTE_EVERSION, "not supported");
    pool_err(ro, 0, 0, LEADROUTE_EVERSION, "version 0");
    pool_err(ro, 0, LEADROUTE_POOL_VERSION + 1, LEADROUTE_EVERSION, "not supported");
    /* the version is checked before the index */
    rep_err(ro, 99, 0, LEADROUTE_EVERSION, "version 0");

    rep_err(ro, 2, LEADROUTE_REP_VERSION, LEADROUTE_ERANGE, "rep 2 of 2");
    rep_err(ro, SIZE_MAX, LEADROUTE_REP_VERSION, LEADROUTE_ERANGE, "of 2");
    pool_err(ro, 2, LEADROUTE_POOL_VERSION, LEADROUTE_ERANGE, "pool 2 of 2");
    pool_err(ro, (size_t)UINT32_MAX + 1, LEADROUTE_POOL_VERSION, LEADROUTE_ERANGE, "of 2");

    /* the last valid index still reads */
    leadroute_rep rep = LEADROUTE_REP_INIT;
    leadroute_pool pool = LEADROUTE_POOL_INIT;
    assert_int_equal(leadroute_roster_rep(ro, 1, &rep), LEADROUTE_OK);
    assert_string_equal(rep.id, "bob");
    assert_int_equal(leadroute_roster_pool(ro, 1, &pool), LEADROUTE_OK);
    assert_string_equal(pool.id, "smb");
    leadroute_roster_unref(ro);
}

/* Making the views may fail like any allocation: ENOMEM, nothing leaked,
 * and a roster that is made reads back whole. */
static void test_read_back_allocation_failures(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    int rc = LEADROUTE_ENOMEM;
    size_t n;
    for (n = 1; rc == LEADROUTE_ENOMEM; n++) {
        leadroute_roster *ro = (leadroute_roster *)1;
        rc = leadroute_roster_new(&ro, f.reps, 2, f.pools, 2, counting(n));
        if (rc == LEADROUTE_OK) {
            leadroute_rep alice = LEADROUTE_REP_INIT;
            assert_int_equal(leadroute_roster_rep(ro, 0, &alice), LEADROUTE_OK);
            assert_int_equal(alice.skill_count, 1);
            assert_int_equal(alice.skills[0].value.item_count, 2);
            assert_string_equal(alice.skills[0].value.items[0], "de");
            assert_string_equal(alice.skills[0].value.items[1], "en");
            assert_int_equal(alice.pool_count, 1);
            assert_string_equal(alice.pools[0], "smb");
            expect_round_trip(ro);
            leadroute_roster_unref(ro);
        } else {
            assert_int_equal(rc, LEADROUTE_ENOMEM);
            assert_null(ro);
        }
        assert_int_equal(counts.live, 0);
    }
    assert_true(n > 2);
}

/* ---- edges found unchecked by mutation testing of roster_parse.c ---------- */

/* Pools named by reps are found by their whole id: a defined pool whose id
 * starts with the named one is another pool (the named one is made). The
 * pool ids are kept in a hash set, so a prefix is found by mistake only when
 * it probes a slot that a longer id holds: 16 rosters, each with its set half
 * full, make that all but certain. */
static void test_pool_ids_whole(void **state)
{
    (void)state;
    for (char c = 'a'; c <= 'p'; c++) {
        char text[2048], id[8];
        size_t at = (size_t)snprintf(text, sizeof text, "#! pools\nid\n");
        /* 32 pools c-10 .. c-41 are defined; c and c-1 are not */
        for (int i = 10; i < 42; i++)
            at += (size_t)snprintf(text + at, sizeof text - at, "%c-%d\n", c, i);
        snprintf(text + at, sizeof text - at, "#! reps\nid,pools\nx,\"%c, %c-1, %c-12\"\n", c, c, c);
        leadroute_roster *ro = roster_ok(text);
        assert_int_equal(leadroute_roster_pool_count(ro), 32 + 2);
        snprintf(id, sizeof id, "%c", c);
        assert_int_equal(pool_of(ro, id)->nmembers, 1);
        snprintf(id, sizeof id, "%c-1", c);
        assert_int_equal(pool_of(ro, id)->nmembers, 1);
        snprintf(id, sizeof id, "%c-12", c);
        assert_int_equal(pool_of(ro, id)->nmembers, 1);
        snprintf(id, sizeof id, "%c-13", c);
        assert_int_equal(pool_of(ro, id)->nmembers, 0);
        assert_int_equal(rep_of(ro, "x")->npools, 3);
        leadroute_roster_unref(ro);
    }
}

/* Names and sets exactly at their limits are fine (one more is an error,
 * tested above). */
static void test_names_at_the_limit(void **state)
{
    (void)state;
    char name[LEADROUTE_MAX_NAME + 1], text[4 * LEADROUTE_MAX_NAME + 256];
    memset(name, 'f', LEADROUTE_MAX_NAME);
    name[LEADROUTE_MAX_NAME] = 0;

    snprintf(text, sizeof text, "#! reps\nid,%s\nx,en\n", name);
    leadroute_roster *ro = roster_ok(text);
    assert_true(lr__rep_has_skill(rep_of(ro, "x"), name, "en"));
    leadroute_roster_unref(ro);

    snprintf(text, sizeof text, "#! pools\nid,score_field,value_field\np,%s,%s\n#! reps\nid\n", name, name);
    ro = roster_ok(text);
    assert_string_equal(pool_of(ro, "p")->score_field, name);
    assert_string_equal(pool_of(ro, "p")->value_field, name);
    leadroute_roster_unref(ro);

    snprintf(text, sizeof text, "#! pools\nid,filters\np,\"%s=langs; lang=%s\"\n#! reps\nid\n", name, name);
    ro = roster_ok(text);
    const lr__pool *p = pool_of(ro, "p");
    assert_int_equal(p->nfilters, 2);
    assert_string_equal(p->filters[0].field, name);
    assert_string_equal(p->filters[0].skill, "langs");
    assert_string_equal(p->filters[1].field, "lang");
    assert_string_equal(p->filters[1].skill, name);
    leadroute_roster_unref(ro);

    /* a skill cell of exactly as many items as a set holds */
    char *many = malloc(8192);
    assert_non_null(many);
    size_t at = (size_t)snprintf(many, 8192, "#! reps\nid,name,lang\na,x,\"");
    for (int i = 0; i < LEADROUTE_MAX_SET_ITEMS; i++)
        at += (size_t)snprintf(many + at, 8192 - at, "%sx%d", i ? "," : "", i);
    snprintf(many + at, 8192 - at, "\"\n");
    ro = roster_ok(many);
    assert_int_equal(skill_of(rep_of(ro, "a"), "lang")->nitems, LEADROUTE_MAX_SET_ITEMS);
    leadroute_roster_unref(ro);
    free(many);
}

/* Empty cells in present columns take the defaults; filter halves are trimmed. */
static void test_empty_and_spaced_pool_cells(void **state)
{
    (void)state;
    leadroute_roster *ro = roster_ok("#! pools\nid,strategy,on_empty,calibration,filters\n"
                                     "p, , , ,\" language =  languages ; region=\tregions\"\n"
                                     "#! reps\nid\n");
    const lr__pool *p = pool_of(ro, "p");
    assert_int_equal(p->strategy, LEADROUTE_STRATEGY_ROUND_ROBIN);
    assert_int_equal(p->on_empty, LEADROUTE_EMPTY_UNASSIGNED);
    assert_int_equal(p->calibration, LEADROUTE_CALIBRATE_JOIN);
    assert_int_equal(p->nfilters, 2);
    assert_string_equal(p->filters[0].field, "language");
    assert_string_equal(p->filters[0].skill, "languages");
    assert_string_equal(p->filters[1].field, "region");
    assert_string_equal(p->filters[1].skill, "regions");
    leadroute_roster_unref(ro);
}

/* Tier rules must start with ">=" exactly. */
static void test_tier_rule_shapes(void **state)
{
    (void)state;
#define POOLS(header, row) "#! pools\n" header "\n" row "\n#! reps\nid\n"
    roster_err(POOLS("id,tiers", "p,<=80:1"), LEADROUTE_EPARSE, 3, 3, "tier rule '<=80:1' must look like '>=SCORE:TIER'");
    roster_err(POOLS("id,tiers", "p,\"==80:1\""), LEADROUTE_EPARSE, 3, 3, "tier rule '==80:1' must look like");
    /* the shortest rule with a colon: no score */
    roster_err(POOLS("id,tiers", "p,>=:"), LEADROUTE_EPARSE, 3, 3, "tier rule '>=:': '' is not a number");
#undef POOLS
}

/* Directives, byte order marks and missing headers: what the messages say. */
static void test_line_edges(void **state)
{
    (void)state;
    /* "#!" with no word is a directive of no known name, not a comment */
    roster_err("#!\n#! reps\nid\n", LEADROUTE_EPARSE, 1, 1, "unknown directive '#!'");
    /* a later line that is only a byte order mark */
    roster_err("#! reps\nid\na\n\xef\xbb\xbf\n", LEADROUTE_EPARSE, 4, 1, "starts with a byte order mark");
    /* a quoted cell holding a mark is a value, not a pasted file: the roster rejects the id */
    {
        leadroute_roster *ro = (leadroute_roster *)1;
        const char *text = "#! reps\nid,name\n\"\xef\xbb\xbf" "b\",B\n";
        leadroute_error_clear();
        int rc = leadroute_roster_parse(&ro, text, strlen(text), "r.csv", NULL);
        assert_int_not_equal(rc, LEADROUTE_OK);
        assert_int_not_equal(rc, LEADROUTE_EPARSE);
        assert_null(ro);
        assert_int_equal(leadroute_error_last()->line, 3);
    }
    /* a comment needs no blank after its '#', and only "#!" starts a directive */
    {
        leadroute_roster *ro = roster_ok("#note\n##\n#-! not a directive\n#! reps\nid\n#x\na\n");
        assert_int_equal(leadroute_roster_rep_count(ro), 1);
        leadroute_roster_unref(ro);
    }
    /* a line starting with the first two bytes of a mark only is data (U+FEC0 starts with EF BB) */
    {
        leadroute_roster *ro = roster_ok("#! reps\nid\n\xef\xbb\x80x\n");
        assert_string_equal(leadroute_roster_rep_id(ro, 0), "\xef\xbb\x80x");
        leadroute_roster_unref(ro);
    }
    /* a row before any section, at its first cell (after blanks, at the quote) */
    roster_err("  \"id\",name\n#! reps\nid\n", LEADROUTE_EPARSE, 1, 3, "row before any section");
    /* the header the message suggests is the section's own */
    roster_err("#! pools\n#! reps\nid\na\n", LEADROUTE_EPARSE, 1, 1,
               "'#! pools' section has no header row (expected e.g. 'id,strategy,fallback')");
    roster_err("#! reps\n# only a comment\n", LEADROUTE_EPARSE, 1, 1,
               "'#! reps' section has no header row (expected e.g. 'id,name,pools,weight')");
}

/* The roster's message comes through whole after the location. */
static void test_semantic_message_whole(void **state)
{
    (void)state;
    roster_err("#! pools\nid,fallback\np,nowhere\n#! reps\nid\n", LEADROUTE_EINVAL, 3, 1, "");
    assert_string_equal(leadroute_error_last()->message,
                        "r.csv:3:1: pool 'p': fallback pool 'nowhere' is not defined");
    roster_err("#! reps\nid\nalice\nbob\nalice\n", LEADROUTE_EINVAL, 5, 1, "");
    assert_string_equal(leadroute_error_last()->message,
                        "r.csv:5:1: rep id 'alice' is given twice (first at line 3)");
}

/* A pool named only by a rep is blamed at that rep's pools cell. */
static void test_implicit_pool_blame(void **state)
{
    (void)state;
    leadroute_roster *ro = (leadroute_roster *)1;
    const char *text = "#! reps\nid,pools\nalice,\"q, p\x01\"\n";
    leadroute_error_clear();
    int rc = leadroute_roster_parse(&ro, text, strlen(text), "r.csv", NULL);
    assert_int_equal(rc, LEADROUTE_EINVAL);
    assert_null(ro);
    assert_int_equal(leadroute_error_last()->line, 3);
    assert_int_equal(leadroute_error_last()->column, 7);
    expect_message_has("r.csv:3:7: ");
    expect_message_has("control character");
}

/* Exactly 100000 pools counting those named only by reps are fine; the
 * 100001st, named by a rep, is refused by the parser at that rep's cell. */
static void test_implicit_pool_limit(void **state)
{
    (void)state;
    size_t cap = 4u << 20, len;
    char *text = malloc(cap);
    assert_non_null(text);
    len = (size_t)snprintf(text, cap, "#! reps\nid,pools\n");
    for (unsigned i = 0; i < 50000; i++)
        len += (size_t)snprintf(text + len, cap - len, "r%u,\"a%u, b%u\"\n", i, i, i);
    leadroute_roster *ro = NULL;
    assert_int_equal(leadroute_roster_parse(&ro, text, len, "r.csv", NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_roster_pool_count(ro), 100000);
    leadroute_roster_unref(ro);
    len += (size_t)snprintf(text + len, cap - len, "last,a50000\n");
    roster_err(text, LEADROUTE_ELIMIT, 50003, 6, "more than 100000 pools (counting pools named only by reps)");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_sections_any_order),
        cmocka_unit_test(test_flexible_text),
        cmocka_unit_test(test_reps_only),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_caps_example),
        cmocka_unit_test(test_rep_caps),
        cmocka_unit_test(test_pool_columns),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_row_width_errors),
        cmocka_unit_test(test_pool_value_errors),
        cmocka_unit_test(test_rep_value_errors),
        cmocka_unit_test(test_cap_errors),
        cmocka_unit_test(test_pool_column_errors),
        cmocka_unit_test(test_semantic_errors_pass_through),
        cmocka_unit_test(test_weighted_weight_span),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_load_missing),
        cmocka_unit_test(test_new_valid),
        cmocka_unit_test(test_new_ids),
        cmocka_unit_test(test_new_references),
        cmocka_unit_test(test_new_values),
        cmocka_unit_test(test_new_limits),
        cmocka_unit_test(test_new_versions),
        cmocka_unit_test(test_read_back_struct),
        cmocka_unit_test(test_read_back_parsed),
        cmocka_unit_test(test_read_back_errors),
        cmocka_unit_test(test_read_back_allocation_failures),
        cmocka_unit_test(test_pool_ids_whole),
        cmocka_unit_test(test_names_at_the_limit),
        cmocka_unit_test(test_empty_and_spaced_pool_cells),
        cmocka_unit_test(test_tier_rule_shapes),
        cmocka_unit_test(test_line_edges),
        cmocka_unit_test(test_semantic_message_whole),
        cmocka_unit_test(test_implicit_pool_blame),
        cmocka_unit_test(test_implicit_pool_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
