"""What an acceptance script prints: one `ok  ` or `FAIL` line per check (a failure with its detail,
cut short, and every secret the script named masked), a `gap  ` line per known gap, and the closing
"N passed, M failed" with the exit code (imported by the scripts from this folder)."""

import shutil
import sys

results = {"passed": 0, "failed": 0, "gaps": 0}
hidden = []  # secrets a script appends: never printed, a failure's detail shows `<secret>`


def check(name, ok, detail=""):
    """Count and print one check; returns `ok`."""
    results["passed" if ok else "failed"] += 1
    text = str(detail)
    for s in hidden:
        text = text.replace(s, "<secret>")
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + text[:1500]}", flush=True)
    return ok


def gap(name, why):
    """A known gap that still holds: printed and counted apart from the checks."""
    results["gaps"] += 1
    print(f"gap  {name}: {why}", flush=True)


def finish(tmp=None, log=None, need_checks=False):
    """Close `log`, remove the scratch folder `tmp` when every check passed (it is kept for the
    servers' logs otherwise), print the closing line and exit: 1 on any failure, or on no check at
    all when `need_checks`."""
    if log:
        log.close()
    if tmp and not results["failed"]:
        shutil.rmtree(tmp, ignore_errors=True)
    gaps = f" ({results['gaps']} known gaps)" if results["gaps"] else ""
    print(f"{results['passed']} passed, {results['failed']} failed{gaps}", flush=True)
    sys.exit(1 if results["failed"] or (need_checks and not results["passed"]) else 0)
