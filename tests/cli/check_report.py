#!/usr/bin/env python3
"""The HTML report of `leadroute simulate --html`, as a reader gets it.

Arguments: SAMPLE_PROGRAM OUTDIR. The sample program (tests/cli/report_sample.c)
writes OUTDIR/report.html and prints how many reps, pools, rules, reasons and
queues it gave the page. The page is checked with the standard library: well
formed, self-contained (nothing fetched from anywhere), names escaped, every
section present and in order, one bar per rep, numbers in the C locale's format
and figures that add up. Then headless Chromium renders it: a 1280 px wide
screenshot (OUTDIR/report.png) and the DOM it built must still show it all.
The figures are then checked one by one against what they stand for: cards,
outcome segments, rep bars on their axis, capacity marks, value bars, group
headings, the pool table with its fairness gauges, rule and reason bars. The
sample program's --edge page (malformed UTF-8, labels at their cut, deal values
at the edges of the short formats, thresholds) and --quiet page (no lead read)
get the same checks and their own expectations, and a stream whose error flag
is already set must make the page fail.
Exit 0 when all is well, 1 on a failure, 77 (skipped) without Chromium.
"""
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

SECTIONS = ["Key figures", "Outcomes", "Leads per rep", "Pools", "Rule hits", "Why leads were not assigned",
            "Reasons", "Leads per queue"]
SVG_NS = "http://www.w3.org/2000/svg"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
NUMBER = r"-?\d{1,3}(?:,\d{3})*(?:\.\d+)?"
NUM_TEXT = re.compile(rf"^(?:n/a|{NUMBER}(?: [kMBT])?|{NUMBER}%|{NUMBER} / {NUMBER}(?: full)?)$")
EXACT_VALUE = re.compile(r", deal value (\S+)")
TIMEOUT = 120

failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)
    return cond


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children = []

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()

    def find(self, tag=None, cls=None):
        return [n for n in self.walk()
                if (tag is None or n.tag == tag) and (cls is None or cls in n.classes())]


class TreeBuilder(HTMLParser):
    """A small DOM; every element but the void ones must be closed, in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", [], None)
        self.current = self.root
        self.errors = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.current.tag != tag:
            self.errors.append(f"</{tag}> closes <{self.current.tag}> at line {self.getpos()[0]}")
            return
        self.current = self.current.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(text):
    builder = TreeBuilder()
    builder.feed(text)
    builder.close()
    if builder.current is not builder.root:
        builder.errors.append(f"<{builder.current.tag}> is never closed")
    return builder.root, builder.errors


def number(text):
    return float(text.replace(",", ""))


def sections(root):
    return {n.attrs.get("id"): n for n in root.find("section")}


def check_structure(root, counts, where):
    """What both the written page and Chromium's DOM must show."""
    headings = [n.text().strip() for n in root.walk() if n.tag in ("h2", "h3")]
    found = [h for h in SECTIONS if any(x == h or x.startswith(h) for x in headings)]
    expect(found == SECTIONS, f"{where}: section headings, missing {sorted(set(SECTIONS) - set(found))}")
    positions = [next((i for i, x in enumerate(headings) if x == h), -1) for h in SECTIONS]
    expect(positions == sorted(positions), f"{where}: sections out of order: {headings}")
    bars = root.find(cls="rep-bar")
    expect(len(bars) == counts["reps"], f"{where}: {len(bars)} rep bars for {counts['reps']} reps")
    return bars


def check_page(path, counts):
    with open(path, "rb") as f:
        raw_bytes = f.read()
    try:
        raw = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as e:
        expect(False, f"the page is not UTF-8: {e}")
        return
    root, errors = parse(raw)
    expect(not errors, "unbalanced tags: " + "; ".join(errors[:5]))
    expect(raw.startswith("<!DOCTYPE html>"), "starts with <!DOCTYPE html>")
    expect('<meta charset="utf-8">' in raw, "declares its charset")

    # Self-contained: nothing to fetch, nothing to run.
    outside = raw.replace(SVG_NS, "").lower()
    expect("http://" not in outside and "https://" not in outside, "no http(s) URL but the SVG namespace")
    expect("url(" not in outside and "@import" not in outside, "no url() or @import in the CSS")
    for tag in ("script", "link", "img", "iframe", "object", "embed", "image", "use"):
        expect(not root.find(tag), f"no <{tag}> element")
    for node in root.walk():
        for name, value in node.attrs.items():
            expect(name != "src", f"no src= attribute (<{node.tag}>)")
            expect(not name.startswith("on"), f"no event handler attribute (<{node.tag} {name}>)")
            expect(name not in ("href", "xlink:href") or (value or "").startswith("#"),
                   f"no link out of the page (<{node.tag} {name}={value!r}>)")

    # Names arrive escaped in the source and whole in the text.
    expect("Lee &lt;&amp;&gt; &quot;Ops&quot; Desk" in raw, "the name with <&>\" is escaped")
    expect("Lee <&>" not in raw and '"Ops" Desk' not in raw, "the name with <&>\" never appears raw")
    expect("territories-2024Q3 &lt;draft &amp; &quot;final&quot;&gt;" in raw, "the table name is escaped")
    expect("Zo\u00eb M\u00fcller" in raw, "a non-ASCII name comes through as UTF-8")
    parts = sections(root)
    expect(set(parts) >= {"key-figures", "outcomes", "reps", "pools", "rules", "not-assigned"},
           f"section ids: {sorted(k for k in parts if k)}")
    if failures:
        return
    reps_text = parts["reps"].text()
    expect('Lee <&> "Ops" Desk' in reps_text, "the name with <&>\" reads right once parsed")
    expect("Maximiliane Wolkenstein-Trostburg" in reps_text
           and re.search(r">Maximiliane Wolk[^<]*\u2026<", raw),
           "a long name is cut with an ellipsis in its label and kept whole in its tooltip")

    bars = check_structure(root, counts, "page")

    # Numbers: C-locale formatting wherever a figure is shown.
    for node in root.find("text", "num") + root.find("div", "figure"):
        value = node.text().strip()
        expect(NUM_TEXT.match(value), f"figure {value!r} is not in the C locale's format")
    for title in root.find("title"):
        for value in EXACT_VALUE.findall(title.text()):
            expect(re.fullmatch(r"-?\d{1,3}(?:,\d{3})*\.\d\d", value.rstrip(";,")),
                   f"exact deal value {value!r} in a tooltip")
    for node in root.walk():
        for name in ("x", "y", "width", "height"):
            if name in node.attrs:
                expect(re.fullmatch(r"-?\d+(\.\d+)?", node.attrs[name] or ""),
                       f"<{node.tag} {name}={node.attrs[name]!r}> is a plain number")
        if "viewbox" in node.attrs:
            expect(re.fullmatch(r"(-?\d+(\.\d+)? ){3}-?\d+(\.\d+)?", node.attrs["viewbox"] or ""),
                   f"viewBox {node.attrs['viewbox']!r} is numeric")

    # The figures add up: outcomes against leads, and percentages.
    cards = {n.find(cls="label")[0].text().strip(): n.find(cls="figure")[0].text().strip()
             for n in parts["key-figures"].find("div", "card")}
    legend = [li.text().strip() for li in parts["outcomes"].find("li")]
    outcomes = {}
    for line in legend:
        m = re.match(r"^(\S+) ([\d,]+) \(([\d.]+)%", line)
        if expect(m, f"outcome legend line {line!r}"):
            outcomes[m.group(1)] = (number(m.group(2)), float(m.group(3)))
    expect(list(outcomes) == ["assigned", "existing", "queued", "unassigned", "unrouted"],
           f"outcomes in order: {list(outcomes)}")
    total = number(cards.get("Leads", "0"))
    expect(total > 0 and sum(c for c, _ in outcomes.values()) == total,
           f"outcomes add up to the leads card ({total})")
    for name, (count, percent) in outcomes.items():
        expect(abs(percent - 100.0 * count / total) <= 0.051, f"{name}: {percent}% of {total}")
        expect(cards.get(name.capitalize()) == f"{int(count):,}", f"{name} card shows {int(count):,}")
    segments = [r for r in parts["outcomes"].find("rect") if r.parent.tag == "g"]
    expect(sum(float(r.attrs["width"]) for r in segments) == float(parts["outcomes"].find("svg")[0]
                                                                    .attrs["viewbox"].split()[2]),
           "the outcome segments fill the bar exactly")

    # Rep bars: one per rep, as long as the leads they stand for.
    rows = []
    for bar in bars:
        lead_text = bar.parent.find("text", "num")[0].text()
        rows.append((number(lead_text), float(bar.attrs["width"])))
    rows.sort()
    expect(all(a[1] <= b[1] for a, b in zip(rows, rows[1:])), "longer rep bars for more leads")
    expect(all((w == 0) == (n == 0) for n, w in rows), "a bar has length exactly when the rep has leads")
    expect(any(n.text().strip().endswith("full") for n in parts["reps"].find("text", "full")),
           "the rep at capacity is marked full")
    expect(any(n.text().strip() == "inactive" for n in parts["reps"].find("text", "off")),
           "the inactive rep is marked inactive")
    expect(len(parts["reps"].find("h3")) >= 5, "reps are grouped under pool headings")

    # Pools: a row each; the pool with no index shows n/a, the others a gauge.
    pool_rows = parts["pools"].find("tbody")[0].find("tr")
    expect(len(pool_rows) == counts["pools"], f"{len(pool_rows)} pool rows for {counts['pools']} pools")
    gauges = [r.find("td")[-1].find("span")[-1].text().strip() for r in pool_rows]
    expect("n/a" in gauges, "an unknown fairness index reads n/a")
    expect(all(g == "n/a" or re.fullmatch(r"[01]\.\d\d\d", g) for g in gauges), f"fairness indexes {gauges}")

    # Rule hits: every rule, the dead ones called out.
    rule_rows = parts["rules"].find("g", "row")
    expect(len(rule_rows) == counts["rules"], f"{len(rule_rows)} rule rows for {counts['rules']} rules")
    dead = [r for r in rule_rows if "dead" in r.classes()]
    zero = [r for r in rule_rows if r.find("text", "num")[0].text() == "0"]
    expect(dead and dead == zero, "rules with no hit, and only those, are marked")
    expect(all("never hit" in r.text() for r in dead), "a dead rule reads 'never hit'")
    expect("never hit" in parts["rules"].find("p")[0].text(), "the dead rules are named above the chart")

    rows = parts["not-assigned"].find("g", "row")
    expect(len(rows) == counts["reasons"] + counts["queues"], "a row per reason and per queue")
    check_sample_figures(root, raw)


# ---- figures one by one --------------------------------------------------

GOOD, WARN, BAD, INK, INACTIVE = "#3b8a6e", "#d9a43a", "#c0504d", "#1f2933", "#c3c9d0"
REP_BAR_X, REP_BAR_WIDTH, REP_HEAD, REP_ROW, VALUE_BAR_WIDTH = 224, 570, 22, 26, 76
COUNT_BAR_END, COUNT_HEAD, COUNT_ROW = 880, 22, 24
OUTCOME_NOTES = {"Existing": "already owned", "Queued": "waiting in a queue",
                 "Unassigned": "no one could take it", "Unrouted": "stopped by an error"}
REP_TITLE = re.compile(r"^(.*): ([\d,]+) (leads?) this run, deal value (\S+); ([\d,]+) open"
                       r"(?: of a cap of ([\d,]+)( \(full\))?)?(; inactive)?$", re.S)
COUNT_TITLE = re.compile(r"^(.*): ([\d,]+) (\w+?)(s?)(?: \(([^)]*)\))?(?:, deal value (\S+))?(; never hit)?$", re.S)


def pixels(fraction, length):
    """report.c's pixels(): lround of the clamped fraction."""
    if not fraction > 0:
        return 0
    return math.floor(min(fraction, 1.0) * length + 0.5)


def short_number(text):
    """"1,000" -> 1000, "20 k" -> 20000."""
    m = re.fullmatch(r"(-?[\d,.]+)(?: ([kMBT]))?", text.strip())
    return number(m.group(1)) * 1000 ** (" kMBT".index(m.group(2)) if m.group(2) else 0) if m else None


def round_axis(top):
    """The smallest step 1, 2, 5, 10, 20, ... with at most five steps to top, and the axis end."""
    top = max(top, 1)
    step = next(m * 10 ** e for e in range(20) for m in (1, 2, 5) if m * 10 ** e * 5 >= top)
    return step, -(-top // step) * step


def row_title(row):
    return next((c for c in row.children if isinstance(c, Node) and c.tag == "title"), Node("title", [], None)).text()


def check_cards(part, where, skipped, base):
    cards = {}
    for card in part.find("div", "card"):
        label = card.find(cls="label")[0].text()
        cards[label] = (card.find(cls="figure")[0].text(), card.find(cls="note")[0].text(),
                        card.attrs.get("title"), "alert" in card.classes())
    note = cards.get("Leads", ("", "", "", False))[1]
    expect(note == (f"{skipped:,} row{'' if skipped == 1 else 's'} skipped" if skipped else "all rows read"),
           f"{where}: the Leads card says {note!r} for {skipped} skipped rows")
    for label in ("Assigned", "Existing", "Queued", "Unassigned", "Unrouted"):
        figure, note, title, alert = cards.get(label, ("0", "", "", False))
        count = number(figure)
        share = f"{100.0 * count / base:.1f}%" if base else "n/a"
        expect(title == f"{figure} leads, {share} of leads", f"{where}: {label} card tooltip {title!r}")
        wanted = f"{share} of leads" if label == "Assigned" else OUTCOME_NOTES[label]
        expect(note == wanted, f"{where}: {label} card note {note!r}, not {wanted!r}")
        expect(alert == (label == "Unrouted" and count > 0),
               f"{where}: {label} card with {figure} leads is {'' if alert else 'not '}marked as an alert")
    return cards


def check_outcome_bar(part, where):
    colours = {"assigned": "#ffffff", "existing": "#ffffff", "queued": INK, "unassigned": INK, "unrouted": "#ffffff"}
    legend = {li.find("strong")[0].text(): li.text() for li in part.find("li")}
    for g in part.find("g", "outcome"):
        rect, texts = g.find("rect")[0], g.find("text", "inside")
        x0, width = int(rect.attrs["x"]), int(rect.attrs["width"])
        name, _, rest = row_title(g).partition(": ")
        share = re.search(r"\(([^)]*)\)", rest).group(1)
        expect(bool(texts) == (width >= 64), f"{where}: outcome {name} {width} wide has {len(texts)} labels")
        if texts:
            expect(texts[0].text() == share and int(texts[0].attrs["x"]) == (2 * x0 + width) // 2,
                   f"{where}: outcome {name} label {texts[0].text()!r} at x={texts[0].attrs['x']}")
            expect(texts[0].attrs.get("style") == f"fill:{colours.get(name.lower(), '#ffffff')}",
                   f"{where}: outcome {name} label colour {texts[0].attrs.get('style')}")
        expect(name in legend and f"({share}" in legend[name], f"{where}: outcome {name} in the legend")
        value = re.search(r", deal value (\S+)$", rest)
        expect((value is not None) == bool(re.search(r"\(\S+%, ", legend.get(name, ""))),
               f"{where}: outcome {name}: deal value in its tooltip and legend alike")
        expect(value is None or number(value.group(1)) != 0, f"{where}: outcome {name}: no deal value of 0")


def check_rep_chart(part, where):
    """Every rep bar, open bar, capacity mark and value bar where its figures put it."""
    charts = part.find("svg", "reps")
    reps = []
    for chart in charts:
        for i, row in enumerate(chart.find("g", "row")):
            m = REP_TITLE.match(row_title(row))
            if not expect(m, f"{where}: rep tooltip {row_title(row)!r}"):
                continue
            value = m.group(4)
            reps.append((chart, i, row, m, number(m.group(2)), number(m.group(5)),
                         number(m.group(6)) if m.group(6) else 0, None if value == "n/a" else number(value)))
    if not reps:
        return
    top = max(max(leads, open_, cap) for _, _, _, _, leads, open_, cap, _ in reps)
    step, axis = round_axis(int(top))
    values = [v for *_, v in reps if v is not None]
    value_max = max(values + [0.0])
    for chart in charts:
        ticks = chart.find("text", "axis")
        got = [short_number(t.text()) for t in ticks]
        expect(got == [i * step for i in range(axis // step + 1)],
               f"{where}: axis ticks {[t.text() for t in ticks]} for a largest figure of {top}")
        expect(all(re.fullmatch(r"\d{1,3}(?:,\d{3})*", t.text()) for t, v in zip(ticks, got) if v is not None and v < 10000),
               f"{where}: ticks under 10,000 read in full: {[t.text() for t in ticks]}")
        for t, v in zip(ticks, got):
            expect(int(t.attrs["x"]) == REP_BAR_X + pixels((v or 0) / axis, REP_BAR_WIDTH)
                   and t.attrs.get("text-anchor") == ("start" if v == 0 else "middle"),
                   f"{where}: tick {t.text()} at x={t.attrs['x']} anchored {t.attrs.get('text-anchor')}")
    for chart, i, row, m, leads, open_, cap, value in reps:
        name = m.group(1)
        rects = [r for r in row.find("rect")]
        hover = [r for r in rects if "hover" in r.classes()]
        expect(hover and int(hover[0].attrs["y"]) == REP_HEAD + i * REP_ROW, f"{where}: {name}: row {i} at its place")
        bar = row.find("rect", "rep-bar")[0]
        wanted = max(2, pixels(leads / axis, REP_BAR_WIDTH)) if leads else 0
        expect(int(bar.attrs["width"]) == wanted, f"{where}: {name}: {leads:g} leads drawn {bar.attrs['width']} long, not {wanted}")
        expect(m.group(3) == ("lead" if leads == 1 else "leads"), f"{where}: {name}: '{leads:g} {m.group(3)}'")
        inactive = m.group(8) is not None
        label = [t for t in row.find("text") if t.attrs.get("x") == "212"][0]
        expect(("off" in label.classes()) == inactive and (bar.attrs["fill"] == INACTIVE) == inactive,
               f"{where}: {name}: {'inactive' if inactive else 'active'} rep drawn so")
        pale = [r for r in rects if r.attrs.get("fill-opacity") == "0.25"]
        wanted = pixels(open_ / axis, REP_BAR_WIDTH)
        expect([int(r.attrs["width"]) for r in pale] == ([wanted] if wanted else []),
               f"{where}: {name}: {open_:g} open leads drawn {[r.attrs['width'] for r in pale]} long, not {wanted}")
        full = cap > 0 and open_ >= cap
        marks = row.find("rect", "cap")
        expect(len(marks) == (1 if cap else 0), f"{where}: {name}: a capacity mark exactly when capped")
        if marks and cap:
            x = REP_BAR_X + pixels(cap / axis, REP_BAR_WIDTH) - 1
            expect(int(marks[0].attrs["x"]) == x and marks[0].attrs["fill"] == (BAD if full else INK),
                   f"{where}: {name}: cap {cap:g} marked at x={marks[0].attrs['x']} in {marks[0].attrs['fill']}")
        expect((m.group(7) is not None) == full, f"{where}: {name}: '(full)' in the tooltip exactly when full")
        status = row.find("text", "num")[-1]
        expect(("full" in status.classes()) == full and ("off" in status.classes()) == (inactive and not full)
               and status.text().endswith(" full") == full,
               f"{where}: {name}: open/cap {status.text()!r} class {status.classes()}")
        bars = row.find("rect", "value-bar")
        if value is None:  # n/a: no bar, as long as its figure
            expect(not bars, f"{where}: {name}: a deal value that reads n/a has no value bar")
            continue
        drawn = value > 0 and value_max > 0
        expect(len(bars) == (1 if drawn else 0), f"{where}: {name}: a value bar exactly when the value is > 0")
        if bars and drawn:
            wanted = max(1, pixels(value / value_max, VALUE_BAR_WIDTH))
            expect(int(bars[0].attrs["width"]) == wanted,
                   f"{where}: {name}: deal value {value:g} drawn {bars[0].attrs['width']} long, not {wanted}")
    return reps


def check_rep_groups(part, pools, reps, where):
    """A heading per group, in its own colour, with its figures; groups with no rep left out."""
    headings = part.find("h3")
    colours = [h.find("rect")[0].attrs.get("fill") for h in headings]
    expect(len(set(colours)) == len(colours), f"{where}: each rep group in its own colour: {colours}")
    charts = part.find("svg", "reps")
    expect(len(charts) == len(headings), f"{where}: a chart per group heading")
    for h, chart in zip(headings, charts):
        spans = h.find("span")
        name, small = spans[0].text(), spans[1].text()
        rows = chart.find("g", "row")
        leads = sum(r[4] for r in reps if r[0] is chart)
        parts_ = small.split(" \u00b7 ")
        figures = parts_[-3:]
        strategy = pools.get(name, {}).get("strategy")
        expect(parts_[:-3] == ([strategy] if strategy else []), f"{where}: group {name}: heading {small!r}")
        expect(figures[0] == f"{len(rows):,} rep{'' if len(rows) == 1 else 's'}", f"{where}: group {name}: {small!r}")
        pool_leads = number(pools[name]["leads"]) if name in pools else leads
        expect(figures[1] == f"{int(pool_leads):,} lead{'' if pool_leads == 1 else 's'}", f"{where}: group {name}: {small!r}")
        if name in pools:
            expect(figures[2] == pools[name]["money"], f"{where}: group {name}: {small!r} against the pool table")
    names = [h.find("span")[0].text() for h in headings]
    expect(len(names) == len(set(names)), f"{where}: every group once: {names}")
    return names


def check_pool_table(part, where):
    pools = {}
    for row in part.find("tbody")[0].find("tr"):
        cells = row.find("td")
        pool = {"strategy": cells[1].text(), "members": cells[2].text(), "leads": cells[3].text(),
                "money": cells[4].text(), "exact": cells[4].find("span")[0].attrs.get("title"),
                "spread": cells[5].text()}
        pools.setdefault(cells[0].text(), pool)
        title = cells[6].find("title")[0].text()
        m = re.fullmatch(r"Jain's index ([\d.]+): (.*)", title)
        if m:
            jain = float(m.group(1))
            colour, verdict = ((GOOD, "even") if jain >= 0.9 else (WARN, "somewhat uneven") if jain >= 0.8
                               else (BAD, "uneven"))
            rects = cells[6].find("rect")
            expect(m.group(2) == verdict and rects[1].attrs["fill"] == colour,
                   f"{where}: pool {cells[0].text()}: index {jain} reads {m.group(2)!r} in {rects[1].attrs['fill']}")
            expect(abs(int(rects[1].attrs["width"]) - jain * 120) <= 1, f"{where}: pool {cells[0].text()}: gauge length")
            expect(int(rects[2].attrs["x"]) == 96, f"{where}: pool {cells[0].text()}: the tick marks 0.8")
            shown = cells[6].find("span")[0].text()
            expect(shown == m.group(1), f"{where}: pool {cells[0].text()}: index {shown} beside a gauge of {m.group(1)}")
        else:
            expect(title == "no fairness index for this pool", f"{where}: gauge title {title!r}")
    return pools


def check_count_chart(chart, where, zero_note):
    """Rule hits, reasons, queues: a bar as long as its count, tooltips that say it right."""
    heads = [t.text() for t in chart.find("text", "head")]
    rows = chart.find("g", "row")
    counts = [number(r.find("text", "num")[0].text()) for r in rows]
    top = max(counts + [0])
    bar_x = int([r for r in chart.find("rect") if r.parent is chart][0].attrs["x"])
    any_value = False
    for row, count in zip(rows, counts):
        m = COUNT_TITLE.match(row_title(row))
        if not expect(m, f"{where}: tooltip {row_title(row)!r}"):
            continue
        dead = count == 0 and zero_note
        expect(("dead" in row.classes()) == bool(dead) and (m.group(7) is not None) == bool(dead),
               f"{where}: {m.group(1)}: '{zero_note}' exactly when it has no lead")
        expect(m.group(4) == ("" if count == 1 else "s"), f"{where}: {m.group(1)}: '{count:g} {m.group(3)}{m.group(4)}'")
        any_value = any_value or (m.group(6) is not None and number(m.group(6)) != 0)
        bars = row.find("rect", "count-bar")
        if dead:
            expect(not bars, f"{where}: {m.group(1)}: no bar")
        elif expect(bars, f"{where}: {m.group(1)}: a bar"):
            wanted = max(2, pixels(count / top, COUNT_BAR_END - bar_x)) if count else 0
            expect(int(bars[0].attrs["width"]) == wanted,
                   f"{where}: {m.group(1)}: {count:g} drawn {bars[0].attrs['width']} long, not {wanted}")
    expect("Deal value" in heads or not any_value, f"{where}: a deal value column when a value is not 0: {heads}")
    expect("Share" in heads, f"{where}: a share column")
    return rows


def rep_labels(part):
    """Rep id (from the tooltip) -> the label drawn for it."""
    labels = {}
    for row in part.find("g", "row"):
        title = row_title(row)
        m = re.match(r"^.* \(([^()]*)\): \d", title) or re.match(r"^([^:]*): \d", title)
        labels[m.group(1)] = ([t.text() for t in row.find("text") if t.attrs.get("x") == "212"][0], title)
    return labels


def check_figures(root, raw, where, skipped):
    """What every page must get right, figure by figure."""
    parts = sections(root)
    expect("(null)" not in raw, f"{where}: no (null) on the page")
    outcomes = [li.text() for li in parts["outcomes"].find("li")]
    base = sum(number(m.group(1)) for m in (re.search(r"([\d,]+) \(", o) for o in outcomes) if m)
    check_cards(parts["key-figures"], where, skipped, base)
    check_outcome_bar(parts["outcomes"], where)
    reps = check_rep_chart(parts["reps"], where) or []
    pools = check_pool_table(parts["pools"], where) if parts["pools"].find("tbody") else {}
    groups = check_rep_groups(parts["reps"], pools, reps, where)
    charts = parts["rules"].find("svg")
    rules = check_count_chart(charts[0], where + " rule hits", "never hit") if charts else []
    intro = parts["rules"].find("p")[0].text()
    dead = [row_title(r).split(": ")[0] for r in rules if "dead" in r.classes()]
    wanted = (f"{len(dead)} of {len(rules)} rules never hit: {', '.join(dead)}." if dead
              else "Every rule matched at least one lead.")
    expect(not rules or wanted in intro, f"{where}: rule hits intro {intro!r}, not {wanted!r}")
    if charts:
        expect("Deal value" not in [t.text() for t in charts[0].find("text", "head")], f"{where}: rules have no value column")
    for chart in parts["not-assigned"].find("svg"):
        check_count_chart(chart, where + " " + chart.attrs.get("aria-label", ""), None)
    return parts, reps, pools, groups


def check_sample_figures(root, raw):
    """The sample's own figures, as its reader must see them."""
    parts, reps, pools, groups = check_figures(root, raw, "page", 2)
    expect(root.find("title")[0].text() == 'Routing simulation \u2013 territories-2024Q3 <draft & "final">',
           f"the page title: {root.find('title')[0].text()!r}")
    meta = root.find("dl", "meta")[0]
    dl = dict(zip([n.text() for n in meta.find("dt")], [n.text() for n in meta.find("dd")]))
    expect(dl.get("Decision table") == 'territories-2024Q3 <draft & "final"> 9f3a5c0e71d2b846'
           and dl.get("Roster") == "data/reps-q3.csv" and dl.get("Leads") == "data/leads-september.csv"
           and dl.get("Generated") == "2024-09-30T16:45:12Z", f"the header: {dl}")
    cards = {c.find(cls="label")[0].text(): c for c in parts["key-figures"].find("div", "card")}
    value = cards["Deal value"]
    expect(value.find(cls="figure")[0].text() == "39 M" and value.find(cls="note")[0].text() == "38,745,500.00",
           "the Deal value card: 39 M, 38,745,500.00 below")
    expect(groups == ["enterprise-emea", "enterprise-na", "mid-market", "smb", "apac", "No pool"],
           f"rep groups: the pools with reps in roster order, then No pool: {groups}")
    # Members are the active reps; the spread is the gap between their leads.
    for name, pool in pools.items():
        members = [r for r in reps if r[3].group(8) is None and any(
            h.find("span")[0].text() == name and r[0] is c
            for h, c in zip(parts["reps"].find("h3"), parts["reps"].find("svg", "reps")))]
        if members:
            leads = [r[4] for r in members]
            expect(pool["members"] == str(len(members)) and pool["spread"] == f"{max(leads) - min(leads):,.0f}",
                   f"pool {name}: {pool['members']} members, spread {pool['spread']}")
    money = {re.sub(r" \([^()]*\)$", "", r[3].group(1)): r[2].find("text", "num")[1].text() for r in reps}
    expect(money.get("Ana Costa") == "1.5 M" and money.get("Hannah Becker") == "612 k"
           and pools["enterprise-emea"]["money"] == "7.7 M", f"short deal values: {money}")
    labels = [t.text() for t in parts["not-assigned"].find("svg")[0].find("text") if t.attrs.get("x") == "520"]
    expect(all("\u2026" not in t for t in labels) and len(labels) == 7, f"reasons are not cut: {labels}")


def check_edge_page(sample, outdir):
    path = os.path.join(outdir, "edge.html")
    done = subprocess.run([sample, "--edge", path], capture_output=True, text=True, timeout=TIMEOUT)
    if not expect(done.returncode == 0, f"{sample} --edge exits {done.returncode}: {done.stderr}"):
        return
    with open(path, "rb") as f:
        raw_bytes = f.read()
    try:
        raw = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as e:
        expect(False, f"edge: the page is not UTF-8: {e}")
        return
    expect(not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", raw), "edge: no control character on the page")
    root, errors = parse(raw)
    expect(not errors, "edge: unbalanced tags: " + "; ".join(errors[:5]))
    if failures:
        return
    parts, reps, pools, groups = check_figures(root, raw, "edge", 1)
    labels = rep_labels(parts["reps"])
    F = "\ufffd"
    wanted = {
        "fits": "x" * 29, "cut": "x" * 28 + "\u2026", "caps": "ABCDEFGHIJKLMNOPQRSTU\u2026",
        "wide-15": "\u5c71" * 15, "wide-16": "\u5c71" * 14 + "\u2026",
        "bad-utf8": f"a{F}b{F}{F}c{F}d{F}{F}{F}e{F}{F}f{F * 4}g{F * 4}h{F}{F}",
        "controls": "p q r s t u", "no-name": "no-name",
    }
    for rep, label in wanted.items():
        got = labels.get(rep, ("", ""))
        expect(got[0] == label, f"edge: rep {rep} labelled {got[0]!r}, not {label!r}")
    expect(labels.get("mixed-utf8", ("", ""))[1].startswith(f"i{F}\u00e9j\u07ffk\U0010ffffl (mixed-utf8): "),
           f"edge: a lead byte inside a sequence is one U+FFFD, U+07FF and U+10FFFF pass: {labels.get('mixed-utf8')}")
    expect(labels.get("no-name", ("", ""))[1].startswith("no-name: 0 leads"), "edge: a rep with no name is shown by its id, once")
    money = {re.sub(r" \([^()]*\)$", "", r[3].group(1)): (r[2].find("text", "num")[1].text(), r[3].group(4))
             for r in reps}
    for name, short in (("x" * 29, "1.0 k"), ("x" * 30, "1.0 M"), ("ABCDEFGHIJKLMNOPQRSTUVW", "10 k"),
                        ("\u5c71" * 15, "8.5 k"), ("Big Cap", "n/a"), ("Solo Rep", "100")):
        expect(money.get(name, ("",))[0] == short, f"edge: {name}: deal value {money.get(name)} reads {short}")
    expect(money.get("Big Cap", ("", ""))[1] == "n/a", "edge: an infinite deal value reads n/a in its tooltip")
    expect(groups == ["edge", "side-pool"], f"edge: a pool listed twice has one group, an unlisted pool its own: {groups}")
    expect(pools["edge"]["exact"] == "1e+21" and pools["edge"]["money"] == "1,000,000,000 T"
           and pools["amber"]["money"] == "-1.5 k" and pools["amber"]["exact"] == "-1,500.00",
           f"edge: huge and negative deal values: {pools}")
    spreads = [r.find("td")[5].text() for r in parts["pools"].find("tbody")[0].find("tr")]
    expect(spreads == ["2.4", "3", "0", "0"], f"edge: spreads {spreads}")
    gauge = [r.find("td")[6] for r in parts["pools"].find("tbody")[0].find("tr")][-1]
    expect(gauge.find("title")[0].text() == "Jain's index 0.900: even" and gauge.find("rect")[1].attrs["fill"] == GOOD
           and gauge.find("span")[0].text() == "0.900",
           f"edge: an index of 0.8996 reads 0.900, even, in green: {gauge.find('title')[0].text()!r}")
    legend = [li.text() for li in parts["outcomes"].find("li")]
    expect(legend[1] == "Existing 150 (15.0%)", f"edge: an outcome with no name or value: {legend[1]!r}")
    rule = [t.text() for t in parts["rules"].find("text") if t.attrs.get("x") == "260"]
    expect(rule[:1] == ["x" * 35 + "\u2026"], f"edge: a long rule name is cut: {rule[:1]}")
    queue = row_title(parts["not-assigned"].find("svg")[1].find("g", "row")[0])
    expect(queue.endswith(", deal value 0.00"), f"edge: -0.004 reads 0.00, without a sign: {queue!r}")


def check_quiet_page(sample, outdir):
    path = os.path.join(outdir, "quiet.html")
    done = subprocess.run([sample, "--quiet", path], capture_output=True, text=True, timeout=TIMEOUT)
    if not expect(done.returncode == 0, f"{sample} --quiet exits {done.returncode}: {done.stderr}"):
        return
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    root, errors = parse(raw)
    expect(not errors, "quiet: unbalanced tags: " + "; ".join(errors[:5]))
    if failures:
        return
    check_figures(root, raw, "quiet", 0)
    expect(root.find("title")[0].text() == "Routing report" and root.find("h1")[0].text() == "Routing report",
           "quiet: an empty title gives 'Routing report'")
    expect("table hash" not in raw, "quiet: no table hash shown when there is none")
    expect("No lead was routed." in raw, "quiet: the outcome bar says no lead was routed")


def check_stale_error(sample, outdir):
    path = os.path.join(outdir, "stale.html")
    done = subprocess.run([sample, "--stale-error", path], capture_output=True, text=True, timeout=TIMEOUT)
    expect(done.returncode == 1 and "writing" in done.stderr,
           f"a stream already in error fails the page: {done.returncode} {done.stderr!r}")


def find_chromium():
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"),
                      shutil.which("google-chrome")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def run_chromium(chromium, outdir, *args):
    profile = tempfile.mkdtemp(prefix="chromium-", dir=outdir)
    command = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--hide-scrollbars", "--no-first-run", f"--user-data-dir={profile}", *args]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        expect(False, f"chromium did not finish within {TIMEOUT} s: {' '.join(args)}")
        return None
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def check_rendering(chromium, page, outdir, counts):
    url = "file://" + os.path.abspath(page)
    png = os.path.join(outdir, "report.png")
    if os.path.exists(png):
        os.remove(png)
    done = run_chromium(chromium, outdir, f"--screenshot={png}", "--window-size=1280,2400", url)
    if done is not None and expect(done.returncode == 0 and os.path.exists(png),
                                   f"chromium screenshot failed ({done.returncode}): {done.stderr[-500:]}"):
        with open(png, "rb") as f:
            head = f.read(24)
        size = os.path.getsize(png)
        expect(size > 20_000, f"the screenshot is {size} bytes: a blank page?")
        if expect(head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", "the screenshot is a PNG"):
            width, height = struct.unpack(">II", head[16:24])
            expect(width == 1280 and height == 2400, f"the screenshot is {width}x{height}, not 1280x2400")

    done = run_chromium(chromium, outdir, "--dump-dom", url)
    if done is not None and expect(done.returncode == 0 and "</html>" in done.stdout,
                                   f"chromium --dump-dom failed ({done.returncode}): {done.stderr[-500:]}"):
        root, errors = parse(done.stdout)
        expect(not errors, "Chromium's DOM is balanced: " + "; ".join(errors[:3]))
        check_structure(root, counts, "rendered DOM")


def main():
    if len(sys.argv) != 3:
        print("usage: check_report.py SAMPLE_PROGRAM OUTDIR", file=sys.stderr)
        return 2
    sample, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    page = os.path.join(outdir, "report.html")

    done = subprocess.run([sample, page], capture_output=True, text=True, timeout=TIMEOUT)
    if not expect(done.returncode == 0, f"{sample} exits {done.returncode}: {done.stderr}"):
        return report()
    m = re.fullmatch(r"reps (\d+) pools (\d+) rules (\d+) reasons (\d+) queues (\d+)\n", done.stdout)
    if not expect(m, f"sample summary line: {done.stdout!r}"):
        return report()
    counts = dict(zip(("reps", "pools", "rules", "reasons", "queues"), map(int, m.groups())))

    # A failed write is reported, not passed over.
    if os.path.exists("/dev/full"):
        full = subprocess.run([sample, "/dev/full"], capture_output=True, text=True, timeout=TIMEOUT)
        expect(full.returncode == 1 and "No space left on device" in full.stderr,
               f"writing to /dev/full fails with ENOSPC: {full.returncode} {full.stderr!r}")

    check_page(page, counts)
    check_edge_page(sample, outdir)
    check_quiet_page(sample, outdir)
    check_stale_error(sample, outdir)
    if failures:
        return report()

    chromium = find_chromium()
    if not chromium:
        print("SKIP: Chromium not found (/usr/bin/chromium or chromium in PATH); the page itself passed")
        return 77
    check_rendering(chromium, page, outdir, counts)
    return report()


def report():
    for failure in failures:
        print("FAIL:", failure)
    if not failures:
        print("ok: report.html is self-contained, complete and renders at 1280 px")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
