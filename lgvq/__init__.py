"""lgvq: language-guided codebook learning for VQ image models (LG-VQ, VQCT) — the public contract.

`from lgvq import LanguageGuide, VectorQuantizer, Trainer` etc. Each name is imported from its module on first use, so
`import lgvq` stays cheap (no torch import) and the modules stay the place each name is documented (nbs/)."""
__version__ = "0.1.0"
from importlib import import_module

# name -> the module (and notebook) that defines it
_PUBLIC = {
    "VectorQuantizer": "quantize", "GumbelQuantizer": "quantize", "codebook_usage": "quantize",   # 02_quantize
    "nearest_code": "kernels",                                                                      # 01_kernels
    "TextFeatures": "text", "get_text_encoder": "text",                                            # 03_text
    "TextFeatureCache": "text_cache",                                                               # 03a_text_cache
    "LanguageGuide": "losses", "gsa_loss": "losses", "ras_loss": "losses", "MaskedTextPredictor": "losses",  # 04_losses
    "TransferQuantizer": "transfer",                                                                # 05_transfer
    "VQModel": "models", "ModelConfig": "models",                                                   # 06_models
    "CaptionedShapes": "shapes",                                                                    # 00a_shapes
    "ImageCaptionFolder": "data",                                                                   # 07_data
    "TrainConfig": "config", "load_config": "config",                                              # 08_config
    "Trainer": "train",                                                                             # 09_train
    "from_pretrained": "workflow",                                                                  # 12_workflow
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC: raise AttributeError(f"module 'lgvq' has no attribute {name!r}")
    value = getattr(import_module(f"lgvq.{_PUBLIC[name]}"), name)
    globals()[name] = value                                   # cache: the next access is a plain attribute
    return value


def __dir__(): return sorted(set(globals()) | set(__all__))
