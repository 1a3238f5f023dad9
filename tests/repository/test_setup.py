"""The environment: CPU torch only, no torchvision, and requirements.txt and environment.yml agree."""
from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pins(text: str) -> dict[str, str]:
    return dict(re.findall(r"^[\s-]*([A-Za-z0-9_.-]+)==([^\s#]+)", text, flags=re.M))


def test_no_nvidia_package_is_installed():
    names = [d.metadata["Name"] for d in importlib.metadata.distributions()]
    assert not [n for n in names if n.lower().startswith("nvidia")]


def test_torch_is_the_pinned_cpu_build():
    import torch
    assert torch.__version__.split("+")[0] == _pins((ROOT / "requirements.txt").read_text())["torch"] == "2.13.0"


def test_requirements_and_environment_yml_pin_the_same_packages():
    requirements = _pins((ROOT / "requirements.txt").read_text())
    environment = _pins((ROOT / "environment.yml").read_text())
    assert requirements == environment and len(requirements) >= 8


def test_installed_versions_match_the_pins():
    for name, version in _pins((ROOT / "requirements.txt").read_text()).items():
        assert importlib.metadata.version(name).split("+")[0] == version, name


def test_lth_utils_never_imports_torchvision():
    code = "import sys, lth_utils.execution.engine, lth_utils.__main__; print('torchvision' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    sources = "\n".join(p.read_text() for p in (ROOT / "lth_utils").rglob("*.py"))
    assert not re.search(r"^\s*(import|from)\s+torchvision", sources, flags=re.M)


def test_every_test_file_sits_in_a_tier_folder():
    from conftest import TIERS
    tests = ROOT / "tests"
    assert sorted(p.name for p in tests.glob("test_*.py")) == []  # a test outside a tier would have no marker
    assert {p.parent.name for p in tests.rglob("test_*.py")} == set(TIERS)
