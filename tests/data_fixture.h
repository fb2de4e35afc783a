/* data_fixture.h — small datasets built inside a test's temporary folder: text files (XML,
 * JSON, label and names files), images of a given size written with data/image, copies of the
 * committed broken images, and the real sets' root with a clear failure when it is absent. */
#ifndef RD_TESTS_DATA_FIXTURE_H
#define RD_TESTS_DATA_FIXTURE_H

/* Write text into dir/rel, creating the folders on the way. */
void data_fixture_text(const char *dir, const char *rel, const char *text);
/* Write a width × height image into dir/rel: PNG when png is 1, else JPEG (quality 90),
 * whatever rel's extension says. */
void data_fixture_image(const char *dir, const char *rel, int width, int height, int png);
/* Copy tests/fixtures/images/name into dir/rel. */
void data_fixture_copy(const char *name, const char *dir, const char *rel);
/* Create dir/rel and the folders above it. */
void data_fixture_mkdir(const char *dir, const char *rel);
/* "../shared/datasets/rel" (static storage); fails the test, saying so, when the shared
 * datasets are absent. */
const char *data_fixture_shared(const char *rel);

#endif
