/* test_hinge_ap.c — the structured-hinge AP loss and the radix sort under it:
 * brute force over every ranking of tiny batches (Delta(R) + F(R) straight from the ranking,
 * no decomposition), the divide-and-conquer inference against an O(|P||N|) scan written here
 * with direct sums of phi (no harmonic numbers), invariants, the shared conventions, and the
 * radix sort against qsort. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "optim/loss.h"
#include "optim/sort.h"
#include "tests/case_rng.h"
#include "tests/check_main.h"
#include "tests/loss_expect.h"
#include "tests/rank_cases.h"

static loss_result hinge_run(const float *s, const int8_t *t, int64_t n, rd_arena *ws, float *grad)
{
    loss_inputs in = {s, t, NULL, n};
    loss_params p;
    loss_params_default(&p);
    loss_result r;
    ck_assert_int_eq(hinge_ap_loss_compute(&in, &p, ws, grad, &r), LOSS_OK);
    return r;
}

/* Delta(R) + F(R) of the ranking order[m] (top first) of the valid items v[m]; wrong[q]
 * receives, for valid item q, how many of its pairs are reversed (R_ij = -1). */
static double brute_value(const float *s, const int8_t *t, const int *v, const int *order, int m,
                          int npos, int nneg, int *wrong)
{
    double f = 0.0, ap = 0.0;
    int pos_seen = 0;
    memset(wrong, 0, (size_t)m * sizeof *wrong);
    for (int q = 0; q < m; q++) {
        int a = v[order[q]];
        if (t[a] != 1)
            continue;
        pos_seen++;
        ap += (double)pos_seen / (double)(q + 1);
        for (int q2 = 0; q2 < m; q2++) {
            int b = v[order[q2]];
            if (t[b] != 0)
                continue;
            int r = q < q2 ? 1 : -1;  // +1: the positive is above the negative
            f += r * ((double)s[a] - s[b]);
            wrong[order[q]] += r < 0;
            wrong[order[q2]] += r < 0;
        }
    }
    return 1.0 - ap / npos + f / ((double)npos * nneg);
}

/* Next permutation in lexicographic order; 0 after the last. */
static int next_permutation(int *a, int m)
{
    int i = m - 2;
    while (i >= 0 && a[i] >= a[i + 1])
        i--;
    if (i < 0)
        return 0;
    int j = m - 1;
    while (a[j] <= a[i])
        j--;
    int tmp = a[i];
    a[i] = a[j];
    a[j] = tmp;
    for (int l = i + 1, r = m - 1; l < r; l++, r--) {
        tmp = a[l];
        a[l] = a[r];
        a[r] = tmp;
    }
    return 1;
}

/* Every ranking of up to 7 valid items: loss = max_R [Delta(R) + F(R)] - F(R*), and where the
 * maximiser is unique the update is +-(2/(|P||N|)) times each item's reversed pairs. */
START_TEST(test_hinge_ap_brute_force)
{
    uint64_t rng = 2007;
    float s[9], grad[9];
    int8_t t[9];
    int v[9], order[9], wrong[9], best_wrong[9];
    rd_arena ws;
    rd_arena_init(&ws);
    int checked_grad = 0;
    for (int trial = 0; trial < 400; trial++) {
        int n = 2 + (int)case_lcg_below(&rng, 8);
        case_fill_grid(&rng, n, trial % 2 ? 4096 : 4, 2, 40, s, t);
        int m = 0, npos = 0, nneg = 0;
        for (int i = 0; i < n; i++)
            if (t[i] >= 0 && m < 7) {
                v[m++] = i;
                npos += t[i] == 1;
                nneg += t[i] == 0;
            } else {
                t[i] = -1;
            }
        if (npos == 0 || nneg == 0)
            continue;
        double f_star = 0.0;
        for (int a = 0; a < m; a++)
            for (int b = 0; b < m; b++)
                if (t[v[a]] == 1 && t[v[b]] == 0)
                    f_star += ((double)s[v[a]] - s[v[b]]) / ((double)npos * nneg);
        for (int q = 0; q < m; q++)
            order[q] = q;
        double best = -INFINITY;
        int unique = 1;
        do {
            double value = brute_value(s, t, v, order, m, npos, nneg, wrong);
            if (value > best + 1e-12) {
                best = value;
                unique = 1;
                memcpy(best_wrong, wrong, sizeof wrong);
            } else if (value >= best - 1e-12 &&
                       memcmp(wrong, best_wrong, (size_t)m * sizeof *wrong) != 0) {
                unique = 0;
            }
        } while (next_permutation(order, m));
        loss_result r = hinge_run(s, t, n, &ws, grad);
        ck_assert_msg(fabs(r.loss - (best - f_star)) <= 1e-12, "trial %d: loss %.17g, brute force %.17g",
                      trial, r.loss, best - f_star);
        if (!unique)
            continue;
        checked_grad++;
        double scale = 2.0 / ((double)npos * nneg);
        for (int q = 0; q < m; q++) {
            double expect = (t[v[q]] == 1 ? -scale : scale) * best_wrong[q];
            ck_assert_msg(fabs(grad[v[q]] - expect) <= 1e-7, "trial %d: grad[%d] %.9g, brute force %.9g",
                          trial, v[q], grad[v[q]], expect);
        }
    }
    ck_assert_int_ge(checked_grad, 100);
    rd_arena_free(&ws);
}
END_TEST

/* The O(|P||N|) scan: for every negative j (descending) every k from |P| down to 0, with
 * g_j(k) = sum_{i > k} [phi(i, j) - (2/(|P||N|)) (s+_i - s-_j)] summed directly; smallest
 * argmax. Fills k[nneg] and the sorted lists; returns the loss sum_j g_j(k_j). */
static double scan_oracle(const float *s, const int8_t *t, int64_t n, case_ranked *pos,
                          case_ranked *neg, int64_t *npos_out, int64_t *nneg_out, int64_t *k)
{
    int64_t P = 0, N = 0;
    for (int64_t i = 0; i < n; i++) {
        if (t[i] == 1)
            pos[P++] = (case_ranked){s[i], i};
        else if (t[i] == 0)
            neg[N++] = (case_ranked){s[i], i};
    }
    qsort(pos, (size_t)P, sizeof *pos, case_ranked_desc);
    qsort(neg, (size_t)N, sizeof *neg, case_ranked_desc);
    double scale = 2.0 / ((double)P * (double)N), loss = 0.0;
    for (int64_t j = 1; j <= N; j++) {
        double g = 0.0, best = 0.0;
        int64_t best_k = P;
        for (int64_t kk = P; kk >= 1; kk--) {
            double phi = (double)kk / ((double)P * (double)(kk + j) * (double)(kk + j - 1));
            g += phi - scale * ((double)pos[kk - 1].score - neg[j - 1].score);  // now g_j(kk - 1)
            if (g >= best) {
                best = g;
                best_k = kk - 1;
            }
        }
        k[j - 1] = best_k;
        loss += best;
    }
    *npos_out = P;
    *nneg_out = N;
    return loss;
}

/* Divide and conquer against the scan on random batches of a few thousand items: the same
 * assignment k_j (read back from the negatives' updates), the same updates and loss. */
START_TEST(test_hinge_ap_matches_scan)
{
    static const struct { int64_t n; int grid, range, pos_pct; } cases[] = {
        {3000, 4096, 3, 5}, {3000, 4096, 1, 30}, {4000, 8, 2, 10}, {2500, 1, 2, 40},
        {3000, 65536, 10, 2}, {2000, 256, 1, 60}, {3500, 2, 50, 15}, {1000, 4096, 1, 85},
    };
    uint64_t rng = 2018;
    rd_arena ws;
    rd_arena_init(&ws);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int rep = 0; rep < 3; rep++) {
            int64_t n = cases[c].n, P, N;
            float *s = malloc((size_t)n * sizeof *s), *grad = malloc((size_t)n * sizeof *grad);
            int8_t *t = malloc((size_t)n);
            case_ranked *pos = malloc((size_t)n * sizeof *pos);
            case_ranked *neg = malloc((size_t)n * sizeof *neg);
            int64_t *k = malloc((size_t)n * sizeof *k);
            case_fill_grid(&rng, n, cases[c].grid, cases[c].range, cases[c].pos_pct, s, t);
            double want = scan_oracle(s, t, n, pos, neg, &P, &N, k);
            loss_result r = hinge_run(s, t, n, &ws, grad);
            ck_assert_msg(fabs(r.loss - want) <= 1e-9 * fmax(1.0, want),
                          "case %zu: loss %.17g, scan %.17g", c, r.loss, want);
            double scale = 2.0 / ((double)P * (double)N);
            int64_t reversed = 0;  // pairs of the i-th positive below some negative, running
            for (int64_t j = 0; j < N; j++) {
                double kj = (double)P - grad[neg[j].index] / scale;
                ck_assert_msg(fabs(kj - (double)k[j]) < 1e-3, "case %zu: k_%lld is %.3f, scan %lld",
                              c, (long long)j + 1, kj, (long long)k[j]);
            }
            for (int64_t i = 1; i <= P; i++) {
                for (int64_t j = 0; j < N; j++)
                    reversed += k[j] == i - 1;
                double expect = -scale * (double)reversed;
                ck_assert_msg(fabs(grad[pos[i - 1].index] - expect) <= 1e-6 * fabs(expect) + 1e-12,
                              "case %zu: positive %lld", c, (long long)i);
            }
            free(s);
            free(grad);
            free(t);
            free(pos);
            free(neg);
            free(k);
        }
    }
    rd_arena_free(&ws);
}
END_TEST

/* Heaviside AP of the scores' own order, every tie counted in the positives' favour (so at
 * least the AP of any order of the tied scores). */
static double ranking_ap(const float *s, const int8_t *t, int64_t n)
{
    double ap = 0.0;
    int64_t npos = 0;
    for (int64_t i = 0; i < n; i++) {
        if (t[i] != 1)
            continue;
        int64_t pos_above = 0, all_above = 0;
        for (int64_t m = 0; m < n; m++) {
            if (m == i || t[m] < 0)
                continue;
            int above = s[m] > s[i] || (s[m] == s[i] && t[m] == 1);
            all_above += above;
            pos_above += above && t[m] == 1;
        }
        ap += (double)(pos_above + 1) / (double)(all_above + 1);
        npos++;
    }
    return ap / (double)npos;
}

/* Positives <= 0, negatives >= 0, ignored 0, updates sum to 0, and the loss bounds the AP-loss
 * of the predicted ranking: loss >= 1 - AP >= 0. */
START_TEST(test_hinge_ap_invariants)
{
    uint64_t rng = 5;
    rd_arena ws;
    rd_arena_init(&ws);
    for (int trial = 0; trial < 60; trial++) {
        int64_t n = 50 + case_lcg_below(&rng, 1500);
        float *s = malloc((size_t)n * sizeof *s), *grad = malloc((size_t)n * sizeof *grad);
        int8_t *t = malloc((size_t)n);
        case_fill_grid(&rng, n, 1 << (trial % 12), 2, 1 + (int)case_lcg_below(&rng, 60), s, t);
        t[0] = 1;
        t[1] = 0;
        loss_result r = hinge_run(s, t, n, &ws, grad);
        double sum = 0.0, gmax = 0.0;
        for (int64_t i = 0; i < n; i++) {
            if (t[i] == 1)
                ck_assert_float_le(grad[i], 0.0f);
            else if (t[i] == 0)
                ck_assert_float_ge(grad[i], 0.0f);
            else
                ck_assert_float_eq(grad[i], 0.0f);
            sum += grad[i];
            gmax = fmax(gmax, fabs(grad[i]));
        }
        ck_assert_double_le(fabs(sum), 1e-6 * gmax * (double)n);
        ck_assert_double_ge(r.loss, 1.0 - ranking_ap(s, t, n) - 1e-12);
        free(s);
        free(grad);
        free(t);
    }
    rd_arena_free(&ws);
}
END_TEST

/* Bad scores and labels name their index; no positive: zero update, counted; no negative:
 * nothing is ranked wrong, loss and update 0. */
START_TEST(test_hinge_ap_conventions)
{
    float s[5] = {0.5f, NAN, 0.25f, 1.0f, -1.0f};
    int8_t t[5] = {1, 0, 0, -1, 0};
    loss_inputs in = {s, t, NULL, 5};
    expect_loss_status(hinge_ap_loss_compute, &in, LOSS_ERR_NONFINITE, 1);
    s[1] = -INFINITY;
    expect_loss_status(hinge_ap_loss_compute, &in, LOSS_ERR_NONFINITE, 1);
    s[1] = 2.0f;
    t[2] = 5;
    expect_loss_status(hinge_ap_loss_compute, &in, LOSS_ERR_LABEL, 2);
    t[2] = 0;
    t[0] = 0;
    expect_loss_no_positive(hinge_ap_loss_compute, &in);
    int8_t all_pos[5] = {1, 1, -1, 1, 1};
    in.labels = all_pos;
    float grad[5] = {7.0f, 7.0f, 7.0f, 7.0f, 7.0f};
    loss_result r = expect_loss_ok(hinge_ap_loss_compute, &in, NULL, grad);
    ck_assert_int_eq(r.no_positive, 0);
    ck_assert_double_eq(r.loss, 0.0);
    for (int i = 0; i < 5; i++)
        ck_assert_float_eq(grad[i], 0.0f);
}
END_TEST

/* One positive at 0 and one negative at 1 (N = P = 1): k = 0 gives Delta = 1 - 1/2 = 1/2 and
 * F = -(0 - 1) = 1, against F(R*) = -1: loss 1/2 + 1 + 1 = 2.5, update -2 and +2. */
START_TEST(test_hinge_ap_hand_pair)
{
    float s[2] = {0.0f, 1.0f}, grad[2];
    int8_t t[2] = {1, 0};
    rd_arena ws;
    rd_arena_init(&ws);
    loss_result r = hinge_run(s, t, 2, &ws, grad);
    ck_assert_double_eq_tol(r.loss, 2.5, 1e-15);
    ck_assert_float_eq(grad[0], -2.0f);
    ck_assert_float_eq(grad[1], 2.0f);
    /* Far apart in the right order: k = 1 (loss 0) beats k = 0 (1/2 + (-1 - 1) = -1.5). */
    s[0] = 2.0f;
    r = hinge_run(s, t, 2, &ws, grad);
    ck_assert_double_eq(r.loss, 0.0);
    ck_assert_float_eq(grad[0], 0.0f);
    ck_assert_float_eq(grad[1], 0.0f);
    /* s+ - s- = 1/4: g(0) = 1/2 - 2 (1/4) = 0 = g(1), an exact tie; the smallest k is taken. */
    s[0] = 0.25f;
    s[1] = 0.0f;
    r = hinge_run(s, t, 2, &ws, grad);
    ck_assert_double_eq(r.loss, 0.0);
    ck_assert_float_eq(grad[0], -2.0f);
    ck_assert_float_eq(grad[1], 2.0f);
    rd_arena_free(&ws);
}
END_TEST

START_TEST(test_hinge_ap_threads_same_bits)
{
    int64_t n = 300000;
    float *s = malloc((size_t)n * sizeof *s);
    int8_t *t = malloc((size_t)n);
    uint64_t rng = 31;
    case_fill_grid(&rng, n, 1024, 4, 1, s, t);
    rd_arena ws;
    rd_arena_init(&ws);
    loss_inputs in = {s, t, NULL, n};
    loss_params p;
    loss_params_default(&p);
    loss_result r1 = expect_threads_same_bits(hinge_ap_loss_compute, &in, &p, &ws);
    ck_assert_uint_eq(ws.grows, 1);
    ck_assert_double_gt(r1.loss, 0.0);
    rd_arena_free(&ws);
    free(s);
    free(t);
}
END_TEST

typedef struct keyed {
    uint32_t key;
    int64_t index;
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* The radix sort against qsort on (key, index): ascending and stable, on one chunk and on
 * many, with few distinct keys (skipped passes) and with all 32 bits in use. */
START_TEST(test_sort_radix_matches_qsort)
{
    static const struct { int64_t n; uint32_t mask; } cases[] = {
        {0, 0}, {1, 0xffffffffu}, {2, 1u}, {1000, 0xffffffffu}, {5000, 0x3u},
        {70000, 0xff00ff00u}, {200000, 0xffffffffu}, {150001, 0x0000ffffu}, {131072, 0},
    };
    uint64_t rng = 77;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t n = cases[c].n;
        uint32_t *keys = malloc((size_t)(n + 1) * sizeof *keys);
        int64_t *idx = malloc((size_t)(n + 1) * sizeof *idx);
        keyed *ref = malloc((size_t)(n + 1) * sizeof *ref);
        rd_arena ws;
        rd_arena_init(&ws);
        rd_arena_reserve(&ws, sort_radix_scratch_bytes(n));
        void *scratch = rd_arena_push(&ws, sort_radix_scratch_bytes(n));
        for (int64_t i = 0; i < n; i++) {
            uint32_t high = case_lcg_below(&rng, 1u << 16) << 16;
            keys[i] = (high | case_lcg_below(&rng, 1u << 16)) & cases[c].mask;
            idx[i] = 1000 + i;
            ref[i] = (keyed){keys[i], idx[i]};
        }
        qsort(ref, (size_t)n, sizeof *ref, keyed_cmp);
        sort_radix_u32(keys, idx, n, scratch);
        for (int64_t i = 0; i < n; i++) {
            ck_assert_uint_eq(keys[i], ref[i].key);
            ck_assert_int_eq(idx[i], ref[i].index);
        }
        rd_arena_free(&ws);
        free(keys);
        free(idx);
        free(ref);
    }
}
END_TEST

/* The float key keeps the order of finite floats, maps -0 and +0 together, and inverts. */
START_TEST(test_sort_float_key)
{
    static const float values[] = {-INFINITY, -3.4e38f, -1.5f, -1.0f, -1e-30f, -1e-45f, 0.0f,
                                   1e-45f, 1e-30f, 1.0f, 1.5f, 3.4e38f, INFINITY};
    int count = (int)(sizeof values / sizeof values[0]);
    for (int a = 0; a < count; a++) {
        ck_assert(sort_f32_from_key(sort_key_from_f32(values[a])) == values[a]);
        for (int b = 0; b < count; b++)
            ck_assert_int_eq(sort_key_from_f32(values[a]) < sort_key_from_f32(values[b]), a < b);
    }
    ck_assert_uint_eq(sort_key_from_f32(-0.0f), sort_key_from_f32(0.0f));
    ck_assert(!signbit(sort_f32_from_key(sort_key_from_f32(-0.0f))));
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("hinge_ap");
    TCase *tc = tcase_create("hinge_ap");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hinge_ap_brute_force);
    tcase_add_test(tc, test_hinge_ap_matches_scan);
    tcase_add_test(tc, test_hinge_ap_invariants);
    tcase_add_test(tc, test_hinge_ap_conventions);
    tcase_add_test(tc, test_hinge_ap_hand_pair);
    tcase_add_test(tc, test_hinge_ap_threads_same_bits);
    tcase_add_test(tc, test_sort_radix_matches_qsort);
    tcase_add_test(tc, test_sort_float_key);
    suite_add_tcase(s, tc);
    return s;
}
