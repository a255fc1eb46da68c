"""Install size of tasknb per extra: fresh venvs, the wheel, ``pip install``, then ``du``.

    .venv/bin/python benchmarks/install_size.py            # base, notebook, local, notebook+local, all

Each venv is created without pip (so pip itself is not counted); the wheel is built once with
``pip wheel --no-deps`` and installed by this environment's pip (``--python``) from the
registry or pip's cache. Sizes are the site-packages directory (MB = 10**6 bytes) and the
number of distributions installed besides tasknb.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("", "notebook", "local", "notebook,local", "connector", "all")


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def measure(wheel: Path, extras: str, where: Path) -> tuple[float, int]:
    venv.EnvBuilder(with_pip=False).create(where)
    python = where / "bin" / "python"
    target = f"tasknb[{extras}] @ {wheel.as_uri()}" if extras else str(wheel)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    target], check=True, capture_output=True)
    (site,) = where.glob("lib/python*/site-packages")
    distributions = [p for p in site.glob("*.dist-info") if not p.name.startswith("tasknb-")]
    return _size(site) / 1e6, len(distributions)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tasknb-size-") as tmp:
        out = Path(tmp)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
                        str(out / "dist"), str(ROOT)], check=True, capture_output=True)
        (wheel,) = (out / "dist").glob("tasknb-*.whl")
        print(f"{'install':<32} {'site-packages':>14} {'distributions':>14}")
        for extras in VARIANTS:
            size, count = measure(wheel, extras, out / (extras.replace(",", "-") or "base"))
            label = f'tasknb[{extras}]' if extras else "tasknb"
            print(f"{label:<32} {size:>11.0f} MB {count:>14}")


if __name__ == "__main__":
    main()
