"""Reads every calendar file the test suite saved (CALENDAR_OUT) with the strict `ical` package.

Usage: python3 tests/validate_ics.py DIR
Exits non-zero, naming the file and the parser's complaint, if any file is rejected; prints
'N passed, 0 failed' otherwise.
"""

import pathlib
import sys

from ical.calendar_stream import IcsCalendarStream
from ical.exceptions import CalendarParseError


def main() -> int:
    folder = pathlib.Path(sys.argv[1])
    files = sorted(folder.glob("*.ics"))
    if not files:
        print(f"no calendar files in {folder}", file=sys.stderr)
        return 1
    failed = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            stream = IcsCalendarStream.from_ics(text)
            events = sum(len(calendar.events) for calendar in stream.calendars)
            if events == 0 and "BEGIN:VEVENT" in text:
                raise CalendarParseError("events were lost")
        except Exception as err:  # the parser raises several kinds; each one is a rejection
            failed += 1
            print(f"REJECTED {path.name}: {err}", file=sys.stderr)
    print(f"calendars: {len(files) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
