# style.gp — the common look of every rankdet figure (gnuplot 5.4): font, line styles,
# grid, border, key, and the PNG (cairo) and SVG terminals. A figure script loads it first:
#   load 'analysis/style.gp'
#   eval rd_png('results/x/fig.png', 1500, 480)     # or rd_svg(...), same arguments
# Line styles 1-8 follow the Okabe-Ito palette (readable with colour-blind vision and in
# grey); style 1 is black and drawn thicker, for the method a figure is about.

rd_font = 'DejaVu Sans,11'
rd_png(file, w, h) = sprintf("set terminal pngcairo enhanced size %d,%d font '%s' " . \
    "linewidth 1.3 rounded background rgb 'white'; set output '%s'", w, h, rd_font, file)
rd_svg(file, w, h) = sprintf("set terminal svg enhanced size %d,%d font '%s' " . \
    "linewidth 1.3 rounded background rgb 'white'; set output '%s'", w, h, rd_font, file)

set style line 1 lc rgb '#000000' lw 2.6 dt 1
set style line 2 lc rgb '#D55E00' lw 1.8 dt 1
set style line 3 lc rgb '#0072B2' lw 1.8 dt 1
set style line 4 lc rgb '#009E73' lw 1.8 dt 2
set style line 5 lc rgb '#CC79A7' lw 1.8 dt 4
set style line 6 lc rgb '#E69F00' lw 1.8 dt 5
set style line 7 lc rgb '#56B4E9' lw 1.8 dt 3
set style line 8 lc rgb '#999999' lw 1.8 dt 1
set style line 100 lc rgb '#dddddd' lw 0.8
set style line 101 lc rgb '#eeeeee' lw 0.6

set border 3 lc rgb '#333333'
set tics out nomirror scale 0.7
set mxtics
set mytics
set grid xtics ytics mxtics mytics ls 100, ls 101
set key noautotitle
set key top right opaque box lc rgb '#cccccc' samplen 2.5 spacing 1.1
set datafile separator tab
set datafile commentschars '#'
set encoding utf8
