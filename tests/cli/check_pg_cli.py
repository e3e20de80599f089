#!/usr/bin/env python3
"""The leadroute tool with its state in PostgreSQL (--state postgresql://...).

    check_pg_cli.py TOOL EXAMPLES_DATA [TARGET]

TARGET is a libpq conninfo (key=value); without it $LEADROUTE_PG, else a
throwaway cluster started with tests/pg/pg_cluster.sh in a temporary
directory, stopped and removed at the end. Exit 77 (skip) without
PostgreSQL. Everything happens in two schemas of their own (lr_cli_*),
dropped at the end.

Every command runs twice, once against a SQLite file and once against the
database, and must print the same: the SQLite state is the reference whose
behaviour tests/cli/check_cli.py pins down. The database itself is then
inspected with psql: claims, pool versions, events, acknowledgements, and
that simulate leaves every row as it was.
"""
import calendar
import csv
import io
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
CLUSTER = os.path.join(HERE, "..", "pg", "pg_cluster.sh")
T0 = "2026-11-24T09:00:00Z"


def ms(iso):
    return str(calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")) * 1000)

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "pg"))
from pgtest import check, failures, find_psql  # noqa: E402


def parse_conninfo(conninfo):
    """key=value pairs of a simple libpq conninfo (no quoting)."""
    return dict(part.split("=", 1) for part in conninfo.split())


class Database:
    def __init__(self, conninfo, psql):
        self.conninfo = conninfo
        self.psql = psql

    def query(self, sql):
        out = subprocess.run(
            [self.psql, "-X", "-A", "-t", "-q", "-F", "\x1f", "-v", "ON_ERROR_STOP=1", "-d", self.conninfo,
             "-c", "SET client_min_messages = warning", "-c", sql],
            check=True, capture_output=True, text=True).stdout
        return [line.split("\x1f") for line in out.splitlines() if line]

    def value(self, sql):
        rows = self.query(sql)
        return rows[0][0] if rows else None


class Tool:
    def __init__(self, tool, data, workdir):
        self.tool = tool
        self.table = os.path.join(data, "demo", "table.csv")
        self.roster = os.path.join(data, "demo", "roster.csv")
        self.leads = os.path.join(data, "demo", "leads.csv")
        self.workdir = workdir

    def run(self, *args):
        p = subprocess.run([self.tool, *args], capture_output=True, text=True, cwd=self.workdir)
        return p.returncode, p.stdout, p.stderr

    def routing(self, command, state, *args):
        return self.run(command, "--table", self.table, "--reps", self.roster, "--state", state, *args)


def rows_of(text):
    return list(csv.DictReader(io.StringIO(text)))


def same_on_both(tool, what, sqlite_state, pg_state, command, *args):
    """Run one command against both states; the same exit code and output. The database's result."""
    want = tool.routing(command, sqlite_state, *args) if command != "explain" else \
        tool.run("explain", "--state", sqlite_state, *args)
    got = tool.routing(command, pg_state, *args) if command != "explain" else \
        tool.run("explain", "--state", pg_state, *args)
    check(got[0] == want[0] and got[1] == want[1],
          f"{what}: the same as with SQLite (exit {got[0]} vs {want[0]}, {len(got[1])} vs {len(want[1])} bytes"
          f"{'' if got[1] == want[1] else ', output differs'}): {got[2][-300:]!r}")
    return got


def dump(db):
    """Every row the store keeps, in a fixed order."""
    return {t: db.query(f"SELECT * FROM {t} ORDER BY 1, 2")
            for t in ("leadroute_meta", "leadroute_pools", "leadroute_claims", "leadroute_assignments",
                      "leadroute_events")}


def one_error_line(rc, out, err, text, what):
    check(rc == 2 and out == "" and err.count("\n") == 1 and text in err,
          f"{what}: exit 2, one line naming the problem: {rc} {out[:80]!r} {err!r}")


def scenario(tool, target, psql, tmp):
    schema = f"lr_cli_{os.getpid()}"
    empty_schema = schema + "_empty"
    caps_schema = schema + "_caps"
    email_schema = schema + "_email"
    long_schema = schema + "_long"
    admin = Database(target, psql)
    for s in (schema, empty_schema, caps_schema, email_schema, long_schema):
        admin.query(f"DROP SCHEMA IF EXISTS {s} CASCADE; CREATE SCHEMA {s}")
    try:
        clock_ahead(tool, Database(f"{target} options='-csearch_path={caps_schema}'", psql),
                    f"{target} options='-csearch_path={caps_schema}'", tmp)
        long_kv = f"{target} options='-csearch_path={long_schema}'"
        long_ids(tool, long_kv, Database(long_kv, psql), tmp)
        kv = f"{target} options='-csearch_path={schema}'"
        parts = parse_conninfo(target)
        uri = "postgresql://{}@{}:{}/{}?options={}".format(
            parts.get("user", ""), parts.get("host", ""), parts.get("port", "5432"), parts.get("dbname", ""),
            urllib.parse.quote(f"-csearch_path={schema}"))
        db = Database(kv, psql)
        lite = os.path.join(tmp, "state.db")
        email_kv = f"{target} options='-csearch_path={email_schema}'"
        run_steps(tool, db, lite, uri, kv, f"{target} options='-csearch_path={empty_schema}'",
                  Database(f"{target} options='-csearch_path={empty_schema}'", psql), tmp, email_kv,
                  Database(email_kv, psql))
    finally:
        for s in (schema, empty_schema, caps_schema, email_schema, long_schema):
            admin.query(f"DROP SCHEMA IF EXISTS {s} CASCADE")


def clock_ahead(tool, db, kv, tmp):
    """A host whose clock runs far ahead: its row counts in every window from then on, and must not
    make the log be pruned of the rows the others' windows read (else w1 is forgotten and a takes w2
    over its daily cap of 1)."""
    table = os.path.join(tmp, "caps-table.csv")
    roster = os.path.join(tmp, "caps-reps.csv")
    with open(table, "w", encoding="utf-8") as f:
        f.write("rule,region,out:pool\nr1,-,team\n")
    with open(roster, "w", encoding="utf-8") as f:
        f.write("#! reps\nid,pools,cap_day\na,team,1\nb,team,1\n")
    minute, day = 60 * 1000, 24 * 60 * 60 * 1000
    now_ms = int(time.time()) // 60 * 60 * 1000
    iso = lambda ms: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))  # noqa: E731
    for lead, at, status, rep in (("w1", now_ms, "assigned", "a"), ("w0", now_ms + 400 * day, "assigned", "b"),
                                  ("w2", now_ms + 60 * minute, "unassigned", "")):
        leads = os.path.join(tmp, f"caps-{lead}.csv")
        with open(leads, "w", encoding="utf-8") as f:
            f.write(f"id,region\n{lead},EMEA\n")
        rc, out, err = tool.run("route", "--table", table, "--reps", roster, "--state", kv, "--now", iso(at), leads)
        row = (rows_of(out) or [{}])[0]
        check(rc == 0 and row.get("status") == status and row.get("rep") == rep,
              f"daily caps beside a clock far ahead, {lead}: {rc} {out!r} {err[-200:]!r}")
    log = db.query("SELECT at_ms, rep FROM leadroute_assignments ORDER BY at_ms")
    check(log == [[str(now_ms), "a"], [str(now_ms + 400 * day), "b"]], f"a clock far ahead prunes no row of now: {log}")


def long_ids(tool, kv, db, tmp):
    """A lead whose id is longer than PostgreSQL indexes (2,704 bytes a row) is unrouted on its own; the
    leads around it, in its batch, are routed and committed (it stopped the run before)."""
    with open(tool.leads, encoding="utf-8") as f:
        lines = f.read().splitlines()
    longs = os.path.join(tmp, "long-id.csv")
    long_id = "Q" + "x" * 2999
    header = lines[0].split(",")
    assert header[2] == "email"
    # an email whose domain (the account claim's key) PostgreSQL cannot compress under its limit
    rows_in = [line.split(",") for line in lines[1:5]]
    rows_in[3][2] = "x@" + os.urandom(1500).hex() + ".com"
    with open(longs, "w", encoding="utf-8") as f:
        f.write(lines[0] + "\n" + "".join(",".join([i] + row[1:]) + "\n"
                                         for i, row in zip(("Q1", long_id, "Q3", "Q4"), rows_in)))
    rc, out, err = tool.routing("route", kv, longs, "--now", T0, "--batch", "500")
    rows = {r["id"]: r for r in rows_of(out)}
    check(rc == 1 and rows.get(long_id, {}).get("status") == "unrouted"
          and rows[long_id]["reason"] == "its id is 3000 bytes; a PostgreSQL state holds ids of up to 2600 bytes"
          and rows.get("Q4", {}).get("status") == "unrouted"
          and rows["Q4"]["reason"] == "its email's domain is 3004 bytes; a PostgreSQL state holds domains of up to "
                                      "2592 bytes"
          and rows.get("Q1", {}).get("status") == "assigned" and rows.get("Q3", {}).get("status") == "assigned"
          and err.count("\n") == 2 and "unrouted: its id is 3000 bytes" in err
          and db.value("SELECT count(*) FROM leadroute_claims WHERE key IN ('lead:Q1', 'lead:Q3')") == "2",
          f"a lead id or domain too long for the database: {rc} {err[-300:]!r} "
          f"{[(k[:8], r['status']) for k, r in rows.items()]}")


def run_steps(tool, db, lite, uri, kv, empty_kv, empty_db, tmp, email_kv, email_db):
    # ---- route: the demo week, twice -----------------------------------------------------
    rc, out, err = same_on_both(tool, "route the demo leads (URI)", lite, uri, "route", tool.leads, "--now", T0)
    first = rows_of(out)
    assigned = {r["id"]: r["rep"] for r in first if r["status"] == "assigned"}
    check(len(first) == 5000 and len(assigned) > 4000, f"5,000 records, most assigned: {len(assigned)}")
    claims = dict(db.query("SELECT key, rep FROM leadroute_claims WHERE NOT is_account"))
    check(claims == {"lead:" + k: v for k, v in assigned.items()},
          f"one claim per assigned lead, with its rep ({len(claims)} claims)")
    check(db.value("SELECT count(*) FROM leadroute_events WHERE kind <> 'assigned' AND kind <> 'queued' "
                   "AND kind <> 'unassigned'") == "0" and db.value("SELECT count(*) FROM leadroute_events") == "5000",
          "one event per lead recorded")
    versions = dict(db.query("SELECT id, version FROM leadroute_pools"))
    before = dump(db)

    rc, out, err = same_on_both(tool, "route them again (key=value)", lite, kv, "route", tool.leads, "--now", T0)
    second = rows_of(out)
    check(all(r["status"] == "existing" and r["rep"] == assigned[r["id"]] for r in second if r["id"] in assigned),
          "second run: every assigned lead is existing, with the same rep")
    check(all(r["status"] == "existing" for r in second if r["status"] not in ("queued", "unassigned")),
          "second run: nothing assigned anew")
    after = dump(db)
    check(after["leadroute_claims"] == before["leadroute_claims"] and
          after["leadroute_pools"] == before["leadroute_pools"],
          "routing only existing leads changes no claim and no pool state")

    # new leads continue the rotation from the stored pool states
    fresh = os.path.join(tmp, "fresh.csv")
    with open(tool.leads, encoding="utf-8") as f:
        lines = f.read().splitlines()
    with open(fresh, "w", encoding="utf-8") as f:
        f.write(lines[0] + "\n" + "".join("N" + line[1:] + "\n" for line in lines[1:201]))
    rc, out, err = same_on_both(tool, "route 200 new leads", lite, uri, "route", fresh, "--now", T0, "--batch", "7")
    check(sum(r["status"] == "assigned" for r in rows_of(out)) > 100, "the new leads are assigned")
    moved = {k: v for k, v in db.query("SELECT id, version FROM leadroute_pools") if int(v) > int(versions.get(k, 0))}
    check(len(moved) > 0, f"their pools' versions went on from the first run: {sorted(moved)}")

    # ---- tick, ack, explain ---------------------------------------------------------------
    rc, out, err = same_on_both(tool, "tick a day later", lite, uri, "tick", "--leads", tool.leads,
                                "--now", "2026-11-25T12:00:00Z")
    moves = rows_of(out)
    check(len(moves) > 100, f"the tick moved overdue leads: {len(moves)}")
    if moves:
        m = moves[0]
        row = db.query(f"SELECT rep, hops, array_to_string(history, ',') FROM leadroute_claims "
                       f"WHERE key = 'lead:{m['key']}'")
        check(row and row[0][0] == m["to"] and int(row[0][1]) >= 1 and m["from"] in row[0][2].split(","),
              f"the database holds the move of {m['key']}: {row} vs {m}")
    rc, out, err = same_on_both(tool, "tick again at the same time", lite, kv, "tick", "--leads", tool.leads,
                                "--now", "2026-11-25T12:00:00Z")
    again = {m["key"] for m in rows_of(out)}
    check(not again & {m["key"] for m in moves}, f"the second tick moves none of the first one's moves again")

    acked = next(iter(assigned))
    rc, out, err = same_on_both(tool, "ack a lead and an unknown key", lite, kv, "ack", "--now",
                                "2026-11-25T13:00:00Z", acked, "no-such-lead")
    check(rc == 1 and f"{acked},acknowledged," in out and "no-such-lead,not claimed," in out, f"ack records: {out!r}")
    check(db.value(f"SELECT acknowledged_ms FROM leadroute_claims WHERE key = 'lead:{acked}'") == ms("2026-11-25T13:00:00Z"),
          "the acknowledgement time is in the database")

    # a state keeps the dedupe field of its first route: the database refuses another as the file does
    byemail = os.path.join(tmp, "byemail.csv")
    with open(byemail, "w", encoding="utf-8") as f:
        f.write(lines[0] + "\n" + "E" + lines[1][1:].replace("@", "+e@", 1) + "\n")
    before = dump(db)
    rc, out, err = tool.routing("route", kv, byemail, "--now", T0, "--dedupe-field", "email")
    one_error_line(rc, out, err, "its leads were routed with dedupe keys from the lead id, this run takes them "
                   "from field 'email'", "route with another --dedupe-field")
    check(dump(db) == before, "the refused route leaves the database as it was")

    # ack by lead id of a lead claimed under its email, in a state routed so from the start
    lite_email = os.path.join(tmp, "byemail-state.db")
    email = rows_of(lines[0] + "\n" + lines[1].replace("@", "+e@", 1) + "\n")[0]["email"]
    same_on_both(tool, "route a lead under its email", lite_email, email_kv, "route", byemail, "--now", T0,
                 "--dedupe-field", "email")
    check(email_db.value("SELECT value FROM leadroute_meta WHERE key = 'cli.dedupe_field'") == "email",
          "the database keeps the dedupe field of its first route")
    eid = "E" + lines[1].split(",")[0][1:]
    rc, out, err = same_on_both(tool, "ack it by lead id", lite_email, email_kv, "ack", "--now",
                                "2026-11-24T09:05:00Z", eid)
    check(f"{email},acknowledged," in out, f"ack by lead id finds the email key: {out!r}")
    check(email_db.value(f"SELECT acknowledged_ms FROM leadroute_claims WHERE key = 'lead:{email}'")
          == ms("2026-11-24T09:05:00Z"), "acknowledged in the database under the email key")
    rc, out, err = same_on_both(tool, "explain it by lead id", lite_email, email_kv, "explain", eid)
    check(rc == 0 and "assigned" in out and "acknowledged" in out, f"explain shows its history: {out[:200]!r}")

    rc, out, err = same_on_both(tool, "explain as text", lite, kv, "explain", acked)
    check(rc == 0 and "assigned" in out and "acknowledged" in out, f"explain shows the history: {out[:200]!r}")
    same_on_both(tool, "explain as JSON lines", lite, uri, "explain", "--format", "jsonl", moves[0]["key"])
    rc, out, err = same_on_both(tool, "explain an unknown lead", lite, uri, "explain", "nobody")
    check(rc == 1 and "no recorded decision for 'nobody' in PostgreSQL database" in err,
          f"explain names the database, not the password: {err!r}")

    # ---- simulate: read, never written -------------------------------------------------------
    before = dump(db)
    rc, out, err = same_on_both(tool, "simulate the week again a day later", lite, uri, "simulate", tool.leads,
                                "--now", "2026-11-26T09:00:00Z", "--format", "csv")
    check(rc == 0 and "rep," in out, f"simulate reports per rep: {rc} {err[-200:]!r}")
    same_on_both(tool, "simulate as text", lite, kv, "simulate", fresh, "--now", "2026-11-26T09:00:00Z")
    check(dump(db) == before, "simulate leaves every row of the database as it was")

    # ---- a database without the tables ------------------------------------------------------------
    no_tables = "SELECT to_regclass('leadroute_meta') IS NULL"
    rc, out, err = tool.routing("simulate", empty_kv, tool.leads, "--now", T0, "--format", "csv")
    want = tool.routing("simulate", os.path.join(tmp, "never-created.db"), tool.leads, "--now", T0, "--format", "csv")
    check(rc == want[0] and out == want[1], f"simulate on a database without tables: an empty state ({rc})")
    for args, text in ((("tick", "--now", T0), "no leadroute tables in PostgreSQL database"),
                       (("ack", "x"), "no leadroute tables in PostgreSQL database")):
        rc, out, err = tool.routing(args[0], empty_kv, *args[1:])
        one_error_line(rc, out, err, text, f"{args[0]} on a database without tables")
    rc, out, err = tool.run("explain", "--state", empty_kv, "x")
    one_error_line(rc, out, err, "no leadroute tables", "explain on a database without tables")
    check(empty_db.value(no_tables) == "t", "reading commands create no table")

    # ---- connection strings that do not work ------------------------------------------------------
    for state, text, what in (("postgresql://leadroute@127.0.0.1:1/leadroute", "cannot connect to PostgreSQL",
                               "a server that is not there"),
                              ("postgres://[broken", "not a valid PostgreSQL connection string",
                               "a malformed URI"),
                              ("host=127.0.0.1 port=1 connect_timeout=5", "cannot connect to PostgreSQL",
                               "key=value, nothing listening"),
                              ("dbname='unterminated", "not a valid PostgreSQL connection string",
                               "a malformed key=value string"),
                              ("run=1.db", "invalid connection option \"run\" (a SQLite file whose name starts "
                               "with 'word=' is written ./NAME)", "a file name read as a connection string"),
                              ("postgres=1.db", "invalid connection option \"postgres\" (a SQLite file whose name "
                               "starts with 'word=' is written ./NAME)", "a file name read as one, as 'postgres='")):
        for command in ("route", "tick", "ack", "simulate", "explain"):
            if command == "explain":
                rc, out, err = tool.run("explain", "--state", state, "x")
            elif command in ("route", "simulate"):
                rc, out, err = tool.routing(command, state, fresh)
            else:
                rc, out, err = tool.routing(command, state, *(["x"] if command == "ack" else []))
            one_error_line(rc, out, err, text, f"{command} with {what}")

    # ---- a server that refuses writes for good (a read-only transaction, as on a standby): the
    # batch is not routed again, and nothing is written
    before = dump(db)
    unseen = os.path.join(tmp, "unseen.csv")
    with open(unseen, "w", encoding="utf-8") as f:
        f.write(lines[0] + "\n" + "".join("R" + line[1:] + "\n" for line in lines[1:21]))
    read_only = kv.replace("options='", "options='-cdefault_transaction_read_only=on ")
    rc, out, err = tool.routing("route", read_only, unseen, "--now", "2026-11-24T11:00:00Z")
    check(rc == 2 and "routing it again" not in err and err.count("\n") == 1 and "read-only transaction" in err,
          f"route on a read-only server stops at once: {rc} {err!r}")
    check(dump(db) == before, "route on a read-only server writes nothing")


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    tool, data = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    psql = find_psql()
    if not psql:
        print("psql is not installed: skipping")
        return 77
    target = sys.argv[3] if len(sys.argv) == 4 else os.environ.get("LEADROUTE_PG")
    with tempfile.TemporaryDirectory(prefix="leadroute-pg-cli-") as tmp:
        cluster = None
        if not target:
            os.chmod(tmp, 0o755)  # the server's own user must reach its directory
            cluster = os.path.join(tmp, "cluster")
            p = subprocess.run(["sh", CLUSTER, "start", cluster], capture_output=True, text=True)
            if p.returncode == 77:
                print(p.stderr.strip() or "no PostgreSQL server programs: skipping")
                return 77
            if p.returncode != 0:
                print(f"cannot start a throwaway cluster: {p.stderr.strip()}")
                return 1
            target = p.stdout.strip()
        try:
            work = os.path.join(tmp, "work")
            os.mkdir(work)
            scenario(Tool(tool, data, work), target, psql, work)
        finally:
            if cluster:
                subprocess.run(["sh", CLUSTER, "stop", cluster], capture_output=True)
    print(f"{len(failures)} failure{'' if len(failures) == 1 else 's'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
