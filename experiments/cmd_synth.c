/* cmd_synth.c — `rankdet synth`: write the synthetic shapes set (data/synth.h) as a PASCAL VOC
 * folder, the data `make demo` trains on. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "data/synth.h"
#include "experiments/commands.h"
#include "lib/check.h"
#include "lib/cli.h"

typedef struct synth_cmd_config {
    char out[RD_CLI_STR];
    int64_t images;
    int classes, size;
    int64_t seed;
    double test_frac;
    int quality, min_objects, max_objects;
    int quiet;
} synth_cmd_config;

#define OPT(name, type, field, def, help) {name, type, offsetof(synth_cmd_config, field), def, help}
static const cli_opt synth_opts[] = {
    OPT("out", CLI_STRING, out, "", "output folder (created; must not exist or be empty)"),
    OPT("images", CLI_INT64, images, "2000", "images N (train and test together)"),
    OPT("classes", CLI_INT, classes, "4", "classes K: the first K of circle, square, triangle, "
                                          "plus, star, ring"),
    OPT("size", CLI_INT, size, "128", "image side S in pixels (32..2048)"),
    OPT("seed", CLI_INT64, seed, "1", "seed: the same seed writes the same bytes"),
    OPT("test-frac", CLI_DOUBLE, test_frac, "0.2", "share of images in the test split, [0, 1)"),
    OPT("quality", CLI_INT, quality, "90", "JPEG quality (1..100)"),
    OPT("min-objects", CLI_INT, min_objects, "1", "objects per image, at least"),
    OPT("max-objects", CLI_INT, max_objects, "5", "objects per image, at most (20 at most)"),
    OPT("quiet", CLI_BOOL, quiet, "0", "no progress lines"),
};
#undef OPT

static const cli_spec synth_spec = {
    "rankdet synth", "--out DIR [flags]",
    "Write a synthetic shapes detection set in PASCAL VOC format: JPEGImages/, Annotations/,\n"
    "ImageSets/Main/train.txt and test.txt, names.txt (the class list readers take) and\n"
    "synth.txt. Shapes from 0.12 S to 0.45 S, varied colours, gradient, striped or cluttered\n"
    "backgrounds, overlapping objects, pixel noise.",
    synth_opts, (int)(sizeof synth_opts / sizeof synth_opts[0]),
};

int cmd_synth(int argc, char **argv)
{
    synth_cmd_config c;
    cli_defaults(&synth_spec, &c);
    int npos = 0;
    cli_result cr = cli_parse(&synth_spec, &c, argc, argv, NULL, 0, &npos);
    if (cr != CLI_OK)
        return cr == CLI_HELP ? 0 : 2;
    if (c.out[0] == '\0') {
        cli_error(&synth_spec, "--out DIR is required");
        return 2;
    }
    if (c.seed < 0) {
        cli_error(&synth_spec, "--seed must not be negative (got %lld)", (long long)c.seed);
        return 2;
    }
    synth_config s = {.images = c.images, .classes = c.classes, .size = c.size,
                      .seed = (uint64_t)c.seed, .test_frac = c.test_frac, .quality = c.quality,
                      .min_objects = c.min_objects, .max_objects = c.max_objects};
    const char *problem = synth_config_problem(&s);
    if (problem) {
        cli_error(&synth_spec, "%s", problem);
        return 2;
    }
    char err[1024];
    if (synth_write(&s, c.out, !c.quiet, err, sizeof err) != 0) {
        rd_error("%s", err);
        return 1;
    }
    printf("wrote %lld images of %dx%d with %d classes to %s (VOC devkit, classes in "
           "%s/names.txt)\n", (long long)s.images, s.size, s.size, s.classes, c.out, c.out);
    return 0;
}
