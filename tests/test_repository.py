"""The repository stands alone: nothing tracked refers to material beside it."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# spelled in parts so that this file does not match itself
OUTSIDE = (".." + "/shared", "shared" + "/benchdata", "SCIENCE" + ".md")


def test_no_tracked_file_refers_to_the_material_beside_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert len(tracked) > 50  # the listing worked: the repository has far more files than that
    offenders = []
    for name in tracked:
        path = ROOT / name
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        if any(mention in text for mention in OUTSIDE):
            offenders.append(name)
    assert offenders == []


def test_test_ids_are_stable_across_runs():
    """IDs name their parameters, not object addresses (which change from run to run)."""
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", str(ROOT / "tests")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    ids = [line for line in collected.splitlines() if "::" in line]
    assert len(ids) > 200
    assert [line for line in ids if " at 0x" in line or "object at" in line] == []


LAYERS = ("problem", "nlp", "solvers", "search", "run", "sweep")  # bottom up (docs/architecture.md)


def test_each_layer_of_ocp_imports_only_the_layers_below_it():
    import ast

    offenders = []
    for path in sorted((ROOT / "ocp").rglob("*.py")):
        parts = path.relative_to(ROOT / "ocp").parts
        layer = parts[0] if len(parts) > 1 else None
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                if name.split(".")[0] == "problems":
                    offenders.append(f"{path.name} imports {name} (ocp never imports problems)")
                target = name.split(".")[1] if name.startswith("ocp.") else None
                if layer in LAYERS and target in LAYERS and LAYERS.index(target) > LAYERS.index(layer):
                    offenders.append(f"ocp/{'/'.join(parts)} imports {name}")
    assert offenders == []
