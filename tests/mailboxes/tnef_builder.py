"""A small TNEF (winmail.dat) encoder for the tests, written from MS-OXTNEF.

A TNEF stream (§2.1.3.1) is the signature 0x223E9F78, a 16-bit legacy key, then attributes:
a level byte (1 message, 2 attachment), a 32-bit attribute id (low word the attribute, high
word its type), a 32-bit length, the data, and a 16-bit checksum: the sum of the data's
bytes modulo 65536. MAPI properties (attMsgProps, attAttachment) are a count, then each
property's type and id (16 bits each) and its value; a string or binary value is a count of
values (1), a length and the bytes padded to 4 (§2.1.3.4). Each attachment starts with
attAttachRendData (§2.1.3.3.2).
"""

from __future__ import annotations

import struct

SIGNATURE = 0x223E9F78
LEVEL_MESSAGE, LEVEL_ATTACHMENT = 0x01, 0x02
# attribute types (§2.1.3.3)
ATP_STRING, ATP_TEXT, ATP_BYTE, ATP_WORD, ATP_DWORD = 0x0001, 0x0002, 0x0006, 0x0007, 0x0008
# attributes (§2.1.3.3.1, §2.1.3.3.2)
ATT_TNEF_VERSION, ATT_OEM_CODEPAGE, ATT_MESSAGE_CLASS, ATT_BODY = 0x9006, 0x9007, 0x8008, 0x800C
ATT_MSG_PROPS, ATT_ATTACH_REND_DATA, ATT_ATTACH_TITLE = 0x9003, 0x9002, 0x8010
ATT_ATTACH_DATA, ATT_ATTACHMENT = 0x800F, 0x9005
# MAPI property types and ids (MS-OXCDATA, MS-OXPROPS)
PT_LONG, PT_STRING8, PT_UNICODE, PT_BINARY = 0x0003, 0x001E, 0x001F, 0x0102
PID_BODY_HTML, PID_RTF_COMPRESSED, PID_INTERNET_CPID = 0x1013, 0x1009, 0x3FDE
PID_ATTACH_LONG_FILENAME = 0x3707


def attribute(
    level: int, kind: int, name: int, data: bytes, *, checksum: int | None = None
) -> bytes:
    if checksum is None:
        checksum = sum(data) & 0xFFFF
    return struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", checksum)


def mapi_properties(properties: list[tuple[int, int, bytes]]) -> bytes:
    out = struct.pack("<I", len(properties))
    for kind, name, value in properties:
        out += struct.pack("<HH", kind, name)
        if kind in (PT_STRING8, PT_UNICODE, PT_BINARY):
            out += struct.pack("<II", 1, len(value)) + value + b"\0" * (-len(value) % 4)
        else:
            out += value
    return out


def build_tnef(
    files: list[tuple[str, bytes]] = (),
    *,
    body_text: str = "",
    body_html: str = "",
    rtf: bytes = b"",
    bad_checksum: bool = False,
) -> bytes:
    """A winmail.dat carrying ``files`` (name, bytes) and the bodies given; ``rtf`` is stored
    compressed (MS-OXRTFCP, with compressed_rtf), as Outlook stores it."""
    stream = struct.pack("<IH", SIGNATURE, 0x0001)
    stream += attribute(LEVEL_MESSAGE, ATP_DWORD, ATT_TNEF_VERSION, struct.pack("<I", 0x00010000))
    stream += attribute(LEVEL_MESSAGE, ATP_BYTE, ATT_OEM_CODEPAGE, struct.pack("<II", 1252, 0))
    stream += attribute(
        LEVEL_MESSAGE,
        ATP_WORD,
        ATT_MESSAGE_CLASS,
        b"IPM.Microsoft Mail.Note\0",
        checksum=0 if bad_checksum else None,
    )
    if body_text:
        stream += attribute(LEVEL_MESSAGE, ATP_TEXT, ATT_BODY, body_text.encode("cp1252"))
    properties = []
    if body_html:
        properties += [
            (PT_LONG, PID_INTERNET_CPID, struct.pack("<I", 65001)),
            (PT_BINARY, PID_BODY_HTML, body_html.encode("utf-8")),
        ]
    if rtf:
        from compressed_rtf import compress

        properties.append((PT_BINARY, PID_RTF_COMPRESSED, compress(rtf, compressed=True)))
    if properties:
        stream += attribute(LEVEL_MESSAGE, ATP_BYTE, ATT_MSG_PROPS, mapi_properties(properties))
    for name, data in files:
        short = name.encode("cp1252", "replace")[:12] + b"\0"
        rendering = b"\x01\0" + b"\xff" * 4 + b"\0" * 8  # attached by value, no position
        stream += attribute(LEVEL_ATTACHMENT, ATP_BYTE, ATT_ATTACH_REND_DATA, rendering)
        stream += attribute(LEVEL_ATTACHMENT, ATP_STRING, ATT_ATTACH_TITLE, short)
        stream += attribute(LEVEL_ATTACHMENT, ATP_BYTE, ATT_ATTACH_DATA, data)
        long_name = name.encode("utf-16-le") + b"\0\0"
        stream += attribute(
            LEVEL_ATTACHMENT,
            ATP_BYTE,
            ATT_ATTACHMENT,
            mapi_properties([(PT_UNICODE, PID_ATTACH_LONG_FILENAME, long_name)]),
        )
    return stream
