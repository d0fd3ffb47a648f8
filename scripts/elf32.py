"""The bare-metal image's ELF read in pure Python (no binutils on a fresh machine): its
function and object symbols, their names made readable, and the crate each is charged to.
Used by scripts/bench-icount to name where a request's instructions went."""

import bisect
import re
import struct


def symbols(path):
    """(address, size, mangled name, kind) of every sized FUNC and OBJECT symbol, Thumb bit
    cleared, sorted by address. ELF32 little-endian only (the Cortex-M image)."""
    data = open(path, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        raise ValueError(f"{path}: not an ELF32 little-endian file")
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x2E)
    hdrs = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    symtab = next((h for h in hdrs if h[1] == 2), None)  # SHT_SYMTAB
    if symtab is None:
        raise ValueError(f"{path}: no .symtab (stripped)")
    stroff = hdrs[symtab[6]][4]
    out = []
    for off in range(symtab[4], symtab[4] + symtab[5], 16):
        nm, value, size, info, _other, _shndx = struct.unpack_from("<IIIBBH", data, off)
        kind = info & 0xF
        if size == 0 or kind not in (1, 2):  # OBJECT, FUNC
            continue
        end = data.index(b"\0", stroff + nm)
        out.append((value & ~1, size, data[stroff + nm:end].decode(errors="replace"), kind))
    out.sort()
    return out


class Symbolizer:
    """Address -> the readable name of the function that contains it."""

    def __init__(self, path):
        self.funcs = [s for s in symbols(path) if s[3] == 2]
        self.starts = [s[0] for s in self.funcs]

    def name(self, addr):
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0:
            start, size, name, _ = self.funcs[i]
            if addr < start + size:
                return demangle(name)
        return f"0x{addr:x}"


_ESCAPES = (("$LT$", "<"), ("$GT$", ">"), ("$RF$", "&"), ("$BP$", "*"), ("$C$", ","),
            ("$u20$", " "), ("$u27$", "'"), ("$u5b$", "["), ("$u5d$", "]"), ("$u7b$", "{"),
            ("$u7d$", "}"), ("$u7e$", "~"), ("$LP$", "("), ("$RP$", ")"))


def demangle(sym):
    """A readable path from a Rust symbol: legacy mangling (`_ZN`, length-prefixed parts and
    a hash) decoded; v0 mangling (`_R`, the precompiled core and alloc) reduced to its
    identifiers joined by `::`; anything else as it is."""
    if sym.startswith("_R"):
        body = re.sub(r"(?<=[CMXY])s[0-9A-Za-z]*_|B[0-9A-Za-z]*_", "", sym[2:].split(".")[0])
        idents, i = [], 0
        while i < len(body):
            m = re.match(r"(\d+)_?", body[i:])
            if not m:
                i += 1
                continue
            n, start = int(m.group(1)), i + m.end()
            idents.append(body[start:start + n])
            i = start + n
        return "::".join(idents) if idents else sym
    if not sym.startswith("_ZN"):
        return sym
    parts, i = [], 3
    while i < len(sym) and sym[i].isdigit():
        j = i
        while sym[j].isdigit():
            j += 1
        n = int(sym[i:j])
        parts.append(sym[j:j + n])
        i = j + n
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts.pop()
    out = "::".join(parts)
    for code, ch in _ESCAPES:
        out = out.replace(code, ch)
    out = out.replace("..", "::")
    return out[1:] if out.startswith("_<") else out
