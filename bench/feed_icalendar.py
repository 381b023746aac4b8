"""The reference for the feed benchmark: Python `icalendar` building the same feed carefair
serves (N events with title, description, location, URL, category, sequence, times in
Europe/London, and the VTIMEZONE), timed over several builds.

Usage: python3 bench/feed_icalendar.py N  → prints the median build time in milliseconds.
"""

import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event


def build(n: int) -> bytes:
    london = ZoneInfo("Europe/London")
    cal = Calendar()
    cal.add("prodid", "-//reference//icalendar//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "Gift of Care events")
    now = datetime.now(timezone.utc)
    start = datetime(2099, 1, 5, 10, 0, tzinfo=london)
    for i in range(n):
        event = Event()
        event_id = uuid.uuid4()
        event.add("uid", f"{event_id}@127.0.0.1")
        event.add("dtstamp", now)
        begins = start + timedelta(hours=i)
        event.add("dtstart", begins)
        event.add("dtend", begins + timedelta(hours=3))
        event.add("summary", f"Feed event {i}; care jobs, fair")
        event.add("description", "Meet care employers from across Essex.\nBring your CV.")
        event.add("location", "Chelmsford City Hall, Duke Street, Chelmsford, CM1 1JE")
        event.add("url", f"http://127.0.0.1:8080/events/{event_id}")
        event.add("categories", "Recruitment fair")
        event.add("sequence", 0)
        event.add("status", "CONFIRMED")
        cal.add_component(event)
    if hasattr(cal, "add_missing_timezones"):
        cal.add_missing_timezones()
    return cal.to_ical()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    build(10)
    times = []
    for _ in range(5):
        began = time.perf_counter()
        build(n)
        times.append((time.perf_counter() - began) * 1000)
    print(f"{statistics.median(times):.1f}")


if __name__ == "__main__":
    main()
