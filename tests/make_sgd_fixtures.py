#!/usr/bin/python3
"""make_sgd_fixtures.py — PyTorch reference values for optim/sgd.c, read by tests/test_sgd.c.

Writes tests/fixtures/sgd_reference.h5:
  steps/        torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01) over three float32
                tensors, the middle one frozen (requires_grad False: not given to the
                optimizer), with torch's ChainedScheduler(LinearLR(start_factor=1/3,
                total_iters=5), MultiStepLR(milestones=[7, 10], gamma=0.1)) stepped after each
                update, for 12 steps. Datasets: w0 [V] the starting values of the three tensors
                laid end to end, grad [S][V] the gradient of each step (float32; the frozen
                tensor's entries are ignored), w [S][V] the values after each step, lr [S] the lr
                each step used. Attrs: counts (the three tensor sizes), frozen (its index), and
                the config (lr, momentum, weight_decay, warmup_steps, warmup_factor, gamma,
                milestones).
  schedule/     the paper preset's schedule (lr 0.001, 500 warm-up steps from 1/3) with a decay
                at 550 and 580, from the same torch schedulers: lr [700] per step.
Deterministic (torch.manual_seed). Needs Debian's python3-torch.
Run from the repository root: /usr/bin/python3 tests/make_sgd_fixtures.py
"""
import os

import h5py
import numpy as np
import torch
from torch.optim.lr_scheduler import ChainedScheduler, LinearLR, MultiStepLR

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "sgd_reference.h5")


def scheduled(params, lr, momentum, wd, warmup, factor, milestones, gamma):
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd)
    sched = ChainedScheduler([LinearLR(opt, start_factor=factor, end_factor=1.0,
                                       total_iters=warmup),
                              MultiStepLR(opt, milestones=milestones, gamma=gamma)])
    return opt, sched


def config_attrs(g, lr, momentum, wd, warmup, factor, milestones, gamma):
    g.attrs.update(dict(lr=lr, momentum=momentum, weight_decay=wd, warmup_steps=warmup,
                        warmup_factor=factor, gamma=gamma,
                        milestones=np.array(milestones, dtype=np.int64)))


def steps_case(g):
    counts, frozen, steps = [7, 5, 11], 1, 12
    cfg = (0.1, 0.9, 0.01, 5, 1.0 / 3.0, [7, 10], 0.1)
    tensors = [torch.randn(n, dtype=torch.float32) for n in counts]
    w0 = torch.cat([t.clone() for t in tensors])
    for i, t in enumerate(tensors):
        t.requires_grad_(i != frozen)
    opt, sched = scheduled([t for i, t in enumerate(tensors) if i != frozen], *cfg)
    grads, ws, lrs = [], [], []
    for _ in range(steps):
        g_all = torch.randn(sum(counts), dtype=torch.float32)
        grads.append(g_all.clone())
        at = 0
        for i, t in enumerate(tensors):
            if i != frozen:
                t.grad = g_all[at:at + counts[i]].clone()
            at += counts[i]
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        ws.append(torch.cat([t.detach().clone() for t in tensors]))
    g.attrs["counts"] = np.array(counts, dtype=np.int64)
    g.attrs["frozen"] = frozen
    config_attrs(g, *cfg)
    g["w0"] = w0.numpy()
    g["grad"] = torch.stack(grads).numpy()
    g["w"] = torch.stack(ws).numpy()
    g["lr"] = np.array(lrs, dtype=np.float64)


def schedule_case(g):
    cfg = (0.001, 0.9, 1e-4, 500, 1.0 / 3.0, [550, 580], 0.1)
    opt, sched = scheduled([torch.zeros(1, requires_grad=True)], *cfg)
    lrs = []
    for _ in range(700):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    config_attrs(g, *cfg)
    g["lr"] = np.array(lrs, dtype=np.float64)


def main():
    torch.manual_seed(20190602)
    with h5py.File(OUT, "w") as f:
        steps_case(f.create_group("steps"))
        schedule_case(f.create_group("schedule"))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
