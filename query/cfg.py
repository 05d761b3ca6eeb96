"""Platform specifications (a dependency's ``target``): ``cfg(...)`` expressions and target names.

A port of ``cargo-platform`` at cargo 0.96.0 (``Platform::from_str``,
``crates/cargo-platform/src/lib.rs:162-173``, and the ``CfgExpr`` parser,
``crates/cargo-platform/src/cfg.rs``), which cargo applies to the ``target`` of every
dependency of an index line (``registry_dependency_into_dep``,
``src/cargo/sources/registry/index/mod.rs:754``): a ``target`` cargo cannot parse makes the
whole line invalid.

* A text that starts with ``cfg(`` and ends with ``)`` (exactly: lower case, no blanks outside)
  is a cfg expression; anything else is a target *name*, valid when every character is
  alphanumeric (Unicode) or one of ``_ - .`` -- so ``""``, ``unix`` and ``x86_64.json`` are names,
  ``cfg (unix)`` and ``and(unix)`` are not.
* The expression grammar::

      expr  = "all" "(" [ expr *( "," expr ) [ "," ] ] ")"
            | "any" "(" [ expr *( "," expr ) [ "," ] ] ")"
            | "not" "(" expr ")"
            | ident [ "=" string ]
      ident  = [ "r#" ] [A-Za-z_] *[A-Za-z0-9_]        (ASCII only)
      string = '"' *( any character but '"' ) '"'        (no escapes)

  Only spaces separate tokens (a tab is an error), ``all``/``any``/``not`` are operators only when
  not raw (``r#all(unix)`` is an error), and only spaces may follow the expression.

`platform_error` answers the one question the index asks; `parse_cfg` gives the expression.
"""

from __future__ import annotations

from query import TYPE_CHECKING
from query.errors import ParseError
from query.record import Record

if TYPE_CHECKING:
    from typing import TypeAlias

__all__ = ["CfgError", "CfgExpr", "parse_cfg", "platform_error"]


class CfgError(ParseError):
    """A ``target`` that is neither a cfg expression nor a target name cargo accepts."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"failed to parse `{text}` as a cfg expression: {reason}")
        self.text = text
        self.reason = reason


class Cfg(Record):
    """``name`` or ``name = "value"`` (``value`` None for the first form)."""

    name: str
    value: str | None = None
    raw: bool = False


class Operator(Record):
    """``all(...)``, ``any(...)`` or ``not(...)`` (``op`` is the word)."""

    op: str
    args: tuple[CfgExpr, ...]


CfgExpr: TypeAlias = "Cfg | Operator"

_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENT_REST = _IDENT_START | frozenset("0123456789")
_PUNCT = frozenset("(),=")

# Tokens: (kind, text, raw); kind is one of the punctuation characters, "ident" or "string".
_Token: TypeAlias = "tuple[str, str, bool]"


def _tokens(text: str) -> list[_Token]:
    """Every token of ``text``; CfgError on the first character no token can start with."""
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == " ":
            i += 1
        elif c in _PUNCT:
            out.append((c, c, False))
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise CfgError(text, "unterminated string in cfg")
            out.append(("string", text[i + 1 : end], False))
            i = end + 1
        elif c in _IDENT_START:
            raw = False
            if c == "r" and text.startswith("#", i + 1):
                if i + 2 >= n:
                    raise CfgError(text, "expected identifier, but cfg expression ended")
                if text[i + 2] not in _IDENT_START:
                    raise CfgError(text, f"unexpected character `{text[i + 2]}` in cfg")
                raw = True
                i += 2
            start = i
            i += 1
            while i < n and text[i] in _IDENT_REST:
                i += 1
            out.append(("ident", text[start:i], raw))
        else:
            raise CfgError(text, f"unexpected character `{c}` in cfg")
    return out


def _describe(token: _Token | None) -> str:
    if token is None:
        return "end of input"
    kind = token[0]
    return {"ident": "an identifier", "string": "a string"}.get(kind, f"`{kind}`")


def parse_cfg(text: str) -> CfgExpr:
    """The expression inside ``cfg(...)``; CfgError (naming ``text``) when cargo refuses it.

    Iterative (an explicit stack), so nesting is not limited by Python's recursion limit;
    cargo's recursive parser accepts any depth its stack allows.
    """
    tokens = _tokens(text)
    pos = 0
    count = len(tokens)

    def peek() -> _Token | None:
        return tokens[pos] if pos < count else None

    def fail(expected: str) -> CfgError:
        found = peek()
        if found is None:
            return CfgError(text, f"expected {expected}, but cfg expression ended")
        return CfgError(text, f"expected {expected}, found {_describe(found)}")

    # Each frame: [op, args, expecting] where expecting is "first" (an expr or ")"),
    # "next" (after an expr: "," or ")") -- for not: exactly one expr then ")".
    stack: list[tuple[str, list[CfgExpr]]] = []
    result: CfgExpr | None = None
    while True:
        # parse the start of one expression
        token = peek()
        if token is None:
            raise fail("start of a cfg expression")
        kind, word, raw = token
        if kind == "ident" and not raw and word in ("all", "any", "not"):
            pos += 1
            if peek() is None or tokens[pos][0] != "(":
                raise fail("`(`")
            pos += 1
            if word != "not" and peek() is not None and tokens[pos][0] == ")":
                pos += 1
                done: CfgExpr = Operator(word, ())
            else:
                stack.append((word, []))
                continue
        elif kind == "ident":
            pos += 1
            value = None
            if peek() is not None and tokens[pos][0] == "=":
                pos += 1
                nxt = peek()
                if nxt is None or nxt[0] != "string":
                    raise fail("a string")
                value = nxt[1]
                pos += 1
            done = Cfg(word, value, raw)
        else:
            raise fail("identifier")
        # close every operator this expression completes
        while True:
            if not stack:
                result = done
                break
            op, args = stack[-1]
            args.append(done)
            nxt = peek()
            if op == "not":
                if nxt is None or nxt[0] != ")":
                    raise fail("`)`")
                pos += 1
            elif nxt is not None and nxt[0] == ",":
                pos += 1
                if peek() is not None and tokens[pos][0] == ")":
                    pos += 1  # a trailing comma
                else:
                    break  # another argument follows
            elif nxt is not None and nxt[0] == ")":
                pos += 1
            else:
                raise fail("`)`")
            stack.pop()
            done = Operator(op, tuple(args))
        if result is not None:
            break
    if pos < count:
        raise CfgError(text, "unexpected content after the cfg expression")
    return result


def _named_platform_error(text: str) -> str | None:
    """Why ``text`` is not a target name (``validate_named_platform``, lib.rs:44-67)."""
    for c in text:
        if c in "_-." or (c.isascii() and c.isalnum()):
            continue
        if not c.isascii():
            from query.unicode_props import is_alphanumeric  # Rust's char::is_alphanumeric

            if is_alphanumeric(c):
                continue
        if "(" in text:
            return "unexpected `(` character, cfg expressions must start with `cfg(`"
        return f"unexpected character {c} in target name"
    return None


def platform_error(text: str) -> str | None:
    """Why cargo 1.95 refuses ``text`` as a dependency ``target``, or None when it accepts it."""
    if text.startswith("cfg(") and text.endswith(")") and len(text) >= 5:
        try:
            parse_cfg(text[4:-1])
        except CfgError as exc:
            return str(exc).replace(f"`{text[4:-1]}`", f"`{text}`", 1)
        return None
    reason = _named_platform_error(text)
    if reason is None:
        return None
    return f"failed to parse `{text}` as a cfg expression: invalid target specifier: {reason}"
