"""Grafana's own checks of a dashboard, offline: the dashboard JSON type-checked in strict mode against
npm @grafana/schema (the dashboard model, each row as a RowPanel, and each panel plugin's options, the panels a
collapsed row holds included), and LogQL parsed by
@grafana/lezer-logql, the grammar Grafana's Loki editor uses. Both live in tests/deploy/node/
(`make deps` installs them from package-lock.json)."""

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

NODE_DIR = Path(__file__).parent / "node"
TSC = NODE_DIR / "node_modules" / "typescript" / "bin" / "tsc"
SCHEMA = NODE_DIR / "node_modules" / "@grafana" / "schema"

# The only fields the check removes before type-checking, each one Grafana itself writes although its
# schema does not describe it. Keys are paths; "*" stands for every item of a list.
UNTYPED_FIELDS: dict[tuple[str, ...], str] = {
    ("__inputs",): "written by Grafana's 'Export for sharing externally' and read by its import, which "
                   "asks for the data sources named here; the schema describes the stored dashboard, "
                   "after import, where it is gone",
    ("templating", "list", "*", "definition"): "the query's display text, written by Grafana's variable "
                                               "editor and absent from the schema (docs/testing.md#tool-pitfalls)",
    ("annotations", "list", "*", "target", "expr"): "a data source annotation's query is that data source's own "
                                                    "(Loki's expr); the schema types only the fields every query has",
    ("annotations", "list", "*", "titleFormat"): "Loki's annotation options (the title template, the labels made "
                                                 "tags), written by its annotation editor and absent from the schema",
    ("annotations", "list", "*", "tagKeys"): "as titleFormat",
}

# panel type -> (the module of its plugin's types in @grafana/schema, whether it has a custom FieldConfig)
PANEL_CONFIGS = {
    "timeseries": ("timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen", True),
    "stat": ("stat/panelcfg/x/StatPanelCfg_types.gen", False),
    "logs": ("logs/panelcfg/x/LogsPanelCfg_types.gen", False),
}

# String enums (LegendDisplayMode, ...) accept only their members in TypeScript, while JSON carries their
# values: map each string type to the union of its values; everything else keeps its shape, optional
# fields and excess-property checks included.
_PRELUDE = """\
type Json<T> = T extends string ? `${T}` : T extends (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;
type Partial_<T> = T extends string ? `${T}` : T extends (infer U)[] ? Partial_<U>[] : T extends object ? { [K in keyof T]?: Partial_<T[K]> } : T;
"""


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel that shows data: the dashboard's own and those its rows hold. A collapsed row holds its
    panels in its own `panels` (an expanded one is followed by them in the dashboard's list); a row shows none."""
    return [child for panel in dashboard.get("panels", [])
            for child in (panel.get("panels", []) if panel.get("type") == "row" else [panel])]


def require_tools() -> None:
    # `make test` installs them (make deps); missing tools are a failure, not a skip.
    assert shutil.which("node"), "node not found: install nodejs"
    assert TSC.is_file() and SCHEMA.is_dir(), f"{NODE_DIR}/node_modules missing: run `make deps`"


def strip_untyped(dashboard: dict[str, Any]) -> dict[str, Any]:
    """A copy of the dashboard without the allow-listed fields."""
    copied = copy.deepcopy(dashboard)
    for path in UNTYPED_FIELDS:
        _remove(copied, path)
    return copied


def _remove(node: Any, path: tuple[str, ...]) -> None:
    head, rest = path[0], path[1:]
    if head == "*":
        for item in node if isinstance(node, list) else ():
            _remove(item, rest) if rest else None
        return
    if not isinstance(node, dict) or head not in node:
        return
    if rest:
        _remove(node[head], rest)
    else:
        del node[head]


def typescript_source(dashboard: dict[str, Any]) -> str:
    """A TypeScript module asserting the dashboard, each row and each panel's options and custom field config.

    The dashboard is checked as Grafana's Dashboard, each row again as its RowPanel alone (in the dashboard's
    list a row is one of Panel | RowPanel, and Panel's type is any string), and every panel, at the top or held
    by a row, against its plugin's types. Panel options are checked as deep partials: Grafana fills what a saved
    dashboard leaves out, but a misspelt or mistyped option fails.
    """
    body = strip_untyped(dashboard)
    lines = ['import type { Dashboard, RowPanel } from "@grafana/schema";']
    shown = _shown_panels(body)
    for kind in sorted({panel["type"] for _, panel in shown}):
        if kind in PANEL_CONFIGS:
            module, custom = PANEL_CONFIGS[kind]
            imported = f"Options as {kind}Options" + (f", FieldConfig as {kind}FieldConfig" if custom else "")
            lines.append(f'import type {{ {imported} }} from "@grafana/schema/dist/esm/raw/composable/{module}";')
    lines.append(_PRELUDE)
    lines.append(f"export const dashboard: Json<Dashboard> = {json.dumps(body, indent=2)};")
    for index, panel in enumerate(body.get("panels", [])):
        if panel["type"] == "row":
            lines.append(f"export const row{index}: Json<RowPanel> = {json.dumps(panel)};")
    for where, panel in shown:
        kind = panel["type"]
        if kind not in PANEL_CONFIGS:
            lines.append(f"// panel {where}: type {kind!r} has no known schema\n"
                         f"export const unknown{where}: never = 0;")
            continue
        lines.append(f"export const options{where}: Partial_<{kind}Options> = {json.dumps(panel.get('options', {}))};")
        custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom")
        if PANEL_CONFIGS[kind][1]:
            lines.append(f"export const custom{where}: Partial_<{kind}FieldConfig> = {json.dumps(custom or {})};")
        elif custom is not None:
            lines.append(f"// panel {where}: type {kind!r} takes no custom field config\n"
                         f"export const custom{where}: never = 0;")
    return "\n".join(lines) + "\n"


def _shown_panels(dashboard: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """panels(), each with where it is: its index, or its row's index and its own (``11_0``)."""
    return [(f"{index}_{inner}", child) if panel.get("type") == "row" else (str(index), panel)
            for index, panel in enumerate(dashboard.get("panels", []))
            for inner, child in (enumerate(panel.get("panels", [])) if panel.get("type") == "row" else [(0, panel)])]


def type_check(dashboard: dict[str, Any], workdir: Path) -> list[str]:
    """tsc's complaints (one line each) about the dashboard; empty when it type-checks in strict mode."""
    require_tools()
    source = workdir / "dashboard.ts"
    source.write_text(typescript_source(dashboard))
    # node_modules resolves from the source's directory upwards: link the installed ones in.
    (workdir / "node_modules").symlink_to(NODE_DIR / "node_modules", target_is_directory=True)
    result = subprocess.run(
        ["node", str(TSC), "--strict", "--noEmit", "--exactOptionalPropertyTypes", "--target", "es2022",
         "--module", "nodenext", "--moduleResolution", "nodenext", "--skipLibCheck", "false", str(source)],
        cwd=workdir, capture_output=True, text=True, timeout=180,
    )
    return [line for line in result.stdout.splitlines() if "error TS" in line] or (
        [result.stdout + result.stderr] if result.returncode else [])


def logql_errors(queries: list[str]) -> list[str | None]:
    """Per query: None when Grafana's LogQL grammar parses it, else where it failed."""
    require_tools()
    result = subprocess.run(["node", str(NODE_DIR / "parse-logql.cjs")], input=json.dumps(queries),
                            capture_output=True, text=True, timeout=60, cwd=NODE_DIR)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
