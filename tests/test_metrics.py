"The metrics modules through the installed package: packaged classifier, reference caption scores, Fréchet distance, bad inputs."
import numpy as np
import pytest
import scipy.linalg
import torch

from lgvq.shapes import CaptionedShapes
from lgvq.shapes_judge import caption_agreement, default_shapes_classifier_path, evaluate_shapes_classifier, fd_shapes, load_shapes_classifier, shapes_targets
from lgvq.task_metrics import caption_metrics
from lgvq.image_metrics import frechet_distance, psnr, ssim, to_unit


def _images(n, seed, split="test"):
    ds = CaptionedShapes(n, 32, seed=seed, split=split)
    items = [ds[i] for i in range(n)]
    return to_unit(torch.stack([s["image"] for s in items])), items


def test_packaged_classifier_is_small_and_accurate():
    path = default_shapes_classifier_path()
    assert path.is_file() and path.stat().st_size < 300_000
    clf = load_shapes_classifier()
    x, items = _images(300, seed=11)
    acc = evaluate_shapes_classifier(clf, x, *shapes_targets([s["attributes"] for s in items]))
    assert acc["set"] >= 0.95, acc
    agree = caption_agreement(x, [s["caption"] for s in items])
    assert agree.score > 0.95


def test_fd_shapes_names_its_extractor():
    x, _ = _images(300, seed=12)
    y, _ = _images(300, seed=13)
    r = fd_shapes(x, y)
    assert r.metric == "FD-shapes" and "ShapesClassifier" in r.extractor and r.value > 0
    assert fd_shapes(x, x).value == 0.0


def test_frechet_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(400, 16)), rng.normal(size=(300, 16)) * 1.3 + 0.2
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ref = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1 + s2) - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx(ref, rel=1e-6)
    with pytest.raises(ValueError, match="at least 2 samples"):
        frechet_distance(torch.from_numpy(a[:1]), torch.from_numpy(b))


def test_caption_reference_scores():
    refs = [["A red circle to the left of a blue square.", "a small red circle and a large blue square"],
            ["There are two shapes in the image", "a green triangle above a white diamond"],
            ["a yellow circle on the right"],
            ["A man riding a horse on the beach.", "a person rides a brown horse along the shore",
             "someone on horseback near the ocean"],
            ["two dogs play with a red ball in the grass", "a pair of dogs chasing a ball"]]
    cands = ["a red circle left of a blue square", "two shapes: a green triangle and a diamond",
             "a yellow square on the left", "a man rides a horse on the beach", "the the the dogs dogs"]
    got = caption_metrics(cands, refs, metrics=("bleu4", "rouge_l", "cider_d"))
    want = {"bleu4": 0.3932263127693793, "rouge_l": 0.6499355425370072, "cider_d": 2.1398434997439955}
    for k, v in want.items(): assert abs(got[k] - v) < 1e-3
    with pytest.raises(ValueError, match=r"references\[0\]: expected at least one reference caption"):
        caption_metrics(["a"], [[]])


def test_image_range_checked():
    x = torch.rand(2, 3, 16, 16)
    with pytest.raises(ValueError, match=r"pred: expected values in \[0, 1\]"): psnr(x * 2 - 1, x)
    with pytest.raises(ValueError, match=r"target: expected values in \[0, 1\]"): ssim(x, x + 1)
