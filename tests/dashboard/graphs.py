#!/usr/bin/python3
"""What a console page, as headless Chromium left it (--dump-dom), drew.

  graphs.py DOM_FILE                  prints every graph: id, state, series
  graphs.py DOM_FILE ID=SERIES...     exit 1 unless graph ID drew SERIES (its
                                      legend names it and its line rises
                                      above zero somewhere); also exit 1
                                      when any graph failed to load

A PromConsole graph (prom_console.js) is a div holding either a Rickshaw
SVG (one <path> per series, stroked in the colour of the series' legend
swatch) or a div.prom_graph_error ("No timeseries returned", "Error
loading data"); a loading image means its query never came back.
"""
import re
import sys
from html.parser import HTMLParser


def colour(text):
    """'#1f77b4' or 'rgb(31, 119, 180)' -> (31, 119, 180)."""
    text = text.strip().lower()
    m = re.fullmatch(r"#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})", text)
    if m:
        return tuple(int(g, 16) for g in m.groups())
    m = re.fullmatch(r"rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*[\d.]+)?\)", text)
    if m:
        return tuple(int(g) for g in m.groups())
    return text


class Graph:
    def __init__(self, gid):
        self.id = gid
        self.height = None     # the SVG's height: where zero is drawn (min: 0)
        self.paths = []        # (stroke colour, d)
        self.legend = {}       # series name -> swatch colour
        self.errors = []
        self.loading = False


class Parser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.graphs = {}
        self.graph = None      # the graph whose div we are in
        self.divs = 0          # open divs inside it
        self.swatch = None
        self.text_target = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        g = self.graph
        if g is None:
            if tag == "div" and "ovx-graph" in classes:
                self.graph = self.graphs.setdefault(a.get("id"), Graph(a.get("id")))
                self.divs = 1
            return
        if tag == "div":
            self.divs += 1
        if tag == "svg" and g.height is None and a.get("height"):
            g.height = float(a["height"])
        elif tag == "path" and a.get("d") and a.get("stroke"):
            g.paths.append((colour(a["stroke"]), a["d"]))
        elif tag == "img" and "prom_graph_loading" in classes:
            g.loading = True
        elif "swatch" in classes:
            m = re.search(r"background-color:\s*([^;]+)", a.get("style") or "")
            self.swatch = colour(m.group(1)) if m else None
        elif tag == "span" and "label" in classes:
            self.text_target, self.text = "label", ""
        elif "prom_graph_error" in classes:
            self.text_target, self.text = "error", ""

    def handle_endtag(self, tag):
        g = self.graph
        if g is None:
            return
        if self.text_target == "label" and tag == "span":
            g.legend[self.text.strip()] = self.swatch
            self.text_target = None
        elif self.text_target == "error" and tag == "div":
            g.errors.append(self.text.strip())
            self.text_target = None
        if tag == "div":
            self.divs -= 1
            if self.divs == 0:
                self.graph = None

    def handle_data(self, data):
        if self.text_target:
            self.text += data


def points(d):
    """Coordinates of an SVG path made of M/L commands."""
    nums = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", d)]
    return list(zip(nums[0::2], nums[1::2]))


def drawn(g, name):
    """Why graph g did not draw series name above zero, or None if it did."""
    if name not in g.legend:
        return "no series '%s' in the legend (%s)" % (name, ", ".join(sorted(g.legend)) or
                                                      "; ".join(g.errors) or "nothing drawn")
    paths = [d for c, d in g.paths if c == g.legend[name]]
    if not paths:
        return "series '%s' has no line in the SVG" % name
    pts = [p for d in paths for p in points(d)]
    if len(pts) < 3:
        return "series '%s' is drawn with %d points" % (name, len(pts))
    if g.height is None or min(y for _, y in pts) >= 0.9 * g.height:
        return "series '%s' stays at zero (%d points)" % (name, len(pts))
    return None


def state(g):
    if g.paths:
        return "drawn: " + ", ".join(sorted(g.legend))
    if g.errors:
        return "; ".join(g.errors)
    return "still loading" if g.loading else "empty"


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    p = Parser()
    with open(sys.argv[1], encoding="utf-8") as f:
        p.feed(f.read())
    if not p.graphs:
        print("no graph (div.ovx-graph) in the page", file=sys.stderr)
        return 1
    bad = 0
    for gid, g in p.graphs.items():
        print("%-22s %s" % (gid, state(g)))
        if g.loading or "Error loading data" in g.errors:
            print("FAIL: graph %s did not load" % gid, file=sys.stderr)
            bad = 1
    for want in sys.argv[2:]:
        gid, _, name = want.partition("=")
        g = p.graphs.get(gid)
        why = "no graph with this id" if g is None else drawn(g, name)
        if why:
            print("FAIL: graph %s: %s" % (gid, why), file=sys.stderr)
            bad = 1
        else:
            print("ok: graph %s drew '%s'" % (gid, name))
    return bad


if __name__ == "__main__":
    sys.exit(main())
