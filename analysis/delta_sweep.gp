# delta_sweep.gp — Table 1b of Chen et al. (CVPR 2019) as a figure: the final AP and AP50
# against δ of the piecewise step function (eq. 14), rankdet's mean with error bars of one
# standard deviation over seeds (n - 1), beside the paper's numbers (same colours, dashed,
# open marks).
# Reads DIR/sweep.tsv (δ, AP mean, AP std, AP50 mean, AP50 std, seeds; in [0, 1]) and
# DIR/paper.tsv (δ, AP, AP50 in %), written by experiments/figures.sh.
# Variables (gnuplot -e): dir, seeds (seed counts, "2" or "1/3"), where (the results folder),
# out (path without extension).

load 'analysis/style.gp'

do for [fmt in 'png svg'] {
    if (fmt eq 'png') { eval rd_png(out . '.png', 900, 600) } else { eval rd_svg(out . '.svg', 900, 600) }
    set title sprintf('AP against δ (Table 1b): %s, %s seed(s) per point', where, seeds) noenhanced font ',13'
    set xlabel '{/:Italic δ} of the piecewise step function'
    set ylabel 'AP (%), evaluation set'
    set logscale x 2
    set xtics (0.125, 0.25, 0.5, 1, 2, 4, 8)
    set offsets graph 0.05, graph 0.05, 0, 0
    set key outside right top
    plot dir . '/sweep.tsv' using 1:(100 * $4):(100 * $5) with yerrorlines ls 1 pt 7 title 'AP50, rankdet', \
         '' using 1:(100 * $2):(100 * $3) with yerrorlines ls 2 pt 7 title 'AP, rankdet', \
         dir . '/paper.tsv' using 1:3 with linespoints ls 1 lw 1.2 dt 2 pt 6 title 'AP50, paper', \
         '' using 1:2 with linespoints ls 2 lw 1.2 dt 2 pt 6 title 'AP, paper'
    set output
}
