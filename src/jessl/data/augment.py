"""Batched SSL augmentations in torch, on whatever device trains: the SimCLR / BYOL set.

Per view (`AugmentConfig`, optionally overridden per view): RandomResizedCrop → horizontal flip →
colour jitter (brightness, contrast, saturation, hue in a random order per sample) → grayscale →
Gaussian blur → solarisation → additive Gaussian noise, then the normalisation `to_float` also uses.
Each op follows `torchvision.transforms.v2.functional` on float images in [0, 1] (the tests compare
them on the same parameters); every sample draws its own parameters.

Host and device split the work so that a step never waits on the host:

- *Plan (host).* Every random number of a step is drawn on the CPU from the explicit, seeded
  `torch.Generator` the loop passes, in a fixed order, and turned into the ops' operands in numpy
  (bilinear interpolation indices, jitter coefficients per step, blur kernels, masks): the same seed
  gives the same views on every machine (FFCV's own random crops ignore the seed).
- *One copy.* The operands of all views of the step are packed into one buffer (pinned on CUDA) and
  sent with one non-blocking copy (`Pack`).
- *Build (device).* The views are built from that buffer. With `fixed_shape` (the default off the CPU)
  every op runs on the whole batch with the same shapes every step: masked blends instead of index
  subsets, and the blur on every sample with an identity kernel where it is off. On the CPU the ops
  whose samples are a subset (hue, grayscale, blur, solarisation) run on that subset only, which is
  cheaper there; both paths give the same bits (a test pins it, and pins both to the earlier code).
- Gaussian noise (`noise_std > 0`) is drawn on the CPU from the same generator when training on the
  CPU; on a GPU the host draws one seed for a device generator instead of copying full-size noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..config import AugmentConfig

MEAN, STD = 0.5, 0.25
GRAY = (0.2989, 0.587, 0.114)  # ITU-R 601-2 luma, torchvision's rgb_to_grayscale
CROP_ATTEMPTS = 10  # torchvision's RandomResizedCrop.get_params
BRIGHTNESS, CONTRAST, SATURATION, HUE = range(4)
_HUE_OFFSETS = (5, 0, -2)  # arange: n = 5, 3, 1 of adjust_hue's closed form, per channel


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 N×H×W×3 → normalised float N×3×H×W (the evaluation transform; views end the same way)."""
    return normalize(images.permute(0, 3, 1, 2).float() / 255.0)


def normalize(x: torch.Tensor) -> torch.Tensor:
    """Float N×3×H×W in [0, 1] → the network's input scale."""
    return (x - MEAN).div_(STD)


def _np(v: torch.Tensor | np.ndarray) -> np.ndarray:
    return v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)


def _draw(gen: torch.Generator, n: int, k: int) -> np.ndarray:
    """n×k uniforms in [0, 1) from `gen` (float64; the parameter arithmetic is done in numpy, where a
    small array costs ~1 µs an op rather than torch's ~10 µs — this is the per-step cost at 16×16)."""
    return torch.rand(n, k, generator=gen, dtype=torch.float64).numpy()


def _span(u: np.ndarray, low: float, high: float) -> np.ndarray:
    return low + (high - low) * u


# ---- parameters (host, seeded) ------------------------------------------------------------------------


def crop_params(gen: torch.Generator, n: int, height: int, width: int, scale: tuple[float, float],
                ratio: tuple[float, float]) -> torch.Tensor:
    """Per-sample integer crop boxes (top, left, h, w), N×4: torchvision's RandomResizedCrop sampling.

    Ten candidates per sample are drawn at once and the first that fits is kept — the same distribution
    as torchvision's loop of up to ten tries (only the order of the random stream differs); none fits →
    torchvision's fallback, the central crop with the aspect ratio clamped into `ratio`.
    """
    u = _draw(gen, n, 2 * CROP_ATTEMPTS + 2)
    target = height * width * _span(u[:, :CROP_ATTEMPTS], *scale)
    ar = np.exp(_span(u[:, CROP_ATTEMPTS:2 * CROP_ATTEMPTS], math.log(ratio[0]), math.log(ratio[1])))
    w = np.round(np.sqrt(target * ar)).astype(np.int64)  # round half to even, as Python's round
    h = np.round(np.sqrt(target / ar)).astype(np.int64)
    ok = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = ok.argmax(1)
    rows = np.arange(n)
    h, w = h[rows, first], w[rows, first]
    top = np.minimum((u[:, -2] * (height - h + 1)).astype(np.int64), height - h)  # randint(0, H - h + 1)
    left = np.minimum((u[:, -1] * (width - w + 1)).astype(np.int64), width - w)
    # torchvision's fallback: the central crop, aspect ratio clamped into the range
    in_ratio = width / height
    if in_ratio < min(ratio):
        fw, fh = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        fw, fh = int(round(height * max(ratio))), height
    else:
        fw, fh = width, height
    fallback = ~ok.any(1)
    h, w = np.where(fallback, fh, h), np.where(fallback, fw, w)
    top = np.where(fallback, (height - fh) // 2, top)
    left = np.where(fallback, (width - fw) // 2, left)
    return torch.from_numpy(np.stack([top, left, h, w], 1))


def jitter_params(gen: torch.Generator, n: int, cfg: AugmentConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample ColorJitter factors N×4 (brightness, contrast, saturation, hue) and order N×4 (a
    random permutation of the four ops per sample, as torchvision's ColorJitter draws one per call)."""
    u = _draw(gen, n, 8)
    low = np.array([max(0.0, 1 - cfg.brightness), max(0.0, 1 - cfg.contrast), max(0.0, 1 - cfg.saturation),
                    -cfg.hue])
    high = np.array([1 + cfg.brightness, 1 + cfg.contrast, 1 + cfg.saturation, cfg.hue])
    factors = (low + (high - low) * u[:, :4]).astype(np.float32)
    order = np.argsort(u[:, 4:], axis=1, kind="stable")
    return torch.from_numpy(factors), torch.from_numpy(order)


def blur_kernel_size(height: int, width: int) -> int:
    """SimCLR's rule: a kernel about 10 % of the side, odd (radius int(0.1·side) // 2; 224 → 23,
    96 → 9, 32 → 3), and at least 3 so that a blur on small images still blurs."""
    return max(3, 2 * (int(0.1 * min(height, width)) // 2) + 1)


def interp_indices(start: np.ndarray, length: np.ndarray, out: int,
                   flip: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear resampling of each span [start, start+length) onto `out` pixels (half-pixel centres,
    edges clamped, as ATen): for output pixel j the two source pixels j0, j1 (N×out, int) and the weight
    `frac` of j1 (float32); `flip` mirrors the output (its rows reversed)."""
    src = np.maximum((np.arange(out) + 0.5) * length[:, None] / out - 0.5, 0)  # ATen: negative → 0
    i0 = np.floor(src).astype(np.int64)
    frac = (src - i0).astype(np.float32)
    i1 = np.minimum(i0 + 1, length[:, None] - 1)
    j0, j1 = start[:, None] + i0, start[:, None] + i1
    if flip is not None and flip.any():
        j0[flip], j1[flip], frac[flip] = j0[flip, ::-1], j1[flip, ::-1], frac[flip, ::-1]
    return j0, j1, frac


def blur_kernels(sigma: np.ndarray, kernel_size: int, on: np.ndarray | None = None) -> np.ndarray:
    """Per-sample normalised 1-D Gaussian kernels N×K (float32; computed in float64), and the identity
    kernel (1 at the centre) where `on` is False."""
    half = (kernel_size - 1) * 0.5
    t = np.linspace(-half, half, kernel_size)
    k = np.exp(-0.5 * (t / np.asarray(sigma, np.float64).reshape(-1, 1)) ** 2)
    k = (k / k.sum(1, keepdims=True)).astype(np.float32)
    if on is not None:
        k[~on] = np.eye(kernel_size, dtype=np.float32)[kernel_size // 2]
    return k


@dataclass
class JitterStep:
    """Step k of the colour jitter on the host: the fused affine pass (`a`, `b`, `c` per sample; b / c
    None when no sample takes saturation / contrast at this step; all None when no sample takes any of
    the three) and the hue rotation (`hue`: the samples that take it, None when none; `shift` per sample)."""

    a: np.ndarray | None
    b: np.ndarray | None
    c: np.ndarray | None
    hue: np.ndarray | None
    shift: np.ndarray


def jitter_steps(factors: np.ndarray, order: np.ndarray, active: tuple[int, ...],
                 apply: np.ndarray) -> list[JitterStep]:
    """torchvision's ColorJitter per sample as a sequence of batch-wide steps: step k applies each
    sample's k-th op among `active`, in the sample's own `order`, on the samples where `apply` is True."""
    f = factors.astype(np.float32)
    act = np.array(active)
    step_of = np.argsort(order, axis=1)  # step_of[n, op]: when sample n applies op
    sequence = act[np.argsort(step_of[:, act], axis=1)]  # N×A: the active ops in each sample's order
    one, steps = np.float32(1), []
    for k in range(len(active)):
        op = np.where(apply, sequence[:, k], -1)
        bright, contrast, sat, hue = op == BRIGHTNESS, op == CONTRAST, op == SATURATION, op == HUE
        a = b = c = None
        if (bright | contrast | sat).any():
            a = np.where(bright, f[:, BRIGHTNESS],
                         np.where(contrast, f[:, CONTRAST], np.where(sat, f[:, SATURATION], one))).astype(np.float32)
            b = np.where(sat, one - f[:, SATURATION], 0).astype(np.float32) if sat.any() else None
            c = np.where(contrast, one - f[:, CONTRAST], 0).astype(np.float32) if contrast.any() else None
        steps.append(JitterStep(a, b, c, hue if hue.any() else None, f[:, HUE]))
    return steps


# ---- host → device: one buffer ------------------------------------------------------------------------

_KINDS = {"long": torch.long, "float": torch.float32, "bool": torch.bool}


@dataclass(frozen=True)
class Slot:
    """Where one array lies in a `Pack`: its kind, offset and shape."""

    kind: str
    offset: int
    shape: tuple[int, ...]


@dataclass
class Pack:
    """Host arrays (integers, float32 values, masks) collected into one float64 buffer (exact for all
    three) and sent to the device with one copy (pinned and non-blocking on CUDA); `Sent` casts each kind
    once there and hands out views."""

    parts: dict[str, list[np.ndarray]] = field(default_factory=lambda: {k: [] for k in _KINDS})
    sizes: dict[str, int] = field(default_factory=lambda: {k: 0 for k in _KINDS})

    def add(self, array: np.ndarray, kind: str) -> Slot:
        a = np.asarray(array)
        slot = Slot(kind, self.sizes[kind], a.shape)
        self.parts[kind].append(a.reshape(-1))
        self.sizes[kind] += a.size
        return slot

    def send(self, device: torch.device) -> Sent:
        cuda = device.type == "cuda"
        total = sum(self.sizes.values())
        buffer = torch.empty(total, dtype=torch.float64, pin_memory=cuda)
        host, at = buffer.numpy(), 0
        for kind in _KINDS:
            for a in self.parts[kind]:
                host[at:at + a.size] = a
                at += a.size
        on_device = buffer.to(device, non_blocking=True)
        out, at = {}, 0
        for kind, dtype in _KINDS.items():
            chunk = on_device[at:at + self.sizes[kind]]
            out[kind] = chunk != 0 if dtype == torch.bool else chunk.to(dtype)
            at += self.sizes[kind]
        return Sent(out)


@dataclass(frozen=True)
class Sent:
    """A `Pack` on the device: `sent[slot]` is the array of `slot` (a view, no copy)."""

    kinds: dict[str, torch.Tensor]

    def __getitem__(self, slot: Slot | None) -> torch.Tensor | None:
        if slot is None:
            return None
        flat = self.kinds[slot.kind]
        return flat[slot.offset:slot.offset + math.prod(slot.shape)].view(slot.shape)


# ---- the ops (any device, float N×3×H×W in [0, 1]) ------------------------------------------------


def interp_matrix(j0: torch.Tensor, j1: torch.Tensor, frac: torch.Tensor, full: int) -> torch.Tensor:
    """N×out×full bilinear weights from `interp_indices`: 1 − frac at j0 plus frac at j1 (their sum where
    j0 == j1), built with fixed-shape comparisons on the device."""
    cols = torch.arange(full, device=j0.device)
    frac = frac.unsqueeze(-1)
    return (torch.where(cols == j0.unsqueeze(-1), 1 - frac, 0.0)
            + torch.where(cols == j1.unsqueeze(-1), frac, 0.0))


def resample(x: torch.Tensor, ry: torch.Tensor, rx: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
    """out = Rᵧ · x · Rₓᵀ per sample (bilinear resampling is separable: two batched matrix products).
    `x` is float N×3×H×W, or N×H×W×3 with `channels_last` (the loaders' layout: no transpose before);
    the result is N×3×H'×W' either way. Rᵧ goes first, on the rows, where the layout does not matter;
    one transposing copy then puts the channels first for Rₓ."""
    if channels_last:
        n, height, width, c = x.shape
    else:
        n, c, height, width = x.shape
    out_h, out_w = ry.shape[1], rx.shape[1]
    ry, rx = ry.to(x.dtype), rx.to(x.dtype)
    if channels_last:
        y = torch.bmm(ry, x.reshape(n, height, width * c))  # N×H'×(W·C)
        y = y.view(n, out_h, width, c).permute(0, 3, 1, 2)  # N×C×H'×W (a view)
    else:
        y = torch.bmm(ry, x.reshape(n, c, height, width).transpose(1, 2).reshape(n, height, c * width))
        y = y.view(n, out_h, c, width).transpose(1, 2)
    y = torch.bmm(y.reshape(n, c * out_h, width), rx.transpose(1, 2))  # N×(C·H')×W'
    return y.view(n, c, out_h, out_w)


def resized_crop(x: torch.Tensor, boxes: torch.Tensor, size: tuple[int, int],
                 flip: torch.Tensor | None = None, channels_last: bool = False) -> torch.Tensor:
    """Crop each image to its box (top, left, h, w) and resize it bilinearly to `size` (half-pixel
    centres, edges clamped to the box, as torchvision's resized_crop without antialiasing; boxes never
    exceed `size` here, so antialiasing would change nothing), then mirror where `flip` is True."""
    height, width = (x.shape[1], x.shape[2]) if channels_last else (x.shape[2], x.shape[3])
    b = _np(boxes)
    f = None if flip is None else _np(flip).astype(bool)
    ry = interp_matrix(*(torch.from_numpy(a).to(x.device) for a in interp_indices(b[:, 0], b[:, 2], size[0])),
                       height)
    rx = interp_matrix(*(torch.from_numpy(a).to(x.device) for a in interp_indices(b[:, 1], b[:, 3], size[1], f)),
                       width)
    return resample(x, ry, rx, channels_last)


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """Luma, N×1×H×W."""
    r, g, b = x.unbind(1)
    return (GRAY[0] * r + GRAY[1] * g + GRAY[2] * b).unsqueeze(1)


def _blend(a: torch.Tensor, b: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return (f * a).add_((1 - f) * b).clamp_(0, 1)


def adjust_brightness(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return (x * f.view(-1, 1, 1, 1)).clamp_(0, 1)


def adjust_contrast(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Blend with the image's mean luma (torchvision's adjust_contrast)."""
    return _blend(x, grayscale(x).mean(dim=(1, 2, 3), keepdim=True), f.view(-1, 1, 1, 1))


def adjust_saturation(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return _blend(x, grayscale(x), f.view(-1, 1, 1, 1))


def adjust_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate the hue by `shift` turns: RGB → HSV as torchvision (hue in sixths of a turn from the
    largest channel, value v = max, chroma c = max − min), then HSV → RGB in the closed form
    channel = v − c·clamp(min(k, 4 − k), 0, 1), k = (n + 6h) mod 6, n = 5, 3, 1 (torchvision's six-sector
    table in one expression, with v·s = c), for the three channels at once."""
    r, g, b = x.unbind(1)
    maxc = torch.maximum(torch.maximum(r, g), b)  # elementwise: faster than a max over the channel dim
    cr = maxc - torch.minimum(torch.minimum(r, g), b)
    is_r, is_g = maxc == r, maxc == g
    # 6h·c: (g − b) where r is largest, (b − r) + 2c where g is, else (r − g) + 4c (in place: fresh
    # full-size tensors cost page faults, as much as the arithmetic at this size)
    h6 = torch.where(is_r, g - b, torch.where(is_g, (b - r).add_(cr, alpha=2), (r - g).add_(cr, alpha=4)))
    h6 = h6.div_(torch.where(cr == 0, 1.0, cr)).add_(6.0 * shift.view(-1, 1, 1))
    offsets = torch.arange(*_HUE_OFFSETS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)  # no host copy
    k = (h6.unsqueeze(1) + offsets).remainder_(6.0)  # N×3×H×W
    f = torch.minimum(k, 4.0 - k, out=k).clamp_(0, 1)
    return torch.sub(maxc.unsqueeze(1), f.mul_(cr.unsqueeze(1)), out=f)


def jitter_affine(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor | None, c: torch.Tensor | None) -> torch.Tensor:
    """clamp(a·x + (b·gray(x) + c·mean gray(x)), 0, 1) with per-sample a, b, c (N; None = 0): one pass for
    brightness (a = f), saturation (a = f, b = 1 − f) and contrast (a = f, c = 1 − f), each sample its
    own op. A zero term adds an exact 0, so each is the same arithmetic as its adjust_* op; (1, 0, 0) is
    exactly the identity on [0, 1]."""
    offset = None
    if b is not None or c is not None:
        gray = grayscale(x)
        if b is not None:
            offset = gray * b.view(-1, 1, 1, 1)
        if c is not None:
            m = gray.mean(dim=(1, 2, 3), keepdim=True) * c.view(-1, 1, 1, 1)
            offset = m if offset is None else offset.add_(m)
    y = x * a.view(-1, 1, 1, 1)
    return (y if offset is None else y.add_(offset)).clamp_(0, 1)


def _where(mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a where the per-sample `mask` is True, else b (a masked blend: the same shapes every step)."""
    return torch.where(mask.view(-1, 1, 1, 1), a, b)


def _subset(x: torch.Tensor, idx: torch.Tensor, fn) -> torch.Tensor:
    """`fn` on the samples `idx` only, written into `x` (a tensor the caller owns)."""
    return x.index_copy_(0, idx, fn(x[idx], idx))


@dataclass(frozen=True)
class _Samples:
    """Which samples an op takes, as the device sees it: a mask (fixed shape) or an index (subset);
    `all` when every sample does (then neither is needed)."""

    mask: Slot | None = None
    index: Slot | None = None
    all: bool = False


def _samples(pack: Pack, on: np.ndarray, fixed_shape: bool) -> _Samples | None:
    if not on.any():
        return None
    if on.all():
        return _Samples(all=True)
    if fixed_shape:
        return _Samples(mask=pack.add(on, "bool"))
    return _Samples(index=pack.add(np.flatnonzero(on), "long"))


def _apply(x: torch.Tensor, sel: _Samples | None, sent: Sent, fn, owned: bool = True) -> torch.Tensor:
    """`fn(x_subset, index)` (index None: all samples) on the samples `sel`: everywhere, as a masked
    blend, or on an index subset (in place when `owned`, else on a copy)."""
    if sel is None:
        return x
    if sel.all:
        return fn(x, None)
    if sel.mask is not None:
        return _where(sent[sel.mask], fn(x, None), x)
    return _subset(x if owned else x.clone(), sent[sel.index], fn)


@dataclass(frozen=True)
class _JitterSlots:
    a: Slot | None
    b: Slot | None
    c: Slot | None
    hue: _Samples | None
    shift: Slot


def _pack_jitter(pack: Pack, steps: list[JitterStep], fixed_shape: bool) -> list[_JitterSlots]:
    return [_JitterSlots(*(None if v is None else pack.add(v, "float") for v in (s.a, s.b, s.c)),
                         None if s.hue is None else _samples(pack, s.hue, fixed_shape), pack.add(s.shift, "float"))
            for s in steps]


def _run_jitter(x: torch.Tensor, steps: list[_JitterSlots], sent: Sent) -> torch.Tensor:
    owned = False  # x is a new tensor (the hue subset step writes into it)
    for s in steps:
        if s.a is not None:
            x, owned = jitter_affine(x, sent[s.a], sent[s.b], sent[s.c]), True
        if s.hue is not None:
            x = _apply(x, s.hue, sent, lambda v, idx, t=sent[s.shift]: adjust_hue(v, t if idx is None else t[idx]),
                       owned)
            owned = True
    return x


def color_jitter(x: torch.Tensor, factors: torch.Tensor, order: torch.Tensor,
                 active: tuple[int, ...] = (BRIGHTNESS, CONTRAST, SATURATION, HUE),
                 apply: np.ndarray | torch.Tensor | None = None, fixed_shape: bool = False) -> torch.Tensor:
    """torchvision's ColorJitter per sample: the ops in `active` (those of strength > 0; ColorJitter
    skips the others) in the sample's own `order`, with factors `factors[n, op]`, on the samples where
    `apply` is True (all if None); `x` is left as it is.

    Step k applies each sample's k-th op (`jitter_steps`): brightness, contrast and saturation together
    as one `jitter_affine` pass over the batch (coefficients (1, 0, 0) on the other samples), then the
    hue rotation (not exactly the identity at 0, and costly) on its samples.
    """
    n = x.shape[0]
    apply = np.ones(n, bool) if apply is None else _np(apply).astype(bool)
    pack = Pack()
    slots = _pack_jitter(pack, jitter_steps(_np(factors), _np(order), tuple(active), apply), fixed_shape)
    return _run_jitter(x, slots, pack.send(x.device))


def blur_with(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Separable blur of each sample with its own 1-D kernel (N×K), reflect padding (torchvision's
    gaussian_blur): two 1-D grouped convolutions, one group per image channel (a per-sample weighted
    sum of shifted views measured slower, even with 3 taps)."""
    n, c, height, width = x.shape
    size = kernels.shape[1]
    k = kernels.to(x.dtype).repeat_interleave(c, 0)  # (N·C)×K
    pad = size // 2
    y = F.pad(x.reshape(1, n * c, height, width), (pad, pad, pad, pad), mode="reflect")
    y = F.conv2d(y, k.view(n * c, 1, 1, size), groups=n * c)
    y = F.conv2d(y, k.view(n * c, 1, size, 1), groups=n * c)
    return y.view(n, c, height, width)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor | np.ndarray, kernel_size: int) -> torch.Tensor:
    """Gaussian blur, one sigma per sample (`blur_kernels`, `blur_with`)."""
    return blur_with(x, torch.from_numpy(blur_kernels(_np(sigma), kernel_size)).to(x.device))


def solarize(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    return torch.where(x >= threshold, 1.0 - x, x)


# ---- one view: planned on the host, built on the device ---------------------------------------------


@dataclass(frozen=True)
class _ViewPlan:
    size: tuple[int, int]
    ry: tuple[Slot, Slot, Slot]
    rx: tuple[Slot, Slot, Slot]
    jitter: list[_JitterSlots]
    gray: _Samples | None
    blur: _Samples | None
    kernels: Slot
    solar: _Samples | None
    noise_std: float
    noise: torch.Tensor | int | None  # CPU noise, or the seed of the device's noise


def _plan(gen: torch.Generator, pack: Pack, n: int, height: int, width: int, cfg: AugmentConfig,
          device: torch.device, fixed_shape: bool, shard: tuple[int, int] = (0, 1)) -> _ViewPlan:
    """Draw one view's parameters from `gen` (a fixed order, whatever the configuration, so that
    changing one probability does not reshuffle the other draws) and pack its operands. With `shard`
    (rank, world) the draws are those of the global batch of n·world samples, and this rank keeps its
    rows: processes never repeat each other's parameters."""
    rank, world = shard
    rows, total = slice(rank * n, (rank + 1) * n), n * world
    boxes = _np(crop_params(gen, total, height, width, cfg.crop_scale, cfg.crop_ratio))[rows]
    factors, order = (_np(t)[rows] for t in jitter_params(gen, total, cfg))
    u = _draw(gen, total, 6)[rows]
    flip, jitter, gray = u[:, 0] < cfg.flip_prob, u[:, 1] < cfg.color_jitter_prob, u[:, 2] < cfg.grayscale_prob
    blur, sigma, solar = u[:, 3] < cfg.blur_prob, _span(u[:, 4], *cfg.blur_sigma), u[:, 5] < cfg.solarize_prob
    noise: torch.Tensor | int | None = None
    if cfg.noise_std > 0:
        if device.type == "cpu":
            noise = torch.randn(total, 3, height, width, generator=gen)[rows]
        else:
            noise = int(torch.randint(0, 2**62, (1,), generator=gen))
    active = tuple(op for op, s in zip(range(4), (cfg.brightness, cfg.contrast, cfg.saturation, cfg.hue)) if s > 0)
    steps = jitter_steps(factors, order, active, jitter) if active else []
    ksize = blur_kernel_size(height, width)
    add, kinds = pack.add, ("long", "long", "float")
    return _ViewPlan(
        size=(height, width),
        ry=tuple(add(a, k) for a, k in zip(interp_indices(boxes[:, 0], boxes[:, 2], height), kinds)),
        rx=tuple(add(a, k) for a, k in zip(interp_indices(boxes[:, 1], boxes[:, 3], width, flip), kinds)),
        jitter=_pack_jitter(pack, steps, fixed_shape),
        gray=_samples(pack, gray, fixed_shape),
        blur=_samples(pack, blur, fixed_shape),
        kernels=add(blur_kernels(sigma, ksize, blur if fixed_shape else None), "float"),
        solar=_samples(pack, solar, fixed_shape),
        noise_std=cfg.noise_std,
        noise=noise,
    )


def _build(images: torch.Tensor, p: _ViewPlan, sent: Sent) -> torch.Tensor:
    """One view of uint8 N×H×W×3 `images` (on the device) from its plan and the sent operands."""
    height, width = p.size
    x = images.float().div_(255.0)  # N×H×W×3, contiguous: the crop puts the channels first
    ry = interp_matrix(*(sent[s] for s in p.ry), height)
    rx = interp_matrix(*(sent[s] for s in p.rx), width)
    x = resample(x, ry, rx, channels_last=True)
    x = _run_jitter(x, p.jitter, sent)
    x = _apply(x, p.gray, sent, lambda v, idx: grayscale(v).repeat(1, 3, 1, 1))
    kernels = sent[p.kernels]
    x = _apply(x, p.blur, sent, lambda v, idx: blur_with(v, kernels if idx is None else kernels[idx]))
    x = _apply(x, p.solar, sent, lambda v, idx: solarize(v))
    if isinstance(p.noise, torch.Tensor):
        x = x.add_(p.noise_std * p.noise).clamp_(0, 1)
    elif p.noise is not None:
        gen = torch.Generator(x.device).manual_seed(p.noise)
        x = x.add_(torch.randn(x.shape, generator=gen, device=x.device).mul_(p.noise_std)).clamp_(0, 1)
    return x.sub_(MEAN).div_(STD)  # every op keeps [0, 1]


def views(images: torch.Tensor, cfg: AugmentConfig, num_views: int, gen: torch.Generator,
          fixed_shape: bool | None = None, shard: tuple[int, int] = (0, 1)) -> list[torch.Tensor]:
    """`num_views` independent augmentations of the same uint8 N×H×W×3 batch → normalised float
    N×3×H×W each; view i uses `cfg.view(i)` (per_view). All parameters are drawn first (view by view,
    the order `augment` draws them in), packed and sent with one copy; `fixed_shape` (default: off the
    CPU) builds every op on the whole batch (see the module's docstring). Under DDP, `shard` = (rank,
    world): the batch is this rank's part of a global batch, and it gets that part's parameters."""
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"augment() takes uint8 N×H×W×3 images (as the loaders give), got {images.dtype} "
                         f"{tuple(images.shape)}; convert with (x * 255).round().to(torch.uint8)")
    fixed = images.device.type != "cpu" if fixed_shape is None else fixed_shape
    n, height, width, _ = images.shape
    pack = Pack()
    plans = [_plan(gen, pack, n, height, width, cfg.view(i), images.device, fixed, shard) for i in range(num_views)]
    sent = pack.send(images.device)
    return [_build(images, p, sent) for p in plans]


def augment(images: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator,
            fixed_shape: bool | None = None) -> torch.Tensor:
    """One random view of each uint8 N×H×W×3 image (`cfg` without per_view; use `views` for per-view
    recipes)."""
    if cfg.per_view:
        raise ValueError("augment() takes one view's config; call views() (or cfg.view(i)) for per_view")
    return views(images, cfg, 1, gen, fixed_shape)[0]
