"""Per-file facts the rules share, computed once: shell commands of each RUN, stage ancestry, state
such as "WORKDIR already set" at each instruction."""

from __future__ import annotations

from containerkit.tools.lint._shell import Command, Script, split_commands
from containerkit.tools.lint.models import Instruction, LintConfig, ParsedDockerfile, Stage

__all__ = ["Ctx"]

_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "/bin/sh", "/bin/bash", "/bin/ash", "/bin/dash"})
_EMPTY = Script((), False)


class Ctx:
    """Lazily computed views of one parsed Dockerfile for the rule checks."""

    def __init__(self, parsed: ParsedDockerfile, config: LintConfig) -> None:
        self.parsed = parsed
        self.config = config
        self.stages = parsed.stages
        self.last_stage = len(parsed.stages) - 1
        self.used_as_parent = {s.parent for s in parsed.stages if s.parent is not None}
        self._scripts: dict[int, Script] = {}
        self._pos = {ins.line: k for k, ins in enumerate(parsed.instructions)}

    def script(self, ins: Instruction) -> Script:
        """The shell commands a RUN executes (heredoc bodies fed to a shell included)."""
        cached = self._scripts.get(ins.line)
        if cached is not None:
            return cached
        if ins.keyword != "RUN":
            script = _EMPTY
        elif ins.json_args is not None:
            args = ins.json_args
            if len(args) >= 3 and args[0] in _SHELLS and args[1] == "-c":
                script = split_commands(args[2])
            elif args:
                script = Script((Command(args[0].rsplit("/", 1)[-1], tuple(args[1:])),), False)
            else:
                script = _EMPTY
        else:
            script = split_commands(ins.value)
            if ins.heredocs:
                head = [c for c in script.commands if not c.name.startswith("<<")]
                if not head or head[0].name in _SHELLS:
                    bodies = [split_commands(h.body) for h in ins.heredocs]
                    script = Script(
                        tuple(head) + tuple(c for b in bodies for c in b.commands),
                        script.has_pipe or any(b.has_pipe for b in bodies),
                    )
        self._scripts[ins.line] = script
        return script

    def stage(self, ins: Instruction) -> Stage | None:
        return self.stages[ins.stage] if ins.stage >= 0 else None

    def prev(self, ins: Instruction) -> Instruction | None:
        k = self._pos[ins.line]
        return self.parsed.instructions[k - 1] if k > 0 else None

    def lineage(self, stage: Stage) -> list[Stage]:
        """The stage and the earlier stages it is built FROM, nearest first."""
        out = [stage]
        seen = {stage.index}
        while out[-1].parent is not None and out[-1].parent not in seen:
            parent = self.stages[out[-1].parent]
            seen.add(parent.index)
            out.append(parent)
        return out

    def before(self, ins: Instruction, keyword: str) -> list[Instruction]:
        """Instructions of ``keyword`` in effect before ``ins``: its stage up to it, then its ancestors."""
        stage = self.stage(ins)
        if stage is None:
            return []
        out = [i for i in stage.instructions if i.line < ins.line and i.keyword == keyword]
        for anc in self.lineage(stage)[1:]:
            out.extend(i for i in anc.instructions if i.keyword == keyword)
        return out

    def shipped(self, stage: Stage) -> bool:
        """The final stage, or one another stage builds FROM: what users run or inherit."""
        return stage.index == self.last_stage or stage.index in self.used_as_parent
