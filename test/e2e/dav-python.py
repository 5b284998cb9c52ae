# python3-caldav against a running Fingerpost: discovery from the bare URL, MKCALENDAR, PUT/GET,
# time-range search (with a recurring event), sync-collection, free-busy. Prints one JSON line.
import datetime
import json
import os
import sys

import caldav

url, user, password, ca = sys.argv[1:5]
client = caldav.DAVClient(url=url, username=user, password=password, ssl_verify_cert=ca)
out = {}
principal = client.principal()
out["principal"] = str(principal.url)
out["home"] = str(principal.calendar_home_set.url)
out["calendars_before"] = sorted(c.name for c in principal.calendars())
cal = principal.make_calendar(name="Work things", cal_id="work")
out["made"] = str(cal.url)
out["calendars_after"] = sorted(str(c.url).rstrip("/").rsplit("/", 1)[-1] for c in principal.calendars())

single = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//python test//EN
BEGIN:VEVENT
UID:single-1@test
DTSTAMP:20260101T000000Z
DTSTART:20261102T100000Z
DTEND:20261102T110000Z
SUMMARY:Planning
END:VEVENT
END:VCALENDAR
"""
weekly = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//python test//EN
BEGIN:VEVENT
UID:weekly-1@test
DTSTAMP:20260101T000000Z
DTSTART:20261005T090000Z
DURATION:PT30M
RRULE:FREQ=WEEKLY;COUNT=10
SUMMARY:Standup
END:VEVENT
END:VCALENDAR
"""
e1 = cal.save_event(single)
e2 = cal.save_event(weekly)
got = cal.event_by_url(e1.url)
got.load()
out["get_same"] = got.data.replace("\r\n", "\n") == e1.data.replace("\r\n", "\n")
out["by_uid"] = str(cal.event_by_uid("weekly-1@test").url) == str(e2.url)

# 2026-11-02 holds the single event and no standup (Mondays from Oct 5: Nov 2 09:00 IS a standup).
found = cal.date_search(start=datetime.datetime(2026, 11, 2, 9, 45, tzinfo=datetime.timezone.utc),
                        end=datetime.datetime(2026, 11, 2, 12, 0, tzinfo=datetime.timezone.utc), expand=False)
out["search_single"] = sorted(str(e.url).rsplit("/", 1)[-1] for e in found)
found = cal.date_search(start=datetime.datetime(2026, 11, 23, 0, 0, tzinfo=datetime.timezone.utc),
                        end=datetime.datetime(2026, 11, 24, 0, 0, tzinfo=datetime.timezone.utc), expand=False)
out["search_recurring"] = sorted(str(e.url).rsplit("/", 1)[-1] for e in found)
found = cal.date_search(start=datetime.datetime(2027, 1, 1, 0, 0, tzinfo=datetime.timezone.utc),
                        end=datetime.datetime(2027, 2, 1, 0, 0, tzinfo=datetime.timezone.utc), expand=False)
out["search_after_count"] = sorted(str(e.url).rsplit("/", 1)[-1] for e in found)

coll = cal.objects_by_sync_token(load_objects=False)
out["sync_initial"] = len(list(coll))
token = coll.sync_token
e1.delete()
e3 = cal.save_event(single.replace("single-1@test", "single-2@test").replace("Planning", "Review"))
changed = cal.objects_by_sync_token(sync_token=token, load_objects=True)
out["sync_changed"] = sorted(str(o.url).rsplit("/", 1)[-1] + (":gone" if o.data is None else "") for o in changed)
out["sync_token_moved"] = changed.sync_token != token

fb = cal.freebusy_request(datetime.datetime(2026, 11, 9, 0, 0, tzinfo=datetime.timezone.utc),
                          datetime.datetime(2026, 11, 10, 0, 0, tzinfo=datetime.timezone.utc))
out["freebusy"] = [str(p) for p in fb.vobject_instance.vfreebusy.contents.get("freebusy", [])]
print(json.dumps(out))
