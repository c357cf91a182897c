"Cross-module behaviour of lgvq.transfer.TransferQuantizer: a drop-in quantizer inside lgvq.models.VQModel."
import pytest
import torch
import torch.nn as nn

from lgvq.quantize import QuantizerOutput, VectorQuantizer, codebook_usage
from lgvq.transfer import TransferQuantizer, Vocabulary, modifying_graph


def _quantizer(dim=8, **kw):
    "A TransferQuantizer over a small random 'word embedding' vocabulary (no text model, no spaCy)."
    g = torch.Generator().manual_seed(0)
    vocab = Vocabulary(["red", "blue", "small"], ["circle", "square"], {"red": 3, "blue": 2, "small": 2, "circle": 4, "square": 3},
                       {("red", "circle"): 2, ("blue", "square"): 2, ("small", "circle"): 1})
    C_a, C_n = torch.randn(3, 12, generator=g), torch.randn(2, 12, generator=g)
    return TransferQuantizer(C_a, C_n, dim, modifying_graph(vocab), **kw)


@pytest.mark.parametrize("split", [True, False])
def test_same_output_type_and_layouts_as_vector_quantizer(split):
    q, vq = _quantizer(split=split), VectorQuantizer(6, 8)
    for z in (torch.randn(2, 8, 3, 4), torch.randn(2, 5, 8)):
        out, ref = q(z), vq(z)
        assert isinstance(out, QuantizerOutput)
        assert out.z_q.shape == ref.z_q.shape and out.indices.shape == ref.indices.shape
        assert out.indices.dtype == ref.indices.dtype == torch.int64
        assert int(out.indices.max()) < q.num_codes
        torch.testing.assert_close(q.lookup(out.indices), out.z_q.detach())
        assert codebook_usage(out.indices, q.num_codes).fraction == pytest.approx(out.usage.item())


def test_vqmodel_round_trip_through_lookup():
    models = pytest.importorskip("lgvq.models")
    torch.manual_seed(0)
    q = _quantizer()
    model = models.VQModel(nn.Conv2d(3, 8, 4, 4), q, nn.ConvTranspose2d(8, 3, 4, 4)).eval()
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        idx = model.encode_to_indices(images)                      # one token per position
        assert idx.shape == (2, 4, 4) and idx.dtype == torch.int64
        torch.testing.assert_close(model.decode_indices(idx), model.decoder(model.encode(images).z_q))


def test_training_step_reaches_every_code_and_eval_cache():
    torch.manual_seed(0)
    q = _quantizer()
    before = q.codebook.detach().clone()
    opt = torch.optim.SGD(q.parameters(), lr=0.1)
    out = q(torch.randn(1, 4, 8) * 0.01 + 3)                        # features near one point: few codes selected
    opt.zero_grad(); out.loss.backward(); opt.step()
    assert ((q.codebook.detach() - before).norm(dim=1) > 0).all()
    q.eval()
    c1 = q.codebook
    assert torch.equal(q.codebook, c1) and not c1.requires_grad


def test_bad_input():
    with pytest.raises(ValueError, match="dim: expected an even number"): _quantizer(dim=7)
    with pytest.raises(ValueError, match="z: expected 8 channels"): _quantizer()(torch.randn(1, 6, 2, 2))
    with pytest.raises(ValueError, match=r"indices: expected values in \[0, 6\)"): _quantizer().lookup(torch.tensor([[6]]))
