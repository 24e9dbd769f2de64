#!/usr/bin/env python3
"""Writes test/fixtures/saltext/surface.json: every public function of saltext-vmware's vSphere
execution and state modules (src/saltext/vmware/modules/*.py and states/*.py, nsxt_* and vmc_*
aside), under its Salt name (__virtualname__ + __func_alias__), with its arguments in order.

    python3 scripts/saltext-surface.py <saltext-vmware checkout or bare git dir>

test/saltext-surface.test.ts checks brine against the file; regenerate it for a newer saltext.
"""
import ast
import json
import os
import subprocess
import sys

src = sys.argv[1]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def files(kind):
    """(path, text) of saltext's modules or states, from a work tree or a bare git dir."""
    prefix = f"src/saltext/vmware/{kind}/"
    if os.path.isdir(os.path.join(src, "src")):
        names = sorted(os.listdir(os.path.join(src, prefix)))
        return [(prefix + n, open(os.path.join(src, prefix, n)).read()) for n in names]
    listing = subprocess.run(
        ["git", "-C", src, "ls-tree", "--name-only", "HEAD", prefix],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    return [
        (p, subprocess.run(["git", "-C", src, "show", f"HEAD:{p}"], check=True,
                           capture_output=True, text=True).stdout)
        for p in sorted(listing)
    ]


def commit():
    git = src if not os.path.isdir(os.path.join(src, "src")) else os.path.join(src, ".git")
    return subprocess.run(["git", "--git-dir", git, "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


surface = {"source": "saltstack/salt-ext-modules-vmware", "commit": commit()}
for kind in ("modules", "states"):
    out = {}
    for path, text in files(kind):
        base = os.path.basename(path)
        if not base.endswith(".py") or base.startswith(("nsxt_", "vmc_", "_")):
            continue
        tree = ast.parse(text)
        virtualname, aliases = None, {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                if node.targets[0].id == "__virtualname__":
                    virtualname = node.value.value
                elif node.targets[0].id == "__func_alias__":
                    aliases = ast.literal_eval(node.value)
        if not virtualname:
            continue  # a helper module (ssl_adapter.py), not a Salt module
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                args = [a.arg for a in node.args.args if a.arg not in ("service_instance", "profile")]
                out[f"{virtualname}.{aliases.get(node.name, node.name)}"] = {"file": path, "args": args}
    surface[kind] = dict(sorted(out.items()))
with open(os.path.join(root, "test", "fixtures", "saltext", "surface.json"), "w") as f:
    json.dump(surface, f, indent=1)
    f.write("\n")
# In the repository's JSON style (biome's formatter), so that `npm run lint` stays clean.
subprocess.run(["npx", "biome", "format", "--write", "test/fixtures/saltext/surface.json"],
               cwd=root, check=True, capture_output=True)
print(f"{len(surface['modules'])} functions, {len(surface['states'])} states")
