"""Install action plugins into a throwaway directory, never into the shared virtualenv.

importlib.metadata finds a distribution by its ``*.dist-info`` directory on ``sys.path``, so a
directory holding the package and its metadata is an installed plugin as soon as it is on
``sys.path`` (in process) or ``PYTHONPATH`` (in a subprocess).
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

TEST_PLUGIN = Path(__file__).parent / "plugins" / "wfa_test_plugin"


def add_distribution(site: Path, name: str, entry_points: dict[str, str]) -> None:
    """Metadata of an installed distribution ``name`` declaring these ``wfa.actions``."""
    info = site / f"{name.replace('-', '_')}-1.0.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0.0\n")
    lines = [f"{key} = {value}" for key, value in entry_points.items()]
    (info / "entry_points.txt").write_text("[wfa.actions]\n" + "\n".join(lines) + "\n")


def install_test_plugin(site: Path) -> Path:
    """The test plugin as pip would install it from its pyproject.toml: package and metadata."""
    project = tomllib.loads((TEST_PLUGIN / "pyproject.toml").read_text())["project"]
    shutil.copytree(TEST_PLUGIN / "wfa_test_plugin", site / "wfa_test_plugin")
    add_distribution(site, project["name"], project["entry-points"]["wfa.actions"])
    return site
