"""Why the parallel kernels still take their arrays one by one (issue 14's 12-parameter rule).

numba 0.68.1 silently drops writes made inside a `prange` loop to an array that was
unpacked from a tuple argument, or passed to an inlined helper inside a tuple: the loop
runs, the array is unchanged afterwards, no error is raised. Indexing the tuple inside the
loop (`t[0][i] = ...`) works, and so does every pattern without `parallel=True`. Found while
regrouping `integrate.step_threaded`'s arguments into tuples (2026-12-07): the step computed
the right forces and moved no particle.

So a kernel compiled with parallel=True (integrate.step_threaded, integrate.pair_forces,
physics.volume.removed_volumes/removed_areas, neighbors._pair_pass) and the inline helpers
its prange loops call take the arrays they write as separate arguments; tuples group only
scalars (the contact law's (R, m, v, ω) bodies) and arrays that are read. Serial kernels
may group arrays freely.

    python benchmarks/numba_tuple_prange.py     # prints each pattern and whether writes land
"""
import numba
import numpy as np
from numba import njit, prange


@njit(parallel=True)
def unpacked(t):
    x, y = t
    for i in prange(x.shape[0]):
        x[i] = 1.0


@njit(parallel=True)
def indexed(t):
    for i in prange(t[0].shape[0]):
        t[0][i] = 1.0


@njit(inline="always")
def _store(pair, i):
    a, b = pair
    a[i] = 1.0


@njit(parallel=True)
def inline_helper(x, y):
    for i in prange(x.shape[0]):
        _store((x, y), i)


@njit
def unpacked_serial(t):
    x, y = t
    for i in range(x.shape[0]):
        x[i] = 1.0


def main():
    print(f"numba {numba.__version__}")
    for name, call in [("parallel, array unpacked from a tuple argument", lambda x, y: unpacked((x, y))),
                       ("parallel, tuple indexed inside the loop", lambda x, y: indexed((x, y))),
                       ("parallel, arrays passed to an inlined helper in a tuple", inline_helper),
                       ("serial, array unpacked from a tuple argument", lambda x, y: unpacked_serial((x, y)))]:
        x, y = np.zeros(8), np.zeros(8)
        call(x, y)
        print(f"{name:58s} writes land: {bool(x.sum() == 8.0)}")


if __name__ == "__main__":
    main()
