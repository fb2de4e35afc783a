/* postprocess_cases.h — the post-processing inputs that test_postprocess (against torchvision
 * and hand-computed values) and test_postprocess_cuda (GPU against CPU) both run: the
 * fixture cases of tests/fixtures/geometry_reference.h5 with torchvision's detections, the
 * hand-made case and the head at its prior; and the NMS fixture. Every array is malloc'd and
 * owned by the case; a read failure fails the running check test. */
#ifndef RD_TESTS_POSTPROCESS_CASES_H
#define RD_TESTS_POSTPROCESS_CASES_H

#include <stddef.h>
#include <stdint.h>

#include "detector/postprocess.h"

/* One image's head outputs as a postprocess_input (in.levels points into levels, so a case is
 * not copied), and for fixture cases the reference detections. */
typedef struct ppcase {
    postprocess_input in;
    anchor_level levels[PRESET_LEVELS];
    float *logits, *reg, *anchors;  // [A][K], [A][4], [A][4]
    int64_t A;
    float *boxes, *scores;          // [n][4], [n]: torchvision's detections (fixture cases)
    int64_t *labels;                // [n]
    size_t n;
} ppcase;

/* Levels of consecutive offsets with count[l] anchors each (grids left zero). */
void ppcase_levels_from_counts(const int64_t *count, anchor_level *lv);

/* Fixture case postprocess/<name> ("tv", "paper"), image id 42. */
void ppcase_fixture(ppcase *c, const char *name);
/* Five anchors, one per level, K = 2, zero deltas, input 100 × 200 scaled to 50 × 100, image
 * id 7 (test_postprocess.c's test_hand_case says what each anchor is for). */
void ppcase_hand(ppcase *c);
/* 670 anchors (300, 200, 100, 50, 20 per level) on a grid, K = 3, every logit -log 99 - 0.01
 * (scores 0.0099), zero deltas, input 300 × 300, image id 0. */
void ppcase_prior(ppcase *c);
/* Frees a case's arrays. */
void ppcase_free(ppcase *c);

/* The NMS fixture: boxes [n][4], scores [n], labels [n], malloc'd; returns n. */
size_t ppcase_nms_fixture(float **boxes, float **scores, int32_t **labels);

#endif
