# experiments/openmp_wait.sh — sourced by demo.sh and sweep.sh: how OpenMP threads wait at the
# end of a parallel region, unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set already. A training
# step opens a few thousand parallel regions (about 5,000 futex calls a step of the demo), so
# the wait matters. Measured on 2 cores with experiments/demo.cfg (libgomp; 250 steps alone,
# 150 steps each of two trainings run side by side):
#   OMP_WAIT_POLICY=passive  35.4 s alone   28.3 s side by side   (sleep at once)
#   OMP_WAIT_POLICY=active   24.9 s alone
#   GOMP_SPINCOUNT=20000     25.5 s alone    168 s side by side
#   GOMP_SPINCOUNT=500       26.0 s alone   31.2 s side by side   (chosen)
if [ -z "${OMP_WAIT_POLICY:-}" ]; then
  export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-500}"
fi
