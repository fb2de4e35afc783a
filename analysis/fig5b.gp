# fig5b.gp — Figure 5b of Chen et al. (CVPR 2019): the training-set AP-loss (the interpolated
# AP-loss of each batch's scores, train/ap_loss) against the iteration for the error-driven
# AP-loss (black, thick), the approximate-gradient AP-loss and the structured-hinge AP-loss,
# mean over seeds, smoothed by a trailing moving mean (the raw mean is drawn thin and light).
# Reads DIR/<loss>.smooth.tsv (from experiments/figures.sh: step, mean, moving mean).
# Variables (gnuplot -e): dir, names (losses, space-separated), seeds (seed count of each),
# smooth (window of the moving mean, in logged rows), where (results folder), out (path
# without extension).

load 'analysis/style.gp'

file(n) = sprintf('%s/%s.smooth.tsv', dir, n)
label(i) = sprintf('%s (%s seed%s)', word(names, i), word(seeds, i), word(seeds, i) eq '1' ? '' : 's')

do for [fmt in 'png svg'] {
    if (fmt eq 'png') { eval rd_png(out . '.png', 960, 600) } else { eval rd_svg(out . '.svg', 960, 600) }
    set title sprintf('Training AP-loss (Figure 5b): %s', where) noenhanced font ',13'
    set xlabel 'iteration'
    set ylabel sprintf('AP-loss of the training batches (moving mean over %d logged rows)', smooth)
    set key top right
    set autoscale xfix
    set yrange [0 : *]
    plot for [i = 1 : words(names)] file(word(names, i)) using 1:2 with lines ls 8 lw 0.6 notitle, \
         for [i = 1 : words(names)] file(word(names, i)) using 1:3 with lines ls i title label(i) noenhanced
    set output
}
