"""Box processing and 256x256 crop geometry."""

import numpy as np
import pytest

from pinet_ros.core.boxes import apply_affine, crop_affine, crop_affine_inverse, crop_image, process_box


def test_process_box_square_and_scaled_about_centre():
    b = process_box([100.0, 50.0, 101.0, 201.0], 640, 480)
    # clipped to (100, 50, 100, 200): centre (150, 150); w grown to 200, then x1.25 -> 250
    np.testing.assert_allclose(b, [150 - 125, 150 - 125, 250, 250])


def test_process_box_clips_to_image():
    b = process_box([-50.0, -50.0, 151.0, 101.0], 640, 480)
    # clipped: x 0..100, y 0..50 -> (0, 0, 100, 50): centre (50, 25), square 100, scaled 125
    np.testing.assert_allclose(b, [50 - 62.5, 25 - 62.5, 125, 125])


@pytest.mark.parametrize("bad", [[700, 10, 50, 50], [10, 10, 0, 50], [10, 10, 50, -3], [np.nan, 0, 10, 10]])
def test_process_box_rejects_empty(bad):
    with pytest.raises(ValueError):
        process_box(bad, 640, 480)


def test_affine_and_inverse_round_trip():
    box = np.array([37.5, -12.0, 310.0, 310.0])
    m, mi = crop_affine(box), crop_affine_inverse(box)
    p = np.array([[100.0, 200.0], [37.5, -12.0], [347.5, 298.0]])
    q = apply_affine(m, p)
    np.testing.assert_allclose(q[1], [0, 0], atol=1e-12)
    np.testing.assert_allclose(q[2], [256, 256], atol=1e-9)
    np.testing.assert_allclose(apply_affine(mi, q), p, atol=1e-9)


def test_pixel_appears_at_predicted_crop_location():
    img = np.zeros((300, 400, 3), np.uint8)
    u, v = 230, 140
    img[v - 2:v + 3, u - 2:u + 3] = (255, 0, 0)
    box = np.array([150.0, 60.0, 128.0, 128.0])  # 2x magnification
    crop = crop_image(img, box, 256)
    assert crop.shape == (256, 256, 3) and crop.dtype == np.uint8
    red = crop[..., 0].astype(float)
    ys, xs = np.nonzero(red > 0)
    w = red[ys, xs]
    centroid = np.array([(xs * w).sum() / w.sum(), (ys * w).sum() / w.sum()])
    expected = apply_affine(crop_affine(box, 256), [u, v])
    np.testing.assert_allclose(centroid, expected, atol=1.0)
    assert crop[..., 1:].max() == 0
