# python3-caldav as the sharee's calendar app: what a calendar shared with it looks like in its
# own calendar home. Usage: dav-sharing.py URL USER PASSWORD CA STEP [ARGS...]; prints one JSON line.
#   list                     every calendar in the home: url, display name, privileges
#   events NAME              the UIDs of the events in calendar NAME (by its last URL segment)
#   save NAME ICS_FILE       save an event into calendar NAME: "ok" or the error class
import json
import sys

import caldav
from caldav.elements import dav

url, user, password, ca, step = sys.argv[1:6]
args = sys.argv[6:]
client = caldav.DAVClient(url=url, username=user, password=password, ssl_verify_cert=ca)
principal = client.principal()
out = {}


def by_name(name):
    for c in principal.calendars():
        if str(c.url).rstrip("/").rsplit("/", 1)[-1] == name:
            return c
    raise SystemExit(f"no calendar {name}")


if step == "list":
    rows = []
    for c in principal.calendars():
        props = c.get_properties([dav.DisplayName()])
        rows.append({"name": str(c.url).rstrip("/").rsplit("/", 1)[-1], "displayname": props.get("{DAV:}displayname")})
    out["calendars"] = sorted(rows, key=lambda r: r["name"])

elif step == "events":
    out["uids"] = sorted(str(e.icalendar_component["uid"]) for e in by_name(args[0]).events())

elif step == "save":
    try:
        by_name(args[0]).save_event(open(args[1]).read())
        out["result"] = "ok"
    except Exception as err:  # the library's error class names the refusal
        out["result"] = type(err).__name__

print(json.dumps(out))
