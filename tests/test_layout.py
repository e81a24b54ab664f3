"""The package's imports run one way: no circle, and no module imports one of a layer above it (the run-time core
below the data, the data below the training package, the CLI on top); function-level and type-only imports count
too."""

import ast

from conftest import REPO

LAYERS = ("core", "data", "apps", "model", "cli")  # from the bottom


def layer(module: str) -> int:
    parts = module.split(".")
    if parts[1:2] in (["data"], ["model"]):
        return LAYERS.index(parts[1])
    apps = {"cli": "cli", "listen": "apps", "stream_eval": "apps", "firmware": "apps", "firmware_qemu": "apps"}
    return LAYERS.index(apps.get(parts[1] if len(parts) > 1 else "", "core"))


def imports() -> dict[str, set[str]]:
    """module -> the kws modules it imports, at any level of its code (`if TYPE_CHECKING:` blocks included)."""
    files = {".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): p
             for p in (REPO / "kws").rglob("*.py")}
    graph = {}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text())
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                name = ".".join(base + ([node.module] if node.module else []))
                targets |= {name} | {f"{name}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
        graph[module] = {t for t in targets if t in files and t != module}
    return graph


def test_no_import_runs_back_up():
    graph = imports()
    assert {"kws.runtime", "kws.detector", "kws.model.train"} <= set(graph)
    upward = [(m, t) for m, targets in graph.items() for t in targets if layer(t) > layer(m)]
    assert upward == []


def test_no_import_circle():
    graph = imports()
    state = {}

    def visit(module, path):
        state[module] = "open"
        for target in graph[module]:
            assert state.get(target) != "open", " -> ".join(path + [target])
            if target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [module])
