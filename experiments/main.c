/* main.c — bin/rankdet: dispatch to a subcommand. `rankdet --help` lists them. */
#include <stdio.h>
#include <string.h>

#include "experiments/commands.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"train", cmd_train, "train RetinaNet with any registry loss: run log, checkpoints, metrics"},
    {"loss", cmd_loss, "run one registry loss on scores and labels from an HDF5 file"},
    {"toy", cmd_toy, "convergence study of the losses on linearly separable toy data"},
    {"bench", cmd_bench, "benchmarks (`rankdet bench loss`)"},
    {"synth", cmd_synth, "write the synthetic shapes set (VOC format) that `make demo` trains on"},
    {"export", cmd_export, "export a run log's datasets as a table for plotting"},
    {"detect", cmd_detect, "RetinaNet on one image: detections table, forward dump, drawing"},
    {"eval", cmd_eval, "detection metrics: COCO (as pycocotools), VOC (as the devkit)"},
    {"tables", cmd_tables, "the paper's Tables 1-3 beside rankdet's results (Markdown, LaTeX)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: rankdet COMMAND [flags]   (rankdet COMMAND --help for its flags)\n\n"
               "AP-loss for one-stage detectors (Chen et al., CVPR 2019) and its baselines.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("rankdet %s (%s)\n", rankdet_version(), rankdet_git_commit());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "rankdet: error: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
