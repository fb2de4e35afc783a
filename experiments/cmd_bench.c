/* cmd_bench.c — `rankdet bench WHAT`: dispatch to one benchmark. Timings live here, never in
 * tests; each benchmark prints medians and ratios against the peer its issue names. */
#include <stdio.h>
#include <string.h>

#include "experiments/bench_data.h"
#include "experiments/bench_decode.h"
#include "experiments/bench_eval.h"
#include "experiments/bench_geometry.h"
#include "experiments/bench_loss.h"
#include "experiments/bench_train.h"
#include "experiments/commands.h"

int cmd_bench(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        printf("usage: rankdet bench WHAT [flags]   (rankdet bench WHAT --help)\n\n"
               "  loss   every registry loss on 5,237,760 scores in three regimes, beside the\n"
               "         O(|P||N|) oracles and a plain streaming pass\n"
               "  eval   rankdet eval beside pycocotools on a COCO val2017-sized case\n"
               "  geometry  anchors, assignment, labels, box loss, NMS, post-processing\n"
               "  decode image reading and decoding, one thread, beside PIL\n"
               "  data   the training input pipeline on coco128 beside PIL + torchvision\n"
               "  train  one RetinaNet training step beside PyTorch's, per phase and per layer\n");
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "loss") == 0)
        return bench_loss_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "eval") == 0)
        return bench_eval_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "geometry") == 0)
        return bench_geometry_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "decode") == 0)
        return bench_decode_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "data") == 0)
        return bench_data_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "train") == 0)
        return bench_train_main(argc - 1, argv + 1);
    fprintf(stderr, "rankdet bench: error: unknown benchmark '%s' (see rankdet bench --help)\n",
            argv[1]);
    return 2;
}
