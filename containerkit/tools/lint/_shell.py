"""A small POSIX-shell lexer: a RUN line split into simple commands, fast enough to lint thousands.

It knows quotes, escapes, ``$(...)``, backticks, redirections, ``&& || ; | &`` and newlines, and
drops control keywords (``if``, ``then``, ``do`` ...), so ``if x; then cd /; fi`` yields ``cd /``.
It does not evaluate anything: rules only need each command's name and words.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["Command", "Script", "split_commands"]

_TOKEN = re.compile(
    r"""
    (?P<ws>(?:[ \t\r]|\\\n)+)
  | (?P<comment>\#[^\n]*)
  | (?P<redir>\d*(?:&>>|&>|>>|[<>]&-?\d*-?|<>|>\||>|<(?!<)))
  | (?P<op>&&|\|\||;;|\|&|[;&|()\n])
  | (?P<word>(?:'[^']*'|"(?:\\.|[^"\\])*"|\$\((?:[^()]|\([^()]*\))*\)|`[^`]*`|\\.|<<-?|[^\s;&|()<>'"`\\$]|\$)+)
  | (?P<bad>.)
    """,
    re.X | re.S,
)
_UNQUOTE = re.compile(r"""'([^']*)'|"((?:\\.|[^"\\])*)"|\\(.)""", re.S)
_FD_DUP = re.compile(r"&-?\d+-?$|&-$")
_ASSIGN = re.compile(r"[A-Za-z_]\w*=")
_KEYWORDS = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time"})
_SKIP_WHOLE = frozenset({"for", "case", "esac", "in", "function"})


class Command(NamedTuple):
    name: str
    args: tuple[str, ...]
    piped: bool = False


class Script(NamedTuple):
    commands: tuple[Command, ...]
    has_pipe: bool

    def named(self, *names: str) -> list[Command]:
        return [c for c in self.commands if c.name in names]

    def has(self, name: str) -> bool:
        return any(c.name == name for c in self.commands)


def _unquote(word: str) -> str:
    if "'" not in word and '"' not in word and "\\" not in word:
        return word
    return _UNQUOTE.sub(lambda m: m.group(1) if m.group(1) is not None else (m.group(2) or m.group(3) or ""), word)


def _finish(words: list[str], out: list[Command], piped: bool) -> None:
    k = 0
    while k < len(words) and (words[k] in _KEYWORDS or _ASSIGN.match(words[k])):
        k += 1
    if k < len(words) and words[k] not in _SKIP_WHOLE:
        out.append(Command(words[k], tuple(words[k + 1 :]), piped))
    words.clear()


def split_commands(script: str) -> Script:
    """Split shell text into its simple commands, recording which take part in a pipe."""
    out: list[Command] = []
    words: list[str] = []
    has_pipe = False
    piped_next = False
    skip_target = False
    for m in _TOKEN.finditer(script):
        kind = m.lastgroup
        if kind == "ws" or kind == "comment":
            continue
        text = m.group(0)
        if kind == "word":
            if skip_target:
                skip_target = False
                continue
            if "$(" in text and "|" in text.replace("||", ""):
                has_pipe = True
            words.append(_unquote(text))
        elif kind == "redir":
            skip_target = _FD_DUP.search(text) is None
        elif kind == "op":
            skip_target = False
            is_pipe = text in ("|", "|&")
            if is_pipe:
                has_pipe = True
                # the command before the pipe is part of it as well
                _finish(words, out, True)
                piped_next = True
                continue
            _finish(words, out, piped_next)
            piped_next = False
    _finish(words, out, piped_next)
    return Script(tuple(out), has_pipe)
