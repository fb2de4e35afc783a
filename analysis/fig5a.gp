# fig5a.gp — Figure 5a of Chen et al. (CVPR 2019): detection AP against the training iteration,
# one curve per training loss (AP-loss black and thick, the baselines in the palette of
# style.gp), each the mean over its seeds at the evaluation steps they share.
# Reads DIR/<loss>.tsv (from experiments/figures.sh: step, AP, AP50, seeds; AP in [0, 1]).
# Variables (gnuplot -e): dir, names (losses, space-separated, ap first), seeds (the seed count
# of each, same order), where (the results folder, for the title), out (path without extension).

load 'analysis/style.gp'

file(n) = sprintf('%s/%s.tsv', dir, n)
label(i) = sprintf('%s (%s seed%s)', word(names, i), word(seeds, i), word(seeds, i) eq '1' ? '' : 's')

do for [fmt in 'png svg'] {
    if (fmt eq 'png') { eval rd_png(out . '.png', 960, 600) } else { eval rd_svg(out . '.svg', 960, 600) }
    set title sprintf('AP over training per loss (Figure 5a): %s', where) noenhanced font ',13'
    set xlabel 'iteration'
    set ylabel 'AP (%), evaluation set, mean over seeds'
    set key bottom right
    set autoscale xfix
    plot for [i = 1 : words(names)] file(word(names, i)) using 1:(100 * $2) \
         with linespoints ls i pt 7 ps 0.6 title label(i) noenhanced
    set output
}
