#!/usr/bin/env bash
# Before and after from one run (`benches/compare.sh COMMIT`): the throughput benchmark of the
# working tree, built once against COMMIT's library (in a worktree of its own, with its own target
# directory) and once against the working tree's, run one after the other on this machine; every
# figure is printed as before → after with the ratio. The environment (BENCH,
# BILLING_TEST_POSTGRES_URL) reaches both runs alike. The before build is kept in target/baseline
# (its sources always at target/baseline-src: cargo knows a build by its source paths, so a
# second checkout sharing one target directory would pass for the first).
set -euo pipefail
base=${1:?usage: benches/compare.sh COMMIT}
root=$(git rev-parse --show-toplevel)
scratch=$(mktemp -d)
src="$root/target/baseline-src"
trap 'git -C "$root" worktree remove --force "$src" 2>/dev/null || true; rm -rf "$scratch"' EXIT
git -C "$root" worktree remove --force "$src" 2>/dev/null || true
git -C "$root" worktree add --detach "$src" "$base" >/dev/null
cp "$root/benches/throughput.rs" "$src/benches/throughput.rs"
mkdir -p "$src/benches/common" "$src/benches/throughput"
cp "$root/benches/common/"*.rs "$src/benches/common/"
cp "$root/benches/throughput/"*.rs "$src/benches/throughput/"
echo "building and running $(git -C "$root" rev-parse --short "$base") (before)…" >&2
(cd "$src" && CARGO_TARGET_DIR="$root/target/baseline" cargo bench --bench throughput) | tee "$scratch/before.md" >&2
echo "building and running the working tree (after)…" >&2
(cd "$root" && cargo bench --bench throughput) | tee "$scratch/after.md" >&2
python3 - "$scratch/before.md" "$scratch/after.md" <<'EOF'
import re, sys

def tables(path):
    """{heading: (header cells, {row name: cells})} of a benchmark's markdown output."""
    out, heading, header = {}, None, None
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("#"):
            heading, header = line, None
        elif line.startswith("|") and heading:
            cells = [c.strip() for c in line.strip("|").split("|")]
            if header is None:
                header = cells
                out[heading] = (header, {})
            elif not set(line) <= set("|- "):
                out[heading][1][cells[0]] = cells[1:]
    return out

def number(cell):
    m = re.match(r"^([0-9.]+)", cell)
    return float(m.group(1)) if m else None

before, after = tables(sys.argv[1]), tables(sys.argv[2])
for heading, (header, rows) in after.items():
    old = before.get(heading, (header, {}))[1]
    print(f"\n{heading} — before → after (ratio)")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, cells in rows.items():
        shown = []
        for i, cell in enumerate(cells):
            was = old.get(name, [None] * len(cells))[i] if name in old else None
            a, b = number(cell), number(was) if was else None
            ratio = f" ({a / b:.2f}×)" if a is not None and b else ""
            shown.append(f"{was} → {cell}{ratio}" if was else f"(new) {cell}")
        print(f"| {name} | " + " | ".join(shown) + " |")
EOF
