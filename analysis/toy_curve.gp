# toy_curve.gp — the toy version of Figure 5b (Chen et al., CVPR 2019): 1 - AP of the
# training set against SGD iterations, one curve per loss, in three panels: separable data
# with full batch, separable data with minibatches, noisy labels with full batch.
# Reads DIR/curves_<mode>_<loss>.tsv (from `rankdet export LOG.h5 --group train`); 1 - AP = 0
# (AP exactly 1) cannot sit on a log axis, so it is drawn on the floor line labelled "AP = 1".
# The noisy panel cannot reach AP = 1 and gets its own, narrower range.
# Variables (gnuplot -e): dir, losses (space-separated), xcol, ycol (column numbers of step
# and one_minus_ap), batch, noise (panel titles), out (path without extension).

load 'analysis/style.gp'

floor = 1e-4
clip(v) = v > floor ? v : floor
file(mode, loss) = sprintf('%s/curves_%s_%s.tsv', dir, mode, loss)
modes = 'full mini noisy'
title_of(m) = m == 1 ? 'separable, full batch' : \
              m == 2 ? sprintf('separable, minibatch of %s', batch) : \
              sprintf('noisy labels (%s flipped), full batch', noise)

do for [fmt in 'png svg'] {
    if (fmt eq 'png') { eval rd_png(out . '.png', 1500, 500) } else { eval rd_svg(out . '.svg', 1500, 500) }
    set multiplot layout 1, 3 title '{/:Bold Linear ranker on toy data: training 1 - AP per SGD iteration}' font ',13'
    set logscale xy
    set autoscale xfix
    set xlabel 'iteration'
    set arrow 1 from graph 0, first floor to graph 1, first floor nohead ls 8 dt 3 back
    do for [m = 1 : 3] {
        set title title_of(m)
        if (m < 3) {
            set yrange [floor * 0.7 : 1.2]
            set ytics autofreq format '10^{%L}'
            set ytics add ('AP = 1' floor)
        } else {
            set yrange [0.1 : 1.05]
            set ytics (0.1, 0.2, 0.3, 0.5, 0.7, 1) format '%g'
        }
        if (m == 1) { set ylabel '1 - AP (training set)' ; set key } else { unset ylabel ; unset key }
        plot for [i = 1 : words(losses)] file(word(modes, m), word(losses, i)) \
             using (column(xcol)):(clip(column(ycol))) with steps ls i title word(losses, i) noenhanced
    }
    unset multiplot
    set output
}
