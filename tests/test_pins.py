"""One source of truth for versions: requirements.in (direct dependencies, pinned) → requirements.lock
(`make lock`); the conda environments (envs/*.yaml) and the Dockerfile must agree with it.

Parses the files only (no network, no installs). Each check is a function of file text, so the negative
tests below feed it modified copies and assert it reports the mismatch.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;,]+)$")
# The python3 each Debian release ships (the Dockerfile's base decides the container's Python).
DEBIAN_PYTHON = {"bullseye": "3.9", "bookworm": "3.11", "trixie": "3.13"}


def canon(name: str) -> str:
    """PEP 503 name: `PyYAML`, `pyyaml` and `py_yaml` are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


def release(version: str) -> str:
    """A version without its local label: torch 2.13.0+cpu and 2.13.0+cu128 are builds of 2.13.0."""
    return version.split("+", 1)[0]


def parse_pins(text: str, where: str) -> dict[str, str]:
    """`name==version` lines → {canonical name: version}; anything else that installs is an error."""
    pins: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "--")):
            continue
        m = PIN.match(line)
        if not m:
            raise ValueError(f"{where}: not an exact pin: {raw!r}")
        pins[canon(m[1])] = m[2]
    return pins


def compare(
    expected: dict[str, str],
    actual: dict[str, str],
    where: str,
    *,
    extra_ok: bool,
    missing_ok: bool,
    source: str = "requirements.in",
) -> list[str]:
    """Every disagreement between two pin sets, one readable line each (empty: they agree)."""
    problems = [
        f"{where}: {name}=={actual[name]} but {source} has {name}=={expected[name]}"
        for name in sorted(expected.keys() & actual.keys())
        if release(actual[name]) != release(expected[name])
    ]
    if not extra_ok:
        extra = sorted(actual.keys() - expected.keys())
        problems += [f"{where}: pins {n}=={actual[n]}, which {source} does not" for n in extra]
    if not missing_ok:
        missing = sorted(expected.keys() - actual.keys())
        problems += [f"{where}: lacks {n}=={expected[n]} of {source}" for n in missing]
    return problems


def check_lock(requirements_in: str, requirements_lock: str) -> list[str]:
    """requirements.lock resolves every direct pin of requirements.in to that same version."""
    return compare(
        parse_pins(requirements_in, "requirements.in"),
        parse_pins(requirements_lock, "requirements.lock"),
        "requirements.lock",
        extra_ok=True,
        missing_ok=False,
    )


def python_of_conda(spec: str) -> str | None:
    m = re.fullmatch(r"python\s*==?\s*(\d+\.\d+)(?:\.\*)?", spec.strip())
    return m[1] if m else None


def check_env(text: str, direct: dict[str, str], python: str, where: str) -> list[str]:
    """A conda environment: python=<python>, and a pip: section with exactly requirements.in's pins."""
    env = yaml.safe_load(text)
    deps = env.get("dependencies") or []
    problems: list[str] = []
    pythons = [d for d in deps if isinstance(d, str) and re.match(r"python\b(?!-)", d)]
    if [python_of_conda(d) for d in pythons] != [python]:
        problems.append(f"{where}: python should be pinned once as python={python}, found {pythons or 'none'}")
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    if len(pip_sections) != 1:
        return [*problems, f"{where}: needs exactly one pip: section with requirements.in's pins"]
    try:
        pins = parse_pins("\n".join(pip_sections[0]), f"{where} pip:")
    except ValueError as err:
        return [*problems, str(err)]
    return problems + compare(direct, pins, where, extra_ok=False, missing_ok=False)


def dockerfile_python(text: str) -> str | None:
    """The Python of the Dockerfile's default base image (python:3.X-… or a Debian release's python3)."""
    m = re.search(r"^\s*ARG\s+BASE=(\S+)", text, re.M) or re.search(r"^\s*FROM\s+(\S+)", text, re.M)
    if not m:
        return None
    image = m[1]
    if py := re.search(r"python:(\d+\.\d+)", image):
        return py[1]
    return next((v for codename, v in DEBIAN_PYTHON.items() if codename in image), None)


def check_dockerfile(text: str, lock: dict[str, str], python: str, setup_sh: str) -> list[str]:
    """The image installs from requirements.lock (through tools/setup.sh, the README's set-up) on the same
    Python, and any version it names itself agrees with the lock."""
    problems: list[str] = []
    if (found := dockerfile_python(text)) != python:
        problems.append(f"Dockerfile: base image gives Python {found}, the environments pin {python}")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    named = {canon(n): v for n, v in re.findall(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\"',;\\]+)", code)}
    problems += compare(lock, named, "Dockerfile", extra_ok=False, missing_ok=True, source="requirements.lock")
    if "requirements.lock" not in code:
        problems.append("Dockerfile: does not bring requirements.lock into the image")
    runs_setup = any(
        re.search(r"(?:^|[\s;&|])(?:\./)?tools/setup\.sh\b", line) and not re.match(r"\s*(?:COPY|ADD)\b", line)
        for line in code.splitlines()
    )
    via_setup = runs_setup and re.search(r"-r\s+requirements\.lock", setup_sh)
    if not (via_setup or re.search(r"pip\S*\s+install\b[^\n]*-r\s+requirements\.lock", code)):
        problems.append("Dockerfile: installs neither through tools/setup.sh nor pip install -r requirements.lock")
    return problems


# --- the project's files ---------------------------------------------------------------------------------


def read(rel: str) -> str:
    return (ROOT / rel).read_text()


@pytest.fixture(scope="module")
def direct() -> dict[str, str]:
    return parse_pins(read("requirements.in"), "requirements.in")


@pytest.fixture(scope="module")
def lock() -> dict[str, str]:
    return parse_pins(read("requirements.lock"), "requirements.lock")


@pytest.fixture(scope="module")
def python() -> str:
    """The one Python minor: the environments' (checked against the Dockerfile and pyproject below)."""
    return "3.11"


ENVS = sorted(ROOT.glob("envs/*.yaml")) + sorted(ROOT.glob("envs/*.yml"))


def test_requirements_in_pins_every_direct_dependency_exactly(direct):
    assert {"torch", "ffcv", "numpy", "snakemake", "dvc"} <= direct.keys()
    parse_pins(read("requirements-oracle.txt"), "requirements-oracle.txt")  # the oracle is pinned too


def test_lock_agrees_with_requirements_in():
    assert check_lock(read("requirements.in"), read("requirements.lock")) == []


def test_there_is_a_stage_environment():
    assert ROOT / "envs" / "jessl.yaml" in ENVS


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.name)
def test_conda_environment_matches_requirements_in(env, direct, python):
    # the data-only packages (requirements-data.txt) are direct needs of the stages too
    data = parse_pins(read("requirements-data.txt"), "requirements-data.txt")
    assert check_env(env.read_text(), {**direct, **data}, python, f"envs/{env.name}") == []


def test_dockerfile_matches_lock_and_python(lock, python):
    assert check_dockerfile(read("Dockerfile"), lock, python, read("tools/setup.sh")) == []


def test_python_minor_satisfies_pyproject(python):
    requires = re.search(r'requires-python\s*=\s*">=\s*(\d+)\.(\d+)"', read("pyproject.toml"))
    assert requires, "pyproject.toml: requires-python >=X.Y expected"
    assert tuple(map(int, python.split("."))) >= (int(requires[1]), int(requires[2]))


# --- the same checks catch a disagreement (modified copies) -----------------------------------------------


def test_negative_env_with_a_bumped_missing_or_extra_pin(direct, python):
    direct = {**direct, **parse_pins(read("requirements-data.txt"), "requirements-data.txt")}
    text = read("envs/jessl.yaml")
    bumped = text.replace(f"torch=={direct['torch']}", "torch==2.12.1")
    assert check_env(bumped, direct, python, "env") == [
        f"env: torch==2.12.1 but requirements.in has torch=={direct['torch']}"
    ]
    dropped = "\n".join(line for line in text.splitlines() if "numpy==" not in line)
    assert check_env(dropped, direct, python, "env") == [f"env: lacks numpy=={direct['numpy']} of requirements.in"]
    extra = text.replace(f"- torch=={direct['torch']}", f"- torch=={direct['torch']}\n      - requests==2.0.0")
    assert check_env(extra, direct, python, "env") == ["env: pins requests==2.0.0, which requirements.in does not"]
    loose = text.replace(f"numpy=={direct['numpy']}", "numpy>=2")
    assert any("not an exact pin" in p for p in check_env(loose, direct, python, "env"))
    other_python = re.sub(r"python=3\.\d+", "python=3.12", text)
    assert any("python=3.11" in p for p in check_env(other_python, direct, python, "env"))


def test_negative_lock_that_drifted_from_requirements_in(direct):
    lock_text = read("requirements.lock")
    drifted = re.sub(r"(?im)^numpy==\S+$", "numpy==1.26.4", lock_text)
    assert check_lock(read("requirements.in"), drifted) == [
        f"requirements.lock: numpy==1.26.4 but requirements.in has numpy=={direct['numpy']}"
    ]
    missing = re.sub(r"(?im)^ffcv==\S+\n", "", lock_text)
    assert check_lock(read("requirements.in"), missing) == [
        f"requirements.lock: lacks ffcv=={direct['ffcv']} of requirements.in"
    ]
    # A CPU/CUDA build of the same release is the same pin.
    local = re.sub(r"(?im)^torch==(\S+)$", r"torch==\1+cpu", lock_text)
    assert check_lock(read("requirements.in"), local) == []


def test_negative_dockerfile_with_its_own_pin_or_another_python(lock, python):
    text, setup = read("Dockerfile"), read("tools/setup.sh")
    pinned = text.replace("CMD [", f"RUN pip install numpy==1.26.4 'torch=={lock['torch']}'\nCMD [", 1)
    assert check_dockerfile(pinned, lock, python, setup) == [
        f"Dockerfile: numpy==1.26.4 but requirements.lock has numpy=={lock['numpy']}"
    ]
    trixie = re.sub(r"bookworm", "trixie", text)
    assert check_dockerfile(trixie, lock, python, setup) == [
        "Dockerfile: base image gives Python 3.13, the environments pin 3.11"
    ]
    bypass = text.replace("bash tools/setup.sh /opt/venv", "pip install -r requirements.in")
    assert check_dockerfile(bypass, lock, python, setup) == [
        "Dockerfile: installs neither through tools/setup.sh nor pip install -r requirements.lock"
    ]
