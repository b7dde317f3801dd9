"""Batched SSL augmentations in torch, on whatever device trains: the SimCLR / BYOL set.

Per view (`AugmentConfig`, optionally overridden per view): RandomResizedCrop → horizontal flip →
colour jitter (brightness, contrast, saturation, hue in a random order per sample) → grayscale →
Gaussian blur → solarisation → additive Gaussian noise, then the normalisation `to_float` also uses.
Each op follows `torchvision.transforms.v2.functional` on float images in [0, 1] (the tests compare
them on the same parameters); every sample draws its own parameters.

All random numbers are drawn on the CPU from the explicit, seeded `torch.Generator` the loop passes,
in a fixed order, then moved to the device: the same seed gives the same views on every machine
(FFCV's own random crops ignore the seed).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..config import AugmentConfig

MEAN, STD = 0.5, 0.25
GRAY = (0.2989, 0.587, 0.114)  # ITU-R 601-2 luma, torchvision's rgb_to_grayscale
CROP_ATTEMPTS = 10  # torchvision's RandomResizedCrop.get_params
BRIGHTNESS, CONTRAST, SATURATION, HUE = range(4)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 N×H×W×3 → normalised float N×3×H×W (the evaluation transform; views end the same way)."""
    return normalize(images.permute(0, 3, 1, 2).float() / 255.0)


def normalize(x: torch.Tensor) -> torch.Tensor:
    """Float N×3×H×W in [0, 1] → the network's input scale."""
    return (x - MEAN) / STD


def _uniform(gen: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=gen)


def _coin(gen: torch.Generator, n: int, p: float) -> torch.Tensor:
    """n Bernoulli(p) draws (always drawn, so one key's value never shifts the others' streams)."""
    return torch.rand(n, generator=gen) < p


# ---- parameters (CPU, seeded) -----------------------------------------------------------------------


def crop_params(gen: torch.Generator, n: int, height: int, width: int, scale: tuple[float, float],
                ratio: tuple[float, float]) -> torch.Tensor:
    """Per-sample integer crop boxes (top, left, h, w), N×4: torchvision's RandomResizedCrop sampling.

    Ten candidates per sample are drawn at once and the first that fits is kept — the same distribution
    as torchvision's loop of up to ten tries (only the order of the random stream differs); none fits →
    torchvision's fallback, the central crop with the aspect ratio clamped into `ratio`.
    """
    area = height * width
    target = area * _uniform(gen, n * CROP_ATTEMPTS, *scale).view(n, CROP_ATTEMPTS)
    log_r = _uniform(gen, n * CROP_ATTEMPTS, math.log(ratio[0]), math.log(ratio[1])).view(n, CROP_ATTEMPTS)
    ar = log_r.exp()
    w = torch.round(torch.sqrt(target * ar)).long()
    h = torch.round(torch.sqrt(target / ar)).long()
    ok = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = torch.where(ok.any(1), ok.float().argmax(1), -1)
    pick = first.clamp(min=0).unsqueeze(1)
    h, w = h.gather(1, pick).squeeze(1), w.gather(1, pick).squeeze(1)
    u_top, u_left = torch.rand(n, generator=gen), torch.rand(n, generator=gen)
    top = (u_top * (height - h + 1)).long().clamp(max=height - h)  # randint(0, H - h + 1)
    left = (u_left * (width - w + 1)).long().clamp(max=width - w)
    # torchvision's fallback: central crop, aspect ratio clamped into the range
    in_ratio = width / height
    if in_ratio < min(ratio):
        fw, fh = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        fw, fh = int(round(height * max(ratio))), height
    else:
        fw, fh = width, height
    fallback = first < 0
    h, w = torch.where(fallback, fh, h), torch.where(fallback, fw, w)
    top = torch.where(fallback, (height - fh) // 2, top)
    left = torch.where(fallback, (width - fw) // 2, left)
    return torch.stack([top, left, h, w], 1)


def jitter_params(gen: torch.Generator, n: int, cfg: AugmentConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample ColorJitter factors N×4 (brightness, contrast, saturation, hue) and order N×4 (a
    random permutation of the four ops per sample, as torchvision's ColorJitter draws one per call)."""
    factors = torch.stack([
        _uniform(gen, n, max(0.0, 1 - cfg.brightness), 1 + cfg.brightness),
        _uniform(gen, n, max(0.0, 1 - cfg.contrast), 1 + cfg.contrast),
        _uniform(gen, n, max(0.0, 1 - cfg.saturation), 1 + cfg.saturation),
        _uniform(gen, n, -cfg.hue, cfg.hue),
    ], 1)
    order = torch.rand(n, 4, generator=gen).argsort(1)
    return factors, order


def blur_kernel_size(height: int, width: int) -> int:
    """SimCLR's rule: a kernel about 10 % of the side, odd (radius int(0.1·side) // 2; 224 → 23,
    96 → 9, 32 → 3), and at least 3 so that a blur on small images still blurs."""
    return max(3, 2 * (int(0.1 * min(height, width)) // 2) + 1)


# ---- the ops (any device, float N×3×H×W in [0, 1]) ------------------------------------------------


def resized_crop(x: torch.Tensor, boxes: torch.Tensor, size: tuple[int, int],
                 flip: torch.Tensor | None = None) -> torch.Tensor:
    """Crop each image to its box (top, left, h, w) and resize it bilinearly to `size` (half-pixel
    centres, edges clamped to the box, as torchvision's resized_crop without antialiasing; boxes never
    exceed `size` here, so antialiasing would change nothing), then mirror where `flip` is True.

    Bilinear resampling is separable, so it is two batched matrix products with per-sample N×out×in
    interpolation matrices: out = Rᵧ · x · Rₓᵀ. A flip reverses the rows of Rₓ.
    """
    n, c, height, width = x.shape
    boxes = boxes.to(x.device)
    ry = _interp_matrix(boxes[:, 0], boxes[:, 2], size[0], height, x.dtype)
    rx = _interp_matrix(boxes[:, 1], boxes[:, 3], size[1], width, x.dtype)
    if flip is not None:
        rx = torch.where(flip.to(x.device).view(n, 1, 1), rx.flip(1), rx)
    y = torch.bmm(x.reshape(n, c * height, width), rx.transpose(1, 2))  # N×(C·H)×W'
    y = y.view(n, c, height, size[1]).transpose(1, 2).reshape(n, height, c * size[1])
    y = torch.bmm(ry, y)  # N×H'×(C·W')
    return y.view(n, size[0], c, size[1]).permute(0, 2, 1, 3).contiguous()


def _interp_matrix(start: torch.Tensor, length: torch.Tensor, out: int, full: int,
                   dtype: torch.dtype) -> torch.Tensor:
    """N×out×full weights of bilinear resampling of the span [start, start+length) onto `out` pixels."""
    k = torch.arange(out, device=start.device, dtype=dtype)
    length_f = length.to(dtype).unsqueeze(1)
    src = ((k + 0.5) * length_f / out - 0.5).clamp(min=0)  # torchvision/ATen: negative → 0
    i0 = src.floor().long()
    frac = src - i0
    last = (length - 1).unsqueeze(1)
    i1 = torch.minimum(i0 + 1, last)
    i0 = torch.minimum(i0, last)
    base = start.unsqueeze(1)
    m = torch.zeros(start.shape[0], out, full, device=start.device, dtype=dtype)
    m.scatter_add_(2, (base + i0).unsqueeze(2), (1 - frac).unsqueeze(2))
    m.scatter_add_(2, (base + i1).unsqueeze(2), frac.unsqueeze(2))
    return m


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """Luma, N×1×H×W."""
    r, g, b = x.unbind(1)
    return (GRAY[0] * r + GRAY[1] * g + GRAY[2] * b).unsqueeze(1)


def _blend(a: torch.Tensor, b: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return (f * a + (1 - f) * b).clamp(0, 1)


def adjust_brightness(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return (x * f.view(-1, 1, 1, 1)).clamp(0, 1)


def adjust_contrast(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Blend with the image's mean luma (torchvision's adjust_contrast)."""
    return _blend(x, grayscale(x).mean(dim=(1, 2, 3), keepdim=True), f.view(-1, 1, 1, 1))


def adjust_saturation(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return _blend(x, grayscale(x), f.view(-1, 1, 1, 1))


def adjust_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate the hue by `shift` turns: torchvision's RGB → HSV, then HSV → RGB in the closed form
    c = v − v·s·clamp(min(k, 4 − k), 0, 1), k = (n + 6h) mod 6, n = 5, 3, 1 (equal to torchvision's
    six-sector table, fewer full-size temporaries)."""
    maxc, _ = x.max(1)
    minc, _ = x.min(1)
    cr = maxc - minc
    flat = cr == 0
    r, g, b = x.unbind(1)
    cr_div = torch.where(flat, 1.0, cr)
    rc, gc, bc = (maxc - r) / cr_div, (maxc - g) / cr_div, (maxc - b) / cr_div
    h6 = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h6 = torch.remainder(h6 + 6.0 * shift.view(-1, 1, 1), 6.0)  # hue in sixths of a turn
    vs = maxc * (cr / torch.where(flat, 1.0, maxc))  # v·s
    out = []
    for n in (5.0, 3.0, 1.0):
        k = torch.remainder(h6 + n, 6.0)
        out.append(maxc - vs * torch.minimum(k, 4.0 - k).clamp_(0, 1))
    return torch.stack(out, 1)


JITTER_OPS = {BRIGHTNESS: adjust_brightness, CONTRAST: adjust_contrast, SATURATION: adjust_saturation,
              HUE: adjust_hue}


def color_jitter(x: torch.Tensor, factors: torch.Tensor, order: torch.Tensor,
                 active: tuple[int, ...] = (BRIGHTNESS, CONTRAST, SATURATION, HUE)) -> torch.Tensor:
    """torchvision's ColorJitter per sample: op `order[n, k]` at step k with factor `factors[n, op]`.

    Each step applies each op to the samples whose k-th op it is (ops not in `active` — strength 0 —
    are skipped, as ColorJitter skips them), so the cost is about one pass of each op over the batch.
    """
    x = x.clone()
    factors, order = factors.to(x.device), order.to(x.device)
    for k in range(4):
        for op in active:
            idx = (order[:, k] == op).nonzero().squeeze(1)
            if idx.numel():
                x[idx] = JITTER_OPS[op](x[idx], factors[idx, op])
    return x


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Separable Gaussian blur, one sigma per sample, reflect padding (torchvision's gaussian_blur)."""
    n, c, height, width = x.shape
    half = (kernel_size - 1) * 0.5
    t = torch.linspace(-half, half, kernel_size, device=x.device, dtype=x.dtype)
    k = torch.exp(-0.5 * (t / sigma.to(x.device, x.dtype).view(n, 1)) ** 2)
    k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (N·C)×K
    pad = kernel_size // 2
    y = F.pad(x.reshape(1, n * c, height, width), (pad, pad, pad, pad), mode="reflect")
    y = F.conv2d(y, k.view(n * c, 1, 1, kernel_size), groups=n * c)
    y = F.conv2d(y, k.view(n * c, 1, kernel_size, 1), groups=n * c)
    return y.view(n, c, height, width)


def solarize(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    return torch.where(x >= threshold, 1.0 - x, x)


# ---- one view -------------------------------------------------------------------------------------


def _subset(x: torch.Tensor, mask: torch.Tensor, fn) -> torch.Tensor:
    """Apply `fn` to the samples where `mask` is True (nothing to do: no work)."""
    idx = mask.nonzero().squeeze(1)
    if idx.numel() == 0:
        return x
    if idx.numel() == x.shape[0]:
        return fn(x, idx)
    x = x.clone()
    x[idx.to(x.device)] = fn(x[idx.to(x.device)], idx)
    return x


def augment(images: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """One random view of each uint8 N×H×W×3 image → normalised float N×3×H×W (`cfg` without per_view;
    use `views` for per-view recipes). Parameters are drawn from `gen` in a fixed order, whatever the
    configuration, so that changing one probability does not reshuffle the other draws."""
    if cfg.per_view:
        raise ValueError("augment() takes one view's config; call views() (or cfg.view(i)) for per_view")
    n, height, width, _ = images.shape
    boxes = crop_params(gen, n, height, width, cfg.crop_scale, cfg.crop_ratio)
    flip = _coin(gen, n, cfg.flip_prob)
    jitter = _coin(gen, n, cfg.color_jitter_prob)
    factors, order = jitter_params(gen, n, cfg)
    gray = _coin(gen, n, cfg.grayscale_prob)
    blur = _coin(gen, n, cfg.blur_prob)
    sigma = _uniform(gen, n, *cfg.blur_sigma)
    solar = _coin(gen, n, cfg.solarize_prob)
    noise = cfg.noise_std * torch.randn(n, 3, height, width, generator=gen) if cfg.noise_std > 0 else None

    x = images.permute(0, 3, 1, 2).float() / 255.0
    x = resized_crop(x, boxes, (height, width), flip)
    active = tuple(op for op, s in zip(range(4), (cfg.brightness, cfg.contrast, cfg.saturation, cfg.hue))
                   if s > 0)
    if active:
        x = _subset(x, jitter, lambda v, i: color_jitter(v, factors[i], order[i], active))
    x = _subset(x, gray, lambda v, i: grayscale(v).expand(-1, 3, -1, -1))
    ksize = blur_kernel_size(height, width)
    x = _subset(x, blur, lambda v, i: gaussian_blur(v, sigma[i], ksize))
    x = _subset(x, solar, lambda v, i: solarize(v))
    if noise is not None:
        x = (x + noise.to(x.device)).clamp(0, 1)
    return normalize(x.clamp(0, 1))


def views(images: torch.Tensor, cfg: AugmentConfig, num_views: int, gen: torch.Generator) -> list[torch.Tensor]:
    """`num_views` independent augmentations of the same batch; view i uses `cfg.view(i)` (per_view)."""
    return [augment(images, cfg.view(i), gen) for i in range(num_views)]
