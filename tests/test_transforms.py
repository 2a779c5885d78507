"""Tests for gradlite.data.transforms: shape, dtype, range and one property each must keep."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradlite.random
from gradlite.data import transforms as T


def images(n=8, c=1, h=12, w=10, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)


shapes = st.tuples(st.integers(1, 4), st.sampled_from([1, 3]), st.integers(2, 9), st.integers(2, 9))

RANDOM_TRANSFORMS = [
    T.RandomRotation(30), T.RandomAffine(20, translate=(0.2, 0.1), scale=(0.8, 1.2)),
    T.RandomHorizontalFlip(), T.RandomVerticalFlip(), T.RandomCrop(8, padding=2),
    T.ColorJitter(brightness=0.5, contrast=0.5), T.GaussianNoise(0.1),
]


@pytest.mark.parametrize("transform", RANDOM_TRANSFORMS + [T.Normalize(0.5, 0.25), T.Grayscale()],
                         ids=lambda t: type(t).__name__)
def test_single_image_and_batch_shapes_and_dtype(transform):
    batch = images()
    out = transform(batch)
    expected = (8, 1, 8, 8) if isinstance(transform, T.RandomCrop) else batch.shape
    assert out.shape == expected and out.dtype == np.float32
    assert transform(batch[0]).shape == expected[1:]
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("transform", RANDOM_TRANSFORMS, ids=lambda t: type(t).__name__)
def test_random_transforms_follow_the_global_seed(transform):
    batch = images()
    gradlite.random.manual_seed(5)
    first = transform(batch)
    gradlite.random.manual_seed(5)
    np.testing.assert_array_equal(transform(batch), first)


def test_a_passed_generator_is_used():
    batch = images()
    a = T.RandomRotation(45, generator=3)(batch)
    b = T.RandomRotation(45, generator=np.random.default_rng(3))(batch)
    np.testing.assert_array_equal(a, b)


def test_each_image_of_a_batch_gets_its_own_draw():
    batch = np.repeat(images(n=1), 16, axis=0)
    out = T.RandomRotation(90)(batch)
    assert len({out[i].tobytes() for i in range(16)}) == 16


def test_input_is_not_modified():
    batch = images()
    copy = batch.copy()
    for transform in RANDOM_TRANSFORMS:
        transform(batch)
    np.testing.assert_array_equal(batch, copy)


# ----------------------------------------------------------------- flips

@given(shapes)
def test_flipping_twice_is_identity(shape):
    batch = images(*shape)
    for flip in (T.RandomHorizontalFlip(p=1.0), T.RandomVerticalFlip(p=1.0)):
        np.testing.assert_array_equal(flip(flip(batch)), batch)


def test_flip_probabilities():
    batch = images(n=1000, h=2, w=2)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(batch), batch)
    np.testing.assert_array_equal(T.RandomVerticalFlip(p=1.0)(batch), batch[:, :, ::-1])
    flipped = np.any(T.RandomHorizontalFlip(p=0.3, generator=0)(batch) != batch, axis=(1, 2, 3))
    assert 0.25 < flipped.mean() < 0.35


# ----------------------------------------------------------------- geometry

@settings(deadline=None)
@given(shapes)
def test_rotation_by_zero_and_by_90_degrees(shape):
    batch = images(*shape)
    np.testing.assert_allclose(T.affine(batch, 0.0), batch, atol=1e-6)
    np.testing.assert_allclose(T.RandomRotation((0, 0))(batch), batch, atol=1e-6)
    if shape[2] == shape[3]:
        np.testing.assert_allclose(T.affine(batch, 90.0), np.rot90(batch, axes=(2, 3)), atol=1e-5)
        np.testing.assert_allclose(T.affine(batch, 90.0, interpolation="nearest"),
                                   np.rot90(batch, axes=(2, 3)))


def test_integer_translation_shifts_pixels():
    batch = images(n=2, h=9, w=9)
    shifted = T.affine(batch, translate=(2, -1))  # 2 right, 1 up
    np.testing.assert_allclose(shifted[:, :, :-1, 2:], batch[:, :, 1:, :-2], atol=1e-6)
    assert np.all(shifted[:, :, :, :2] == 0) and np.all(shifted[:, :, -1, :] == 0)


def test_scaling_about_the_centre_keeps_the_centre_pixel():
    batch = images(n=3, h=9, w=9)
    zoomed = T.affine(batch, scale=np.array([0.5, 1.0, 2.0]))
    np.testing.assert_allclose(zoomed[:, :, 4, 4], batch[:, :, 4, 4], atol=1e-6)


def test_rotation_keeps_the_range_and_the_centre():
    batch = images(h=11, w=11)
    out = T.RandomRotation(180)(batch)
    assert out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    np.testing.assert_allclose(out[:, :, 5, 5], batch[:, :, 5, 5], atol=1e-6)


def test_random_crop_with_padding_is_a_shift():
    batch = images(n=50, h=6, w=6)
    out = T.RandomCrop(6, padding=1, generator=0)(batch)
    assert out.shape == batch.shape
    centre = out[:, :, 1:5, 1:5]  # whatever the shift, these come from the image
    for i in range(50):
        windows = [batch[i, :, 1 + dy:5 + dy, 1 + dx:5 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        assert any(np.array_equal(centre[i], w) for w in windows)


def test_random_crop_sizes_and_errors():
    assert T.RandomCrop((4, 3))(images()).shape == (8, 1, 4, 3)
    with pytest.raises(ValueError, match=r"crop size \(20, 20\) is larger"):
        T.RandomCrop(20)(images())
    with pytest.raises(ValueError, match="padding must be a non-negative int"):
        T.RandomCrop(8, padding=(1, 2))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="interpolation must be"):
        T.affine(images(), 10, interpolation="cubic")
    with pytest.raises(ValueError, match="RandomAffine: scale"):
        T.RandomAffine(0, scale=(0, 1))
    with pytest.raises(ValueError, match="p must be in"):
        T.RandomHorizontalFlip(p=2)
    with pytest.raises(ValueError, match=r"batch \(N, C, H, W\), got shape \(5,\)"):
        T.Normalize(0, 1)(np.zeros(5))


# ----------------------------------------------------------------- intensity

def test_normalize_gives_zero_mean_unit_std_per_channel():
    batch = images(n=64, c=3)
    mean, std = batch.mean(axis=(0, 2, 3)), batch.std(axis=(0, 2, 3))
    out = T.Normalize(mean, std)(batch)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-4)
    with pytest.raises(ValueError, match="std must be positive"):
        T.Normalize(0, 0)
    with pytest.raises(ValueError, match="2/2 values but the image has 3 channels"):
        T.Normalize([0, 0], [1, 1])(batch)


def test_color_jitter_stays_in_range_and_zero_is_identity():
    batch = images()
    np.testing.assert_allclose(T.ColorJitter()(batch), batch, atol=1e-6)
    out = T.ColorJitter(brightness=2.0, contrast=2.0)(batch)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_brightness_scales_images():
    batch = images() * 0.5
    out = T.ColorJitter(brightness=0.4)(batch)
    ratio = out / batch
    assert np.allclose(ratio, ratio[:, :1, :1, :1], atol=1e-5)  # one factor per image
    assert np.all((ratio >= 0.6 - 1e-6) & (ratio <= 1.4 + 1e-6))


def test_grayscale_weights_and_channels():
    rgb = np.zeros((1, 3, 2, 2), np.float32)
    rgb[0, 1] = 1.0  # pure green
    np.testing.assert_allclose(T.Grayscale()(rgb), 0.587, rtol=1e-6)
    three = T.Grayscale(3)(rgb)
    assert three.shape == (1, 3, 2, 2) and np.all(three == three[:, :1])
    gray = images()
    np.testing.assert_array_equal(T.Grayscale()(gray), gray)


def test_gaussian_noise_statistics():
    batch = np.zeros((100, 1, 20, 20), np.float32)
    noise = T.GaussianNoise(std=0.2, generator=0)(batch)
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 0.2) < 0.01


def test_zca_whitening_gives_identity_covariance():
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(12, 12))
    data = (rng.normal(size=(4000, 12)) @ mixing + 3.0).reshape(4000, 3, 2, 2)
    zca = T.ZCAWhitening(eps=1e-6).fit(data)
    flat = zca(data).reshape(4000, -1)
    np.testing.assert_allclose(np.cov(flat, rowvar=False, bias=True), np.eye(12), atol=1e-3)
    np.testing.assert_allclose(zca.matrix, zca.matrix.T)  # ZCA's W is symmetric
    assert zca(data[0].astype(np.float32)).dtype == np.float32


def test_zca_needs_fit_and_matching_size():
    with pytest.raises(RuntimeError, match="call .fit"):
        T.ZCAWhitening()(images())
    zca = T.ZCAWhitening().fit(images())
    with pytest.raises(ValueError, match="fitted on images of 120 values"):
        zca(images(h=3, w=3))


# ----------------------------------------------------------------- plumbing

def test_compose_chains_and_knows_about_batches():
    pipeline = T.Compose([T.RandomHorizontalFlip(p=1.0), T.Normalize(0.5, 0.5)])
    batch = images()
    np.testing.assert_allclose(pipeline(batch), (batch[..., ::-1] - 0.5) / 0.5, atol=1e-6)
    assert pipeline.supports_batch
    assert not T.Compose([T.Normalize(0, 1), lambda x: x]).supports_batch


def test_to_tensor_converts_hwc_uint8():
    image = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    out = T.ToTensor()(image)
    assert out.shape == (3, 2, 4) and out.dtype == np.float32
    np.testing.assert_allclose(out[1], image[:, :, 1] / 255.0)
    assert T.ToTensor()(np.zeros((5, 5), np.uint8)).shape == (1, 5, 5)


def test_apply_transform_loops_for_plain_callables():
    batch = images(n=3)
    out = T.apply_transform(lambda x: x.sum(keepdims=True), batch)
    assert out.shape == (3, 1, 1, 1)
