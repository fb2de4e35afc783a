#!/usr/bin/python3
"""make_image_fixtures.py — small image fixtures and PIL reference pixels for tests/test_image.c.

Run from the repository root with Debian's Python (PIL, numpy):
    /usr/bin/python3 tests/make_image_fixtures.py
It writes tests/fixtures/images/*.{jpg,png} (tiny synthetic images of every JPEG and PNG kind,
plus broken files) and tests/fixtures/image_reference.txt. Deterministic (numpy seed 0).

Reference rule: the expected pixels are PIL's Image.open(p).convert("RGB"), except for 16-bit
gray PNG, where PIL clips (v > 255 -> 255) instead of scaling: there the expectation is the
high byte of each sample (v >> 8), computed here from the source array, as for every other
16-bit PNG (where PIL agrees). Real images from ../shared/datasets are referenced too
(baseline, progressive and grayscale JPEG; RGB, RGBA and palette PNG named .jpg).

image_reference.txt lines:
    image PATH WIDTH HEIGHT TOL SUM WSUM
    px X Y R G B            (64 per image)
SUM is the sum of all RGB bytes, WSUM = sum over byte index i of byte * (i % 251 + 1) mod 2^64.
TOL is the per-channel tolerance the decoder is held to: 0 (PNG, exact) or 1 (JPEG).
"""
import io
import os
import struct
import zlib

import warnings

import numpy as np
from PIL import Image

warnings.simplefilter("ignore")  # PIL's advice on palette transparency
OUT = "tests/fixtures/images"
REF = "tests/fixtures/image_reference.txt"
DATA = "../shared/datasets"
W, H = 45, 31  # odd sizes: partial JPEG MCUs and PNG rows that are not byte-aligned

REAL = [  # (path, what it is)
    (DATA + "/coco128/images/train2017/000000000009.jpg", "baseline JPEG 4:2:0"),
    (DATA + "/fruits/train_zip/train/apple_2.jpg", "progressive JPEG"),
    (DATA + "/raccoon/images/raccoon-150.jpg", "grayscale JPEG"),
    (DATA + "/fruits/train_zip/train/apple_62.jpg", "JPEG with zero padding after EOI"),
    (DATA + "/fruits/train_zip/train/banana_35.jpg", "RGBA PNG named .jpg"),
    (DATA + "/fruits/train_zip/train/apple_8.jpg", "palette PNG named .jpg"),
    (DATA + "/fruits/test_zip/test/orange_94.jpg", "RGB PNG named .jpg"),
]


def source_rgb(rng):
    """A smooth gradient with noise: JPEG-friendly but not flat."""
    y, x = np.mgrid[0:H, 0:W]
    base = np.stack([x * 255 / W, y * 255 / H, (x + y) * 127 / (W + H)], axis=-1)
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


def png_chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def pack_rows(samples, depth):
    """samples [h][n] of ints -> list of raw row bytes at the given bit depth."""
    rows = []
    for r in samples:
        if depth == 16:
            rows.append(b"".join(struct.pack(">H", int(v)) for v in r))
        elif depth == 8:
            rows.append(bytes(int(v) for v in r))
        else:
            bits = "".join(format(int(v), "0%db" % depth) for v in r)
            bits += "0" * (-len(bits) % 8)
            rows.append(bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)))
    return rows


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def write_png(path, pix, color_type, depth, palette=None, trns=None, interlace=False):
    """pix [h][w][channels] (or [h][w] for gray/palette) of sample values; filter 0 rows."""
    pix = np.asarray(pix)
    h, w = pix.shape[:2]
    flat = pix.reshape(h, w, -1)
    raw = b""
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = flat[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        for row in pack_rows(sub.reshape(sub.shape[0], -1), depth):
            raw += b"\x00" + row
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    if palette is not None:
        data += png_chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).ravel()))
    if trns is not None:
        data += png_chunk(b"tRNS", bytes(trns))
    data += png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)
    return data


def pil_rgb(path):
    return np.asarray(Image.open(path).convert("RGB"))


def make_jpegs(rgb):
    """Baseline 4:2:0, progressive 4:4:4, gray, CMYK (Adobe, inverted as PIL writes it)."""
    im = Image.fromarray(rgb)
    im.save(OUT + "/rgb_420.jpg", quality=90, subsampling=2)
    im.save(OUT + "/rgb_444_progressive.jpg", quality=90, subsampling=0, progressive=True)
    im.convert("L").save(OUT + "/gray.jpg", quality=90)
    im.convert("CMYK").save(OUT + "/cmyk.jpg", quality=90)
    return {n: pil_rgb(OUT + "/" + n) for n in
            ["rgb_420.jpg", "rgb_444_progressive.jpg", "gray.jpg", "cmyk.jpg"]}


def make_pngs(rng, rgb):
    """Every PNG colour type and the depths libpng must expand; expectations from the source."""
    exp = {}
    Image.fromarray(rgb).save(OUT + "/rgb8.png")
    exp["rgb8.png"] = rgb
    alpha = rng.integers(0, 256, (H, W), dtype=np.uint8)
    Image.fromarray(np.dstack([rgb, alpha])).save(OUT + "/rgba8.png")
    exp["rgba8.png"] = rgb
    pal = rng.integers(0, 256, (16, 3), dtype=np.uint8)
    idx = rng.integers(0, 16, (H, W))
    write_png(OUT + "/palette8_trns.png", idx, 3, 8, palette=pal, trns=range(0, 256, 16))
    exp["palette8_trns.png"] = pal[idx]
    idx2 = rng.integers(0, 4, (H, W))
    write_png(OUT + "/palette2.png", idx2, 3, 2, palette=pal[:4])
    exp["palette2.png"] = pal[:4][idx2]
    for depth in (1, 4):
        g = rng.integers(0, 1 << depth, (H, W))
        write_png(OUT + "/gray%d.png" % depth, g, 0, depth)
        exp["gray%d.png" % depth] = np.repeat((g * (255 // ((1 << depth) - 1)))[..., None], 3, 2)
    g16 = rng.integers(0, 65536, (H, W))
    write_png(OUT + "/gray16.png", g16, 0, 16)
    exp["gray16.png"] = np.repeat((g16 >> 8)[..., None], 3, 2)
    c16 = rng.integers(0, 65536, (H, W, 4))
    write_png(OUT + "/rgb16.png", c16[..., :3], 2, 16)
    exp["rgb16.png"] = c16[..., :3] >> 8
    write_png(OUT + "/rgba16.png", c16, 6, 16)
    exp["rgba16.png"] = c16[..., :3] >> 8
    ga = np.dstack([rgb[..., 1], alpha])
    write_png(OUT + "/gray_alpha8.png", ga, 4, 8)
    exp["gray_alpha8.png"] = np.repeat(rgb[..., 1:2], 3, 2)
    write_png(OUT + "/rgb8_adam7.png", rgb, 2, 8, interlace=True)
    exp["rgb8_adam7.png"] = rgb
    return {k: v.astype(np.uint8) for k, v in exp.items()}


def make_broken():
    """Files every decoder must refuse with a message, and one it must accept."""
    jpg = open(OUT + "/rgb_420.jpg", "rb").read()
    prog = open(OUT + "/rgb_444_progressive.jpg", "rb").read()
    png = open(OUT + "/rgb8.png", "rb").read()
    scans = [i for i in range(len(prog) - 1) if prog[i:i + 2] == b"\xff\xda"]
    files = {
        "truncated.jpg": jpg[:len(jpg) // 2],
        "truncated_scans.jpg": prog[:scans[2]],  # ends cleanly after two of its scans
        "truncated_progressive.jpg": prog[:len(prog) * 3 // 5],
        "no_eoi.jpg": jpg[:-2],  # valid: every scanline is there, as PIL reads it
        "trailing_zeros.jpg": jpg + bytes(2048),  # valid: data after EOI is ignored
        "truncated.png": png[:len(png) // 2],
        "not_image.jpg": b"<?xml version='1.0'?>\n<annotation/>\n",
        "empty.png": b"",
    }
    sof = jpg.index(b"\xff\xc0")
    files["bad_precision.jpg"] = jpg[:sof + 4] + b"\x09" + jpg[sof + 5:]  # 9-bit samples
    idat = png.index(b"IDAT")
    idat_end = idat + 4 + struct.unpack(">I", png[idat - 4:idat])[0]
    bad = bytearray(png)
    bad[idat + 20] ^= 0xFF  # inside the zlib stream
    files["bad_zlib.png"] = bytes(bad)
    bad = bytearray(png)
    bad[idat_end] ^= 0xFF  # the chunk's CRC
    files["bad_crc.png"] = bytes(bad)
    for name, (w, h) in {"zero_width.png": (0, 31), "huge.png": (40000, 40000)}.items():
        ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
        files[name] = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png[33:]
    for name, data in files.items():
        with open(OUT + "/" + name, "wb") as f:
            f.write(data)
    return pil_rgb(OUT + "/trailing_zeros.jpg"), pil_rgb(OUT + "/no_eoi.jpg")


def reference_lines(path, rgb, tol, rng):
    h, w = rgb.shape[:2]
    flat = rgb.reshape(-1).astype(np.uint64)
    weights = (np.arange(flat.size, dtype=np.uint64) % 251) + 1
    lines = ["image %s %d %d %d %d %d" % (path, w, h, tol, int(flat.sum()),
                                         int((flat * weights).sum()))]
    pts = [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)]
    pts += [(int(rng.integers(0, w)), int(rng.integers(0, h))) for _ in range(60)]
    lines += ["px %d %d %d %d %d" % (x, y, *rgb[y, x]) for x, y in pts]
    return lines


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(0)
    rgb = source_rgb(rng)
    jpegs = make_jpegs(rgb)
    pngs = make_pngs(rng, rgb)
    jpegs["trailing_zeros.jpg"], jpegs["no_eoi.jpg"] = make_broken()
    for name, want in pngs.items():  # PIL agrees with the rule except on 16-bit gray
        if name != "gray16.png":
            assert np.array_equal(pil_rgb(OUT + "/" + name), want), name
    lines = ["# PIL reference pixels made by tests/make_image_fixtures.py (see its docstring):",
             "# image PATH WIDTH HEIGHT TOL SUM WSUM, then px X Y R G B lines"]
    for name, want in sorted(jpegs.items()):
        lines += reference_lines(OUT + "/" + name, want, 1, rng)
    for name, want in sorted(pngs.items()):
        lines += reference_lines(OUT + "/" + name, want, 0, rng)
    for path, what in REAL:
        lines.append("# " + what)
        tol = 1 if Image.open(path).format == "JPEG" else 0
        lines += reference_lines(path, pil_rgb(path), tol, rng)
    with open(REF, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
