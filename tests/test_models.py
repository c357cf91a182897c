"""lgvq.models and lgvq.objectives as a user imports them: one forward per training step, the discriminator start, the adaptive weight,
bad inputs, and LPIPS weights that are only ever read from local files."""
import warnings

import pytest
import torch
import torch.nn as nn

import lgvq.models as M
import lgvq.objectives as O

TINY = M.ModelConfig(resolution=32, ch=32, ch_mult=(1, 2, 2), num_res_blocks=1, attn_resolutions=(8,),
                     z_channels=32, embed_dim=32, num_codes=64)


@pytest.fixture(autouse=True)
def no_default_lpips(tmp_path, monkeypatch):
    monkeypatch.setenv(O.LPIPS_DIR_ENV, str(tmp_path / "empty"))
    monkeypatch.setattr(O, "_LPIPS_WARNED", False)


def images(n=4, seed=0):
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_one_forward_per_step_and_disc_start():
    torch.manual_seed(0)
    model, loss = O.vqgan(TINY, disc_start=1, disc_ndf=16, disc_layers=2, perceptual_weight=0)
    opt_g, opt_d = O.make_optimizers(model, loss, 1e-3)
    n_model, n_disc = [], []
    model.register_forward_hook(lambda *a: n_model.append(1))
    loss.discriminator.register_forward_hook(lambda *a: n_disc.append(1))
    x = images()
    d0 = [p.detach().clone() for p in loss.discriminator.parameters()]
    logs = O.train_step(model, loss, opt_g, opt_d, x, step=0)
    assert len(n_model) == 1 and not n_disc and "d_loss" not in logs
    assert all(torch.equal(a, b) for a, b in zip(d0, loss.discriminator.parameters()))
    logs = O.train_step(model, loss, opt_g, opt_d, x, step=1)
    assert len(n_model) == 2 and len(n_disc) == 3 and float(logs["d_loss"]) > 0 and float(logs["d_weight"]) > 0
    assert any(not torch.equal(a, b) for a, b in zip(d0, loss.discriminator.parameters()))


def test_adaptive_weight_matches_gradient_norm_ratio():
    w = nn.Parameter(torch.randn(5, 3))
    x = torch.randn(7, 5)
    rec, g = (x @ w).abs().mean(), -(x @ w).pow(3).mean()
    gr, gg = torch.autograd.grad(rec, w, retain_graph=True)[0], torch.autograd.grad(g, w, retain_graph=True)[0]
    torch.testing.assert_close(O.adaptive_weight(rec, g, w, 0.8), (gr.norm() / (gg.norm() + 1e-4)).clamp(0, 1e4) * 0.8)


def test_bad_inputs_raise_clear_errors():
    model, _ = O.vqvae(TINY)
    with pytest.raises(ValueError, match=r"images: expected values in \[-1, 1\]"): model(images() * 255)
    with pytest.raises(ValueError, match="images: expected 3 channels"): model(torch.rand(2, 4, 32, 32))
    with pytest.raises(ValueError, match="divisible by the downsampling factor 4"): model(torch.rand(2, 3, 34, 32))
    with pytest.raises(ValueError, match=r"indices: expected values in \[0, 64\)"):
        model.decode_indices(torch.full((1, 8, 8), 99))
    with pytest.raises(ValueError, match="did you mean 'ch_mult'"): M.ModelConfig.from_dict({"ch_mul": [1, 2]})


def test_lpips_missing_warns_once_and_never_downloads(monkeypatch):
    def no_download(*a, **k): raise AssertionError("tried to download")
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        l1 = O.VQGANLoss(0, disc_ndf=8, disc_layers=1)
        l2 = O.VQGANLoss(0, disc_ndf=8, disc_layers=1)
    msgs = [str(w.message) for w in caught if "LPIPS" in str(w.message)]
    assert len(msgs) == 1 and "vgg16-397923af.pth" in msgs[0] and l1.perceptual is None and l2.perceptual is None


def test_indices_round_trip():
    torch.manual_seed(1)
    model, _ = O.vqvae(TINY)
    model.eval()
    x = images(2, seed=3)
    idx = model.encode_to_indices(x)
    assert idx.shape == (2, 8, 8) and idx.dtype == torch.int64
    with torch.no_grad():
        torch.testing.assert_close(model.decode_indices(idx), model.decode(model.encode(x).z_q), rtol=1e-4, atol=1e-5)
