/* geometry_fixture.h — reads tests/fixtures/geometry_reference.h5 (written by
 * tests/make_geometry_fixtures.py from torchvision 0.14) for the detector geometry suites:
 * test_anchors, test_assign, test_box_coder, test_box_loss, test_nms, test_postprocess.
 * Every call fails the running check test when the file, dataset or attribute is missing. */
#ifndef RD_TESTS_GEOMETRY_FIXTURE_H
#define RD_TESTS_GEOMETRY_FIXTURE_H

#include <stddef.h>

#include <hdf5.h>

#define GEOFIX_PATH "tests/fixtures/geometry_reference.h5"

/* Open the fixture file read-only; close it with H5Fclose. */
hid_t geofix_open(void);
/* Dataset `path` (e.g. "anchors/tv_96x160/anchors") read as mem_type of elem bytes, in a
 * malloc'd array the caller frees; *count receives the number of entries. */
void *geofix_read(hid_t file, const char *path, hid_t mem_type, size_t elem, size_t *count);
/* Attribute name of the object at path, up to max entries of mem_type; returns its count. */
int geofix_attr(hid_t file, const char *path, const char *name, hid_t mem_type, void *out,
                int max);

#endif
