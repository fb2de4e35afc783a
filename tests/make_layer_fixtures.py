#!/usr/bin/python3
"""make_layer_fixtures.py — PyTorch reference values for the detector's CPU layers
(detector/layers.h), read by tests/test_layers.c.

Writes tests/fixtures/layers_reference.h5, one group per case:
  conv/NAME      attrs n cin cout k stride pad h w has_bias; datasets x [N][Cin][H][W],
                 weight [Cout][Cin][k][k], bias [Cout] (zeros when has_bias is 0), all float32
                 values; y = F.conv2d in float64 on those values; dy (float32 values) and the
                 float64 autograd gradients dx, dweight, dbias of sum(y · dy).
  pool/NAME      attrs n c h w k stride pad; x float32 with many ties (small integers, plus
                 -inf entries); y and argmax (int64, index within the input plane) from
                 F.max_pool2d(return_indices=True) in float32; dy and the float64 dx.
  upsample/NAME  attrs n c h w oh ow; src_y [OH], src_x [OW]: the source row and column
                 PyTorch picks (read from upsampling an arange in float32); x, y = F.interpolate
                 (size=(oh, ow), mode="nearest") in float32; dy (float32) and dx (float32
                 autograd).
  bn/NAME        attrs n c h w eps; weight, bias, running_mean, running_var, x and y =
                 torchvision.ops.FrozenBatchNorm2d(x) in float32.
Deterministic (torch.manual_seed). Needs Debian's python3-torch and python3-torchvision.
Run from the repository root: /usr/bin/python3 tests/make_layer_fixtures.py
"""
import os

import h5py
import numpy as np
import torch
import torch.nn.functional as F
import torchvision

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "layers_reference.h5")

# name: (n, cin, cout, k, stride, pad, h, w, has_bias)
CONV_CASES = {
    "k3_s1_p1": (2, 3, 4, 3, 1, 1, 7, 6, 1),
    "k3_s2_p1_odd": (1, 4, 5, 3, 2, 1, 9, 8, 1),
    "k3_s2_p1_even": (2, 5, 3, 3, 2, 1, 8, 8, 1),
    "k1_s1_p0": (2, 6, 3, 1, 1, 0, 5, 4, 0),
    "k1_s2_p0": (2, 4, 6, 1, 2, 0, 7, 7, 0),
    "k7_s2_p3": (1, 3, 4, 7, 2, 3, 13, 11, 0),
    "k3_s1_p0": (1, 2, 3, 3, 1, 0, 5, 6, 1),
    "k2_s3_p1": (1, 2, 2, 2, 3, 1, 8, 10, 1),
    "k3_s1_p1_many_tiles": (2, 1, 1, 3, 1, 1, 47, 45, 1),  # > 1024 Winograd tiles, odd sides
    "k3_s1_p0_winograd": (2, 2, 2, 3, 1, 0, 19, 18, 1),  # 144 Winograd tiles, no padding
}
# name: (n, c, h, w, k, stride, pad)
POOL_CASES = {
    "k3_s2_p1_7x7": (1, 2, 7, 7, 3, 2, 1),
    "k3_s2_p1_8x6": (2, 3, 8, 6, 3, 2, 1),
    "k3_s2_p1_9x10": (1, 2, 9, 10, 3, 2, 1),
    "k2_s2_p0_6x5": (1, 2, 6, 5, 2, 2, 0),
}
# name: (n, c, h, w, oh, ow)
UPSAMPLE_CASES = {
    "double_4x4": (1, 2, 4, 4, 8, 8),
    "odd_7x5_13x10": (2, 2, 7, 5, 13, 10),
    "odd_3x4_5x7": (1, 3, 3, 4, 5, 7),
    "odd_13_25": (1, 1, 13, 13, 25, 25),
    "odd_5x9_10x17": (1, 2, 5, 9, 10, 17),
    "odd_25x38_50x75": (1, 1, 25, 38, 50, 75),
    "odd_11x7_21x13": (1, 1, 11, 7, 21, 13),
    "same_2x3": (1, 2, 2, 3, 2, 3),
    "float_30x26_58x44": (1, 1, 30, 26, 58, 44),  # float32 scale: one row, one column differ
    "float_65x39_110x66": (1, 1, 65, 39, 110, 66),  # from the exact floor(dst · in / out)
}
# name: (n, c, h, w, eps)
BN_CASES = {
    "eps1e-5": (2, 5, 3, 4, 1e-5),
    "eps1e-3": (1, 7, 2, 3, 1e-3),
}


def f32(t):
    return t.to(torch.float32)


def conv_case(g, n, cin, cout, k, stride, pad, h, w, has_bias):
    x = f32(torch.randn(n, cin, h, w))
    wt = f32(torch.randn(cout, cin, k, k) / (cin * k * k) ** 0.5)
    b = f32(torch.randn(cout)) if has_bias else torch.zeros(cout)
    dy_shape = F.conv2d(x, wt, None, stride, pad).shape
    dy = f32(torch.randn(dy_shape))
    x64, w64, b64 = (t.double().requires_grad_(True) for t in (x, wt, b))
    y = F.conv2d(x64, w64, b64 if has_bias else None, stride, pad)
    (y * dy.double()).sum().backward()
    for key, v in dict(n=n, cin=cin, cout=cout, k=k, stride=stride, pad=pad, h=h, w=w,
                       has_bias=has_bias).items():
        g.attrs[key] = v
    data = dict(x=x, weight=wt, bias=b, dy=dy)
    for key, v in data.items():
        g[key] = v.numpy().astype(np.float32)
    g["y"] = y.detach().numpy()
    g["dx"] = x64.grad.numpy()
    g["dweight"] = w64.grad.numpy()
    g["dbias"] = b64.grad.numpy() if has_bias else np.zeros(cout)


def pool_case(g, n, c, h, w, k, stride, pad):
    x = f32(torch.randint(-3, 4, (n, c, h, w)))
    x[torch.rand(n, c, h, w) < 0.1] = -float("inf")
    y, idx = F.max_pool2d(x, k, stride, pad, return_indices=True)
    dy = f32(torch.randn(y.shape))
    x64 = x.double().requires_grad_(True)
    y64 = F.max_pool2d(x64, k, stride, pad)
    assert torch.equal(y64.float(), y)
    (y64 * dy.double()).sum().backward()
    for key, v in dict(n=n, c=c, h=h, w=w, k=k, stride=stride, pad=pad).items():
        g.attrs[key] = v
    g["x"], g["y"], g["argmax"] = x.numpy(), y.numpy(), idx.numpy().astype(np.int64)
    g["dy"], g["dx"] = dy.numpy(), x64.grad.numpy()


def upsample_case(g, n, c, h, w, oh, ow):
    rows = F.interpolate(torch.arange(h, dtype=torch.float32).view(1, 1, h, 1), size=(oh, 1),
                         mode="nearest")
    cols = F.interpolate(torch.arange(w, dtype=torch.float32).view(1, 1, 1, w), size=(1, ow),
                         mode="nearest")
    x = f32(torch.randn(n, c, h, w)).requires_grad_(True)
    y = F.interpolate(x, size=(oh, ow), mode="nearest")
    dy = f32(torch.randn(y.shape))
    (y * dy).sum().backward()
    for key, v in dict(n=n, c=c, h=h, w=w, oh=oh, ow=ow).items():
        g.attrs[key] = v
    g["src_y"] = rows.flatten().numpy().astype(np.int64)
    g["src_x"] = cols.flatten().numpy().astype(np.int64)
    g["x"], g["y"] = x.detach().numpy(), y.detach().numpy()
    g["dy"], g["dx"] = dy.numpy(), x.grad.numpy()


def bn_case(g, n, c, h, w, eps):
    bn = torchvision.ops.FrozenBatchNorm2d(c, eps=eps)
    bn.weight.copy_(torch.randn(c))
    bn.bias.copy_(torch.randn(c))
    bn.running_mean.copy_(torch.randn(c))
    bn.running_var.copy_(torch.rand(c) * 2 + 0.01)
    x = f32(torch.randn(n, c, h, w))
    y = bn(x)
    for key, v in dict(n=n, c=c, h=h, w=w, eps=eps).items():
        g.attrs[key] = v
    for key in ("weight", "bias", "running_mean", "running_var"):
        g[key] = getattr(bn, key).numpy()
    g["x"], g["y"] = x.numpy(), y.numpy()


def main():
    torch.manual_seed(20190601)
    with h5py.File(OUT, "w") as f:
        for name, args in CONV_CASES.items():
            conv_case(f.create_group("conv/" + name), *args)
        for name, args in POOL_CASES.items():
            pool_case(f.create_group("pool/" + name), *args)
        for name, args in UPSAMPLE_CASES.items():
            upsample_case(f.create_group("upsample/" + name), *args)
        for name, args in BN_CASES.items():
            bn_case(f.create_group("bn/" + name), *args)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
