"""Read Tern queue files (the format of mail/queue_file.h), for the tests.

An implementation of its own, so that the tests check the C writer against
the documented format rather than against the C reader:

    qf = queue_file.parse(path.read_bytes())
    qf.sender, qf.rcpts, qf.lines, qf.attrs, qf.extracted, qf.sizes

parse() raises QueueFileError (kind "incomplete" or "corrupt") for a file
that is not complete.
"""

import re

LEN_BYTES = 3
REC_MAX = 1 << 20
QUEUE_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{12,24}$")


class QueueFileError(Exception):
    def __init__(self, kind, what, offset):
        super().__init__(f"{kind}: {what} at offset {offset}")
        self.kind = kind


class QueueFile:
    def __init__(self):
        self.version = None
        self.sizes = None  # dict: size, content_offset, body_offset, extracted_offset, nrcpt
        self.time = None
        self.sender = None
        self.flags = None
        self.envid = None
        self.ret = None
        self.attrs = {}
        self.rcpts = []  # dicts: address, orcpt, notify, done, offset
        self.lines = []  # bytes, without line endings
        self.extracted = {}
        self.records = []  # (type, data, offset)
        self.body_index = None  # index in lines of the first body line


def records(data):
    """Yield (type, data, offset) for each record; raise QueueFileError on bad framing."""
    pos = 0
    while pos < len(data):
        start = pos
        rtype = chr(data[pos])
        if rtype not in "VZTSFIPARDMCLXE":
            raise QueueFileError("corrupt", f"unknown record type {data[pos]:#x}", start)
        pos += 1
        length = 0
        for i in range(LEN_BYTES + 1):
            if i == LEN_BYTES:
                raise QueueFileError("corrupt", "record length too long", start)
            if pos >= len(data):
                raise QueueFileError("incomplete", "record length truncated", start)
            byte = data[pos]
            pos += 1
            length |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                if i > 0 and byte == 0:
                    raise QueueFileError("corrupt", "length not in shortest form", start)
                break
        if length > REC_MAX:
            raise QueueFileError("corrupt", "record too long", start)
        if pos + length > len(data):
            raise QueueFileError("incomplete", "record truncated", start)
        yield rtype, data[pos : pos + length], start
        pos += length


def _sizes(data, offset):
    m = re.fullmatch(rb"(\d{15}) (\d{15}) (\d{15}) (\d{15}) (\d{10})", data)
    if not m:
        raise QueueFileError("corrupt", "bad Z record", offset)
    names = ("size", "content_offset", "body_offset", "extracted_offset", "nrcpt")
    return {n: int(v) for n, v in zip(names, m.groups())}


def _envelope(qf, rtype, data, offset):
    def once(attr, value):
        if getattr(qf, attr) is not None:
            raise QueueFileError("corrupt", f"second {rtype} record", offset)
        setattr(qf, attr, value)

    if rtype == "T":
        if not re.fullmatch(rb"\d+\.\d{6}", data):
            raise QueueFileError("corrupt", "bad time", offset)
        once("time", data.decode())
    elif rtype == "S":
        once("sender", data.decode("utf-8", "surrogateescape"))
    elif rtype == "F":
        once("flags", int(data))
    elif rtype == "I":
        once("envid", data.decode())
    elif rtype == "P":
        if data not in (b"FULL", b"HDRS"):
            raise QueueFileError("corrupt", "bad RET", offset)
        once("ret", data.decode())
    elif rtype == "A":
        name, sep, value = data.partition(b"=")
        if not sep or not re.fullmatch(rb"[a-z0-9_]+", name):
            raise QueueFileError("corrupt", "bad attribute", offset)
        qf.attrs[name.decode()] = value.decode("utf-8", "surrogateescape")
    elif rtype in "RD":
        parts = data.split(b"\0")
        if len(parts) != 3 or not parts[0].isdigit() or not parts[2]:
            raise QueueFileError("corrupt", "bad recipient", offset)
        qf.rcpts.append(
            {
                "notify": int(parts[0]),
                "orcpt": parts[1].decode(),
                "address": parts[2].decode("utf-8", "surrogateescape"),
                "done": rtype == "D",
                "offset": offset,
            }
        )
    else:
        raise QueueFileError("corrupt", f"{rtype} record in the envelope", offset)


def parse(data):
    """The QueueFile in data (bytes); QueueFileError when it is not complete."""
    qf = QueueFile()
    section = "start"
    piece = b""
    size = 0
    for rtype, rdata, offset in records(data):
        qf.records.append((rtype, rdata, offset))
        if section == "start":
            if rtype != "V" or rdata != b"1":
                raise QueueFileError("corrupt", "no V record first", offset)
            section = "sizes"
        elif section == "sizes":
            if rtype != "Z":
                raise QueueFileError("corrupt", "no Z record second", offset)
            qf.sizes = _sizes(rdata, offset)
            section = "envelope"
        elif section == "envelope":
            if rtype == "M":
                if qf.sizes["content_offset"] != offset:
                    raise QueueFileError("corrupt", "M not where Z says", offset)
                if None in (qf.time, qf.sender, qf.flags) or not qf.rcpts:
                    raise QueueFileError("corrupt", "envelope incomplete", offset)
                section = "content"
            else:
                _envelope(qf, rtype, rdata, offset)
        elif section == "content":
            if rtype in "CL":
                if b"\n" in rdata:
                    raise QueueFileError("corrupt", "LF in content", offset)
                if not piece and offset == qf.sizes["body_offset"]:
                    qf.body_index = len(qf.lines)
                piece += rdata
                if rtype == "L":
                    qf.lines.append(piece)
                    size += len(piece) + 2
                    piece = b""
            elif rtype == "X" and not piece:
                if qf.sizes["extracted_offset"] != offset or qf.sizes["size"] != size:
                    raise QueueFileError("corrupt", "X or size not as Z says", offset)
                section = "extracted"
            else:
                raise QueueFileError("corrupt", f"{rtype} record in the content", offset)
        elif section == "extracted":
            if rtype == "A":
                name, _, value = rdata.partition(b"=")
                qf.extracted[name.decode()] = value.decode("utf-8", "surrogateescape")
            elif rtype == "E":
                if offset + 2 != len(data):
                    raise QueueFileError("corrupt", "data after E", offset)
                if qf.sizes["nrcpt"] != len(qf.rcpts):
                    raise QueueFileError("corrupt", "recipient count", offset)
                return qf
            else:
                raise QueueFileError("corrupt", f"{rtype} record in extracted", offset)
    raise QueueFileError("incomplete", "no E record", len(data))


def header_and_body(qf):
    """(header lines, body lines) of the content; header lines exclude the empty separator."""
    if qf.body_index is None:
        return qf.lines, []
    return qf.lines[: qf.body_index - 1], qf.lines[qf.body_index :]


def fields(header_lines):
    """The header lines grouped into fields: a list of lists of lines."""
    out = []
    for line in header_lines:
        if line[:1] in (b" ", b"\t") and out:
            out[-1].append(line)
        else:
            out.append([line])
    return out
