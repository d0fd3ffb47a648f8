"""Size report of the bare-metal image from its ELF: flash and RAM by section, checked against
the board's limits (exit 1 above them) and goals (a warning). argv: the ELF path."""

import struct, sys

path = sys.argv[1]
# LM3S6965: 256 KiB flash, 64 KiB RAM (hard limits: the build fails above them); the goals are
# issue 9's budget for the image (warnings above them).
flash_limit, flash_goal = 256 * 1024, 192 * 1024
ram_limit, ram_goal = 64 * 1024, 60 * 1024
# The measured stack high-water mark (the image logs "stack peak"; test_lm3s.py prints the last
# one) with a 30% margin: 5,568 B after deep WQL at the image's filter-depth limit, two
# concurrent clients enumerating twelve sensors and SEL writes. The stack gets whatever RAM
# static data leaves.
stack_reserve = 7424
data = open(path, "rb").read()
# ELF32 little-endian section headers: enough to size allocated sections without binutils.
assert data[:4] == b"\x7fELF" and data[4] == 1 and data[5] == 1, "not an ELF32 LE file"
shoff, = struct.unpack_from("<I", data, 0x20)
shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
secs = []
for i in range(shnum):
    name, typ, flags, addr, off, size = struct.unpack_from("<IIIIII", data, shoff + i * shentsize)
    secs.append((name, typ, flags, addr, size))
stroff, = struct.unpack_from("<I", data, shoff + shstrndx * shentsize + 16)
def sname(n):
    end = data.index(b"\0", stroff + n)
    return data[stroff + n:end].decode()
SHF_ALLOC, SHT_NOBITS = 0x2, 8
flash = ram = 0
rows = []
for name, typ, flags, addr, size in secs:
    if not flags & SHF_ALLOC or size == 0:
        continue
    n = sname(name)
    in_ram = 0x2000_0000 <= addr < 0x2001_0000
    if in_ram:
        ram += size
    in_flash = typ != SHT_NOBITS and (not in_ram or n == ".data")  # .data loads from flash
    if in_flash:
        flash += size
    rows.append((n, addr, size, "+".join(r for r, on in (("FLASH", in_flash), ("RAM", in_ram)) if on)))
print(f"{'section':<16}{'address':>12}{'bytes':>10}  region")
for n, addr, size, region in rows:
    print(f"{n:<16}{addr:>#12x}{size:>10}  {region}")
total_ram = ram + stack_reserve
print(f"flash: {flash} B ({flash / 1024:.1f} KiB); budget {flash_limit // 1024} KiB, goal {flash_goal // 1024} KiB")
print(f"RAM:   {ram} B static (.data + .bss, heap included) + {stack_reserve} B stack reserve"
      f" = {total_ram} B ({total_ram / 1024:.1f} KiB); budget {ram_limit // 1024} KiB, goal {ram_goal // 1024} KiB")
ok = True
if flash > flash_limit:
    print(f"FAIL: flash over budget by {flash - flash_limit} B"); ok = False
elif flash > flash_goal:
    print(f"warning: flash {flash - flash_goal} B over the {flash_goal // 1024} KiB goal")
if total_ram > ram_limit:
    print(f"FAIL: RAM over budget by {total_ram - ram_limit} B"); ok = False
elif total_ram > ram_goal:
    print(f"warning: RAM {total_ram - ram_goal} B over the {ram_goal // 1024} KiB goal")
sys.exit(0 if ok else 1)
