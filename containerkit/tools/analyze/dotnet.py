""".NET modules: the project file's SDK and target framework, ProjectReferences, solution members."""

from __future__ import annotations

import re

from containerkit.tools.analyze._common import Found, ModuleDir
from containerkit.tools.analyze.models import ModuleAnalysis

__all__ = ["detect_dotnet"]

_PROJECT_EXTS = (".csproj", ".fsproj", ".vbproj")


def detect_dotnet(d: ModuleDir) -> Found | None:
    projects = [n for n in d.names() if n.endswith(_PROJECT_EXTS)]
    if not projects:
        solutions = [n for n in d.names() if n.endswith(".sln")]
        if not solutions:
            return None
        members = re.findall(
            r'^Project\([^)]*\)\s*=\s*"[^"]*",\s*"([^"]+)\.(?:cs|fs|vb)proj"', d.read(solutions[0]), re.M
        )
        members = sorted({m.replace("\\", "/").rsplit("/", 1)[0] for m in members if "/" in m.replace("\\", "/")})
        d.say(solutions[0], f"solution of {', '.join(members)}")
        m = ModuleAnalysis(path=d.rel, name=d.name, language="dotnet", package_manager="dotnet", is_library=True)
        d.finish(m, sources=[], default_port=None)
        return Found(m, members=members, aggregator=True, rank=5)
    proj = projects[0]
    text = d.read(proj, 1024 * 1024)
    sdk = (re.search(r'<Project\s+Sdk="([^"]+)"', text) or [None, ""])[1] or ""
    tfm = (re.search(r"<TargetFrameworks?>\s*net(?:coreapp)?(\d+\.\d+)", text) or [None, None])[1]
    if tfm:
        d.say(proj, f"TargetFramework net{tfm}")
    if not tfm and (gm := re.search(r'"version"\s*:\s*"(\d+\.\d+)', d.read("global.json", 8192))):
        tfm = gm.group(1)
        d.say("global.json", f"sdk {tfm}")
    web = sdk.startswith("Microsoft.NET.Sdk.Web") or "Microsoft.AspNetCore" in text
    exe = web or re.search(r"<OutputType>\s*(Win)?Exe", text) is not None
    assembly = (re.search(r"<AssemblyName>([^<]+)</AssemblyName>", text) or [None, None])[1] or proj.rsplit(".", 1)[0]
    d.say(proj, f"sdk {sdk or 'unknown'}" + (", ASP.NET Core" if web else ""))
    refs = {r.replace("\\", "/").rsplit("/", 1)[0] for r in re.findall(r'<ProjectReference\s+Include="([^"]+)"', text)}
    packages = re.findall(r'<PackageReference\s+Include="([^"]+)"', text)
    m = ModuleAnalysis(
        path=d.rel,
        name=assembly,
        language="dotnet",
        language_version=tfm,
        package_manager="dotnet",
        framework="aspnet-core" if web else None,
        build_command=f"dotnet publish {proj} -c Release -o out" if exe else None,
        start_command=f"dotnet out/{assembly}.dll" if exe else None,
        entrypoint="Program.cs" if d.has("Program.cs") else None,
        dependency_files=[proj]
        + [f for f in ("packages.lock.json", "global.json", "nuget.config", "NuGet.Config") if d.has(f)],
        lockfile="packages.lock.json" if d.has("packages.lock.json") else None,
        dependencies=packages,
        is_library=not exe,
    )
    if web and (pm := re.search(r"ASPNETCORE_(?:HTTP_PORTS|URLS)\D*(\d{2,5})", d.read("Dockerfile", 65536))):
        m.port = int(pm.group(1))
    sources = [f for f in ("Program.cs", "Startup.cs") if d.has(f)]
    # .NET 8+ container images listen on 8080 (ASPNETCORE_HTTP_PORTS).
    d.finish(m, sources=sources, default_port=8080 if web else None)
    if not web:
        m.port = None
    return Found(m, ids={assembly, proj.rsplit(".", 1)[0]}, ref_paths=refs, rank=5)
