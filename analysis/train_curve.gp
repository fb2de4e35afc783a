# train_curve.gp — one training run: the logged losses (loss, cls_loss, box_loss; means over
# each log_every window) against the step on the left axis, and the evaluation's AP50 and AP on
# the right axis.
# Reads DIR/train.tsv (step loss cls_loss box_loss) and DIR/eval.tsv (step AP AP50; AP in
# [0, 1]), written by experiments/figures.sh from the run's log.h5.
# Variables (gnuplot -e): dir, has_eval (0 when the run has no evaluation yet), where (the run
# directory, for the title), out (path without extension).

load 'analysis/style.gp'

do for [fmt in 'png svg'] {
    if (fmt eq 'png') { eval rd_png(out . '.png', 960, 600) } else { eval rd_svg(out . '.svg', 960, 600) }
    set title sprintf('Training run %s', where) noenhanced font ',13'
    set xlabel 'step'
    set ylabel 'loss (mean over each logged window)'
    set y2label 'evaluation AP (%)'
    set border 11 lc rgb '#333333'
    set y2tics
    set my2tics
    set ytics nomirror
    set yrange [0 : *]
    set y2range [0 : *]
    set key top center horizontal
    set autoscale xfix
    if (has_eval) {
        plot dir . '/train.tsv' using 1:2 with lines ls 1 title 'loss' noenhanced, \
             '' using 1:3 with lines ls 2 title 'cls_loss' noenhanced, \
             '' using 1:4 with lines ls 3 title 'box_loss' noenhanced, \
             dir . '/eval.tsv' using 1:(100 * $3) axes x1y2 with linespoints ls 4 pt 7 ps 0.7 title 'AP50 (eval)', \
             '' using 1:(100 * $2) axes x1y2 with linespoints ls 5 pt 5 ps 0.7 title 'AP (eval)'
    } else {
        plot dir . '/train.tsv' using 1:2 with lines ls 1 title 'loss' noenhanced, \
             '' using 1:3 with lines ls 2 title 'cls_loss' noenhanced, \
             '' using 1:4 with lines ls 3 title 'box_loss' noenhanced
    }
    set output
}
