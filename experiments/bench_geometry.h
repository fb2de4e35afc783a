/* bench_geometry.h — `rankdet bench geometry`: median times of the detector geometry
 * (anchors, assignment, labels, box loss, NMS, post-processing) at training and test sizes. */
#ifndef RD_BENCH_GEOMETRY_H
#define RD_BENCH_GEOMETRY_H

int bench_geometry_main(int argc, char **argv);

#endif
