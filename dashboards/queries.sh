#!/usr/bin/env bash
# Print every PromQL expression of the Grafana dashboards, one per line, with
# the dashboard variables replaced by sample values, ready for
#   curl -G http://PROMETHEUS/api/v1/query --data-urlencode "query=$line"
#
# Usage: dashboards/queries.sh [options] [dashboard.json ...]
#   (default: every dashboards/*.json next to this script)
#   --job REGEX            value of $job            (default .+)
#   --instance REGEX       value of $instance       (default .+)
#   --vantage REGEX        value of $vantage        (default .*)
#   --module REGEX         value of $module         (default .*)
#   --rate-interval DUR    value of $__rate_interval (default 4m)
#   --interval DUR         value of $__interval      (default 1m)
#   --range DUR            value of $__range         (default 1h)
#   --list                 print FILE<TAB>PANEL<TAB>REFID<TAB>QUERY instead
#   --variables            also print the template variables' label_values()
#                          queries, as `group by (LABEL) (SELECTOR)`
#
# Every variable is used in a regex matcher (=~), so the values are regexes
# (a literal target such as mx.example.com:587 works as is; write
# '\[2001:db8::25\]:587' for an IPv6 one); backslashes and quotes are escaped
# for the PromQL string, as Grafana does. Duplicate queries
# are printed once. Exits 1 if a `$variable` is left unsubstituted.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
job='.+' instance='.+' vantage='.*' module='.*'
rate_interval='4m' interval='1m' range='1h'
list=0 with_vars=0
files=()
while (($#)); do
	case "$1" in
	--job) job="$2"; shift 2 ;;
	--instance) instance="$2"; shift 2 ;;
	--vantage) vantage="$2"; shift 2 ;;
	--module) module="$2"; shift 2 ;;
	--rate-interval) rate_interval="$2"; shift 2 ;;
	--interval) interval="$2"; shift 2 ;;
	--range) range="$2"; shift 2 ;;
	--list) list=1; shift ;;
	--variables) with_vars=1; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "queries.sh: unknown option $1" >&2; exit 2 ;;
	*) files+=("$1"); shift ;;
	esac
done
((${#files[@]})) || files=("$dir"/*.json)

export Q_JOB="$job" Q_INSTANCE="$instance" Q_VANTAGE="$vantage" Q_MODULE="$module" \
	Q_RATE_INTERVAL="$rate_interval" Q_INTERVAL="$interval" Q_RANGE="$range" \
	Q_LIST="$list" Q_VARS="$with_vars"

python3 - "${files[@]}" <<'PY'
import json, os, re, sys

values = {
    "job": os.environ["Q_JOB"],
    "instance": os.environ["Q_INSTANCE"],
    "vantage": os.environ["Q_VANTAGE"],
    "module": os.environ["Q_MODULE"],
    "__rate_interval": os.environ["Q_RATE_INTERVAL"],
    "__interval": os.environ["Q_INTERVAL"],
    "__range": os.environ["Q_RANGE"],
}
listing = os.environ["Q_LIST"] == "1"
with_vars = os.environ["Q_VARS"] == "1"

# $name, ${name}, ${name:format} and [[name]]; longest names first so that
# $__interval does not eat the start of a longer name.
names = "|".join(sorted((re.escape(n) for n in values), key=len, reverse=True))
var_re = re.compile(r"\$\{(" + names + r")(?::[a-z]+)?\}|\$(" + names + r")\b|\[\[(" + names + r")\]\]")
left_re = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*")  # "$1" in label_replace is not a variable


def quoted(name):
    """The value as it goes inside a PromQL double-quoted string (the way
    Grafana escapes regex values: a backslash becomes two)."""
    v = values[name]
    return v if name.startswith("__") else v.replace("\\", "\\\\").replace('"', '\\"')


def substitute(expr):
    out = var_re.sub(lambda m: quoted(m.group(1) or m.group(2) or m.group(3)), expr)
    return " ".join(out.split())


def walk(node, panel):
    """Yield (panel title, refId, expr) for every target below node."""
    if isinstance(node, dict):
        if node.get("type") not in (None, "row") and "title" in node:
            panel = node["title"]
        if isinstance(node.get("expr"), str):
            yield panel, node.get("refId", ""), node["expr"]
        for key, value in node.items():
            if key != "templating":
                yield from walk(value, panel)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, panel)


label_values_re = re.compile(r"^\s*label_values\(\s*(.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.S)
seen, bad = set(), 0
for path in sys.argv[1:]:
    with open(path) as f:
        dash = json.load(f)
    rows = list(walk(dash.get("panels", []), ""))
    if with_vars:
        for var in dash.get("templating", {}).get("list", []):
            q = var.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            m = label_values_re.match(q or "") if var.get("type") == "query" else None
            if m:
                rows.append(("variable " + var["name"], "var", f"group by ({m.group(2)}) ({m.group(1)})"))
    for panel, ref, expr in rows:
        query = substitute(expr)
        left = [v for v in left_re.findall(query) if not re.fullmatch(r"\$\d+", v)]
        if left:
            print(f"queries.sh: {path}: panel {panel!r}: unsubstituted {left}", file=sys.stderr)
            bad = 1
        if listing:
            print(f"{os.path.basename(path)}\t{panel}\t{ref}\t{query}")
        elif query not in seen:
            seen.add(query)
            print(query)
sys.exit(bad)
PY
