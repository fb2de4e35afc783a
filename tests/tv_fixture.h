/* tv_fixture.h — reading the torchvision parity fixtures (tests/fixtures/tv_*.h5, written by
 * tests/make_torchvision_fixtures.py) and comparing rankdet's outputs with them, for the
 * library-level parity suite and the `rankdet detect` suite. Tolerances (TVF_TOL = 1e-4
 * relative): a sampled value c of reference t passes when |c - t| <= 1e-4 (|t| + mean |t|); a
 * tensor's sum and sum of magnitudes within 1e-4 of the reference sum of magnitudes;
 * detections agree as a set: same labels, scores within 1e-4, boxes within 1e-4 (1 + |x|)
 * pixels, and only a detection whose score is within 1e-4 of the 0.05 threshold may be missing
 * on either side. Every check fails the running test. */
#ifndef RD_TESTS_TV_FIXTURE_H
#define RD_TESTS_TV_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

#include "lib/box.h"

#define TVF_TOL 1e-4

/* Open tests/fixtures/NAME read-only. */
hid_t tvf_open(const char *name);
/* A numeric attribute as int. */
int tvf_attr_int(hid_t f, const char *name);
/* data (shape [ndim]) against the fixture's summary of `name` (NAME_shape, _sum, _abs, _idx,
 * _val). */
void tvf_check_summary(hid_t f, const char *name, const float *data, const int64_t *shape,
                       int ndim);
/* got[count] against detections/ of the fixture. */
void tvf_check_detections(hid_t f, const rd_detection *got, int count);
/* A whole dataset as float with its rank and dims (malloc'd; caller frees). */
float *tvf_read_floats(hid_t f, const char *name, int *rank, hsize_t dims[8], size_t *count);

#endif
