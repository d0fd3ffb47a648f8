"""Where the bare-metal image's inlined code comes from: charges every instruction of the ELF's
flash code to the source it was inlined from, using the debug info the release profile keeps
(`debug = 2`). `scripts/lm3s-size.py --symbols` says which symbol is large; with fat LTO and
opt-level "z" one symbol (a task's `TaskStorage::poll`, `Model::with_instance_dyn`) holds the
code of dozens of functions, and this says which.

Needs llvm-objdump and llvm-symbolizer (the `llvm` package; any recent version reads the ELF).
Measurement only: nothing in the build or the tests runs it.

    python3 scripts/lm3s-attr.py ELF [--symbol REGEX] [--by function|file|line] [--in PATH] [-n N]

--symbol REGEX  only the symbols whose mangled name matches (default: all code)
--by function   bytes per function, inclusive: an instruction counts once for each function on
                its inline stack (the default; the symbol itself then reads 100%)
--by file       bytes per project source file: the innermost frame under the repository
--by line       bytes per file:line, likewise (line 0 is compiler-generated glue)
--in PATH       with --by line: the outermost frame in that file instead (the call sites in it
                that the bytes are inlined into), e.g. --in firmware/cim/src/sensor.rs
-n N            rows to print (default 40)
"""

import bisect, collections, json, os, re, subprocess, sys


def main(argv):
    if not argv or argv[0].startswith("-"):
        sys.exit(__doc__)
    elf, opts = argv[0], argv[1:]

    def opt(name, default):
        if name in opts:
            i = opts.index(name)
            if i + 1 >= len(opts):
                sys.exit(f"{name} needs a value")
            return opts[i + 1]
        return default

    sym_re = re.compile(opt("--symbol", "."))
    by = opt("--by", "function")
    within = opt("--in", None)
    rows = int(opt("-n", "40"))
    root = os.path.realpath(os.path.join(os.path.dirname(__file__), "..")) + "/"

    # Function symbols (address, size) from the symbol table, mangled so the regex is stable.
    table = subprocess.run(["llvm-objdump", "-t", elf], capture_output=True, text=True, check=True)
    syms = []
    entry = re.compile(r"^([0-9a-f]+)\s.*\sF\s+\S+\s+([0-9a-f]+)\s+(?:\.hidden\s+)?(\S+)$")
    for line in table.stdout.splitlines():
        m = entry.match(line)
        if m and int(m.group(2), 16) and sym_re.search(m.group(3)):
            syms.append((int(m.group(1), 16) & ~1, int(m.group(2), 16)))
    if not syms:
        sys.exit("no function symbol matches")

    # Instruction addresses and lengths, per symbol (Thumb: 2 or 4 bytes), from one disassembly
    # of the whole image (one llvm-objdump per symbol is minutes for all of them).
    dis = subprocess.run(["llvm-objdump", "-d", "--no-show-raw-insn", elf],
                         capture_output=True, text=True, check=True).stdout
    every = sorted({int(m.group(1), 16) for m in re.finditer(r"^\s+([0-9a-f]+):\s", dis, re.M)})
    addrs, lens = [], []
    for start, size in sorted(set(syms)):
        at = every[bisect.bisect_left(every, start):bisect.bisect_left(every, start + size)]
        at.append(start + size)
        addrs += at[:-1]
        lens += [b - a for a, b in zip(at, at[1:])]

    out = subprocess.run(
        ["llvm-symbolizer", "--obj=" + elf, "--inlining", "--output-style=JSON", "--demangle"],
        input="\n".join(hex(a) for a in addrs), capture_output=True, text=True, check=True,
    ).stdout.splitlines()

    count = collections.Counter()
    for n, line in zip(lens, out):
        frames = json.loads(line).get("Symbol", [])  # innermost first
        if by == "function":
            seen = set()
            for f in frames:
                name = re.sub(r"::h[0-9a-f]{16}$", "", f["FunctionName"])
                if name not in seen:
                    seen.add(name)
                    count[name] += n
            continue
        ours = [f for f in frames if f["FileName"].startswith(root)]
        if within:
            ours = [f for f in reversed(ours) if f["FileName"].endswith(within)]
        if not ours:
            count[f"(not from {within})" if within else "(not project source)"] += n
            continue
        f = ours[0]
        path = f["FileName"][len(root):]
        count[path if by == "file" else f"{path}:{f['Line']}"] += n

    print(f"{sum(lens)} B of code in {len(syms)} symbol(s), by {by}:")
    for key, n in count.most_common(rows):
        print(f"{n:8}  {key}")


if __name__ == "__main__":
    main(sys.argv[1:])
