"""Just enough ELF to read one named section from a seekable stream (Go build info, cargo-auditable)."""

from __future__ import annotations

import struct
from typing import IO

ELF_MAGIC = b"\x7fELF"


def read_section(stream: IO[bytes], name: str, *, max_size: int) -> bytes | None:
    """Bytes of section ``name``, or None when the stream is not ELF, lacks it, or it is too big."""
    try:
        stream.seek(0)
        ident = stream.read(64)
        if len(ident) < 52 or ident[:4] != ELF_MAGIC:
            return None
        is64 = ident[4] == 2
        endian = "<" if ident[5] == 1 else ">"
        if is64:
            shoff, shentsize, shnum, shstrndx = (
                struct.unpack_from(endian + "Q", ident, 0x28)[0],
                *struct.unpack_from(endian + "HHH", ident, 0x3A),
            )
            fmt, size = endian + "IIQQQQIIQQ", 64
        else:
            shoff, shentsize, shnum, shstrndx = (
                struct.unpack_from(endian + "I", ident, 0x20)[0],
                *struct.unpack_from(endian + "HHH", ident, 0x2E),
            )
            fmt, size = endian + "IIIIIIIIII", 40
        if not shoff or shentsize < size or not 0 < shnum < 4096 or shstrndx >= shnum:
            return None
        stream.seek(shoff)
        table = stream.read(shentsize * shnum)
        if len(table) < shentsize * shnum:
            return None
        headers = [struct.unpack_from(fmt, table, i * shentsize) for i in range(shnum)]
        # (name, type, flags, addr, offset, size, ...)
        strtab_hdr = headers[shstrndx]
        if strtab_hdr[5] > 1 << 20:
            return None
        stream.seek(strtab_hdr[4])
        strtab = stream.read(strtab_hdr[5])
        wanted = name.encode()
        for h in headers:
            end = strtab.find(b"\0", h[0])
            if strtab[h[0] : end] == wanted:
                if h[1] == 8 or h[5] > max_size:  # SHT_NOBITS or too large
                    return None
                stream.seek(h[4])
                return stream.read(h[5])
    except (struct.error, OSError, ValueError):
        return None
    return None
