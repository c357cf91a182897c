"""Build lgvq from settings.ini (nbdev 2 layout)."""
from configparser import ConfigParser
from pathlib import Path

import setuptools

cfg = ConfigParser(delimiters=["="])
cfg.read(Path(__file__).parent / "settings.ini", encoding="utf-8")
cfg = cfg["DEFAULT"]

status_names = ["Planning", "Pre-Alpha", "Alpha", "Beta", "Production/Stable", "Mature", "Inactive"]


def _split(key):
    return [r for r in cfg.get(key, "").split() if r]


setuptools.setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    long_description=(Path(__file__).parent / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    author=cfg["author"],
    author_email=cfg["author_email"],
    license="Apache-2.0",
    keywords=cfg["keywords"],
    classifiers=[
        f"Development Status :: {cfg['status']} - {status_names[int(cfg['status'])]}",
        f"Intended Audience :: {cfg['audience']}",
        f"Natural Language :: {cfg['language']}",
        "Programming Language :: Python :: 3.11",
    ],
    python_requires=f">={cfg['min_python']}",
    packages=setuptools.find_packages(include=["lgvq", "lgvq.*"]),
    include_package_data=True,
    package_data={"lgvq": ["assets/*"]},
    install_requires=_split("requirements"),
    extras_require={"dev": _split("dev_requirements"), "bench": _split("bench_requirements")},
    entry_points={
        "console_scripts": _split("console_scripts"),
        "nbdev": [f"{cfg['lib_name']}={cfg['lib_name']}._modidx:d"],
    },
    zip_safe=False,
)
