"""CSV and TSV files of posts for ``file:PATH``: the delimiter, sniffed from the header line
(``sniff_delimiter``), and the rows, read line by line with the line number of any broken one.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable, Iterator

from ._file_values import TEXT_COLUMNS, file_error, norm

DELIMITERS = (",", "\t", ";", "|")


def sniff_delimiter(sample: str, ext: str, text_column: str | None) -> str | None:
    """The delimiter if the file is a table with a text column (or says it is a table), else None.

    ``sample`` is the start of the file, ``ext`` its suffix in lower case, ``text_column`` the column
    that ``--text-column`` names, if any.
    """
    header_line = sample.split("\n", 1)[0].rstrip("\r")
    wanted = {norm(text_column)} if text_column else set(TEXT_COLUMNS)
    order = sorted(DELIMITERS, key=lambda d: (d != "\t") if ext == ".tsv" else -header_line.count(d))
    best: tuple[int, str] | None = None
    for d in order:
        names = _split_header(header_line, d)
        if wanted & {norm(n) for n in names} and (best is None or len(names) > best[0]):
            best = (len(names), d)
    if best is not None:
        return best[1]
    if ext in (".csv", ".tsv") or text_column:
        # A table without a recognised text column: read it as one, so the error lists its columns.
        if ext == ".tsv":
            return "\t"
        counts = {d: header_line.count(d) for d in DELIMITERS}
        top = max(DELIMITERS, key=lambda d: counts[d])
        return top if counts[top] else ","
    return None


def table_head(lines: Iterable[str], delimiter: str, path: Path) -> tuple[list[str], bool]:
    """(the column names, whether a row follows them).

    Raises:
        FileFormatError: the file holds no line at all, or a broken row.
    """
    rows = table_rows(lines, delimiter, path)
    header = next(rows, None)
    if header is None:
        raise file_error(path, "the file is empty; export the posts again")
    return _columns(header), next(rows, None) is not None


def table_records(lines: Iterable[str], delimiter: str,
                  path: Path) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    """(row keyed by normalised column names, row keyed by the columns as written) for every row."""
    rows = table_rows(lines, delimiter, path)
    columns = _columns(next(rows))
    normed = [norm(c) for c in columns]
    for row in rows:
        raw: dict[str, str] = {}
        rec: dict[str, Any] = {}
        for col, key, cell in zip(columns, normed, row):
            raw.setdefault(col, cell)
            rec.setdefault(key, cell)
        yield rec, raw


def table_rows(lines: Iterable[str], delimiter: str, path: Path) -> Iterator[list[str]]:
    """csv rows without blank lines; a broken row raises FileFormatError with its line number."""
    reader = csv.reader(lines, delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise file_error(path, f"line {reader.line_num}: {e}; look for an unclosed quote there "
                                   f"or save the file again as CSV") from None
        if row and any(cell.strip() for cell in row):
            yield row


def _columns(header: list[str]) -> list[str]:
    return [h.strip().lstrip("\ufeff") for h in header]


def _split_header(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def check_text_column(columns: list[str], text_column: str, path: Path) -> None:
    """Refuse a header that names the text column twice: ``csv`` would silently read the first of them.

    Raises:
        DuplicateColumnError: the column is named twice (compared as ``norm`` compares column names).
    """
    from ..errors import DuplicateColumnError

    if sum(norm(c) == norm(text_column) for c in columns) > 1:
        raise DuplicateColumnError(str(path), text_column)
