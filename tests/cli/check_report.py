#!/usr/bin/env python3
"""The HTML report of `leadroute simulate --html`, as a reader gets it.

Arguments: SAMPLE_PROGRAM OUTDIR. The sample program (tests/cli/report_sample.c)
writes OUTDIR/report.html and prints how many reps, pools, rules, reasons and
queues it gave the page. The page is checked with the standard library: well
formed, self-contained (nothing fetched from anywhere), names escaped, every
section present and in order, one bar per rep, numbers in the C locale's format
and figures that add up. Then headless Chromium renders it: a 1280 px wide
screenshot (OUTDIR/report.png) and the DOM it built must still show it all.
Exit 0 when all is well, 1 on a failure, 77 (skipped) without Chromium.
"""
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
    expect(all(g == "n/a" or re.fullmatch(r"[01]\.\d\d", g) for g in gauges), f"fairness indexes {gauges}")

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
