# SPDX-License-Identifier: BSD-3-Clause
# gnuplot -e "datafile='X.dat'; outfile='X.png'; ntitle='...'" bench/plot.gp
# X.dat: one row per benchmark row, "index label ratio" (ratio ours/peer;
# rows without a ratio are left out by bench/report.py).
set terminal pngcairo size 1400,700 font ",9"
set output outfile
set title ntitle
set style fill solid 0.8 border -1
set boxwidth 0.7
set ylabel "ours / peer (median Mpps)"
set yrange [0:*]
set grid ytics
set xtics rotate by -60 scale 0 font ",8"
set key off
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 2 lc rgb "#444444"
plot datafile using 1:3:xtic(2) with boxes lc rgb "#3b75af", \
     '' using 1:3:(sprintf("%.2f", $3)) with labels offset 0,0.6 font ",7"
