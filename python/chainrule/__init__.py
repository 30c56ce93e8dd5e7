"""chainrule from Python and Jupyter: symbolic backpropagation, explained step by step.

>>> import chainrule
>>> net = chainrule.load()                       # the built-in example network
>>> d = net.derive(wrt="w3")
>>> d.derivatives[0].result
'-2(y - a3)*a3(1 - a3)*a2'

Every result keeps the library's own result: ``to_dict()`` is the JSON document that
``chainrule ... --format json`` prints, its fields are attributes, and in a notebook it shows
itself as the same document ``--format html`` writes (math as MathML, nothing loaded from the
network). Values go to the library as numbers by name (dicts of floats, lists and NumPy
arrays); this layer only writes training columns as CSV; all the work is done by the Rust
library.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from . import _native
from ._native import BUILTIN_EXAMPLE, BUILTIN_NAME, ChainruleError

__all__ = [
    "BUILTIN_EXAMPLE",
    "BUILTIN_NAME",
    "Record",
    "ChainruleError",
    "Network",
    "Result",
    "Graph",
    "load",
    "graph",
]

Values = Union[None, str, Mapping[str, Any]]


def _point(at: Values) -> Union[None, str, dict]:
    """The values as the library takes them: a dict of numbers, lists and NumPy arrays by
    name (any mapping becomes one), or ``name=value`` text as the command line reads it."""
    if at is None or isinstance(at, (str, dict)):
        return at
    if isinstance(at, Mapping):
        return dict(at)
    raise TypeError("at must be a mapping of name to value, or name=value text")


def _names(wrt: Union[None, str, Iterable[str]]) -> Optional[list]:
    if wrt is None:
        return None
    if isinstance(wrt, str):
        return [w.strip() for w in wrt.split(",")]
    return list(wrt)


def _csv(data: Any) -> Optional[str]:
    """Training examples as CSV text: CSV text itself, a path to a CSV file, a mapping of
    columns (lists or NumPy arrays), or a pandas DataFrame."""
    if data is None:
        return None
    if isinstance(data, os.PathLike):
        with open(data, encoding="utf-8") as f:
            return f.read()
    if isinstance(data, str):
        if "\n" not in data and os.path.isfile(data):
            with open(data, encoding="utf-8") as f:
                return f.read()
        return data
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # a pandas DataFrame
        data = {c: data[c] for c in data.columns}
    if isinstance(data, Mapping):
        names = list(data)
        columns = [list(data[n].tolist() if hasattr(data[n], "tolist") else data[n]) for n in names]
        if len({len(c) for c in columns}) > 1:
            raise ValueError("every column of the data must have the same length")
        rows = [",".join(repr(float(v)) for v in row) for row in zip(*columns)]
        return "\n".join([",".join(names)] + rows) + "\n"
    raise TypeError("data must be CSV text, a path, a mapping of columns or a DataFrame")


def _optimizer(name: str, momentum: Optional[float], beta1: Optional[float],
               beta2: Optional[float], eps: Optional[float], weight_decay: Optional[float]) -> dict:
    """The optimizer as the library takes it; a hyperparameter left ``None`` keeps PyTorch's
    default."""
    return {"name": name, "momentum": momentum, "beta1": beta1, "beta2": beta2, "eps": eps,
            "weight_decay": weight_decay}


def _array(values: Sequence[float]):
    """A NumPy array when NumPy is installed, a list otherwise."""
    try:
        import numpy
    except ImportError:  # NumPy is optional
        return list(values)
    return numpy.asarray(values, dtype=float)


class Record(dict):
    """One object of a result's JSON document: a dict whose fields are also attributes
    (``r.verdict`` is ``r["verdict"]``); nested objects are Records too."""

    def __getattr__(self, name: str) -> Any:
        if name in self:
            return _wrap(dict.__getitem__(self, name))
        raise AttributeError(name)

    def __getitem__(self, name: str) -> Any:
        return _wrap(dict.__getitem__(self, name))

    def __dir__(self):
        return sorted(set(self) | set(super().__dir__()))

    def to_dict(self) -> dict:
        """The plain JSON value (dicts and lists all the way down)."""
        return json.loads(json.dumps(self))


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return Record(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


class Result:
    """A command's result: ``derive``, ``eval``, ``check``, ``step``, ``train`` or ``layers``
    (see ``command``). The fields of its JSON document are attributes (and keys);
    ``render(format)`` writes it as text, Markdown, LaTeX, JSON or HTML. Nothing is written
    until it is asked for, so a call costs what the library's call costs."""

    def __init__(self, outcome: "_native.Outcome"):
        self._outcome = outcome
        self._document: Optional[Record] = None

    def _fields(self) -> Record:
        if self._document is None:
            self._document = Record(json.loads(self._outcome.render("json")))
        return self._document

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._fields(), name)

    def __getitem__(self, name: str) -> Any:
        return self._fields()[name]

    def __contains__(self, name: str) -> bool:
        return name in self._fields()

    def __dir__(self):
        return sorted(set(self._fields()) | set(super().__dir__()))

    def to_dict(self) -> dict:
        """The JSON document ``--format json`` prints, as plain dicts and lists."""
        return self._fields().to_dict()

    @property
    def command(self) -> str:
        return self._outcome.command

    def render(self, format: str = "text", standalone: bool = False) -> str:
        """The document: ``text``, ``markdown``, ``latex``, ``json``, ``html`` (a page) or
        ``html-fragment`` (its body); ``standalone`` makes LaTeX a whole document."""
        return self._outcome.render(format, standalone)

    def __str__(self) -> str:
        return self.render("text")

    def __repr__(self) -> str:
        return f"<chainrule {self.command} result>"

    def _repr_html_(self) -> str:
        return self.render("html-fragment")

    def _repr_markdown_(self) -> str:
        return self.render("markdown")

    def _repr_latex_(self) -> str:
        return self.render("latex")

    # Conveniences where the JSON's shape is not what Python code wants.

    @property
    def all_correct(self) -> Optional[bool]:
        """For ``check``: whether every claim is correct (the command line's exit code 0)."""
        return self._outcome.all_correct

    @property
    def costs(self):
        """For ``train``: the mean cost after each epoch (a NumPy array when NumPy is
        installed); for ``step``: the cost at the start of each step."""
        if self.command == "train":
            return _array([e["cost"] for e in self._fields().to_dict()["epochs"]])
        if self.command == "step":
            return _array([s["cost"] for s in self._fields().to_dict()["steps"]])
        raise AttributeError("costs belong to train and step results")


class Graph:
    """The network's picture (SVG), shown inline in a notebook."""

    def __init__(self, svg: str):
        self.svg = svg

    def _repr_svg_(self) -> str:
        return self.svg

    def __str__(self) -> str:
        return self.svg


class Network:
    """A loaded program (see :func:`load`)."""

    def __init__(self, native: "_native.Network"):
        self._native = native

    @property
    def source(self) -> str:
        """The program's text."""
        return self._native.source

    @property
    def params(self) -> list:
        """The parameters' names, in program order."""
        return self._native.params

    @property
    def leaves(self) -> list:
        """The names that take values (inputs, targets, parameters), in program order."""
        return self._native.leaves

    def derive(self, wrt=None, style: str = "chain", expand: bool = False, steps: bool = True) -> Result:
        """The derivatives of the cost with respect to ``wrt`` (a name, ``"dY/dX"``, or a list
        of them; every parameter when omitted), step by step."""
        return Result(self._native.derive(_names(wrt), style, expand, steps))

    def eval(self, at: Values = None, wrt=None, exprs: Sequence[str] = (), stable: bool = False,
             init: Optional[str] = None, seed: int = 1) -> Result:
        """Values, the cost and the derivatives at ``at`` (a dict of name → number, list or
        NumPy array; an entry may be named alone, ``"W1[2, 1]"``),
        in float64 and as a high-precision reference, with every numerical warning.
        ``init`` ("zeros", "random", "xavier", "he") fills the parameters ``at`` leaves out."""
        return Result(self._native.evaluate(_point(at), _names(wrt), list(exprs), stable, init, seed))

    def check(self, claims: Union[str, Sequence[str]], at: Values = None,
              optimizer: Optional[str] = None) -> Result:
        """Judges one claim or several (``"dC/dw3 = ..."``, ``"a3 = 0.5"``, an update rule,
        plain or LaTeX); ``at`` gives the point, the learning rate ``eta`` included. With an
        ``optimizer`` ("sgd", "momentum", "nesterov", "rmsprop", "adam"), every update rule is
        judged against that optimizer's update, whatever names it uses."""
        if isinstance(claims, str):
            claims = [claims]
        return Result(self._native.check(list(claims), _point(at), optimizer))

    def step(self, at: Values = None, lr: float = 0.5, steps: int = 1, init: Optional[str] = None,
             seed: int = 1, optimizer: str = "sgd", momentum: Optional[float] = None,
             beta1: Optional[float] = None, beta2: Optional[float] = None,
             eps: Optional[float] = None, weight_decay: Optional[float] = None) -> Result:
        """``steps`` steps from ``at``: gradient descent θ ← θ − η ∂C/∂θ, or the update of
        ``optimizer`` ("momentum", "nesterov", "rmsprop", "adam"; PyTorch's rules), its state
        in each step's ``state``. The hyperparameters keep PyTorch's defaults unless given:
        ``momentum`` μ = 0.9, ``beta1`` = 0.9, ``beta2`` = 0.999 (RMSProp's smoothing
        constant, 0.99), ``eps`` = 1e-8, ``weight_decay`` λ = 0 (decoupled, biases spared)."""
        return Result(self._native.step(
            _point(at), lr, steps, init, seed,
            _optimizer(optimizer, momentum, beta1, beta2, eps, weight_decay)))

    def train(self, data: Any = None, at: Values = None, epochs: int = 1000, lr: float = 0.5,
              batch: bool = False, shuffle: bool = False, ascent: bool = False,
              init: str = "random", seed: int = 1, optimizer: str = "sgd",
              momentum: Optional[float] = None, beta1: Optional[float] = None,
              beta2: Optional[float] = None, eps: Optional[float] = None,
              weight_decay: Optional[float] = None) -> Result:
        """Trains on ``data`` (a mapping of columns, a DataFrame, CSV text or a CSV path; the
        program's ``data`` block when omitted), moving the parameters by ``optimizer``'s update
        with the hyperparameters as :meth:`step` takes them. ``at`` gives starting values of
        parameters, and values of inputs or targets the data has no column for (an l2
        network's ``lambda`` and ``n``), held for every example."""
        return Result(self._native.train(
            _csv(data), _point(at), epochs, lr, batch, shuffle, ascent, init, seed,
            _optimizer(optimizer, momentum, beta1, beta2, eps, weight_decay)))

    def layers(self) -> Optional[Result]:
        """BP1–BP4 for a network written in the ``network`` shorthand; None otherwise."""
        outcome = self._native.layers()
        return None if outcome is None else Result(outcome)

    def expand(self) -> str:
        """The straight-line program a ``network`` shorthand stands for."""
        return self._native.expand()

    def __repr__(self) -> str:
        return f"<chainrule network: {len(self.params)} parameters>"


def load(source: Union[None, str, "os.PathLike[str]"] = None, name: Optional[str] = None) -> Network:
    """Reads a program: its text, a path to a ``.bp`` file, or nothing for the built-in
    example. Bad input raises :class:`ChainruleError` whose message points at the mistake."""
    if source is None:
        text, name = BUILTIN_EXAMPLE, name or BUILTIN_NAME
    elif isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source and os.path.isfile(source)
    ):
        with open(source, encoding="utf-8") as f:
            text = f.read()
        name = name or os.fspath(source)
    else:
        text, name = source, name or "<program>"
    return Network(_native.load(text, name))


def graph(network: Network, at: Values = None, highlight: Optional[str] = None) -> Graph:
    """The network's picture, shown inline in a notebook: values from ``at`` in the nodes, the
    paths from the parameter ``highlight`` to the cost highlighted."""
    return Graph(network._native.graph(_point(at), highlight))
