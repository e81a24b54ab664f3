"""kws as a library: a wheel built from the checkout, installed into a fresh venv and run from another folder,
detects a keyword with the model it carries and writes a sketch from the sources it carries; every third-party
module kws imports is a declared dependency."""

import ast
import importlib.metadata
import importlib.util
import re
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest
from conftest import REPO


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv with the wheel installed: no checkout on its path. Its dependencies come from this
    environment's site-packages (a path entry, so this environment's editable kws stays out)."""
    tmp = tmp_path_factory.mktemp("install")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp / "dist"), str(REPO)], check=True, capture_output=True)
    wheel = next((tmp / "dist").glob("kws-*.whl"))
    env = tmp / "venv"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp / "venv" / site.removeprefix(str(env) + "/") / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    str(wheel)], check=True, capture_output=True)
    return env


def test_a_wheel_in_a_fresh_venv_detects_yes_from_another_folder(installed, real_clips, tmp_path):
    yes = next(p for p in real_clips if p.parent.name == "yes")
    r = subprocess.run([str(installed / "bin" / "kws"), "detect", str(yes)], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert re.search(r"\byes\s+score", r.stdout), r.stdout
    where = subprocess.run([str(installed / "bin" / "python"), "-c", "import kws; print(kws.DEFAULT_MODEL)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(installed)) and not where.startswith(str(REPO))


def test_the_wheel_writes_a_complete_sketch(installed, tmp_path):
    out = tmp_path / "kws_nano33"
    r = subprocess.run([str(installed / "bin" / "kws"), "export-firmware", "--out", str(out)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert {"kws_nano33.ino", "kws_frontend.cpp", "kws_model_data.cpp", "sketch.yaml"} <= {p.name for p in out.iterdir()}


def third_party_imports() -> set[str]:
    """Top-level names of the modules kws's code imports that are not kws's own or the standard library's."""
    names = set()
    for path in (REPO / "kws").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names.add(node.module.split(".")[0])
    return {n for n in names if n != "kws" and n not in sys.stdlib_module_names}


def test_every_import_is_declared():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=!~ \[;]", d)[0].lower().replace("_", "-")
                for d in project["dependencies"] + sum(project["optional-dependencies"].values(), [])}
    distributions = importlib.metadata.packages_distributions()

    def distributions_of(name: str) -> list[str]:
        """The distributions providing an import; for a wheel with an empty top_level.txt (praat-parselmouth's one
        extension module), the one whose files hold the module."""
        if name in distributions:
            return distributions[name]
        origin = Path(importlib.util.find_spec(name).origin).name
        return [d.metadata["Name"] for d in importlib.metadata.distributions() if origin in map(str, d.files or [])]

    imports = third_party_imports()
    assert {"numpy", "flatbuffers", "tensorflow"} <= imports
    undeclared = {name: distributions_of(name) for name in imports
                  if not {d.lower().replace("_", "-") for d in distributions_of(name)} & declared}
    assert undeclared == {}
