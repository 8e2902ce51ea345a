"""A Jinja2 sandbox with a render budget: organisations edit their templates, and no template may hang
the sender or exhaust its memory.

Jinja's SandboxedEnvironment keeps a template away from Python's internals, not from work: nested
`range(100000)` loops, `'a' * 3000000000`, `'%999999999s' % x` or a string doubled in a loop all run.
Here:
- every operation that can build a large value checks the size of what it would build first
  (`*`, `**`, `+`, `%`, `~`, `str.format`, the widening string methods and filters), against MAX_SIZE;
- everything a render writes, in every buffer (macros, `set` blocks, loops), counts against MAX_OUTPUT;
- a wall-clock deadline is checked by every loop (every TICKS_PER_CHECK items), every call (macros
  included), every filter and every output: Jinja has no other way to repeat work. No thread and no
  signal, so it works the same in a cron job, a Celery worker or a thread pool, and leaves nothing
  behind;
- lists, dicts and sets cannot be modified (ImmutableSandboxedEnvironment), `lipsum` is gone.
A render over budget raises RenderBudgetExceeded, a permanent DeliveryError: the message fails with
the reason and the worker goes on with the next one.

What stays outside the budget: a single C-level operation on values within the caps (comparing two
deeply nested structures made of literals, for instance) cannot be interrupted.
"""

from __future__ import annotations

import operator
import re
import string
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

from relance.channels.base import DeliveryError

MAX_SIZE = 1_000_000  # characters (or items) one operation may build
MAX_OUTPUT = 2_000_000  # characters one render may write, all buffers counted
MAX_INT_BITS = 4096  # an integer of 1,233 digits: far beyond any amount
MAX_SECONDS = 2.0
TICKS_PER_CHECK = 256  # loop items between two looks at the clock

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")
# str methods whose result can be far larger than their string.
_WIDENING = {"center", "ljust", "rjust", "zfill", "expandtabs", "replace", "join", "format", "format_map"}


class RenderBudgetExceeded(DeliveryError):
    """A template asked for more time, memory or output than a message may take."""

    def __init__(self, reason: str):
        super().__init__(f"modèle refusé : {reason}", permanent=True)
        self.reason = reason


@dataclass
class _Budget:
    deadline: float
    seconds: float
    output_left: int
    ticks: int = 0

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderBudgetExceeded(f"rendu trop long (plus de {self.seconds:g} s)")


_current: ContextVar[_Budget | None] = ContextVar("relance_render_budget", default=None)


def _too_big(what: str, size: int | float) -> RenderBudgetExceeded:
    return RenderBudgetExceeded(
        f"{what} de {size:,.0f} caractères, au-delà de la limite de {MAX_SIZE:,}".replace(",", " "))


def _tick() -> None:
    """A look at the clock from Python code the template calls (filters, methods): not traced."""
    current = _current.get()
    if current is not None:
        current.check_time()


def weight(value: Any, limit: int = MAX_SIZE) -> int:
    """Roughly how many characters `value` makes as text; stops counting once past `limit`."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + len(item)
            stack.extend(item)
        elif isinstance(item, dict):
            total += 2 + len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, Namespace):
            stack.append(object.__getattribute__(item, "_Namespace__attrs"))
        elif isinstance(item, int) and not isinstance(item, bool) and item.bit_length() > 64:
            total += item.bit_length() // 3
        else:
            total += 8
        if total > limit:
            break
    return total


def checked(value: Any, what: str = "valeur affichée") -> Any:
    """`value`, when it is within MAX_SIZE as text."""
    size = weight(value)
    if size > MAX_SIZE:
        raise _too_big(what, size)
    return value


def _check_int(value: int) -> int:
    if value.bit_length() > MAX_INT_BITS:
        raise RenderBudgetExceeded(f"nombre trop grand (plus de {MAX_INT_BITS} bits)")
    return value


def _check_format_spec(spec: str) -> None:
    if "{" in spec or "*" in spec:
        raise RenderBudgetExceeded(f"format dynamique refusé : {spec!r}")
    for number in re.findall(r"\d+", spec):
        if int(number) > MAX_SIZE:
            raise _too_big("format", int(number))


def check_percent_format(text: str) -> None:
    """Refuse a printf-style format whose width or precision is huge or given at run time (`*`)."""
    for width, precision in _PERCENT_SPEC.findall(text):
        for part in (width, precision):
            if part == "*":
                raise RenderBudgetExceeded("largeur de format « * » refusée")
            if part and int(part) > MAX_SIZE:
                raise _too_big("format", int(part))


def check_brace_format(text: str) -> None:
    """Refuse a str.format pattern with a huge width or a nested (run-time) one."""
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format will say what is wrong
    for _literal, _field, spec, _conversion in fields:
        if spec:
            _check_format_spec(spec)


def _percent(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        check_percent_format(left)
        checked(right, "argument de format")
    return checked(operator.mod(left, right), "texte formaté")


def _times(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise RenderBudgetExceeded(f"nombre trop grand (plus de {MAX_INT_BITS} bits)")
        return left * right
    for seq, n in ((left, right), (right, left)):
        if isinstance(n, int) and isinstance(seq, (str, list, tuple)):
            size = weight(seq) * max(n, 0)
            if size > MAX_SIZE:
                raise _too_big("texte ou liste répété", size)
    return left * right


def _power(left: Any, right: Any) -> Any:
    whole = isinstance(left, int) and isinstance(right, int)
    if whole and right > 0 and max(left.bit_length(), 1) * right > MAX_INT_BITS:
        raise RenderBudgetExceeded(f"puissance trop grande (plus de {MAX_INT_BITS} bits)")
    return left**right


def _plus(left: Any, right: Any) -> Any:
    if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
        size = weight(left) + weight(right)
        if size > MAX_SIZE:
            raise _too_big("concaténation", size)
    result = left + right
    return _check_int(result) if isinstance(result, int) else result


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {"*": _times, "**": _power, "+": _plus, "%": _percent}


def _widened_size(size: int, method: str, args: tuple, kwargs: dict) -> int:
    """An upper bound of the size of value.<method>(*args) for a value of `size` characters: what the
    widening methods and filters can make (a width, or a string put between characters or lines)."""
    values = [*args, *kwargs.values()]
    ints = sum(v for v in values if isinstance(v, int) and not isinstance(v, bool))
    strings = sum(weight(v) for v in values if not isinstance(v, int))
    if method == "expandtabs":
        return size * max(ints, 1)
    return size + ints + (size + 1) * strings


def _filter(name: str, func: Callable) -> Callable:
    """A filter that refuses oversized input, and widening arguments (center(3000000000), indent...)."""

    @wraps(func)
    def budgeted(*args: Any, **kwargs: Any) -> Any:
        _tick()
        for arg in (*args, *kwargs.values()):
            if not _is_context(arg):
                checked(arg, f"argument du filtre « {name} »")
        if name in FILTER_WIDENING:
            first = next((i for i, a in enumerate(args) if not _is_context(a)), len(args))
            value, rest = (args[first], args[first + 1 :]) if first < len(args) else ("", ())
            if name == "format" and isinstance(value, str):
                check_percent_format(value)
            size = _widened_size(weight(value), name, rest, kwargs)
            if size > MAX_SIZE:
                raise _too_big(f"résultat du filtre « {name} »", size)
        return checked(func(*args, **kwargs), f"résultat du filtre « {name} »")

    return budgeted


FILTER_WIDENING = {"center", "indent", "wordwrap", "replace", "join", "format", "truncate", "batch", "slice"}


def _is_context(value: Any) -> bool:
    # Filters marked pass_context / pass_environment / pass_eval_context get Jinja's own objects first.
    return isinstance(value, (Context, EvalContext, BudgetedSandbox))


class _BudgetedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with every output and every `~` going through the budget."""

    def _output_const_repr(self, group) -> str:
        return f"environment.spend_output({super()._output_const_repr(group)})"

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize) -> None:
        self.write("environment.spend_output(")
        super()._output_child_pre(node, frame, finalize)
        self.write("environment.checked(")

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize) -> None:
        self.write(")")
        super()._output_child_post(node, frame, finalize)
        self.write(")")

    def visit_For(self, node: nodes.For, frame: Frame) -> None:  # noqa: N802 - Jinja's visitor names
        # `for x in environment.budget_iter(...)`: every loop looks at the clock as it goes.
        node.iter = nodes.Call(nodes.EnvironmentAttribute("budget_iter"), [node.iter], [], None, None,
                               lineno=node.iter.lineno)
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:  # noqa: N802
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.checked_join({join}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class BudgetedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox of relance's message templates (see the module's docstring)."""

    code_generator_class = _BudgetedCodeGenerator
    intercepted_binops = frozenset(_BINOPS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals.pop("lipsum", None)
        self.filters = _BudgetedFilters(self.filters)

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        return _BINOPS[operator](left, right)

    def call(__self, __context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja's signature
        _tick()
        for arg in (*args, *kwargs.values()):
            checked(arg, "argument")
        name = getattr(__obj, "__name__", "")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and name in _WIDENING:
            size = _widened_size(len(owner), name, args, kwargs)
            if size > MAX_SIZE:
                raise _too_big(f"résultat de « {name} »", size)
        return checked(super().call(__context, __obj, *args, **kwargs), f"résultat de « {name or 'appel'} »")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        pattern = value.__self__

        def budgeted(*args: Any, **kwargs: Any) -> str:
            check_brace_format(pattern)
            for arg in (*args, *kwargs.values()):
                checked(arg, "argument de format")
            return checked(wrapper(*args, **kwargs), "texte formaté")

        return budgeted

    # Called from the compiled templates (see _BudgetedCodeGenerator).
    checked = staticmethod(checked)

    @staticmethod
    def budget_iter(iterable: Any) -> Any:
        current = _current.get()
        return iterable if current is None else _ticking(iterable, current)

    @staticmethod
    def checked_join(join: Callable, parts: tuple) -> str:
        size = sum(weight(part) for part in parts)
        if size > MAX_SIZE:
            raise _too_big("concaténation", size)
        return join(parts)

    @staticmethod
    def spend_output(text: str) -> str:
        current = _current.get()
        if current is not None:
            current.output_left -= len(text)
            if current.output_left < 0:
                raise RenderBudgetExceeded(f"texte produit trop long (plus de {MAX_OUTPUT:,} caractères)"
                                           .replace(",", " "))
            current.check_time()
        return text


def _ticking(iterable: Any, current: _Budget) -> Iterator[Any]:
    for n, item in enumerate(iterable):
        if n % TICKS_PER_CHECK == 0:
            current.check_time()
        yield item


class _BudgetedFilters(dict):
    """The environment's filters, each wrapped by _filter when it is looked up (so that filters added
    after the environment is made, e.g. money and date, are budgeted too)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._wrapped: dict[tuple[str, Callable], Callable] = {}

    def __getitem__(self, name: str) -> Callable:
        func = super().__getitem__(name)
        key = (name, func)
        if key not in self._wrapped:
            self._wrapped[key] = _filter(name, func)
        return self._wrapped[key]

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default  # noqa: SIM401 - self[name] wraps the filter


@contextmanager
def budget(seconds: float = MAX_SECONDS, output: int = MAX_OUTPUT) -> Iterator[_Budget]:
    """Run a render within `seconds` and `output` characters; RenderBudgetExceeded otherwise.

    RecursionError (a macro calling itself) and MemoryError become RenderBudgetExceeded as well.
    """
    current = _Budget(deadline=time.monotonic() + seconds, seconds=seconds, output_left=output)
    token = _current.set(current)

    try:
        yield current
    except RecursionError:
        raise RenderBudgetExceeded("récursion trop profonde (une macro qui s'appelle elle-même ?)") from None
    except MemoryError:
        raise RenderBudgetExceeded("mémoire épuisée") from None
    finally:
        _current.reset(token)
