#!/usr/bin/env python3
"""make_loss_fixtures.py — reference values for the focal and ce_ohem losses (optim/).

Writes tests/fixtures/loss_reference.txt, read by tests/test_focal_ce.c through the reader
tests/loss_fixture.c shares with tests/fixtures/rank_reference.txt. Independent NumPy
transcriptions, in float64 from float32 scores:
  focal   — torchvision.ops.sigmoid_focal_loss written the PyTorch way: p = sigmoid(s),
            ce = BCE-with-logits, p_t = p t + (1-p)(1-t), alpha_t = alpha t + (1-alpha)(1-t),
            FL = alpha_t ce (1-p_t)^gamma; loss = sum over valid entries / |P|.
  ce_ohem — sigmoid CE; every positive counts, of the negatives the k = neg_per_pos |P| with the
            largest CE are kept, chosen by a stable argsort on (-CE, index); loss = kept sum / |P|.
The gradients are the chain rule through those formulas; the script checks them against
central finite differences of the loss in float64 (ce_ohem: with the selection held fixed,
since the selection is piecewise constant) and stops if they disagree.

File format, one block per case (numbers separated by spaces, one line each):
  case NAME LOSS N           LOSS is focal or ce_ohem, N the number of scores
  params alpha=A gamma=G neg_per_pos=K
                             KEY=VALUE over the loss_params defaults (optim/loss.h)
  scores s_0 ... s_{N-1}     %.9g, exactly the float32 values
  labels t_0 ... t_{N-1}     1, 0 or -1
  loss L                     %.17g
  grad g_0 ... g_{N-1}       %.17g
  end
Run from the repository root: python3 tests/make_loss_fixtures.py
"""
import os
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "loss_reference.txt")


def sigmoid(s):
    return 1.0 / (1.0 + np.exp(-s))


def bce_with_logits(s, t):
    return np.maximum(s, 0.0) - s * t + np.log1p(np.exp(-np.abs(s)))


def focal_terms(s, t, alpha, gamma):
    """Per-entry focal loss and its derivative (valid entries only)."""
    p = sigmoid(s)
    ce = bce_with_logits(s, t)
    p_t = p * t + (1.0 - p) * (1.0 - t)
    alpha_t = alpha * t + (1.0 - alpha) * (1.0 - t)
    mod = (1.0 - p_t) ** gamma
    loss = alpha_t * ce * mod
    dce = p - t
    dp_t = (2.0 * t - 1.0) * p * (1.0 - p)
    dmod = gamma * (1.0 - p_t) ** (gamma - 1.0) * -dp_t if gamma > 0 else np.zeros_like(s)
    return loss, alpha_t * (dce * mod + ce * dmod)


def focal(s, t, alpha, gamma):
    valid = t >= 0
    npos = int(np.sum(t == 1))
    grad = np.zeros_like(s)
    if npos == 0:
        return 0.0, grad
    loss, dloss = focal_terms(s[valid], t[valid].astype(np.float64), alpha, gamma)
    grad[valid] = dloss / npos
    return float(np.sum(loss) / npos), grad


def ohem_mask(s, t, neg_per_pos):
    """Positives and the kept negatives: stable order on (-CE, index)."""
    npos = int(np.sum(t == 1))
    neg = np.flatnonzero(t == 0)
    ce_neg = bce_with_logits(s[neg], 0.0)
    order = np.lexsort((neg, -ce_neg))
    keep = np.zeros(s.shape, dtype=bool)
    keep[t == 1] = True
    keep[neg[order[: neg_per_pos * npos]]] = True
    return keep


def ce_ohem_fixed(s, t, keep):
    npos = int(np.sum(t == 1))
    tt = t[keep].astype(np.float64)
    loss = float(np.sum(bce_with_logits(s[keep], tt)) / npos)
    grad = np.zeros_like(s)
    grad[keep] = (sigmoid(s[keep]) - tt) / npos
    return loss, grad


def ce_ohem(s, t, neg_per_pos):
    if not np.any(t == 1):
        return 0.0, np.zeros_like(s)
    return ce_ohem_fixed(s, t, ohem_mask(s, t, neg_per_pos))


def check_gradient(name, fun, s, grad):
    """Central differences of fun (float64) against the analytic gradient."""
    h = 1e-6
    for i in range(len(s)):
        sp, sm = s.copy(), s.copy()
        sp[i] += h
        sm[i] -= h
        fd = (fun(sp) - fun(sm)) / (2 * h)
        if abs(fd - grad[i]) > 1e-6 * max(1.0, abs(fd)):
            sys.exit(f"{name}: gradient {i} is {grad[i]!r}, finite differences give {fd!r}")


def make_case(rng, n, pos_frac, ign_frac, spread, ties):
    s = (rng.standard_normal(n) * spread).astype(np.float32)
    if ties:
        s = (np.round(s.astype(np.float64) * 2) / 2).astype(np.float32)
    u = rng.random(n)
    t = np.where(u < pos_frac, 1, np.where(u < pos_frac + ign_frac, -1, 0)).astype(np.int64)
    return s, t


def cases():
    """(name, loss, scores float32, labels, alpha, gamma, neg_per_pos)."""
    rng = np.random.default_rng(20190611)
    out = []
    focal_specs = [  # name, n, pos_frac, ign_frac, spread, ties, alpha, gamma
        ("single_pos", 1, 1.0, 0.0, 2.0, False, 0.25, 2.0),
        ("small", 7, 0.3, 0.2, 2.0, False, 0.25, 2.0),
        ("medium", 60, 0.1, 0.1, 3.0, False, 0.25, 2.0),
        ("ties", 80, 0.2, 0.1, 1.5, True, 0.25, 2.0),
        ("wide", 200, 0.05, 0.1, 12.0, False, 0.25, 2.0),
        ("gamma0_ce", 120, 0.2, 0.0, 2.0, False, 0.5, 0.0),
        ("gamma1_5", 150, 0.1, 0.1, 3.0, False, 0.4, 1.5),
        ("gamma3", 90, 0.15, 0.05, 4.0, False, 0.1, 3.0),
        ("large", 500, 0.04, 0.15, 3.0, False, 0.25, 2.0),
        ("no_positive", 40, 0.0, 0.2, 2.0, False, 0.25, 2.0),
    ]
    for name, n, pf, ig, sp, ties, alpha, gamma in focal_specs:
        s, t = make_case(rng, n, pf, ig, sp, ties)
        if name != "no_positive" and not np.any(t == 1):
            t[0] = 1
        out.append((f"focal_{name}", "focal", s, t, alpha, gamma, 3))
    ohem_specs = [  # name, n, pos_frac, ign_frac, spread, ties, neg_per_pos
        ("single_pos", 1, 1.0, 0.0, 2.0, False, 3),
        ("few_negatives", 12, 0.4, 0.1, 2.0, False, 3),
        ("small", 9, 0.2, 0.1, 2.0, False, 3),
        ("medium", 80, 0.05, 0.1, 3.0, False, 3),
        ("ties_at_cut", 120, 0.05, 0.1, 1.0, True, 3),
        ("many_ties", 200, 0.02, 0.0, 0.2, True, 3),
        ("wide", 300, 0.03, 0.1, 10.0, False, 3),
        ("ratio1", 150, 0.05, 0.05, 2.0, True, 1),
        ("ratio5", 250, 0.03, 0.1, 3.0, False, 5),
        ("ratio0", 50, 0.1, 0.1, 2.0, False, 0),
        ("large", 500, 0.02, 0.2, 3.0, True, 3),
        ("no_positive", 30, 0.0, 0.1, 2.0, False, 3),
    ]
    for name, n, pf, ig, sp, ties, npp in ohem_specs:
        s, t = make_case(rng, n, pf, ig, sp, ties)
        if name != "no_positive" and not np.any(t == 1):
            t[0] = 1
        out.append((f"ce_ohem_{name}", "ce_ohem", s, t, 0.25, 2.0, npp))
    return out


def fmt(values, spec):
    return " ".join(spec % v for v in values)


def main():
    blocks = []
    for name, loss_name, s32, t, alpha, gamma, npp in cases():
        s = s32.astype(np.float64)
        if loss_name == "focal":
            loss, grad = focal(s, t, alpha, gamma)
            check_gradient(name, lambda x: focal(x, t, alpha, gamma)[0], s, grad)
        else:
            loss, grad = ce_ohem(s, t, npp)
            if np.any(t == 1):
                keep = ohem_mask(s, t, npp)
                check_gradient(name, lambda x: ce_ohem_fixed(x, t, keep)[0], s, grad)
        assert np.all(grad[t < 0] == 0)
        blocks.append("\n".join([
            f"case {name} {loss_name} {len(s)}",
            f"params alpha={alpha!r} gamma={gamma!r} neg_per_pos={npp}",
            "scores " + fmt(s32, "%.9g"),
            "labels " + fmt(t, "%d"),
            "loss %.17g" % loss,
            "grad " + fmt(grad, "%.17g"),
            "end",
        ]))
    header = "# loss_reference.txt — written by tests/make_loss_fixtures.py; do not edit by hand.\n"
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(header + "\n".join(blocks) + "\n")
    print(f"wrote {len(blocks)} cases to {OUT}")


if __name__ == "__main__":
    main()
