# toy_curve.gp — the toy version of Figure 5b (Chen et al., CVPR 2019): 1 - AP of the
# training set against SGD iterations, one curve per loss, in four panels (2 x 2): the
# isotropic Gaussian separable set with full batch and with minibatches, the same set with
# noisy labels (full batch), and the anisotropic separable set of data/toy.h (full batch, with
# its own, longer step budget).
# Reads DIR/curves_<mode>_<loss>.tsv (from `rankdet export LOG.h5 --group train`); 1 - AP = 0
# (AP exactly 1) cannot sit on a log axis, so it is drawn on the floor line labelled "AP = 1".
# The noisy panel cannot reach AP = 1 and gets its own, narrower range.
# Variables (gnuplot -e): dir, losses (space-separated), xcol, ycol (column numbers of step
# and one_minus_ap), batch, noise (panel titles), out (path without extension).

load 'analysis/style.gp'

floor = 1e-4
clip(v) = v > floor ? v : floor
file(mode, loss) = sprintf('%s/curves_%s_%s.tsv', dir, mode, loss)
modes = 'full mini noisy hard'
title_of(m) = m == 1 ? 'Gaussian separable set, full batch' : \
              m == 2 ? sprintf('Gaussian separable set, minibatch of %s', batch) : \
              m == 3 ? sprintf('Gaussian set, noisy labels (%s flipped), full batch', noise) : \
              'anisotropic separable set (mean gap off the normal), full batch'

do for [fmt in 'png svg'] {
    if (fmt eq 'png') { eval rd_png(out . '.png', 1300, 960) } else { eval rd_svg(out . '.svg', 1300, 960) }
    set multiplot layout 2, 2 title '{/:Bold Linear ranker on toy data: training 1 - AP per SGD iteration}' font ',13'
    set logscale xy
    set autoscale xfix
    set arrow 1 from graph 0, first floor to graph 1, first floor nohead ls 8 dt 3 back
    do for [m = 1 : 4] {
        set title title_of(m)
        if (m != 3) {
            set yrange [floor * 0.7 : 1.2]
            set ytics autofreq format '10^{%L}'
            set ytics add ('AP = 1' floor)
        } else {
            set yrange [0.1 : 1.05]
            set ytics (0.1, 0.2, 0.3, 0.5, 0.7, 1) format '%g'
        }
        if (m % 2 == 1) { set ylabel '1 - AP (training set)' } else { unset ylabel }
        if (m >= 3) { set xlabel 'iteration' } else { unset xlabel }
        if (m == 1) { set key top right } else { if (m == 4) { set key bottom left } else { unset key } }
        plot for [i = 1 : words(losses)] file(word(modes, m), word(losses, i)) \
             using (column(xcol)):(clip(column(ycol))) with steps ls i title word(losses, i) noenhanced
    }
    unset multiplot
    set output
}
