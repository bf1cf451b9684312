"""Find the folders that ship inside the wheel but live beside the package in a checkout."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The ``templates`` or ``migrations`` folder, installed or in a source checkout.

    In a wheel they are inside the package; in a checkout (editable install or
    plain source) they are top-level folders next to ``apprentice/``.
    """
    for candidate in (PACKAGE_DIR / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"apprentice cannot find its {name!r} folder")
