# python3-caldav as a calendar app doing scheduling (RFC 6638) against a running Fingerpost.
# Usage: dav-scheduling.py URL USER PASSWORD CA STEP [ARGS...]; prints one JSON line.
#   principal                 the scheduling properties of the principal
#   freebusy START END ADDR.. an outbox POST of a VFREEBUSY request built the way the library
#                             builds it (ORGANIZER from calendar-user-address-set), raw answer parsed
#   invite ICS_FILE           save an event with attendees into the first calendar
#   accept UID                find the REQUEST for UID in the schedule inbox and accept it
#   event UID                 the text of the event UID from the first calendar
import datetime
import json
import sys
import uuid

import caldav
import icalendar
from caldav.objects import FreeBusy

url, user, password, ca, step = sys.argv[1:6]
args = sys.argv[6:]
client = caldav.DAVClient(url=url, username=user, password=password, ssl_verify_cert=ca)
principal = client.principal()
out = {}
C = "{urn:ietf:params:xml:ns:caldav}"
D = "{DAV:}"

if step == "principal":
    out["inbox"] = str(principal.schedule_inbox().url)
    out["outbox"] = str(principal.schedule_outbox().url)
    out["addresses"] = principal.calendar_user_address_set()
    out["calendars"] = sorted(str(c.url).rstrip("/").rsplit("/", 1)[-1] for c in principal.calendars())

elif step == "freebusy":
    start = datetime.datetime.fromisoformat(args[0])
    end = datetime.datetime.fromisoformat(args[1])
    cal = icalendar.Calendar()
    cal.add("prodid", "-//fingerpost test//EN")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    fb = icalendar.FreeBusy()
    fb.add("uid", str(uuid.uuid4()))
    fb.add("dtstamp", datetime.datetime.now(datetime.timezone.utc))
    fb.add("dtstart", start)
    fb.add("dtend", end)
    cal.add_component(fb)
    outbox = principal.schedule_outbox()
    obj = FreeBusy(data=cal, parent=outbox)
    obj.add_organizer()
    for a in args[2:]:
        obj.add_attendee(a, no_default_parameters=True)
    r = client.post(outbox.url, obj.data, headers={"Content-Type": "text/calendar; charset=utf-8"})
    out["status"] = r.status
    tree = r.tree
    answers = {}
    for resp in tree.iter(C + "response"):
        who = resp.find(C + "recipient").find(D + "href").text
        data = resp.find(C + "calendar-data")
        busy = []
        if data is not None:
            for comp in icalendar.Calendar.from_ical(data.text).walk("VFREEBUSY"):
                for p in comp.get("FREEBUSY", []) if isinstance(comp.get("FREEBUSY"), list) else [comp.get("FREEBUSY")]:
                    if p is not None:
                        busy.append(p.to_ical().decode())
        answers[who] = {"status": resp.find(C + "request-status").text, "busy": busy}
    out["answers"] = answers

elif step == "invite":
    cal = principal.calendars()[0]
    with open(args[0]) as f:
        ev = cal.save_event(f.read())
    out["url"] = str(ev.url)

elif step == "accept":
    inbox = principal.schedule_inbox()
    items = [i for i in inbox.get_items() if args[0] in i.data]
    out["inbox"] = len(items)
    out["is_request"] = bool(items) and items[0].is_invite_request()
    if items:
        items[0].accept_invite()
        out["accepted"] = True

elif step == "event":
    cal = principal.calendars()[0]
    ev = cal.event_by_uid(args[0])
    out["data"] = ev.data
    out["url"] = str(ev.url)

print(json.dumps(out))
