"""The batched augmentations against torchvision.transforms.v2.functional on the same parameters,
their sampling statistics, seeding, per-view recipes and config validation."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision.transforms.v2 as T
import torchvision.transforms.v2.functional as TF

from jessl.config import AugmentConfig, ConfigError, validate
from jessl.data import augment as A

LEVELS = 2  # max abs difference allowed, in uint8 levels
# every op off: the view is the image itself
IDENTITY = dict(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip_prob=0.0, color_jitter_prob=0.0,
                grayscale_prob=0.0, blur_prob=0.0, solarize_prob=0.0, noise_std=0.0,
                blur_sigma=(1.0, 2.0))  # sigma 0.1 (the default low end) leaves an image as it is


def colourful(n: int = 8, size: int = 20, seed: int = 0) -> torch.Tensor:
    """uint8 N×3×H×W: smooth colour gradients plus noise (all hues, saturations, values)."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    phase = torch.rand(n, 3, 1, 1, generator=g) * 6.28
    base = 0.5 + 0.5 * torch.sin(phase + 3 * xx + 5 * yy * torch.arange(1, 4).view(1, 3, 1, 1))
    x = base + 0.15 * torch.randn(n, 3, size, size, generator=g)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def hwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1).contiguous()


def to_unit(x: torch.Tensor) -> torch.Tensor:
    return x.float() / 255


def levels(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """Max abs difference in uint8 levels (ours: float in [0, 1]; ref: uint8 or float in [0, 1])."""
    ref = ref.float() if ref.dtype == torch.uint8 else ref * 255
    return (ours * 255 - ref).abs().max().item()


def view_unit(v: torch.Tensor) -> torch.Tensor:
    """A normalised view back to [0, 1]."""
    return v * A.STD + A.MEAN


# ---- each op against torchvision on the same parameters --------------------------------------------


@pytest.mark.parametrize("box", [(0, 0, 20, 20), (3, 5, 9, 14), (10, 1, 7, 4), (0, 12, 20, 8), (19, 19, 1, 1)])
@pytest.mark.parametrize("flip", [False, True])
def test_resized_crop_matches_torchvision(box, flip):
    img = colourful(2, 20)
    ours = A.resized_crop(to_unit(img), torch.tensor([box, box]), (20, 20), torch.tensor([flip, flip]))
    ref = TF.resized_crop(img, *box, size=[20, 20], antialias=True)
    ref_f = TF.resized_crop(to_unit(img), *box, size=[20, 20], antialias=True)
    if flip:
        ref, ref_f = TF.horizontal_flip(ref), TF.horizontal_flip(ref_f)
    assert levels(ours, ref) <= LEVELS
    assert levels(ours, ref_f) < 0.01  # float path: the same arithmetic


def test_resized_crop_to_another_size():
    img = colourful(1, 20)
    ours = A.resized_crop(to_unit(img), torch.tensor([[2, 3, 11, 13]]), (24, 28))
    assert levels(ours, TF.resized_crop(img, 2, 3, 11, 13, size=[24, 28], antialias=True)) <= LEVELS


@pytest.mark.parametrize("name, factors", [
    ("brightness", [0.0, 0.6, 1.0, 1.4]),
    ("contrast", [0.0, 0.6, 1.0, 1.4]),
    ("saturation", [0.0, 0.6, 1.0, 1.4]),
    ("hue", [-0.5, -0.1, 0.0, 0.23]),
])
def test_colour_ops_match_torchvision(name, factors):
    img = colourful(len(factors))
    ours = getattr(A, f"adjust_{name}")(to_unit(img), torch.tensor(factors))
    ref_op = getattr(TF, f"adjust_{name}")
    for i, f in enumerate(factors):
        assert levels(ours[i], ref_op(img[i], f)) <= LEVELS, (name, f)
        assert levels(ours[i], ref_op(to_unit(img[i]), f)) < 0.01, (name, f)


def test_colour_jitter_applies_each_samples_own_order():
    img = colourful(24)
    g = torch.Generator().manual_seed(3)
    cfg = AugmentConfig(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.2)
    factors, order = A.jitter_params(g, 24, cfg)
    assert sorted(order[0].tolist()) == [0, 1, 2, 3] and len({tuple(o) for o in order.tolist()}) > 1
    ours = A.color_jitter(to_unit(img), factors, order)
    ops = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue]
    for i in range(24):
        ref = to_unit(img[i])
        for op in order[i].tolist():
            ref = ops[op](ref, factors[i, op].item())
        assert levels(ours[i], ref) < 0.01
    # the factor ranges of torchvision's ColorJitter
    f = A.jitter_params(g, 4000, cfg)[0]
    assert f[:, :3].min() >= 0.5 and f[:, :3].max() <= 1.5 and f[:, 3].abs().max() <= 0.2
    assert f[:, 3].min() < -0.18 and f[:, 3].max() > 0.18


def test_colour_jitter_leaves_its_input_alone_and_fuses_exactly():
    x = to_unit(colourful(6))
    before = x.clone()
    factors = torch.tensor([[1.2, 0.7, 1.3, 0.1]] * 6)
    hue_first = torch.tensor([[A.HUE, A.BRIGHTNESS, A.CONTRAST, A.SATURATION]] * 6)
    out = A.color_jitter(x, factors, hue_first, apply=torch.tensor([True, False] * 3))
    assert torch.equal(x, before)  # the hue step writes in place, never into the caller's tensor
    assert torch.equal(out[1::2], x[1::2]) and not torch.equal(out[0::2], x[0::2])
    # one fused pass: each sample's own op, the same arithmetic as the separate adjust_* ops
    a = torch.tensor([1.0, 1.3, 0.6, 1.4])
    b = torch.where(torch.arange(4) == 2, 1 - a, 0.0)  # sample 2: saturation
    c = torch.where(torch.arange(4) == 3, 1 - a, 0.0)  # sample 3: contrast
    fused = A.jitter_affine(x[:4], a, b, c)
    assert torch.equal(fused[0], x[0])  # (1, 0, 0): exactly the identity
    assert torch.equal(fused[1], A.adjust_brightness(x[1:2], a[1:2])[0])
    assert torch.equal(fused[2], A.adjust_saturation(x[2:3], a[2:3])[0])
    assert torch.equal(fused[3], A.adjust_contrast(x[3:4], a[3:4])[0])


def test_grayscale_blur_solarize_match_torchvision():
    img = colourful(3, 32)
    x = to_unit(img)
    assert levels(A.grayscale(x).expand(-1, 3, -1, -1), TF.rgb_to_grayscale(img, num_output_channels=3)) <= LEVELS
    k = A.blur_kernel_size(32, 32)
    sigmas = [0.1, 0.8, 2.0]
    ours = A.gaussian_blur(x, torch.tensor(sigmas), k)
    for i, s in enumerate(sigmas):
        assert levels(ours[i], TF.gaussian_blur(img[i], [k, k], [s, s])) <= LEVELS
        assert levels(ours[i], TF.gaussian_blur(x[i], [k, k], [s, s])) < 0.01
    assert levels(A.solarize(x), TF.solarize(img, 128)) < 1e-3  # the same pixels flip


def test_blur_kernel_is_about_a_tenth_of_the_side_and_odd():
    assert [A.blur_kernel_size(s, s) for s in (16, 32, 64, 96, 224)] == [3, 3, 7, 9, 23]
    assert A.blur_kernel_size(96, 224) == 9  # the shorter side


# ---- crop sampling ---------------------------------------------------------------------------------


def test_crop_params_follow_torchvision_sampling():
    scale, ratio, n, h, w = (0.08, 1.0), (3 / 4, 4 / 3), 4000, 32, 24
    boxes = A.crop_params(torch.Generator().manual_seed(0), n, h, w, scale, ratio)
    top, left, bh, bw = boxes.unbind(1)
    assert (top >= 0).all() and (left >= 0).all() and (top + bh <= h).all() and (left + bw <= w).all()
    assert (bh > 0).all() and (bw > 0).all()
    torch.manual_seed(0)
    ref = torch.tensor([T.RandomResizedCrop.get_params(torch.empty(3, h, w), list(scale), list(ratio))
                        for _ in range(n)])
    for ours_v, ref_v in ((bh * bw / (h * w), ref[:, 2] * ref[:, 3] / (h * w)),
                          ((bw / bh).log(), (ref[:, 3] / ref[:, 2]).log()),
                          ((top + bh / 2) / h, (ref[:, 0] + ref[:, 2] / 2) / h),
                          ((left + bw / 2) / w, (ref[:, 1] + ref[:, 3] / 2) / w)):
        ours_v, ref_v = ours_v.double(), ref_v.double()
        se = math.sqrt(ours_v.var() / n + ref_v.var() / n)
        assert abs(ours_v.mean() - ref_v.mean()) < 4 * se
        assert abs(ours_v.std() - ref_v.std()) < 0.1 * ref_v.std()


def test_crop_falls_back_to_torchvisions_central_crop():
    # no candidate fits an 8×32 image (h×w) for areas ≥ 0.9: central crop, aspect ratio 4 clamped to 2
    boxes = A.crop_params(torch.Generator().manual_seed(0), 16, 8, 32, (0.9, 1.0), (1.0, 2.0))
    assert (boxes == torch.tensor([0, 8, 8, 16])).all()  # width/height 4 > 2 → h = 8, w = round(8·2)


# ---- statistics of a batch -------------------------------------------------------------------------


def _within_binomial(hits: int, n: int, p: float) -> bool:
    return abs(hits - n * p) <= 4 * math.sqrt(n * p * (1 - p)) + 1


@pytest.mark.parametrize("key, p", [("flip_prob", 0.5), ("flip_prob", 0.2), ("grayscale_prob", 0.3),
                                    ("solarize_prob", 0.4), ("blur_prob", 0.25), ("color_jitter_prob", 0.7)])
def test_each_op_applies_to_its_share_of_the_batch(key, p):
    n = 600
    img = colourful(n, 12, seed=1)
    cfg = AugmentConfig(**{**IDENTITY, key: p, "brightness": 0.5, "contrast": 0.0})
    v = view_unit(A.augment(hwc(img), cfg, torch.Generator().manual_seed(0)))
    x = to_unit(img)
    changed = (v - x).abs().amax(dim=(1, 2, 3)) > 1e-4
    if key == "flip_prob":
        assert ((v - x.flip(3)).abs().amax(dim=(1, 2, 3)) < 1e-5)[changed].all()  # a change is a mirror
    if key == "grayscale_prob":
        assert (v[changed] - v[changed].mean(1, keepdim=True)).abs().max() < 1e-6
    if key == "solarize_prob":
        assert (v - A.solarize(x)).abs().amax(dim=(1, 2, 3))[changed].max() < 1e-6
    assert _within_binomial(int(changed.sum()), n, p), (key, int(changed.sum()))


def test_probability_one_and_zero_are_exact():
    img = hwc(colourful(64, 12))
    for key in ("flip_prob", "grayscale_prob", "solarize_prob", "blur_prob"):
        on = view_unit(A.augment(img, AugmentConfig(**{**IDENTITY, key: 1.0}), torch.Generator().manual_seed(0)))
        assert ((on - to_unit(img).permute(0, 3, 1, 2)).abs().amax(dim=(1, 2, 3)) > 1e-4).all(), key
    off = A.augment(img, AugmentConfig(**IDENTITY, brightness=0.9), torch.Generator().manual_seed(0))
    assert torch.equal(off, A.to_float(img))  # identity view == the evaluation transform


def test_noise_has_the_configured_std():
    img = torch.full((64, 16, 16, 3), 128, dtype=torch.uint8)
    v = view_unit(A.augment(img, AugmentConfig(**{**IDENTITY, "noise_std": 0.05}), torch.Generator().manual_seed(0)))
    assert abs((v - 128 / 255).std().item() - 0.05) < 0.002


# ---- views: seeding, independence, per-view recipes ------------------------------------------------


FULL = AugmentConfig(crop_scale=(0.2, 1.0), flip_prob=0.5, color_jitter_prob=0.8, brightness=0.4, contrast=0.4,
                     saturation=0.2, hue=0.1, grayscale_prob=0.2, blur_prob=0.5, solarize_prob=0.2, noise_std=0.02)


def test_same_seed_same_views_and_views_differ():
    img = hwc(colourful(32, 16))
    a = A.views(img, FULL, 2, torch.Generator().manual_seed(7))
    b = A.views(img, FULL, 2, torch.Generator().manual_seed(7))
    c = A.views(img, FULL, 2, torch.Generator().manual_seed(8))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert a[0].shape == (32, 3, 16, 16) and a[0].dtype == torch.float32
    assert not torch.equal(a[0], c[0])
    per_sample = (a[0] - a[1]).abs().amax(dim=(1, 2, 3))
    assert (per_sample > 0.05).all()  # the two views of each image differ
    assert a[0].min() >= (0 - A.MEAN) / A.STD and a[0].max() <= (1 - A.MEAN) / A.STD


def test_per_view_overrides_apply_to_their_view():
    img = hwc(colourful(16, 16))
    cfg = AugmentConfig(**IDENTITY, per_view=[{"blur_prob": 1.0}, {"blur_prob": 0.0, "solarize_prob": 1.0},
                                              {}])
    raw = A.views(img, cfg, 4, torch.Generator().manual_seed(0))
    v = [view_unit(x) for x in raw]
    x = to_unit(img).permute(0, 3, 1, 2)
    blurred = ((v[0] - x).abs().amax(dim=(1, 2, 3)) > 1e-3).all()
    assert blurred and (v[0] - x).abs().mean() < 0.2  # blurred, still the image
    assert (v[1] - A.solarize(x)).abs().max() < 1e-6  # view 1: solarised, not blurred
    assert torch.equal(raw[2], A.to_float(img))  # {} = the base recipe (identity)
    assert ((v[3] - x).abs().amax(dim=(1, 2, 3)) > 1e-3).all()  # view 3 cycles back to per_view[0]
    assert cfg.view(1).blur_prob == 0.0 and cfg.view(1).solarize_prob == 1.0 and cfg.view(1).per_view == []


def test_augment_refuses_a_per_view_config_and_non_uint8_images():
    with pytest.raises(ValueError, match="call views"):
        A.augment(hwc(colourful(2)), AugmentConfig(per_view=[{}]), torch.Generator())
    floats = to_unit(hwc(colourful(2)))
    with pytest.raises(ValueError, match="takes uint8 N×H×W×3 images"):
        A.augment(floats, AugmentConfig(), torch.Generator())
    with pytest.raises(ValueError, match="takes uint8 N×H×W×3 images"):
        A.augment(colourful(2), AugmentConfig(), torch.Generator())  # N×3×H×W


# ---- config validation -----------------------------------------------------------------------------


BASE = {"datasets": {"digits": {}}, "methods": {"simclr": {}, "vicreg": {}}}


@pytest.mark.parametrize("augment, needle", [
    ({"flip_prob": 1.5}, "augment.flip_prob: Input should be less than or equal to 1"),
    ({"blur_prob": -0.1}, "augment.blur_prob: Input should be greater than or equal to 0"),
    ({"hue": 0.6}, "augment.hue: Input should be less than or equal to 0.5"),
    ({"saturation": -1}, "augment.saturation: Input should be greater than or equal to 0"),
    ({"blur_sigma": [2.0, 0.1]}, "augment.blur_sigma: need 0 < low <= high"),
    ({"crop_ratio": [0, 1]}, "augment.crop_ratio: need 0 < low <= high"),
    ({"crop_scale": [0.5, 1.5]}, "cannot exceed the image"),
    ({"flip": True}, "augment.flip: unknown key; did you mean 'flip_prob'?"),
    ({"per_view": [{"blur_prob": 2}]}, "per_view[0] gives an invalid view: blur_prob: Input should be less"),
    ({"per_view": [{}, {"blurr_prob": 1}]}, "per_view[1]: unknown key(s) ['blurr_prob']"),
    ({"per_view": [{"per_view": []}]}, "per_view[0]: unknown key(s) ['per_view']"),
])
def test_bad_augment_config_names_the_key(augment, needle):
    with pytest.raises(ConfigError) as err:
        validate({**BASE, "augment": augment})
    assert needle in str(err.value)


def test_per_view_config_round_trips_through_params():
    p = validate({**BASE, "augment": {"per_view": [{"blur_prob": 1.0, "solarize_prob": 0.0},
                                                   {"blur_prob": 0.1, "solarize_prob": 0.2}]}})
    run = p.run_config("simclr")
    again = type(run).model_validate(run.to_params())
    assert again.augment == run.augment and again.augment.view(1).solarize_prob == 0.2


def test_non_square_images_keep_their_shape():
    img = hwc(colourful(6, 20))[:, :12]  # 12×20
    v = A.views(img.contiguous(), FULL, 2, torch.Generator().manual_seed(0))
    assert v[0].shape == v[1].shape == (6, 3, 12, 20) and torch.isfinite(v[0]).all()


# ---- the host-free step gives the views of the earlier code, bit for bit ----------------------------


RECIPES = {
    "full": FULL,
    "simclr_cifar": AugmentConfig(crop_scale=(0.08, 1.0), flip_prob=0.5, color_jitter_prob=0.8, brightness=0.4,
                                  contrast=0.4, saturation=0.4, hue=0.1, grayscale_prob=0.2),
    "no_hue": AugmentConfig(crop_scale=(0.2, 1.0), color_jitter_prob=0.5, brightness=0.4, saturation=0.3,
                            blur_prob=1.0, solarize_prob=1.0),
    "every_op_always": AugmentConfig(color_jitter_prob=1.0, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1,
                                     grayscale_prob=1.0, blur_prob=1.0, solarize_prob=1.0),
    "per_view": AugmentConfig(**{**FULL.model_dump(), "per_view": [{"blur_prob": 1.0}, {"solarize_prob": 0.0}]}),
}


@pytest.mark.parametrize("fixed_shape", [False, True])
@pytest.mark.parametrize("recipe", list(RECIPES))
@pytest.mark.parametrize("n, size", [(48, 16), (5, 32), (1, 12)])
def test_views_are_bit_identical_to_the_earlier_code(recipe, n, size, fixed_shape):
    """Both build paths (index subsets on the CPU, fixed shapes elsewhere) give the earlier code's views,
    bit for bit, for the same seed: the table's bytes do not move."""
    import augment_reference as R

    img = hwc(colourful(n, size, seed=n))
    cfg = RECIPES[recipe]
    for seed in range(3):
        ours = A.views(img, cfg, 2, torch.Generator().manual_seed(seed), fixed_shape=fixed_shape)
        ref = R.views(img, cfg, 2, torch.Generator().manual_seed(seed))
        for v, r in zip(ours, ref):
            assert v.dtype == r.dtype and v.shape == r.shape
            assert torch.equal(v, r), (recipe, seed, (v - r).abs().max().item())


def test_a_ranks_views_are_its_rows_of_the_global_batchs_views():
    """Under DDP each process draws the global batch's parameters and keeps its rows: the two halves
    are augmented as one process would augment the whole batch (no parameters repeated across ranks)."""
    img = hwc(colourful(12, 16))
    cfg = RECIPES["full"]
    whole = A.views(img, cfg, 2, torch.Generator().manual_seed(3))
    for rank in (0, 1):
        part = A.views(img[rank * 6:(rank + 1) * 6], cfg, 2, torch.Generator().manual_seed(3), shard=(rank, 2))
        for p, w in zip(part, whole):
            torch.testing.assert_close(p, w[rank * 6:(rank + 1) * 6], rtol=0, atol=1e-6)
