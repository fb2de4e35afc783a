/* loss_fixture.c — reading the loss reference files word by word (format in loss_fixture.h).
 * Every number must be a whole word; scores are parsed with strtof, so a %.9g float32 value
 * comes back bit for bit. */
#include "tests/loss_fixture.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check_main.h"

enum { FIXTURE_WORD = 64, FIXTURE_MAX_N = 100000000 };

/* A params key: where it goes in loss_params and whether it is an int field. */
typedef struct fixture_key {
    const char *name;
    size_t offset;
    int is_int;
} fixture_key;

static const fixture_key fixture_keys[] = {
    {"delta", offsetof(loss_params, delta), 0},
    {"interp", offsetof(loss_params, interp), 1},
    {"tau", offsetof(loss_params, tau), 0},
    {"eps", offsetof(loss_params, eps), 0},
    {"alpha", offsetof(loss_params, alpha), 0},
    {"gamma", offsetof(loss_params, gamma), 0},
    {"neg_per_pos", offsetof(loss_params, neg_per_pos), 1},
};

void loss_fixture_open(loss_fixture *fx, const char *path, const char *maker)
{
    ck_assert_msg(strlen(path) < sizeof fx->path, "fixture path too long: %s", path);
    strcpy(fx->path, path);
    strcpy(fx->last, "(none yet)");
    fx->file = fopen(path, "r");
    ck_assert_msg(fx->file != NULL, "cannot open %s: run the test from the repository root, or "
                  "regenerate it with python3 %s", path, maker);
    char line[256];
    ck_assert_msg(fgets(line, sizeof line, fx->file) != NULL && line[0] == '#',
                  "%s: the first line should be the comment", path);
    if (strchr(line, '\n') == NULL) {  // a comment longer than the buffer: skip the rest
        int ch;
        while ((ch = fgetc(fx->file)) != EOF && ch != '\n')
            continue;
    }
}

void loss_fixture_close(loss_fixture *fx)
{
    fclose(fx->file);
    fx->file = NULL;
}

void loss_fixture_case_free(loss_fixture_case *c)
{
    free(c->scores);
    free(c->labels);
    free(c->grad);
    c->scores = NULL;
    c->labels = NULL;
    c->grad = NULL;
}

/* The next space-separated word of the case into word[FIXTURE_WORD]. */
static void fixture_word(loss_fixture *fx, const loss_fixture_case *c, char *word)
{
    ck_assert_msg(fscanf(fx->file, "%63s", word) == 1, "%s: case %s: the file ends inside the "
                  "case", fx->path, c->name);
}

static void fixture_expect(loss_fixture *fx, const loss_fixture_case *c, const char *want)
{
    char word[FIXTURE_WORD];
    fixture_word(fx, c, word);
    ck_assert_msg(strcmp(word, want) == 0, "%s: case %s: expected '%s', found '%s'", fx->path,
                  c->name, want, word);
}

/* word as a float64 (the whole word); what and index (-1: none) name it in the message. */
static double fixture_double(const loss_fixture *fx, const loss_fixture_case *c,
                             const char *word, const char *what, int64_t index)
{
    char *end = NULL, place[48] = "";
    double v = strtod(word, &end);
    if (index >= 0)
        snprintf(place, sizeof place, "[%lld]", (long long)index);
    ck_assert_msg(end != word && *end == '\0', "%s: case %s: %s%s '%s' is not a number",
                  fx->path, c->name, what, place, word);
    return v;
}

/* One KEY=VALUE word of the params line into c->params; seen marks the keys given so far. */
static void fixture_param(const loss_fixture *fx, loss_fixture_case *c, char *word,
                          unsigned *seen)
{
    char *eq = strchr(word, '='), *end = NULL;
    ck_assert_msg(eq != NULL, "%s: case %s: params word '%s' is not KEY=VALUE", fx->path,
                  c->name, word);
    *eq = '\0';
    size_t k = 0, nkeys = sizeof fixture_keys / sizeof fixture_keys[0];
    while (k < nkeys && strcmp(fixture_keys[k].name, word) != 0)
        k++;
    ck_assert_msg(k < nkeys, "%s: case %s: unknown parameter %s", fx->path, c->name, word);
    ck_assert_msg(!(*seen & 1u << k), "%s: case %s: parameter %s given twice", fx->path,
                  c->name, word);
    *seen |= 1u << k;
    double v = strtod(eq + 1, &end);
    ck_assert_msg(end != eq + 1 && *end == '\0', "%s: case %s: bad value '%s' for %s", fx->path,
                  c->name, eq + 1, word);
    char *field = (char *)&c->params + fixture_keys[k].offset;
    if (fixture_keys[k].is_int) {
        ck_assert_msg(v == (double)(int)v, "%s: case %s: %s = %s is not an integer", fx->path,
                      c->name, word, eq + 1);
        *(int *)field = (int)v;
    } else {
        *(double *)field = v;
    }
}

/* The rest of the params line: KEY=VALUE words over the defaults, or the single word none. */
static void fixture_params(loss_fixture *fx, loss_fixture_case *c)
{
    char line[256];
    ck_assert_msg(fgets(line, sizeof line, fx->file) != NULL, "%s: case %s: no params",
                  fx->path, c->name);
    ck_assert_msg(strchr(line, '\n') != NULL || feof(fx->file), "%s: case %s: params line too "
                  "long", fx->path, c->name);
    loss_params_default(&c->params);
    unsigned seen = 0;
    int words = 0, none = 0;
    for (char *w = strtok(line, " \n"); w != NULL; w = strtok(NULL, " \n"), words++) {
        if (strcmp(w, "none") == 0)
            none = 1;
        else
            fixture_param(fx, c, w, &seen);
    }
    ck_assert_msg(words > 0 && (!none || words == 1), "%s: case %s: params should be KEY=VALUE "
                  "words or the single word none", fx->path, c->name);
}

/* The scores and labels lines. */
static void fixture_inputs(loss_fixture *fx, loss_fixture_case *c)
{
    char word[FIXTURE_WORD], *end = NULL;
    fixture_expect(fx, c, "scores");
    for (int64_t i = 0; i < c->n; i++) {
        fixture_word(fx, c, word);
        c->scores[i] = strtof(word, &end);
        ck_assert_msg(end != word && *end == '\0', "%s: case %s: scores[%lld] '%s' is not a "
                      "number", fx->path, c->name, (long long)i, word);
    }
    fixture_expect(fx, c, "labels");
    for (int64_t i = 0; i < c->n; i++) {
        fixture_word(fx, c, word);
        long t = strtol(word, &end, 10);
        ck_assert_msg(end != word && *end == '\0' && t >= -1 && t <= 1, "%s: case %s: "
                      "labels[%lld] '%s' is not 1, 0 or -1", fx->path, c->name, (long long)i, word);
        c->labels[i] = (int8_t)t;
    }
}

/* The loss line, the grad line (n numbers or none) and end. */
static void fixture_outputs(loss_fixture *fx, loss_fixture_case *c)
{
    char word[FIXTURE_WORD];
    fixture_expect(fx, c, "loss");
    fixture_word(fx, c, word);
    c->loss_value = fixture_double(fx, c, word, "loss", -1);
    fixture_expect(fx, c, "grad");
    fixture_word(fx, c, word);
    if (strcmp(word, "none") == 0) {
        free(c->grad);
        c->grad = NULL;
        fixture_expect(fx, c, "end");
        return;
    }
    for (int64_t i = 0; i < c->n; i++) {
        if (i > 0)
            fixture_word(fx, c, word);
        c->grad[i] = fixture_double(fx, c, word, "grad", i);
    }
    if (c->n > 0)
        fixture_expect(fx, c, "end");
    else
        ck_assert_msg(strcmp(word, "end") == 0, "%s: case %s: expected 'end', found '%s'",
                      fx->path, c->name, word);
}

int loss_fixture_read(loss_fixture *fx, loss_fixture_case *c)
{
    char word[FIXTURE_WORD], loss[FIXTURE_WORD], count[FIXTURE_WORD], *end = NULL;
    memset(c, 0, sizeof *c);
    if (fscanf(fx->file, "%63s", word) != 1)
        return 0;
    ck_assert_msg(strcmp(word, "case") == 0, "%s: after case %s: expected 'case', found '%s'",
                  fx->path, fx->last, word);
    ck_assert_msg(fscanf(fx->file, "%63s %63s %63s", c->name, loss, count) == 3,
                  "%s: after case %s: the file ends inside a case header", fx->path, fx->last);
    strcpy(fx->last, c->name);
    ck_assert_msg(strlen(loss) < sizeof c->loss, "%s: case %s: loss name '%s' too long",
                  fx->path, c->name, loss);
    strcpy(c->loss, loss);
    long long n = strtoll(count, &end, 10);
    ck_assert_msg(end != count && *end == '\0' && n >= 0 && n <= FIXTURE_MAX_N,
                  "%s: case %s: bad number of scores '%s'", fx->path, c->name, count);
    c->n = n;
    fixture_expect(fx, c, "params");
    fixture_params(fx, c);
    c->scores = malloc((size_t)(n + 1) * sizeof *c->scores);
    c->labels = malloc((size_t)(n + 1) * sizeof *c->labels);
    c->grad = malloc((size_t)(n + 1) * sizeof *c->grad);
    ck_assert(c->scores && c->labels && c->grad);
    fixture_inputs(fx, c);
    fixture_outputs(fx, c);
    return 1;
}
