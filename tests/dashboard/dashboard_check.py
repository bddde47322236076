#!/usr/bin/python3
"""Checks of the ovx dashboards (scripts/grafana, scripts/prometheus/consoles).

  dashboard_check.py names METRICS_CPP GRAFANA_JSON CONSOLE_FILE...
      the Grafana JSON is a dashboard with a Prometheus datasource variable
      and instance/tenant/segment variables, every panel has a query; every
      ovx_ metric the dashboard and the console templates name is one the
      exporter writes (a string literal in METRICS_CPP)
  dashboard_check.py query GRAFANA_JSON PROMETHEUS_URL TENANT SEGMENT
      every query of the dashboard (panels and variables), with Grafana's
      variables replaced as Grafana would for TENANT and SEGMENT, sent to a
      real Prometheus: none may fail, and the per-tenant traffic panel must
      return TENANT's series
"""
import json
import re
import sys
import urllib.parse
import urllib.request

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail("%s: %s" % (path, e))


def panels(dash):
    for p in dash.get("panels", []):
        yield p
        yield from p.get("panels", [])  # a collapsed row holds its panels


def queries(dash):
    """(where, PromQL) of every panel target and query variable."""
    for p in panels(dash):
        for t in p.get("targets", []):
            yield "panel '%s' %s" % (p.get("title"), t.get("refId")), t.get("expr", "")
    for v in dash["templating"]["list"]:
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q)
            if not m:
                fail("variable %s: query '%s' is not label_values(SELECTOR, LABEL)" % (v["name"], q))
            yield "variable %s" % v["name"], m.group(1)


def metric_names(text, quote='"'):
    """ovx_ words outside template comments and strings in QUOTE (label
    values: map="ovx_fdb" in PromQL, map='ovx_fdb' in the templates, whose
    PromQL is itself in double quotes)."""
    text = re.sub(r"\{\{/\*.*?\*/\}\}", "", text, flags=re.S)
    text = re.sub("%s[^%s]*%s" % (quote, quote, quote), "", text)
    return set(re.findall(r"\bovx_[a-z0-9_]*", text))


def check_structure(dash, path):
    for key in ("uid", "title", "panels", "templating"):
        if key not in dash:
            fail("%s: no '%s'" % (path, key))
    vars_ = {v["name"]: v for v in dash["templating"]["list"]}
    ds = vars_.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        fail("%s: no datasource variable of type prometheus" % path)
    for name in ("instance", "tenant", "segment"):
        if name not in vars_ or vars_[name].get("type") != "query":
            fail("%s: no query variable '%s'" % (path, name))
    n = 0
    for p in panels(dash):
        if p.get("type") == "row":
            continue
        n += 1
        if p.get("datasource", {}).get("uid") != "${datasource}":
            fail("%s: panel '%s' does not use the datasource variable" % (path, p.get("title")))
        if not [t for t in p.get("targets", []) if t.get("expr")]:
            fail("%s: panel '%s' has no query" % (path, p.get("title")))
    return n


def names_cmd(metrics_cpp, grafana, consoles):
    with open(metrics_cpp, encoding="utf-8") as f:
        exporter = f.read()
    dash = load(grafana)
    n = check_structure(dash, grafana)
    used = {}
    for where, q in queries(dash):
        for name in metric_names(q):
            used.setdefault(name, set()).add(grafana)
    for path in consoles:
        with open(path, encoding="utf-8") as f:
            for name in metric_names(f.read(), "'"):
                used.setdefault(name, set()).add(path)
    if not used:
        fail("no ovx_ metric found in the dashboards")
    bad = 0
    for name in sorted(used):
        if '"%s"' % name in exporter:
            continue
        print("FAIL: %s use %s, which %s does not write" % (", ".join(sorted(used[name])), name,
                                                            metrics_cpp), file=sys.stderr)
        bad = 1
    if bad:
        sys.exit(1)
    print("ok: %s: %d panels; %d metrics named, all written by %s" % (
        grafana, n, len(used), metrics_cpp))


def substitute(q, tenant, segment):
    """What Grafana sends for one selected tenant and segment, all instances."""
    for var, value in (("instance", ".*"), ("tenant", tenant), ("segment", segment)):
        q = q.replace("${%s}" % var, value).replace("$" + var, value)
    q = q.replace("$__rate_interval", "1m").replace("$__interval", "15s").replace("$__range", "1h")
    if "$" in q:
        fail("unknown variable left in '%s'" % q)
    return q


def query_cmd(grafana, base, tenant, segment):
    dash = load(grafana)
    ok = empty = 0
    traffic = None
    for where, q in queries(dash):
        sent = substitute(q, tenant, segment)
        url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": sent})
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                doc = json.load(r)
        except urllib.error.HTTPError as e:
            doc = json.load(e)
        if doc.get("status") != "success":
            fail("%s: Prometheus refused '%s': %s" % (where, sent, doc.get("error")))
        result = doc["data"]["result"]
        ok += 1
        empty += not result
        if where.startswith("panel 'Traffic per tenant'"):
            traffic = result
    if traffic is None:
        fail("no 'Traffic per tenant' panel")
    if not any(r["metric"].get("tenant") == tenant and float(r["value"][1]) > 0 for r in traffic):
        fail("panel 'Traffic per tenant' has no traffic of tenant %s: %s" % (tenant, traffic))
    print("ok: %d queries accepted by Prometheus (%d with no series yet); "
          "'Traffic per tenant' shows %s" % (ok, empty, tenant))


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "names":
        return names_cmd(sys.argv[2], sys.argv[3], sys.argv[4:])
    if len(sys.argv) == 6 and sys.argv[1] == "query":
        return query_cmd(*sys.argv[2:])
    print(__doc__, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
