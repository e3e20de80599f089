"""What the PostgreSQL test scripts share: a check that records failures,
and finding psql (Debian keeps it beside the server in
/usr/lib/postgresql/<version>/bin when the client package is absent)."""
import glob
import shutil

failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def find_psql():
    found = shutil.which("psql")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    return candidates[-1] if candidates else None
