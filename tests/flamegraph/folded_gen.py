# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Large folded inputs for the flame graph tests (fgtest.py) and the
renderer benchmark (bench/flamegraph.sh): tree-shaped stacks of depth 5-40,
each frame's name drawn from a per-parent fan-out, so prefixes repeat as in
real profiles while most full stacks stay distinct.

usage: folded_gen.py LINES [SEED] > out.folded
"""
import random
import sys


def big_folded_lines(lines, seed):
    """LINES folded lines (without newlines), the same for the same seed."""
    rng = random.Random(seed)
    for _ in range(lines):
        depth = rng.randint(5, 40)
        frames, h = [], 0
        for d in range(depth):
            h = (h * 31 + rng.randint(0, 3 if d < 6 else 12)) % 1000003
            frames.append("func_%d_%d" % (d, h % 5000))
        yield "%s %d" % (";".join(frames), rng.randint(1, 1000))


if __name__ == "__main__":
    out = sys.stdout
    for line in big_folded_lines(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1):
        out.write(line + "\n")
