"""Negative numbers as positional arguments: ``chainops send -1 ...``.

A bare ``-1`` would otherwise be parsed as an unknown option ("No such option: -1"),
so a negative amount could never get the command's own "must be positive" error.
:class:`SignedNumbers` lets a token that is a negative number reach the positional
argument it fills; every real option, and every option's value, parses as before.
"""

from __future__ import annotations

import re
from typing import Any

from typer.core import TyperCommand

# what the parser sees instead of "-": no option starts with it, and it reads as a minus
MINUS = "\u2212"
_NEGATIVE = re.compile(r"-\.?[0-9]")


class SignedNumbers(TyperCommand):
    """A command whose positional arguments may be negative numbers."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, shield(args, _value_options(self.get_params(ctx))))
        for name, value in ctx.params.items():
            if isinstance(value, str) and value.startswith(MINUS):
                ctx.params[name] = "-" + value[len(MINUS) :]
        return rest


def shield(args: list[str], value_options: set[str]) -> list[str]:
    """``args`` with each negative number that is not an option's value given ``MINUS``."""
    shielded: list[str] = []
    takes_value = False
    for index, arg in enumerate(args):
        if arg == "--":  # the rest is positional already
            return shielded + args[index:]
        if not takes_value and _NEGATIVE.match(arg):
            arg = MINUS + arg[1:]
        takes_value = arg in value_options
        shielded.append(arg)
    return shielded


def _value_options(params: list[Any]) -> set[str]:
    """The names of the options that take a value (the next token is theirs)."""
    names: set[str] = set()
    for param in params:
        if param.param_type_name == "option" and not (param.is_flag or param.count):
            names.update(param.opts)
    return names
