"""tools/code_readout.py: the configuration readout sees neighbouring codes, the per-code readout does not."""
import importlib.util
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("code_readout", ROOT / "tools" / "code_readout.py")
cr = importlib.util.module_from_spec(spec); spec.loader.exec_module(cr)


def grids(n: int, gen: torch.Generator):
    "One-hot 4-code grids (n, 4, 6, 6) with exactly one code A and one code B; label 1 when B is right next to A."
    z = torch.zeros(n, 4, 6, 6); z[:, 2] = 1                                    # background code 2
    y = torch.randint(0, 2, (n, 1), generator=gen).float()
    for i in range(n):
        r, c = int(torch.randint(0, 6, (1,), generator=gen)), int(torch.randint(0, 4, (1,), generator=gen))
        if y[i, 0]: r2, c2 = r, c + 1                                          # adjacent
        else:                                                                    # at least two cells away
            while True:
                r2, c2 = int(torch.randint(0, 6, (1,), generator=gen)), int(torch.randint(0, 6, (1,), generator=gen))
                if max(abs(r2 - r), abs(c2 - c)) >= 2: break
        z[i, :, r, c] = 0; z[i, 0, r, c] = 1; z[i, :, r2, c2] = 0; z[i, 1, r2, c2] = 1
    return z + 0.05 * torch.randn(z.shape, generator=gen), y


def test_configuration_readout_sees_neighbours_per_code_does_not():
    g = torch.Generator().manual_seed(int(torch.randint(0, 10_000, ())))
    z_tr, y_tr = grids(600, g); z_va, y_va = grids(300, g)
    f1_three, acc_three = cr.fit_and_score(3, z_tr, y_tr, z_va, y_va, steps=400, seed=0)
    f1_one, acc_one = cr.fit_and_score(1, z_tr, y_tr, z_va, y_va, steps=400, seed=0)
    assert acc_three > 0.9, (f1_three, acc_three)
    assert acc_one < 0.7, (f1_one, acc_one)                                     # A and B are in every grid: chance


def test_multi_hot_and_shapes():
    from lgvq.shapes import CaptionedShapes, SHAPES
    ds = CaptionedShapes(5, size=32, seed=3)
    y = cr.multi_hot(ds, 5, 0, len(SHAPES))
    assert y.shape == (5, len(SHAPES))
    for i in range(5): assert set(y[i].nonzero().flatten().tolist()) == {int(o[0]) for o in ds[i]["attributes"]}
    assert cr.readout(3, 8, 4)(torch.randn(2, 8, 5, 5)).shape == (2, 4)


@pytest.mark.parametrize("args, name", [(["--steps", "0"], "--steps"), (["--n-val", "-1"], "--n-val"), (["--seeds", "-2"], "--seeds")])
def test_bad_arguments(args, name):
    with pytest.raises(ValueError, match=name): cr.main(args)
