"""`ReportLog`: many report summaries in little memory, read back by position.

A `ReportSummary` object costs about 300-375 bytes with its numbers and report id
(measured: 1,000,000 of them in a list raise the RSS by 375 MB), too much for a console
that holds the history of a broker with a million reports. The log keeps each summary as a
row of typed columns (`array`) instead: about 60 bytes a report. What repeats from report
to report of one broker runtime (broker, token, state, schema, versions, cluster id, error)
is stored once per distinct combination; report ids that are UUIDs take 16 bytes.

Reading a row makes a fresh `ReportSummary` equal to the one appended, so a log is a
`Sequence[ReportSummary]` every rule and view can use; a view that shows a window of rows
only makes the rows it shows. Making a row costs about 4.5 us (CPU, measured), mostly the
frozen dataclass's own construction: a rule over a million rows of a log takes seconds
where a list of objects takes about one, the price of holding a sixth of the memory.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

from engine.reading.report import ReportSummary

# Stands for None in a numeric column. No real value takes it: partitions, offsets and
# sizes are never negative, and a timestamp of -2**63 is not one.
_NONE_I = -(2**31)
_NONE_Q = -(2**63)

_RID_NONE = 0
_RID_UUID = 1  # the 16 bytes are in _rid_bytes
_RID_TEXT = 2  # anything else, in _rid_text
_UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# What repeats from report to report of one broker runtime, stored once per distinct
# combination: broker, attributed_by, token, state, schema, Kafka and CP versions, cluster
# id, error.
_Profile = tuple[int | None, str | None, str | None, int | None, str | None, str | None,
                 str | None, str | None, str | None]


class ReportLog(Sequence[ReportSummary]):
    """An append-only, compact sequence of report summaries (see the module docstring)."""

    def __init__(self, reports: Iterable[ReportSummary] = ()) -> None:
        self._partition = array("i")
        self._offset = array("q")
        self._kafka_ms = array("q")
        self._time_s = array("q")
        self._size = array("q")
        self._entry = array("i")  # index into _names, -1 for None
        self._profile = array("i")  # index into _profiles
        self._rid_kind = array("b")
        self._rid_bytes = bytearray()
        self._rid_text: dict[int, str] = {}
        self._names: list[str] = []
        self._name_ids: dict[str, int] = {}
        self._profiles: list[_Profile] = []
        self._profile_ids: dict[_Profile, int] = {}
        self.extend(reports)

    # -- writing -------------------------------------------------------------------------

    def append(self, report: ReportSummary) -> None:
        """Add one summary at the end (the fields and bytes of a `Report` are dropped)."""
        row = len(self._offset)
        self._partition.append(_NONE_I if report.partition is None else report.partition)
        self._offset.append(report.offset)
        self._kafka_ms.append(_NONE_Q if report.kafka_ms is None else report.kafka_ms)
        self._time_s.append(_NONE_Q if report.time_s is None else _clamp(report.time_s))
        self._size.append(report.size)
        entry = report.entry
        if entry is None:
            self._entry.append(-1)
        else:
            found = self._name_ids.get(entry)
            if found is None:
                found = self._name_ids[entry] = len(self._names)
                self._names.append(entry)
            self._entry.append(found)
        profile: _Profile = (report.broker_id, report.attributed_by, report.token,
                             report.state, report.schema, report.kafka_version,
                             report.cp_version, report.cluster_id, report.error)
        at = self._profile_ids.get(profile)
        if at is None:
            at = self._profile_ids[profile] = len(self._profiles)
            self._profiles.append(profile)
        self._profile.append(at)
        self._append_report_id(row, report.report_id)

    def _append_report_id(self, row: int, rid: str | None) -> None:
        if rid is None:
            self._rid_kind.append(_RID_NONE)
            self._rid_bytes += bytes(16)
        elif _UUID_TEXT.fullmatch(rid):
            self._rid_kind.append(_RID_UUID)
            self._rid_bytes += bytes.fromhex(rid.replace("-", ""))
        else:  # not a UUID in its usual spelling: kept as written
            self._rid_kind.append(_RID_TEXT)
            self._rid_bytes += bytes(16)
            self._rid_text[row] = rid

    def extend(self, reports: Iterable[ReportSummary]) -> None:
        """Append every summary of `reports`, in order."""
        for report in reports:
            self.append(report)

    # -- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._offset)

    @overload
    def __getitem__(self, index: int) -> ReportSummary: ...

    @overload
    def __getitem__(self, index: slice) -> list[ReportSummary]: ...

    def __getitem__(self, index: int | slice) -> ReportSummary | list[ReportSummary]:
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(len(self)))]
        count = len(self)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError("report log index out of range")
        return self._row(index)

    def __iter__(self) -> Iterator[ReportSummary]:
        for i in range(len(self)):
            yield self._row(i)

    def _report_id(self, i: int) -> str | None:
        kind = self._rid_kind[i]
        if kind == _RID_NONE:
            return None
        if kind == _RID_TEXT:
            return self._rid_text[i]
        h = self._rid_bytes[i * 16:i * 16 + 16].hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _row(self, i: int) -> ReportSummary:
        partition = self._partition[i]
        kafka_ms = self._kafka_ms[i]
        time_s = self._time_s[i]
        entry = self._entry[i]
        broker, by, token, state, schema, kafka, cp, cluster, error = \
            self._profiles[self._profile[i]]
        return ReportSummary(
            partition=None if partition == _NONE_I else partition, offset=self._offset[i],
            entry=None if entry < 0 else self._names[entry],
            kafka_ms=None if kafka_ms == _NONE_Q else kafka_ms,
            time_s=None if time_s == _NONE_Q else time_s, broker_id=broker,
            attributed_by=by, token=token, state=state, schema=schema, kafka_version=kafka,
            cp_version=cp, cluster_id=cluster, size=self._size[i], error=error,
            report_id=self._report_id(i))

    def offset_at(self, i: int) -> int:
        """The offset (a bundle: the entry's place) of row i, without making the row."""
        return self._offset[i]

    def matching(self, text: str, start: int = 0, stop: int | None = None) -> list[int]:
        """The rows of [start, stop) whose `ReportSummary.search_text` holds `text` (lower
        case), ascending. Column-level: the part of the text a runtime's reports share is
        tested once per distinct combination, only the position per row."""
        stop = len(self) if stop is None else min(stop, len(self))
        shared = [text in self._profile_summary(k).profile_text
                  for k in range(len(self._profiles))]
        out: list[int] = []
        profile, partition, offset, entry = self._profile, self._partition, self._offset, \
            self._entry
        texts: dict[int, str] = {}
        for i in range(start, stop):
            k = profile[i]
            if shared[k]:
                out.append(i)
                continue
            if entry[i] >= 0 or partition[i] == _NONE_I:
                if text in self._row(i).search_text:  # a bundle entry's name: rare here
                    out.append(i)
                continue
            rest = texts.get(k)
            if rest is None:
                rest = texts[k] = self._profile_summary(k).profile_text
            if text in f"{partition[i]}@{offset[i]} {rest}":
                out.append(i)
        return out

    def _profile_summary(self, k: int) -> ReportSummary:
        broker, by, token, state, schema, kafka, cp, cluster, error = self._profiles[k]
        return ReportSummary(partition=None, offset=0, broker_id=broker, attributed_by=by,
                             token=token, state=state, schema=schema, kafka_version=kafka,
                             cp_version=cp, cluster_id=cluster, error=error)

    @property
    def nbytes(self) -> int:
        """Bytes held by the columns (shared strings and profiles not counted)."""
        columns = [self._partition, self._offset, self._kafka_ms, self._time_s,
                   self._size, self._entry, self._profile, self._rid_kind]
        return sum(c.itemsize * len(c) for c in columns) + len(self._rid_bytes)


def _clamp(seconds: int) -> int:
    """A report's own timestamp is an Avro long; one beyond int64 cannot be written, and
    -2**63 is the column's None: both are nonsense times, kept as the nearest legal one."""
    return max(_NONE_Q + 1, min(seconds, 2**63 - 1))
