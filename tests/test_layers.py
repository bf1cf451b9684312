"""The layers of the record: programmes (enrolments and the pure progress engine) at
the bottom, training (what is logged and signed, and which sign-offs stand) above it,
the record model (``apprentice.records``: the one read model, and the pages that read
it) above those and the learning statement it includes, the documents made from the
record (portfolios, reports, share links) above it, and the credentials issued from
the record on top. A lower layer never imports a higher one, directly or through any
other module: a module-level import graph of the package, function-level imports
included, is walked for a chain.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import apprentice

PACKAGE = Path(apprentice.__file__).parent

# Lowest first. Each layer may import the ones below it, and nothing above. Credentials
# read the record and add their part to a portfolio through portfolios.sections, so no
# document made from the record reaches them.
LAYERS = ("programmes", "training", "statements", "records",
          ("portfolios", "reports", "sharing"), "credentials")


def imported_modules(path: Path, root: Path = PACKAGE) -> set[str]:
    """Every name a file under ``root`` (the ``apprentice`` package) imports, anywhere
    in it (inside functions too), as dotted paths (``from a import b`` gives ``a`` and
    ``a.b``: ``b`` may be a module)."""
    parts = path.relative_to(root).with_suffix("").parts
    package = ".".join(("apprentice", *parts[:-1]))
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: from the file's own package, or one above it
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{module}" if module else base
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def module_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (importing ``a.b.c`` runs ``a`` and
    ``a.b`` too)."""
    files = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join(("apprentice", *parts))] = path

    def modules_of(name: str) -> set[str]:
        pieces = name.split(".")
        return {".".join(pieces[:k]) for k in range(2, len(pieces) + 1)} & files.keys()

    return {module: {m for name in imported_modules(path, root) for m in modules_of(name)}
            - {module} for module, path in files.items()}


def feature_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def chain_to(graph: dict[str, set[str]], start: str, features: set[str]) -> list[str] | None:
    """The import chain from ``start`` to a module of ``features``, if there is one."""
    came_from: dict[str, str | None] = {start: None}
    todo = [start]
    while todo:
        module = todo.pop()
        for target in sorted(graph.get(module, ())):
            if target in came_from:
                continue
            came_from[target] = module
            if feature_of(target) in features:
                chain: list[str] = [target]
                while came_from[chain[-1]] is not None:
                    chain.append(came_from[chain[-1]])
                return chain[::-1]
            todo.append(target)
    return None


def features_of(layer) -> set[str]:
    return set(layer) if isinstance(layer, tuple) else {layer}


def above(layer: int) -> set[str]:
    return {f for higher in LAYERS[layer + 1:] for f in features_of(higher)}


@pytest.mark.parametrize("layer", range(len(LAYERS) - 1),
                         ids=[str(layer) for layer in LAYERS[:-1]])
def test_no_layer_reaches_a_layer_above_it(layer):
    graph = module_graph()
    features = features_of(LAYERS[layer])
    modules = [m for m in graph if feature_of(m) in features]
    assert {feature_of(m) for m in modules} == features  # each exists and is looked at
    chains = [" -> ".join(chain) for m in modules
              if (chain := chain_to(graph, m, above(layer)))]
    assert not chains, f"{LAYERS[layer]} reaches a layer above it:\n" + "\n".join(chains)


def test_the_record_model_sits_on_both_features():
    """The check sees real edges: the record reads training and programmes."""
    graph = module_graph()
    assert chain_to(graph, "apprentice.records.record", {"training"})
    assert chain_to(graph, "apprentice.records.record", {"programmes"})


def test_the_walk_finds_a_chain_through_another_package(tmp_path):
    """A lower package reaching up through a third one, in a function, relatively, or in
    a subpackage, is found."""
    root = tmp_path / "apprentice"
    for folder in ("programmes/deep", "training", "audit", "records"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for folder in ("", "programmes", "programmes/deep", "training", "audit", "records"):
        (root / folder / "__init__.py").write_text("", encoding="utf-8")
    (root / "programmes" / "services.py").write_text(
        "def f():\n    from apprentice.audit import trail\n", encoding="utf-8")
    (root / "audit" / "trail.py").write_text("from ..training import models\n",
                                             encoding="utf-8")
    (root / "training" / "models.py").write_text("", encoding="utf-8")
    (root / "programmes" / "deep" / "hidden.py").write_text(
        "from ...records import views\n", encoding="utf-8")
    (root / "records" / "views.py").write_text("", encoding="utf-8")
    graph = module_graph(root)
    assert chain_to(graph, "apprentice.programmes.services", {"training"}) == [
        "apprentice.programmes.services", "apprentice.audit.trail", "apprentice.training"]
    assert chain_to(graph, "apprentice.programmes.deep.hidden", {"records"}) == [
        "apprentice.programmes.deep.hidden", "apprentice.records"]
    assert chain_to(graph, "apprentice.training.models", {"programmes", "records"}) is None
