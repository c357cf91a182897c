"Cross-process behaviour of lgvq.data: samples do not depend on which DataLoader worker builds them."
import subprocess
import sys
from functools import partial

import torch

from lgvq.shapes import CaptionedShapes
from lgvq.data import caption_id, collate


class _Recorder:
    def __init__(self): self.calls = []
    def get(self, captions):
        self.calls.append(list(captions))
        return torch.tensor([len(c) for c in captions])


def _batches(ds, workers, text=None):
    dl = torch.utils.data.DataLoader(ds, batch_size=8, num_workers=workers, collate_fn=partial(collate, text=text))
    return list(dl)


def test_workers_match_main_process_and_epochs_redraw():
    ds = CaptionedShapes(64, size=32, seed=4)
    main, multi = _batches(ds, 0), _batches(ds, 2)
    for a, b in zip(main, multi):
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["semantic_map"], b["semantic_map"])
        assert a["caption"] == b["caption"] and a["qa"] == b["qa"] and a["refexps"] == b["refexps"]
    ds.set_epoch(3)                      # non-persistent workers copy the dataset each epoch, so the new epoch reaches them
    e3 = _batches(ds, 2)
    assert [c for b in e3 for c in b["caption"]] == [ds[i]["caption"] for i in range(64)]
    assert [c for b in e3 for c in b["caption"]] != [c for b in main for c in b["caption"]]
    assert all(torch.equal(x["image"], y["image"]) for x, y in zip(e3, main))


def test_collate_attaches_cached_features_without_encoding():
    ds, rec = CaptionedShapes(16, seed=1), _Recorder()
    batches = _batches(ds, 0, text=rec)
    assert len(rec.calls) == 2 and rec.calls[0] == [ds[i]["caption"] for i in range(8)]
    assert batches[1]["caption_ids"] == [caption_id(ds[i]["caption"]) for i in range(8, 16)]


def test_import_is_light():
    code = "import sys, lgvq.data; print('matplotlib' in sys.modules, 'PIL.Image' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"], out
