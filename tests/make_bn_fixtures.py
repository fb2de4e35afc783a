#!/usr/bin/python3
"""make_bn_fixtures.py — PyTorch reference values for training-mode BatchNorm
(detector/batchnorm.c, bn_train_forward / bn_train_backward), read by tests/test_bn_train.c.

Writes tests/fixtures/bn_train_reference.h5: root attributes n c h w eps momentum; datasets
(float32 values stored as float64, flattened in C order):
  x [N][C][H][W], weight [C], bias [C], running_mean0 [C], running_var0 [C], dy [N][C][H][W]
  y        torch.nn.BatchNorm2d(C, eps, momentum) in train mode on those values, in float64
  dx, dweight, dbias  autograd gradients of sum(y · dy), in float64
  running_mean, running_var  the module's running statistics after that forward (momentum 0.1,
           running_var with the unbiased batch variance)
The input has a per-channel offset and scale so the normalisation does real work.
Deterministic (torch.manual_seed). Needs Debian's python3-torch.
Run from the repository root: /usr/bin/python3 tests/make_bn_fixtures.py
"""
import os

import h5py
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "bn_train_reference.h5")
N, C, H, W = 2, 3, 5, 4
EPS, MOMENTUM = 1e-5, 0.1


def f32(t):
    """Round to float32 values, then compute in float64."""
    return t.float().double()


def main():
    torch.manual_seed(2015)
    offset = torch.tensor([0.5, -2.0, 3.0]).view(1, C, 1, 1)
    spread = torch.tensor([1.0, 0.2, 4.0]).view(1, C, 1, 1)
    x = f32(torch.randn(N, C, H, W, dtype=torch.float64) * spread + offset)
    weight = f32(torch.rand(C, dtype=torch.float64) + 0.5)
    bias = f32(torch.randn(C, dtype=torch.float64) * 0.5)
    rmean0 = f32(torch.randn(C, dtype=torch.float64))
    rvar0 = f32(torch.rand(C, dtype=torch.float64) + 0.5)
    dy = f32(torch.randn(N, C, H, W, dtype=torch.float64))

    bn = torch.nn.BatchNorm2d(C, eps=EPS, momentum=MOMENTUM).double()
    with torch.no_grad():
        bn.weight.copy_(weight)
        bn.bias.copy_(bias)
        bn.running_mean.copy_(rmean0)
        bn.running_var.copy_(rvar0)
    bn.train()
    xg = x.clone().requires_grad_(True)
    y = bn(xg)
    (y * dy).sum().backward()

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with h5py.File(OUT, "w") as f:
        for k, v in dict(n=N, c=C, h=H, w=W, eps=EPS, momentum=MOMENTUM).items():
            f.attrs[k] = float(v)
        data = {
            "x": x, "weight": weight, "bias": bias, "running_mean0": rmean0,
            "running_var0": rvar0, "dy": dy, "y": y.detach(), "dx": xg.grad,
            "dweight": bn.weight.grad, "dbias": bn.bias.grad,
            "running_mean": bn.running_mean, "running_var": bn.running_var,
        }
        for k, v in data.items():
            f.create_dataset(k, data=v.detach().reshape(-1).numpy())
    print("wrote", OUT)


if __name__ == "__main__":
    main()
