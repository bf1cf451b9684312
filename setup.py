"""Build glue: ship the top-level templates/ and migrations/ inside the package.

The project keeps ``templates/`` and ``migrations/`` beside ``apprentice/`` so they
are easy to find and override; in the wheel they become ``apprentice/templates``
and ``apprentice/migrations``. ``apprentice.resources`` finds them either way.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
MAPPED = {"templates": "apprentice.templates", "migrations": "apprentice.migrations"}


def mapped_packages():
    """Every folder below a mapped top-level folder, as a data package."""
    packages, package_dir, package_data = [], {}, {}
    for folder, package in MAPPED.items():
        for path in [HERE / folder, *sorted(p for p in (HERE / folder).rglob("*") if p.is_dir())]:
            if path.name == "__pycache__":
                continue
            rel = path.relative_to(HERE / folder)
            name = package if rel == Path(".") else f"{package}.{'.'.join(rel.parts)}"
            packages.append(name)
            package_dir[name] = str(path.relative_to(HERE))
            package_data[name] = ["*.html", "*.txt", "*.mako", "*.py", "*.ini", "*.md"]
    return packages, package_dir, package_data


packages, package_dir, package_data = mapped_packages()
setup(
    packages=find_packages(include=["apprentice", "apprentice.*"]) + packages,
    package_dir=package_dir,
    package_data={
        "apprentice": ["static/*", "static/**/*", "data/*"],
        "apprentice.competencies": ["data/*"],
        "apprentice.kb": ["data/*", "data/demo_procedures/*"],
        "apprentice.portfolios": ["schema/*.json"],
        "apprentice.credentials": ["schema/*.json", "schema/*.md"],
        **package_data,
    },
)
