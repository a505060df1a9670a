"""Resource limits for rendering admin-written templates.

Jinja's sandbox blocks access to Python internals and caps ``range`` at ``MAX_RANGE``
(100 000), but a template can still burn CPU or memory: nested loops over ranges or over
a long variable, recursive macros, ``"x" * 10**9``, ``"x"|center(10**9)``, ``10 ** 10 ** 9``
or a format width of a billion. :class:`LimitedEnvironment` closes those holes without
threads (a Python thread cannot be stopped once it runs away):

- a wall-clock deadline, checked on every loop iteration (each ``for`` of the parsed
  template is rewritten to iterate through a guard), every call (macros included),
  every attribute or item lookup and every filter;
- an output cap: rendering is streamed and stops as soon as the text passes the limit;
- operators and filters that can allocate a huge value are checked *before* they run:
  ``*`` and ``**`` on big operands, ``%``/``format`` with huge widths, numeric filter
  arguments above the output cap, ``replace`` whose result would pass it.

Every breach raises :class:`RenderLimitExceeded` (a plain message, no Python internals)."""

from __future__ import annotations

import operator
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

DEFAULT_MAX_CHARS = 200_000
DEFAULT_TIMEOUT_S = 5.0  # generous: a loaded CI machine must not trip it on a real template
MAX_EXPONENT = 256
LOOP_GUARD = "_sk_loop_guard"
_WIDTH = re.compile(r"\d{6,}")
"""A run of six or more digits inside a format string: a width or precision of 100 000+."""


class RenderLimitExceeded(Exception):
    """Rendering was stopped: too slow, too big, or an operation that would allocate too much."""


class LimitedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox plus a deadline and size limits; one instance per render (it holds the deadline)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *, max_chars: int = DEFAULT_MAX_CHARS, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)
        self.max_chars = max_chars
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.filters = {name: self._guarded_filter(name, f) for name, f in self.filters.items()}
        self.globals[LOOP_GUARD] = self._loop_guard

    # -- the deadline ----------------------------------------------------------------------
    def start(self) -> None:
        """Restart the clock (called before each render)."""
        self.deadline = time.monotonic() + self.timeout_s

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderLimitExceeded(f"rendering took longer than {self.timeout_s:g} s (a loop that never ends?)")

    def _loop_guard(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.check_time()
            yield item

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.check_time()
        return super().call(context, obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.check_time()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.check_time()
        return super().getitem(obj, argument)

    # -- sizes -------------------------------------------------------------------------------
    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        self.check_time()
        if operator_ == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise RenderLimitExceeded(f"exponent {right} is too large (at most {MAX_EXPONENT})")
            return operator.pow(left, right)
        if operator_ == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > self.max_chars:
                    raise RenderLimitExceeded(f"repeating a value {times} times would pass {self.max_chars} characters")
            return operator.mul(left, right)
        if isinstance(left, str):
            self._check_format(left)
        return operator.mod(left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``"...".format(...)``: refuse huge widths, written in the string or passed as arguments."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str):
            self._check_format(owner)
        inner, limit = wrapped, self.max_chars

        def checked(*args: Any, **kwargs: Any) -> str:
            self.check_time()
            for arg in (*args, *kwargs.values()):
                if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > limit:
                    raise RenderLimitExceeded(f"format argument {arg} is too large")
            return inner(*args, **kwargs)

        return checked

    def _check_format(self, fmt: str) -> None:
        if _WIDTH.search(fmt):
            raise RenderLimitExceeded("a format width or precision of 100000 or more is not allowed")

    def _guarded_filter(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        env = self

        def guarded(*args: Any, **kwargs: Any) -> Any:
            env.check_time()
            for value in (*args, *kwargs.values()):
                if isinstance(value, int) and not isinstance(value, bool) and abs(value) > env.max_chars:
                    raise RenderLimitExceeded(f"filter '{name}': argument {value} is too large")
            if name == "format" and args and isinstance(args[0], str):
                env._check_format(args[0])
            if name == "replace":
                _check_replace(args, kwargs, env.max_chars)
            result = func(*args, **kwargs)
            if isinstance(result, str) and len(result) > env.max_chars:
                raise RenderLimitExceeded(f"filter '{name}' produced more than {env.max_chars} characters")
            return result

        # Jinja passes the context/environment to filters marked with these flags.
        for flag in ("jinja_pass_arg",):
            if hasattr(func, flag):
                setattr(guarded, flag, getattr(func, flag))
        return guarded

    # -- rendering ---------------------------------------------------------------------------
    def compile_guarded(self, source: str) -> jinja2.Template:
        """Parse ``source`` and rewrite every ``for`` to iterate through the deadline guard."""
        ast = self.parse(source)
        for loop in ast.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.Name(LOOP_GUARD, "load"), [loop.iter], [], None, None,
                                   lineno=loop.iter.lineno)
        return self.from_string(ast)  # type: ignore[arg-type]

    def render_limited(self, source: str, values: dict[str, Any]) -> str:
        """Render ``source`` streaming, stopping past ``max_chars`` or the deadline."""
        self.start()
        template = self.compile_guarded(source)
        parts: list[str] = []
        size = 0
        try:
            for piece in template.generate(values):
                size += len(piece)
                if size > self.max_chars:
                    raise RenderLimitExceeded(f"rendered text exceeds {self.max_chars} characters")
                self.check_time()
                parts.append(piece)
        except RecursionError as exc:
            raise RenderLimitExceeded("the template recurses too deeply") from exc
        except OverflowError as exc:  # the sandbox's range cap, or a number too big to format
            raise RenderLimitExceeded(str(exc)) from exc
        return "".join(parts)


def _check_replace(args: tuple[Any, ...], kwargs: dict[str, Any], limit: int) -> None:
    """``s|replace(old, new)`` can multiply the length of ``s``: bound the result before building it."""
    # args: (eval_ctx, s, old, new[, count])
    strings = [a for a in args if isinstance(a, str)]
    if len(strings) >= 3:
        s, old, new = strings[:3]
        hits = len(s) + 1 if old == "" else s.count(old)
        if len(s) + hits * max(0, len(new) - len(old)) > limit:
            raise RenderLimitExceeded(f"filter 'replace' would produce more than {limit} characters")
