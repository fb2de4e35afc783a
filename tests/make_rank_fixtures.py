#!/usr/bin/env python3
"""make_rank_fixtures.py — reference values for the ranking losses ap, auc, approx_ap, hinge_ap.

Writes tests/fixtures/rank_reference.txt, read by tests/test_rank_reference.c
through tests/loss_fixture.c. Transcriptions
written from the paper (Chen et al., "Towards Accurate One-Stage Object Detection with AP-Loss",
CVPR 2019: eq. 3-5, 7, 13, 14 and Algorithm 1) and the released code's conventions of
../shared/DESIGN.md, not from the C code. All arithmetic starts from the float32 scores.
  ap        Algorithm 1 as the released code loops it: positives in ascending score order;
            f the step of eq. 14 (delta = 0: Heaviside with f(0) = 1/2);
            a = 1/2 + sum_{k in P} f(s_k - s_i) (self term f(0) = 1/2 included),
            b = sum_{j in N} f(s_j - s_i), L_ij = f(s_j - s_i)/(a + b), prec = a/(a + b);
            if prec >= max_prec: max_prec = prec, else (interpolation) the row L_i. is scaled by
            (1 - max_prec)/(1 - prec) and prec counts as max_prec; g_i = -sum_j L_ij,
            g_j += L_ij, all / |P|; loss = 1 - mean of the precisions used.
            Run in exact rational arithmetic (fractions.Fraction: float32 scores and the tested
            deltas are dyadic, so nothing is rounded; these values are written) and twice in
            float64 (the same loop, and Algorithm 1 row by row in NumPy with line 7's
            prec = 1 - sum_j L_ij); all must agree to 1e-12.
  auc       eq. 7: L'_ij = f(s_j - s_i)/|N|, loss = (1/|P|) sum_ij L'_ij, g_i = -sum_j L'_ij/|P|,
            g_j = sum_i L'_ij/|P|; exact and float64 as for ap.
  approx_ap sec. 4.2.3: the step replaced by sig(x) = 1/(1 + exp(-x/tau)),
            A_i = 1 + sum_{k in P, k != i} sig(s_k - s_i), B_i = sum_{j in N} sig(s_j - s_i),
            AP = mean_i A_i/(A_i + B_i), loss = -log(AP + eps). The gradient is derived by hand
            in matrix form (grad_approx_ap) and checked here against complex-step derivatives
            (exact to rounding) and central differences, in float64.
  hinge_ap  structured hinge (Yue et al. 2007; Mohapatra et al. 2018) by brute force over every
            ranking of the valid entries (itertools.permutations, at most 8 valid entries):
            Delta(R) = 1 - AP(R) (eq. 5 of the ranking), F(R) = (1/(|P||N|)) sum R_ij (s_i - s_j)
            with R_ij = +1 when positive i is above negative j, else -1; loss =
            max_R [Delta + F] - F(R*), R* every positive above every negative; the subgradient is
            that of F(R^) - F(R*) at the maximiser R^. When the maximisers (values within 1e-12
            of the maximum) do not all give the same subgradient, the case keeps only its loss
            and writes `grad none` (ties of scores make that common).
Conventions (DESIGN.md, optim/loss.h): ignored entries get 0; no positive: loss 0 and a zero
update; hinge_ap without negatives: loss 0 and a zero update (F is undefined there).

File format, one block per case (numbers separated by spaces, one line each):
  case NAME LOSS N           LOSS is ap, auc, approx_ap or hinge_ap, N the number of scores
  params KEY=VALUE ...       ap: delta= interp=; auc: delta=; approx_ap: tau= eps=;
                             hinge_ap: the single word none
  scores s_0 ... s_{N-1}     %.9g, exactly the float32 values
  labels t_0 ... t_{N-1}     1, 0 or -1
  loss L                     %.17g
  grad g_0 ... g_{N-1}       %.17g, or the single word none (hinge_ap, maximiser not unique)
  end
Run from the repository root: python3 tests/make_rank_fixtures.py (deterministic output).
"""
import itertools
import os
import sys
from fractions import Fraction

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "rank_reference.txt")


# ---- ap and auc: Algorithm 1 and eq. 7, generic over Fraction and float ----

def step(x, delta):
    """Eq. 14; delta = 0 is the Heaviside step with value 1/2 at 0."""
    half = Fraction(1, 2) if isinstance(x, Fraction) else 0.5
    if delta == 0:
        return 2 * half if x > 0 else (0 * half if x < 0 else half)
    return min(max(x / (2 * delta) + half, 0 * half), 2 * half)


def ap_released(s, t, delta, interp):
    """AP-loss and its update as the released code loops it. s: list of Fraction or float.
    Returns (loss, grad list, number of positives whose row was interpolated)."""
    zero = s[0] * 0 if s else 0
    grad = [zero] * len(s)
    pos = sorted((i for i in range(len(s)) if t[i] == 1), key=lambda i: s[i])
    neg = [j for j in range(len(s)) if t[j] == 0]
    if not pos:
        return zero, grad, 0
    max_prec, prec_sum, triggered = zero, zero, 0
    for i in pos:
        a = Fraction(1, 2) if isinstance(zero, Fraction) else 0.5
        for k in pos:
            a = a + step(s[k] - s[i], delta)
        fj = [step(s[j] - s[i], delta) for j in neg]
        rank = a + sum(fj, zero)
        row = [v / rank for v in fj]          # L_ij for j in N
        prec = a / rank
        if not interp or prec >= max_prec:
            max_prec = prec
        else:
            scale = (1 - max_prec) / (1 - prec)
            row = [v * scale for v in row]
            prec = max_prec
            triggered += 1
        prec_sum = prec_sum + prec
        grad[i] = -sum(row, zero)
        for j, v in zip(neg, row):
            grad[j] = grad[j] + v
    npos = len(pos)
    return 1 - prec_sum / npos, [g / npos for g in grad], triggered


def auc_eq7(s, t, delta):
    """AUC-loss (eq. 7) and its error-driven update. s: list of Fraction or float."""
    zero = s[0] * 0 if s else 0
    grad = [zero] * len(s)
    pos = [i for i in range(len(s)) if t[i] == 1]
    neg = [j for j in range(len(s)) if t[j] == 0]
    if not pos:
        return zero, grad
    total = zero
    for i in pos:
        row = [step(s[j] - s[i], delta) / len(neg) for j in neg]
        total = total + sum(row, zero)
        grad[i] = -sum(row, zero)
        for j, v in zip(neg, row):
            grad[j] = grad[j] + v
    return total / len(pos), [g / len(pos) for g in grad]


def ap_numpy(s, t, delta, interp):
    """Algorithm 1 in float64 NumPy, row by row (the cross-check of the exact values)."""
    pos = np.flatnonzero(t == 1)
    neg = np.flatnonzero(t == 0)
    grad = np.zeros(len(s))
    if len(pos) == 0:
        return 0.0, grad
    f = np_step(s[None, :] - s[pos][:, None], delta)   # [P][n] f(s_k - s_i)
    max_prec, precs = 0.0, []
    for r in np.argsort(s[pos], kind="stable"):
        a = 0.5 + np.sum(f[r, pos])
        rank = a + np.sum(f[r, neg])
        row = f[r, neg] / rank
        prec = 1.0 - np.sum(row)                         # line 7 of Algorithm 1
        if interp and prec < max_prec:
            row = row * (1.0 - max_prec) / (1.0 - prec)
            prec = max_prec
        else:
            max_prec = prec
        precs.append(prec)
        grad[pos[r]] = -np.sum(row)
        grad[neg] += row
    return 1.0 - np.mean(precs), grad / len(pos)


def np_step(x, delta):
    if delta == 0:
        return np.where(x > 0, 1.0, np.where(x < 0, 0.0, 0.5))
    return np.clip(x / (2 * delta) + 0.5, 0.0, 1.0)


def exact_rank_loss(loss_name, s32, t, delta, interp):
    """ap or auc in exact arithmetic, cross-checked by float64. Returns (loss, grad, triggered)."""
    sf = [Fraction(float(v)) for v in s32]
    df = Fraction(delta)
    triggered = 0
    if loss_name == "ap":
        loss, grad, triggered = ap_released(sf, t, df, interp)
        f_loss, f_grad = ap_numpy(s32.astype(np.float64), t, delta, interp)
        p_loss, p_grad, _ = ap_released([float(v) for v in s32], t, float(delta), interp)
    else:
        loss, grad = auc_eq7(sf, t, df)
        p_loss, p_grad = auc_eq7([float(v) for v in s32], t, float(delta))
        f_loss, f_grad = p_loss, p_grad
    loss, grad = float(loss), np.array([float(g) for g in grad])
    for other_loss, other_grad in ((f_loss, f_grad), (p_loss, p_grad)):
        if abs(other_loss - loss) > 1e-12 or np.max(np.abs(np.array(other_grad) - grad),
                                                     initial=0.0) > 1e-12:
            sys.exit(f"{loss_name}: float64 and exact values disagree (loss {other_loss!r} vs "
                     f"{loss!r})")
    return loss, grad, triggered


# ---- approx_ap: sigmoid-smoothed AP, -log(AP + eps), float64 ----

def sigmoid_tau(x, tau):
    """1/(1 + exp(-x/tau)) written without overflow; complex x allowed."""
    return 0.5 + 0.5 * np.tanh(x / (2.0 * tau))


def approx_ap_value(s, t, tau, eps):
    """The objective; works for complex s (complex-step derivatives)."""
    sp, sn = s[t == 1], s[t == 0]
    off_diag = ~np.eye(len(sp), dtype=bool)
    a = 1.0 + np.sum(np.where(off_diag, sigmoid_tau(sp[None, :] - sp[:, None], tau), 0.0), axis=1)
    b = np.sum(sigmoid_tau(sn[None, :] - sp[:, None], tau), axis=1)
    ap = np.mean(a / (a + b))
    return -np.log(ap + eps)


def grad_approx_ap(s, t, tau, eps):
    """Hand-derived gradient. With x_ik = s_k - s_i, sig' = sig (1 - sig)/tau, R = A + B,
    u_i = B_i/R_i^2, v_i = A_i/R_i^2 and dAP = (1/|P|) sum_i (u_i dA_i - v_i dB_i):
    positive m: sum_{i != m} u_i sig'_im - u_m sum_{k != m} sig'_mk + v_m sum_j sig'_mj,
    negative m: -sum_i v_i sig'_im; grad = -(1/(AP + eps)) (1/|P|) dAP/ds."""
    pos, neg = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    grad = np.zeros(len(s))
    if len(pos) == 0:
        return 0.0, grad
    sp, sn = s[pos], s[neg]
    spp = sigmoid_tau(sp[None, :] - sp[:, None], tau)                 # [P][P]
    spn = sigmoid_tau(sn[None, :] - sp[:, None], tau)                 # [P][N]
    off_diag = ~np.eye(len(pos), dtype=bool)
    dpp = np.where(off_diag, spp * (1.0 - spp) / tau, 0.0)
    dpn = spn * (1.0 - spn) / tau
    a = 1.0 + np.sum(np.where(off_diag, spp, 0.0), axis=1)
    b = np.sum(spn, axis=1)
    r = a + b
    ap = np.mean(a / r)
    u, v = b / r**2, a / r**2
    dpos = dpp.T @ u - u * np.sum(dpp, axis=1) + v * np.sum(dpn, axis=1)
    dneg = -(dpn.T @ v)
    coef = -1.0 / ((ap + eps) * len(pos))
    grad[pos], grad[neg] = coef * dpos, coef * dneg
    return float(-np.log(ap + eps)), grad


def check_approx_gradient(name, s, t, tau, eps, grad):
    """Complex step (exact to rounding) and central differences against the gradient."""
    for i in np.flatnonzero(t >= 0):
        z = s.astype(np.complex128)
        z[i] += 1e-30j
        cs = approx_ap_value(z, t, tau, eps).imag / 1e-30
        if abs(cs - grad[i]) > 1e-10 * max(1.0, abs(cs)):
            sys.exit(f"{name}: gradient {i} is {grad[i]!r}, complex step gives {cs!r}")
        h = 1e-6 * max(tau, 1e-2)
        sp, sm = s.copy(), s.copy()
        sp[i] += h
        sm[i] -= h
        fd = (approx_ap_value(sp, t, tau, eps) - approx_ap_value(sm, t, tau, eps)) / (2 * h)
        if abs(fd - grad[i]) > 1e-6 * max(1.0, abs(fd)):
            sys.exit(f"{name}: gradient {i} is {grad[i]!r}, central differences give {fd!r}")


# ---- hinge_ap: brute force over every ranking ----

def hinge_brute_force(s, t):
    """(loss, grad or None when the maximiser's subgradient is not unique)."""
    valid = np.flatnonzero(t >= 0)
    lab = t[valid]
    npos, nneg = int(np.sum(lab == 1)), int(np.sum(lab == 0))
    grad = np.zeros(len(s))
    if npos == 0 or nneg == 0:
        return 0.0, grad
    assert len(valid) <= 8, "brute force is for at most 8 valid entries"
    perms = np.array(list(itertools.permutations(range(len(valid)))))  # [M][m] item at place q
    place = np.argsort(perms, axis=1)                                   # [M][m] place of item
    pi, ni = np.flatnonzero(lab == 1), np.flatnonzero(lab == 0)
    pp = place[:, pi]                                                   # [M][P]
    rank = pp + 1
    rank_pos = np.sum(pp[:, None, :] <= pp[:, :, None], axis=2)         # positives at or above
    ap = np.mean(rank_pos / rank, axis=1)
    above = pp[:, :, None] < place[:, ni][:, None, :]                   # [M][P][N]
    r_ij = np.where(above, 1.0, -1.0)
    sv = s[valid]
    diff = sv[pi][:, None] - sv[ni][None, :]                            # [P][N] s_i - s_j
    scale = 1.0 / (npos * nneg)
    value = 1.0 - ap + scale * np.sum(r_ij * diff, axis=(1, 2))
    best = np.max(value)
    loss = float(best - scale * np.sum(diff))
    wrong = ~above[value >= best - 1e-12]                               # reversed pairs
    sub = np.concatenate([-np.sum(wrong, axis=2), np.sum(wrong, axis=1)], axis=1)
    if np.any(sub != sub[0]):
        return loss, None
    grad[valid[pi]] = 2.0 * scale * sub[0, :npos]
    grad[valid[ni]] = 2.0 * scale * sub[0, npos:]
    return loss, grad


# ---- the cases ----

def f32(values):
    return np.array(values, dtype=np.float32)


def draw_labels(rng, n, pos_frac, ign_frac, min_pos=1):
    u = rng.random(n)
    t = np.where(u < pos_frac, 1, np.where(u < pos_frac + ign_frac, -1, 0)).astype(np.int64)
    while np.sum(t == 1) < min_pos:
        t[rng.integers(n)] = 1
    return t


def draw_scores(rng, kind, n, t, delta):
    """kind: cont (continuous), grid (multiples of 1/8: ties and exact cut-offs), cutoff (grid,
    then entries moved exactly onto some positive's s_i - delta, s_i, s_i + delta),
    three (three values), equal (one value)."""
    if kind == "cont":
        return (rng.standard_normal(n) * 1.5).astype(np.float32)
    if kind == "three":
        return f32(rng.choice([-0.5, 0.25, 1.0], n))
    if kind == "equal":
        return f32(np.full(n, -4.59511985))
    s = rng.integers(-24, 25, n) / 8.0
    if kind == "cutoff":
        pos = np.flatnonzero(t == 1)
        for j in np.flatnonzero(t >= 0):
            if rng.random() < 0.6:
                s[j] = s[rng.choice(pos)] + delta * rng.choice([-1.0, 0.0, 1.0])
    return f32(s)


ISSUE_SCORES = [1.57, -0.056, 0.747, -0.847, 2.567, -0.096]
ISSUE_LABELS = [1, -1, 0, 1, 1, 0]


def rank_cases(rng):
    """(name, loss, scores, labels, params dict) for ap and auc."""
    out = []
    # The issue's worked example. The issue prints loss 0.142372 and update [-0.014148, 0,
    # 0.082518, -0.128224, 0, 0.059854]; from these scores as written the exact values are
    # 0.142361287 and [-0.014135, 0, 0.082504, -0.128226, 0, 0.059857] (checked in main): the
    # printed numbers came from unrounded scores, of which the issue shows 3 decimals. As float32
    # the scores give loss 0.1423612819 (the value written here).
    ex_s, ex_t = f32(ISSUE_SCORES), np.array(ISSUE_LABELS)
    out.append(("ap_issue_example", "ap", ex_s, ex_t, {"delta": 1.0, "interp": 1}))
    out.append(("ap_issue_example_nointerp", "ap", ex_s, ex_t, {"delta": 1.0, "interp": 0}))
    out.append(("auc_issue_example", "auc", ex_s, ex_t, {"delta": 1.0}))
    deltas = [0.0, 0.25, 0.5, 1.0, 2.0]
    specs = [("cont12", "cont", 12, 0.3, 0.1), ("cont80", "cont", 80, 0.15, 0.1),
             ("grid60", "grid", 60, 0.2, 0.1), ("cutoff50", "cutoff", 50, 0.2, 0.1),
             ("three40", "three", 40, 0.25, 0.1)]
    for delta in deltas:
        dname = f"d{delta:g}".replace(".", "_")
        for tag, kind, n, pf, ig in specs:
            t = draw_labels(rng, n, pf, ig)
            s = draw_scores(rng, kind, n, t, delta)
            for interp in (1, 0):
                out.append((f"ap_{tag}_{dname}_i{interp}", "ap", s, t,
                            {"delta": delta, "interp": interp}))
            if kind != "three":
                out.append((f"auc_{tag}_{dname}", "auc", s, t, {"delta": delta}))
    for delta in (0.0, 1.0):
        dname = f"d{delta:g}"
        t = draw_labels(rng, 30, 0.2, 0.1)
        s = draw_scores(rng, "equal", 30, t, delta)
        for interp in (1, 0):
            out.append((f"ap_all_equal_{dname}_i{interp}", "ap", s, t,
                        {"delta": delta, "interp": interp}))
        out.append((f"auc_all_equal_{dname}", "auc", s, t, {"delta": delta}))
    # A positive far above the rest and one tied with a negative: interpolation lifts the
    # lower positives (prec of the top positive is the running maximum only at the end).
    s = f32([3.0, -1.0, 0.5, 0.5, 0.0, -2.0, 1.25, 0.75, -0.5, 0.5])
    t = np.array([1, 0, 1, 0, 0, 1, 0, 0, -1, 1])
    for delta in (0.0, 0.5):
        out.append((f"ap_interp_designed_d{delta:g}".replace(".", "_"), "ap", s, t,
                    {"delta": delta, "interp": 1}))
    edge = [("no_positive", draw_scores(rng, "cont", 20, np.zeros(20), 1.0),
             np.where(rng.random(20) < 0.2, -1, 0)),
            ("no_negative", draw_scores(rng, "cont", 9, np.ones(9), 1.0),
             np.array([1, 1, -1, 1, 1, -1, 1, 1, 1])),
            ("all_ignored", f32([0.5, -0.5, 1.5]), np.array([-1, -1, -1])),
            ("one_pair", f32([0.25, 0.75]), np.array([1, 0])),
            ("single_positive", draw_scores(rng, "cont", 25, np.zeros(25), 1.0),
             np.array([0] * 12 + [1] + [0] * 10 + [-1, -1])),
            ("empty", f32([]), np.array([], dtype=np.int64))]
    for tag, s, t in edge:
        out.append((f"ap_{tag}", "ap", s, t, {"delta": 1.0, "interp": 1}))
        out.append((f"auc_{tag}", "auc", s, t, {"delta": 0.5}))
    for delta, interp in ((0.5, 1), (0.0, 1), (2.0, 0)):
        t = draw_labels(rng, 500, 0.04, 0.05)
        s = draw_scores(rng, "grid" if delta == 0.0 else "cont", 500, t, delta)
        out.append((f"ap_large_d{delta:g}_i{interp}".replace(".", "_"), "ap", s, t,
                    {"delta": delta, "interp": interp}))
        out.append((f"auc_large_d{delta:g}".replace(".", "_"), "auc", s, t, {"delta": delta}))
    return out


def approx_cases(rng):
    out = []
    specs = [  # tag, n, pos_frac, spread, ties, tau, eps
        ("default", 40, 0.2, 1.5, False, 0.5, 1e-3),
        ("ties", 50, 0.2, 1.0, True, 0.5, 1e-3),
        ("tau0_1", 60, 0.15, 1.0, False, 0.1, 1e-3),
        ("tau1_eps1e-6", 60, 0.15, 2.0, False, 1.0, 1e-6),
        ("tau2_eps0_1", 45, 0.25, 3.0, False, 2.0, 0.1),
        ("eps0", 30, 0.2, 1.0, False, 0.25, 0.0),
        ("wide_window", 120, 0.1, 8.0, False, 0.1, 1e-3),     # many pairs past the cut
        ("wide_span", 80, 0.15, 12.0, False, 0.01, 1e-3),     # span over 1400 temperatures
        ("narrow", 100, 0.05, 0.05, False, 0.5, 1e-3),        # every score near -log 99
        ("large", 400, 0.03, 2.0, False, 0.5, 1e-3),
    ]
    for tag, n, pf, spread, ties, tau, eps in specs:
        t = draw_labels(rng, n, pf, 0.1)
        s = rng.standard_normal(n) * spread - (4.59511985 if tag == "narrow" else 0.0)
        if ties:
            s = np.round(s * 4) / 4
        out.append((f"approx_ap_{tag}", "approx_ap", s.astype(np.float32), t,
                    {"tau": tau, "eps": eps}))
    out.append(("approx_ap_issue_example", "approx_ap", f32(ISSUE_SCORES),
                np.array(ISSUE_LABELS), {"tau": 0.5, "eps": 1e-3}))
    out.append(("approx_ap_single_positive", "approx_ap", f32([0.3, 1.2, -0.4, 0.9, -1.0]),
                np.array([0, 0, 1, -1, 0]), {"tau": 0.5, "eps": 1e-3}))
    out.append(("approx_ap_no_negative", "approx_ap", f32([0.3, 1.2, -0.4, 0.9]),
                np.array([1, 1, -1, 1]), {"tau": 0.5, "eps": 1e-3}))
    out.append(("approx_ap_no_positive", "approx_ap", f32([0.3, 1.2, -0.4, 0.9]),
                np.array([0, -1, 0, 0]), {"tau": 0.5, "eps": 1e-3}))
    return out


def hinge_cases(rng):
    out = []
    for c in range(48):
        m = 2 + c % 7                      # 2..8 valid entries
        n = m + c % 3                      # and up to 2 ignored
        t = np.array([1] * (1 + c % (m - 1)) + [0] * (m - 1 - c % (m - 1)) + [-1] * (n - m))
        t = t[rng.permutation(n)]
        if c % 4 == 3:
            s = f32(rng.integers(-2, 3, n) / 4.0)        # ties, some maximisers not unique
        else:
            s = f32(rng.standard_normal(n) * (0.3 if c % 4 == 1 else 1.5))
        out.append((f"hinge_ap_rand{c:02d}", "hinge_ap", s, t, {}))
    out.append(("hinge_ap_issue_example", "hinge_ap", f32(ISSUE_SCORES),
                np.array(ISSUE_LABELS), {}))
    out.append(("hinge_ap_separated", "hinge_ap", f32([5.0, 4.5, -3.0, -2.5, 6.0, -4.0]),
                np.array([1, 1, 0, 0, 1, 0]), {}))
    out.append(("hinge_ap_no_negative", "hinge_ap", f32([0.5, 0.2]), np.array([1, 1]), {}))
    out.append(("hinge_ap_no_positive", "hinge_ap", f32([0.5, 0.2, 0.1]),
                np.array([0, -1, 0]), {}))
    return out


# ---- output ----

def fmt(values, spec):
    return " ".join(spec % v for v in values)


def params_text(loss_name, p):
    if loss_name == "ap":
        return f"delta={p['delta']:.17g} interp={p['interp']}"
    if loss_name == "auc":
        return f"delta={p['delta']:.17g}"
    if loss_name == "approx_ap":
        return f"tau={p['tau']:.17g} eps={p['eps']:.17g}"
    return "none"


def reference(name, loss_name, s32, t, p, stats):
    """(loss, grad or None) for one case; updates stats."""
    s = s32.astype(np.float64)
    if loss_name in ("ap", "auc"):
        loss, grad, triggered = exact_rank_loss(loss_name, s32, t, p["delta"], p.get("interp", 0))
        stats["interp_cases"] += triggered > 0
        if np.any(t == 1) and np.any(t == 0):
            if np.any(grad[t == 1] > 0) or np.any(grad[t == 0] < 0):
                sys.exit(f"{name}: a positive's update is > 0 or a negative's < 0")
            if abs(np.sum(grad)) > 1e-12 or abs(np.sum(grad[t == 0]) - loss) > 1e-12:
                sys.exit(f"{name}: the update does not sum to 0 or to the loss")
        return loss, grad
    if loss_name == "approx_ap":
        loss, grad = grad_approx_ap(s, t, p["tau"], p["eps"])
        if np.any(t == 1):
            check_approx_gradient(name, s, t, p["tau"], p["eps"], grad)
        return loss, grad
    loss, grad = hinge_brute_force(s, t)
    stats["hinge_loss_only"] += grad is None
    return loss, grad


def check_issue_example():
    """The issue's example from its decimal scores, exactly, and from their float32 roundings
    (what the C code and the fixture see: the loss moves by 5e-9)."""
    want = [-0.014135, 0.0, 0.082504, -0.128226, 0.0, 0.059857]
    decimal = [Fraction(v) for v in ISSUE_SCORES]
    loss, grad, _ = ap_released(decimal, ISSUE_LABELS, Fraction(1), 1)
    grad = np.array([float(g) for g in grad])
    if abs(float(loss) - 0.142361287) > 1e-9 or np.max(np.abs(grad - want)) > 1e-6:
        sys.exit(f"issue example (decimal scores): loss {float(loss)!r}, update {grad}")
    loss, grad, _ = exact_rank_loss("ap", f32(ISSUE_SCORES), np.array(ISSUE_LABELS), 1.0, 1)
    if abs(loss - 0.142361287) > 1e-8 or np.max(np.abs(grad - want)) > 1e-6:
        sys.exit(f"issue example (float32 scores): loss {loss!r}, update {grad}")


def main():
    check_issue_example()
    rng = np.random.default_rng(20190612)
    stats = {"interp_cases": 0, "hinge_loss_only": 0}
    blocks = []
    for name, loss_name, s32, t, p in rank_cases(rng) + approx_cases(rng) + hinge_cases(rng):
        loss, grad = reference(name, loss_name, s32, t, p, stats)
        if grad is not None and np.any(grad[t < 0] != 0):
            sys.exit(f"{name}: an ignored entry has a nonzero update")
        blocks.append("\n".join([
            f"case {name} {loss_name} {len(s32)}",
            "params " + params_text(loss_name, p),
            ("scores " + fmt(s32, "%.9g")).rstrip(),
            ("labels " + fmt(t, "%d")).rstrip(),
            "loss %.17g" % loss,
            "grad none" if grad is None else ("grad " + fmt(grad, "%.17g")).rstrip(),
            "end",
        ]))
    if stats["interp_cases"] < 20:
        sys.exit(f"interpolation triggered in only {stats['interp_cases']} ap cases")
    header = "# rank_reference.txt — written by tests/make_rank_fixtures.py; do not edit by hand.\n"
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(header + "\n".join(blocks) + "\n")
    print(f"wrote {len(blocks)} cases to {OUT}: interpolation triggered in "
          f"{stats['interp_cases']} ap cases; {stats['hinge_loss_only']} hinge_ap cases "
          f"keep only the loss (maximiser not unique)")


if __name__ == "__main__":
    main()
