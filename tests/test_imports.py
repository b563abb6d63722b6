"""Imports inside sigjax run one way (issue 13, item 5): no module imports,
even lazily inside a function, a module that imports it back."""

import ast
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sigjax_modules() -> dict:
  """{dotted name: path} of every module of the sigjax package."""
  out = {}
  pkg = os.path.join(REPO, "sigjax")
  for d, _, files in os.walk(pkg):
    for f in files:
      if f.endswith(".py"):
        path = os.path.join(d, f)
        name = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
        out[name[:-len(".__init__")] if name.endswith(".__init__")
            else name] = path
  return out


def import_graph(modules: dict) -> dict:
  """{module: {sigjax modules it imports anywhere in its code}}."""
  graph = {m: set() for m in modules}
  for m, path in modules.items():
    with open(path) as f:
      tree = ast.parse(f.read(), path)
    package = m if path.endswith("__init__.py") else m.rpartition(".")[0]
    for node in ast.walk(tree):
      if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
      elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
          parts = package.split(".")
          parts = parts[:len(parts) - node.level + 1]
          base = ".".join(parts + ([base] if base else []))
        names = [f"{base}.{a.name}" for a in node.names] + [base]
      else:
        continue
      for name in names:
        if name in modules and name != m:
          graph[m].add(name)
  return graph


def cycles(graph: dict) -> list:
  """Strongly connected components with more than one module (Tarjan)."""
  index, low, stack, on, out = {}, {}, [], set(), []

  def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on.add(v)
    for w in graph[v]:
      if w not in index:
        visit(w)
        low[v] = min(low[v], low[w])
      elif w in on:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      comp = []
      while True:
        w = stack.pop()
        on.discard(w)
        comp.append(w)
        if w == v:
          break
      if len(comp) > 1:
        out.append(sorted(comp))

  for v in sorted(graph):
    if v not in index:
      visit(v)
  return out


def test_no_import_cycles():
  graph = import_graph(sigjax_modules())
  # The checker sees what it must: these imports exist.
  assert "sigjax.train" in graph["sigjax.train_loop"]
  assert "sigjax.ops.onednn" in graph["sigjax.models.layers"]
  assert "sigjax.errors" in graph["sigjax.datasets.cross_media"]
  assert cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
  graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
  assert cycles(graph) == [["a", "b", "c"]]


def test_moved_names_still_importable_where_they_were():
  from sigjax import data  # pylint: disable=import-outside-toplevel
  from sigjax import errors  # pylint: disable=import-outside-toplevel
  from sigjax.datasets import cross_media  # pylint: disable=import-outside-toplevel
  from sigjax.models import layers  # pylint: disable=import-outside-toplevel
  from sigjax.ops import geometry  # pylint: disable=import-outside-toplevel
  assert data.DataError is errors.DataError is cross_media.DataError
  assert layers.flip_io is geometry.flip_io
  assert layers.adjoint_conv_pads is geometry.adjoint_conv_pads
  assert layers.adjoint_conv_pads((8, 8), (5, 5), (2, 2)) == ((1, 2), (1, 2))
