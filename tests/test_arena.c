/* test_arena.c — the grow-only arena: alignment, reuse without allocation, overflow abort. */
#include <signal.h>
#include <stdint.h>

#include "lib/arena.h"
#include "tests/check_main.h"

START_TEST(test_arena_aligns_and_reuses)
{
    rd_arena a;
    rd_arena_init(&a);
    rd_arena_reserve(&a, rd_arena_align(10) + rd_arena_align(100));
    char *x = rd_arena_push(&a, 10);
    char *y = rd_arena_push(&a, 100);
    ck_assert_int_eq((uintptr_t)x % RD_ARENA_ALIGN, 0);
    ck_assert_int_eq((uintptr_t)y % RD_ARENA_ALIGN, 0);
    ck_assert_int_eq(y - x, 64);
    ck_assert_uint_eq(a.grows, 1);
    for (int step = 0; step < 5; step++)
        rd_arena_reserve(&a, 128);  // no larger than held: no allocation
    ck_assert_uint_eq(a.grows, 1);
    rd_arena_reserve(&a, 4096);
    ck_assert_uint_eq(a.grows, 2);
    rd_arena_free(&a);
    ck_assert_ptr_null(a.base);
}
END_TEST

START_TEST(test_arena_overflow_aborts)
{
    rd_arena a;
    rd_arena_init(&a);
    rd_arena_reserve(&a, 64);
    rd_arena_push(&a, 64);
    rd_arena_push(&a, 1);  // over the reservation: must abort
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = tcase_create("arena");
    tcase_add_test(tc, test_arena_aligns_and_reuses);
    tcase_add_test_raise_signal(tc, test_arena_overflow_aborts, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}
