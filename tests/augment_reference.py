"""A frozen copy of the augmentation code before parameters were packed into one host→device copy:
the oracle that pins that the same seed still gives the same views (tests/test_augment.py). Never edit;
it is what the embedded table's bytes were made with."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from jessl.config import AugmentConfig

MEAN, STD = 0.5, 0.25
GRAY = (0.2989, 0.587, 0.114)  # ITU-R 601-2 luma, torchvision's rgb_to_grayscale
CROP_ATTEMPTS = 10  # torchvision's RandomResizedCrop.get_params
BRIGHTNESS, CONTRAST, SATURATION, HUE = range(4)
_HUE_OFFSETS = torch.tensor([5.0, 3.0, 1.0]).view(1, 3, 1, 1)  # n of adjust_hue's closed form, per channel


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


# ---- parameters (CPU, seeded) -----------------------------------------------------------------------


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


# ---- the ops (any device, float N×3×H×W in [0, 1]) ------------------------------------------------


def resized_crop(x: torch.Tensor, boxes: torch.Tensor, size: tuple[int, int],
                 flip: torch.Tensor | None = None, channels_last: bool = False) -> torch.Tensor:
    """Crop each image to its box (top, left, h, w) and resize it bilinearly to `size` (half-pixel
    centres, edges clamped to the box, as torchvision's resized_crop without antialiasing; boxes never
    exceed `size` here, so antialiasing would change nothing), then mirror where `flip` is True.
    `x` is float N×3×H×W, or N×H×W×3 with `channels_last` (the loaders' layout: no transpose before);
    the result is N×3×H'×W' either way.

    Bilinear resampling is separable, so it is two batched matrix products with per-sample N×out×in
    interpolation matrices: out = Rᵧ · x · Rₓᵀ. A flip reverses the rows of Rₓ. Rᵧ goes first, on the
    rows, where the layout does not matter; one transposing copy then puts the channels first for Rₓ.
    """
    if channels_last:
        n, height, width, c = x.shape
    else:
        n, c, height, width = x.shape
    b = _np(boxes)
    ry = _interp_matrix(b[:, 0], b[:, 2], size[0], height)
    rx = _interp_matrix(b[:, 1], b[:, 3], size[1], width)
    if flip is not None:
        f = _np(flip).astype(bool)
        rx[f] = rx[f, ::-1]
    ry, rx = (torch.from_numpy(m).to(x.device, x.dtype) for m in (ry, rx))
    if channels_last:
        y = torch.bmm(ry, x.reshape(n, height, width * c))  # N×H'×(W·C)
        y = y.view(n, size[0], width, c).permute(0, 3, 1, 2)  # N×C×H'×W (a view)
    else:
        y = torch.bmm(ry, x.reshape(n, c, height, width).transpose(1, 2).reshape(n, height, c * width))
        y = y.view(n, size[0], c, width).transpose(1, 2)
    y = torch.bmm(y.reshape(n, c * size[0], width), rx.transpose(1, 2))  # N×(C·H')×W'
    return y.view(n, c, size[0], size[1])


def _interp_matrix(start: np.ndarray, length: np.ndarray, out: int, full: int) -> np.ndarray:
    """N×out×full weights of bilinear resampling of the span [start, start+length) onto `out` pixels."""
    src = np.maximum((np.arange(out) + 0.5) * length[:, None] / out - 0.5, 0)  # ATen: negative → 0
    i0 = np.floor(src).astype(np.int64)
    frac = (src - i0).astype(np.float32)
    i1 = np.minimum(i0 + 1, length[:, None] - 1)
    m = np.zeros((len(start), out, full), np.float32)
    rows, cols = np.arange(len(start))[:, None], np.arange(out)[None, :]
    m[rows, cols, start[:, None] + i0] += 1 - frac
    m[rows, cols, start[:, None] + i1] += frac  # a separate statement: i1 == i0 at the last pixel adds up
    return m


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
    k = (h6.unsqueeze(1) + _HUE_OFFSETS.to(x.device)).remainder_(6.0)  # N×3×H×W
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


def color_jitter(x: torch.Tensor, factors: torch.Tensor, order: torch.Tensor,
                 active: tuple[int, ...] = (BRIGHTNESS, CONTRAST, SATURATION, HUE),
                 apply: np.ndarray | torch.Tensor | None = None) -> torch.Tensor:
    """torchvision's ColorJitter per sample: the ops in `active` (those of strength > 0; ColorJitter
    skips the others) in the sample's own `order`, with factors `factors[n, op]`, on the samples where
    `apply` is True (all if None).

    Step k applies each sample's k-th op: brightness, contrast and saturation together as one
    `jitter_affine` pass over the batch (coefficients (1, 0, 0) on the other samples), then the hue
    rotation (not exactly the identity at 0, and costly) on its samples only.
    """
    n = x.shape[0]
    f, order_np = _np(factors).astype(np.float32), _np(order)
    apply = np.ones(n, bool) if apply is None else _np(apply).astype(bool)
    act = np.array(active)
    step_of = np.argsort(order_np, axis=1)  # step_of[n, op]: when sample n applies op
    sequence = act[np.argsort(step_of[:, act], axis=1)]  # N×A: the active ops in each sample's order
    one, owned = np.float32(1), False  # owned: x is a new tensor (the hue step writes into it)
    for k in range(len(active)):
        op = np.where(apply, sequence[:, k], -1)
        bright, contrast, sat = op == BRIGHTNESS, op == CONTRAST, op == SATURATION
        if (bright | contrast | sat).any():
            a = np.where(bright, f[:, BRIGHTNESS], np.where(contrast, f[:, CONTRAST],
                                                            np.where(sat, f[:, SATURATION], one)))
            b = np.where(sat, one - f[:, SATURATION], 0).astype(np.float32) if sat.any() else None
            c = np.where(contrast, one - f[:, CONTRAST], 0).astype(np.float32) if contrast.any() else None
            x = jitter_affine(x, *(None if v is None else torch.from_numpy(v).to(x.device) for v in (a, b, c)))
            owned = True
        hue = op == HUE
        if hue.any():
            if not owned:
                x, owned = x.clone(), True
            idx = torch.from_numpy(np.flatnonzero(hue)).to(x.device)
            x.index_copy_(0, idx, adjust_hue(x[idx], torch.from_numpy(f[hue, HUE]).to(x.device)))
    return x


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor | np.ndarray, kernel_size: int) -> torch.Tensor:
    """Separable Gaussian blur, one sigma per sample, reflect padding (torchvision's gaussian_blur): two
    1-D grouped convolutions, one group per image channel (a per-sample weighted sum of shifted views
    measured slower, even with 3 taps)."""
    n, c, height, width = x.shape
    half = (kernel_size - 1) * 0.5
    t = np.linspace(-half, half, kernel_size)
    k = np.exp(-0.5 * (t / _np(sigma).astype(np.float64).reshape(n, 1)) ** 2)
    k = torch.from_numpy(np.repeat(k / k.sum(1, keepdims=True), c, 0)).to(x.device, x.dtype)  # (N·C)×K
    pad = kernel_size // 2
    y = F.pad(x.reshape(1, n * c, height, width), (pad, pad, pad, pad), mode="reflect")
    y = F.conv2d(y, k.view(n * c, 1, 1, kernel_size), groups=n * c)
    y = F.conv2d(y, k.view(n * c, 1, kernel_size, 1), groups=n * c)
    return y.view(n, c, height, width)


def solarize(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    return torch.where(x >= threshold, 1.0 - x, x)


# ---- one view -------------------------------------------------------------------------------------


def _subset(x: torch.Tensor, mask: np.ndarray, fn) -> torch.Tensor:
    """Apply `fn(x[mask], mask)` to the samples where `mask` is True (none: no work), in place."""
    if not mask.any():
        return x
    if mask.all():
        return fn(x, mask)
    idx = torch.from_numpy(np.flatnonzero(mask)).to(x.device)
    return x.index_copy_(0, idx, fn(x[idx], mask))  # x is augment()'s own working tensor


def augment(images: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """One random view of each uint8 N×H×W×3 image → normalised float N×3×H×W (`cfg` without per_view;
    use `views` for per-view recipes). Parameters are drawn from `gen` in a fixed order, whatever the
    configuration, so that changing one probability does not reshuffle the other draws."""
    if cfg.per_view:
        raise ValueError("augment() takes one view's config; call views() (or cfg.view(i)) for per_view")
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"augment() takes uint8 N×H×W×3 images (as the loaders give), got {images.dtype} "
                         f"{tuple(images.shape)}; convert with (x * 255).round().to(torch.uint8)")
    n, height, width, _ = images.shape
    boxes = crop_params(gen, n, height, width, cfg.crop_scale, cfg.crop_ratio)
    factors, order = jitter_params(gen, n, cfg)
    u = _draw(gen, n, 6)
    flip, jitter, gray = u[:, 0] < cfg.flip_prob, u[:, 1] < cfg.color_jitter_prob, u[:, 2] < cfg.grayscale_prob
    blur, sigma, solar = u[:, 3] < cfg.blur_prob, _span(u[:, 4], *cfg.blur_sigma), u[:, 5] < cfg.solarize_prob
    noise = cfg.noise_std * torch.randn(n, 3, height, width, generator=gen) if cfg.noise_std > 0 else None

    x = images.float().div_(255.0)  # N×H×W×3, contiguous: the crop puts the channels first
    x = resized_crop(x, boxes, (height, width), flip, channels_last=True)
    active = tuple(op for op, s in zip(range(4), (cfg.brightness, cfg.contrast, cfg.saturation, cfg.hue))
                   if s > 0)
    if active:
        x = color_jitter(x, factors, order, active, jitter)
    x = _subset(x, gray, lambda v, m: grayscale(v).repeat(1, 3, 1, 1))
    ksize = blur_kernel_size(height, width)
    x = _subset(x, blur, lambda v, m: gaussian_blur(v, sigma[m], ksize))
    x = _subset(x, solar, lambda v, m: solarize(v))
    if noise is not None:
        x = x.add_(noise.to(x.device)).clamp_(0, 1)
    return x.sub_(MEAN).div_(STD)  # every op keeps [0, 1]


def views(images: torch.Tensor, cfg: AugmentConfig, num_views: int, gen: torch.Generator) -> list[torch.Tensor]:
    """`num_views` independent augmentations of the same batch; view i uses `cfg.view(i)` (per_view)."""
    return [augment(images, cfg.view(i), gen) for i in range(num_views)]
